# journal.sh: what is installed (the journal: "<sha256> <path>" per file it wrote, "host <path>" per file the host
# already had with the very bytes of the bundle (the host's: never removed), "dir dir:<path>" per folder it created,
# "serial <n>" the build serial of the bundle installed),
# what this bundle would change (the plan), the dry run, and writing the journal back.
# KB_PLAN: one "state<TAB>path<TAB>mode<TAB>sha<TAB>units" line per file; state is new, changed, same or folder (a
# folder stands where the file goes: the install fails).
declare -A KB_PREV=()
KB_PLAN=()
KB_INSTALLED_SERIAL=""
kb_read_journal() {
  local sha path
  [ -f "$KB_ROOT$KB_STATE_DIR/journal" ] || return 0
  while read -r sha path; do
    if [ "$sha" = serial ]; then KB_INSTALLED_SERIAL=$path; else KB_PREV[$path]=$sha; fi
  done <"$KB_ROOT$KB_STATE_DIR/journal"
}

# SPEC §8: a bundle of an older build than the one installed (its serial is lower) is refused unless
# --allow-downgrade: the same KB_BUILD_EPOCH no longer hides it.
kb_check_downgrade() {
  local mine=$((10#${KB_BUILD_SERIAL:-0})) installed
  [[ $KB_INSTALLED_SERIAL =~ ^[0-9]+$ ]] || return 0
  installed=$((10#$KB_INSTALLED_SERIAL))
  [ "$mine" -lt "$installed" ] || return 0
  if [ -n "${KB_ALLOW_DOWNGRADE:-}" ]; then
    printf 'kbundle: warning: installing build %s of site %s over the newer build %s (--allow-downgrade)\n' "$mine" "$KB_SITE" "$installed" >&2
    return 0
  fi
  kb_die 3 "this bundle is build $mine of site $KB_SITE; this host has build $installed installed, which is newer: refusing to downgrade (install the newer bundle, or pass --allow-downgrade to install this one anyway)"
}

kb_file_state() {
  local dest=$1 mode=$2 sha=$3 cur
  [ -e "$dest" ] || [ -L "$dest" ] || { echo new; return; }
  if [ -d "$dest" ] && [ ! -L "$dest" ]; then echo folder; return; fi
  cur=$(sha256sum -- "$dest")
  if [ "${cur%% *}" = "$sha" ] && [ "$((8#$(stat -c %a -- "$dest")))" -eq "$((8#$mode))" ]; then echo same; else echo changed; fi
}

kb_plan() {
  local path mode sha units table="$KB_STAGE/$KB_FILE_TABLE"
  # Masters get kubectl working for root out of the box.
  if [ -f "$KB_STAGE$KB_ADMIN_CONF" ]; then
    mkdir -p "$(dirname -- "$KB_STAGE$KB_ROOT_KUBECONFIG")"
    cp -- "$KB_STAGE$KB_ADMIN_CONF" "$KB_STAGE$KB_ROOT_KUBECONFIG"
    sha=$(sha256sum -- "$KB_STAGE$KB_ROOT_KUBECONFIG")
    printf '%s\t0600\t%s\t-\n' "$KB_ROOT_KUBECONFIG" "${sha%% *}" >>"$table"
  fi
  while IFS=$'\t' read -r path mode sha units; do
    # The super-admin credentials live on the host only until the bootstrap manifests are applied.
    if [ "$path" = "$KB_SUPER_ADMIN_CONF" ] && [ -f "$KB_ROOT$KB_STATE_DIR/bootstrapped" ]; then continue; fi
    KB_PLAN+=("$(kb_file_state "$KB_ROOT$path" "$mode" "$sha")"$'\t'"$path"$'\t'"$mode"$'\t'"$sha"$'\t'"$units")
  done <"$table"
}

kb_in_plan() {
  local entry rest
  for entry in "${KB_PLAN[@]}"; do rest=${entry#*$'\t'}; [ "${rest%%$'\t'*}" = "$1" ] && return 0; done
  return 1
}

kb_sysctl_changes() {
  local file="$KB_STAGE$KB_SYSCTL_CONF" key value current
  [ -f "$file" ] || return 0
  while IFS='=' read -r key value; do
    key=${key//[[:space:]]/}
    value=${value//[[:space:]]/}
    [ -z "$key" ] || [[ $key == \#* ]] && continue
    current=$(cat "$KB_PROC/proc/sys/${key//.//}" 2>/dev/null || echo unset)
    current=${current//[[:space:]]/}
    [ "$current" = "$value" ] || printf 'sysctl %s: %s -> %s\n' "$key" "$current" "$value"
  done <"$file"
}

# Modules the node loads that are not loaded here yet (built in or loaded: /sys/module/<name>).
kb_module_changes() {
  local file="$KB_STAGE$KB_MODULES_CONF" m
  [ -f "$file" ] || return 0
  while read -r m || [ -n "$m" ]; do
    if [ -z "$m" ] || [[ $m == \#* ]]; then continue; fi
    [ -d "$KB_PROC/sys/module/$m" ] || printf 'module   %s: load (modprobe)\n' "$m"
  done <"$file"
}

kb_route_changes() {
  local file="$KB_STAGE$KB_POD_ROUTES" subnet via gw
  [ -f "$file" ] || return 0
  while read -r subnet via gw || [ -n "$subnet" ]; do
    [ "$via" = via ] && printf 'route    %s via %s (ip route replace)\n' "$subnet" "$gw"
  done <"$file"
}

kb_hosts_changes() {
  local hosts wanted current="" pair names=""
  hosts=$(kb_hosts_file)
  wanted=$(kb_hosts_wanted)
  [ -f "$hosts" ] && current=$(kb_hosts_block_of <"$hosts")
  for pair in $KB_HOSTS; do names+="${names:+, }${pair%%=*} ${pair#*=}"; done
  if [ -z "$current" ]; then printf 'hosts    %s: add the block of site %s: %s\n' "$hosts" "$KB_SITE" "$names"
  elif [ "$current" != "$wanted" ]; then printf 'hosts    %s: replace the block of site %s with: %s\n' "$hosts" "$KB_SITE" "$names"
  else printf 'hosts    %s: the block of site %s is as it should be\n' "$hosts" "$KB_SITE"; fi
}

# The site's block as it stands in a hosts file, BEGIN and END lines included; nothing if it has none.
kb_hosts_block_of() {
  local line inside=0
  while IFS= read -r line || [ -n "$line" ]; do
    [ "$line" = "# BEGIN kbundle $KB_SITE" ] && inside=1
    [ $inside -eq 1 ] && printf '%s\n' "$line"
    [ "$line" = "# END kbundle $KB_SITE" ] && inside=0
  done
  return 0
}

KB_AFFECTED=""
kb_affected_units() {
  local entry state units u
  KB_AFFECTED=" "
  for entry in "${KB_PLAN[@]}"; do
    state=${entry%%$'\t'*}
    units=${entry##*$'\t'}
    [ "$state" = same ] || [ "$units" = - ] && continue
    for u in ${units//,/ }; do [[ $KB_AFFECTED == *" $u "* ]] || KB_AFFECTED+="$u "; done
  done
}

kb_dry_run() {
  local entry state path rest new=0 changed=0 same=0 u held
  for entry in "${KB_PLAN[@]}"; do
    state=${entry%%$'\t'*}
    rest=${entry#*$'\t'}
    path=${rest%%$'\t'*}
    if [ "$state" = folder ]; then printf '%-8s %s (a folder is in the way: the install would fail)\n' "$state" "$path"; else printf '%-8s %s\n' "$state" "$path"; fi
    case $state in new) new=$((new + 1)) ;; changed | folder) changed=$((changed + 1)) ;; *) same=$((same + 1)) ;; esac
  done
  for path in "${!KB_PREV[@]}"; do
    [[ $path == dir:* ]] || [ "${KB_PREV[$path]}" = host ] && continue
    kb_in_plan "$path" && continue
    if [ -e "$KB_ROOT$KB_STATE_DIR/backup$path" ]; then printf '%-8s %s (the host'"'"'s own comes back)\n' restore "$path"; else printf '%-8s %s\n' remove "$path"; fi
  done
  kb_affected_units
  held=" $(kb_held_before) "
  for u in $KB_UNITS; do
    if [[ $KB_AFFECTED == *" $u "* ]] && [[ $KB_HOLD == *",$u,"* ]]; then printf 'unit     %s: held (--hold): keeps running, restarted by a run without --hold\n' "$u"
    elif [[ $KB_AFFECTED == *" $u "* ]]; then printf 'unit     %s: enable, (re)start\n' "$u"
    elif [[ $held == *" $u "* ]]; then printf 'unit     %s: (re)start (an earlier run held it back)\n' "$u"
    else printf 'unit     %s: unchanged\n' "$u"; fi
  done
  if [ -z "$KB_ROOT" ]; then
    kb_sysctl_changes
    kb_module_changes
    kb_route_changes
    kb_hosts_changes
  else
    printf 'not applied under --root: sysctls, kernel modules, routes, /etc/hosts\n'
  fi
  printf 'dry run: %d new, %d changed, %d same; nothing was changed\n' "$new" "$changed" "$same"
}

# The journal: every file with its hash (or "host" for a file the host had, byte for byte, before any install wrote
# it: uninstall keeps it), and every folder we created (uninstall removes them if empty); written whole (a new file
# renamed over the old one).
kb_write_journal() {
  local entry state rest path sha old d tmp="$KB_ROOT$KB_STATE_DIR/.journal.new"
  {
    for entry in "${KB_PLAN[@]}"; do
      state=${entry%%$'\t'*}
      rest=${entry#*$'\t'}
      path=${rest%%$'\t'*}
      rest=${rest#*$'\t'}
      rest=${rest#*$'\t'}
      sha=${rest%%$'\t'*}
      if [ "$state" = same ] && { [ -z "${KB_PREV[$path]:-}" ] || [ "${KB_PREV[$path]}" = host ]; }; then sha=host; fi
      printf '%s %s\n' "$sha" "$path"
    done
    for old in "${!KB_PREV[@]}"; do [[ $old == dir:* ]] && printf '%s %s\n' "${KB_PREV[$old]}" "$old"; done
    for d in "${KB_NEW_DIRS[@]}"; do printf 'dir dir:%s\n' "$d"; done
    printf 'serial %s\n' "$((10#${KB_BUILD_SERIAL:-0}))"
  } | sort -u -k 2 >"$tmp" && mv -f -- "$tmp" "$KB_ROOT$KB_STATE_DIR/journal"
}
