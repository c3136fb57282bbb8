# uninstall.sh: removes what the journal says this node's install wrote (bytes it wrote only), restores what it
# replaced, and with --purge the data folders; refuses another node's or site's install.
# The data folders and the state folder are removed only as absolute paths below the root (never "/" itself):
# with no --root, KB_ROOT is empty and "$KB_ROOT$d" is the host's own path.
kb_rm_tree() {
  local path=$1
  case $path in /?*) ;; *) kb_die 1 "refusing to remove '$path': not an absolute path below /" ;; esac
  [[ $path == *"/.."* || $path == *"/./"* ]] && kb_die 1 "refusing to remove '$path': not a plain path"
  rm -rf -- "$KB_ROOT$path"
}

# Whose install is this? The journal's owner must be this bundle's site and node (SPEC §3: uninstall removes only
# what this node's install wrote; another node's or site's bundle must not wipe it).
kb_installed_owner() {
  local dir="$KB_ROOT$KB_STATE_DIR" site="" node="" line
  [ -f "$dir/site" ] && site=$(cat -- "$dir/site")
  if [ -f "$dir/node" ]; then node=$(cat -- "$dir/node")
  elif [ -f "$dir/bundle.info" ]; then
    while IFS= read -r line; do
      if [[ $line == node:* ]]; then line=${line#node:}; line=${line#"${line%%[![:space:]]*}"}; node=${line%% *}; fi
    done <"$dir/bundle.info"
  fi
  printf '%s\t%s\n' "$site" "$node"
}

kb_confirm() {
  local answer
  [ -n "${KB_YES:-}" ] && return 0
  if [ ! -t 0 ]; then kb_die 2 "$1: no terminal to confirm on; pass --yes"; fi
  printf '%s [y/N] ' "$1" >&2
  IFS= read -r answer || answer=""
  case $answer in y | Y | yes | YES) return 0 ;; *) kb_die 2 "not confirmed; nothing was changed" ;; esac
}

kb_uninstall() {
  local i units sha path dirs=() purge=$1 d owner site node cur kept=0 removed=0 restored=0
  if [ -f "$KB_ROOT$KB_STATE_DIR/journal" ]; then kb_lock; fi
  # Looked at again under the lock: an uninstall that just ended removed it.
  if [ ! -f "$KB_ROOT$KB_STATE_DIR/journal" ]; then
    printf 'kbundle: nothing to uninstall: no install journal at %s (already uninstalled?)\n' "$KB_ROOT$KB_STATE_DIR/journal"
    return 0
  fi
  owner=$(kb_installed_owner)
  site=${owner%%$'\t'*}
  node=${owner#*$'\t'}
  if [ "$site" != "$KB_SITE" ] || [ "$node" != "$KB_NODE" ]; then
    kb_die 3 "this host holds node '${node:-?}' of site '${site:-?}'; this bundle is node '$KB_NODE' of site '$KB_SITE': refusing to uninstall (run the bundle of '${node:-?}' with --uninstall)"
  fi
  kb_confirm "Uninstall node $KB_NODE of site $KB_SITE${KB_ROOT:+ under $KB_ROOT}$([ "$purge" = yes ] && printf ' and DELETE its data (%s)' "$KB_DATA_DIRS")?"
  KB_LOG_READY=1
  kb_log "uninstalling $KB_NODE of site $KB_SITE${KB_ROOT:+ under $KB_ROOT}"
  if [ -z "$KB_ROOT" ] || [ -n "${KBUNDLE_SYSTEMCTL:-}" ]; then
    read -r -a units <<<"$KB_UNITS"
    for ((i = ${#units[@]} - 1; i >= 0; i--)); do
      kb_systemctl disable --now "${units[i]}" >/dev/null 2>&1 || kb_log "warning: could not stop ${units[i]}"
    done
  fi
  while read -r sha path; do
    if [ "$sha" = dir ]; then dirs+=("${path#dir:}"); continue; fi
    [ "$sha" = serial ] && continue
    # The host had this very file before any install: it stays.
    if [ "$sha" = host ]; then kept=$((kept + 1)); continue; fi
    if [ -e "$KB_ROOT$path" ] || [ -L "$KB_ROOT$path" ]; then
      cur=$(sha256sum -- "$KB_ROOT$path" 2>/dev/null)
      if [ "${cur%% *}" != "$sha" ]; then
        # Not the bytes we wrote: the host's own file (restored earlier) or a local edit. It stays.
        kb_log "kept: $path (changed since it was installed)"
        kept=$((kept + 1))
        continue
      fi
      rm -f -- "$KB_ROOT$path"
      removed=$((removed + 1))
    fi
    if [ -e "$KB_ROOT$KB_STATE_DIR/backup$path" ]; then
      mv -f -- "$KB_ROOT$KB_STATE_DIR/backup$path" "$KB_ROOT$path"
      kb_log "restored: $path"
      restored=$((restored + 1))
    fi
  done <"$KB_ROOT$KB_STATE_DIR/journal"
  # Deepest folders first; only the empty ones we created go.
  while IFS= read -r d; do [ -n "$d" ] && rmdir -- "$KB_ROOT$d" 2>/dev/null; done < <(printf '%s\n' "${dirs[@]}" | sort -r)
  [ -z "$KB_ROOT" ] && kb_hosts_block remove
  for d in $KB_DATA_DIRS; do
    if [ "$purge" = yes ]; then kb_rm_tree "$d"; else rmdir -- "$KB_ROOT$d" 2>/dev/null; fi
  done
  kb_rm_tree "$KB_STATE_DIR/backup"
  # The journal goes last: an uninstall cut short can be run again.
  rm -f -- "$KB_ROOT$KB_STATE_DIR/site" "$KB_ROOT$KB_STATE_DIR/node" "$KB_ROOT$KB_STATE_DIR/bundle.info" "$KB_ROOT$KB_STATE_DIR/bootstrapped" \
    "$KB_ROOT$KB_STATE_DIR/journal"
  kb_log "uninstalled: $removed files removed, $restored host files restored, $kept kept"
  if [ "$purge" = yes ]; then
    kb_log "data purged: $KB_DATA_DIRS"
    kb_rm_tree "$KB_STATE_DIR"
  else kb_log "data folders kept ($KB_DATA_DIRS); --purge removes them"; fi
  return 0
}
