# journal.sh: what is installed (the journal: "<sha256> <path>" per file it wrote, "host <path>" per file the host
# already had with the very bytes of the bundle (the host's: never removed), "dir dir:<path>" per folder it created),
# what this bundle would change (the plan), the dry run, and writing the journal back.
# KB_PLAN: one "state<TAB>path<TAB>mode<TAB>sha<TAB>units" line per file; state is new, changed, same or folder (a
# folder stands where the file goes: the install fails).
declare -A KB_PREV=()
KB_PLAN=()
kb_read_journal() {
  local sha path
  [ -f "$KB_ROOT$KB_STATE_DIR/journal" ] || return 0
  while read -r sha path; do KB_PREV[$path]=$sha; done <"$KB_ROOT$KB_STATE_DIR/journal"
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
  local entry state path rest new=0 changed=0 same=0 u
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
  for u in $KB_UNITS; do
    if [[ $KB_AFFECTED == *" $u "* ]]; then printf 'unit     %s: enable, (re)start\n' "$u"; else printf 'unit     %s: unchanged\n' "$u"; fi
  done
  [ -z "$KB_ROOT" ] && kb_sysctl_changes
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
  } | sort -u -k 2 >"$tmp" && mv -f -- "$tmp" "$KB_ROOT$KB_STATE_DIR/journal"
}
