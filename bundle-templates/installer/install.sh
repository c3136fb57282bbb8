# install.sh: writing files (each replaced one backed up), folders, /etc/hosts, and the rollback that undoes a
# failed run exactly.
KB_CREATED=()
KB_NEW_DIRS=()
KB_STARTED=()
KB_RESTORED=()
KB_BACKUP_DIR=""

kb_rollback() {
  local i path u
  kb_log "rolling back"
  for ((i = ${#KB_STARTED[@]} - 1; i >= 0; i--)); do kb_systemctl stop "${KB_STARTED[i]}" || true; done
  kb_etcd_undo_join
  for path in "${KB_CREATED[@]}"; do rm -f -- "$KB_ROOT$path"; done
  if [ -d "$KB_BACKUP_DIR" ]; then
    shopt -s globstar dotglob nullglob
    for path in "$KB_BACKUP_DIR"/**; do
      [ -f "$path" ] || continue
      path=${path#"$KB_BACKUP_DIR"}
      mkdir -p -- "$(dirname -- "$KB_ROOT$path")"
      cp -p -- "$KB_BACKUP_DIR$path" "$KB_ROOT$path.kbundle-new" && mv -f -- "$KB_ROOT$path.kbundle-new" "$KB_ROOT$path"
    done
  fi
  # Folders this run created, deepest first, if nothing else is in them.
  while IFS= read -r path; do [ -n "$path" ] && rmdir -- "$KB_ROOT$path" 2>/dev/null; done < <(printf '%s\n' "${KB_NEW_DIRS[@]}" | sort -r)
  [ ${#KB_STARTED[@]} -gt 0 ] && kb_systemctl daemon-reload
  # What ran before this run runs again, from its restored files (an upgraded etcd that cannot start: the old one).
  for u in "${KB_STARTED[@]}"; do
    [[ " ${KB_WAS_ACTIVE[*]} " == *" $u "* ]] || continue
    if kb_systemctl restart "$u" && kb_health "$u"; then kb_log "rollback: $u runs again from its previous files and is healthy"
    else kb_log "warning: rollback: $u did not come back healthy from its previous files; see journalctl -u $u"; fi
  done
  return 0
}

kb_fail_install() {
  local unit=$1 detail=$2
  kb_log "install failed: $detail"
  if [ -n "$unit" ] && [ -z "${KBUNDLE_SYSTEMCTL:-}" ]; then
    kb_log "last lines of the $unit journal:"
    journalctl -u "$unit" -n 20 --no-pager 2>&1 | while IFS= read -r line; do kb_log "  $line"; done
  fi
  kb_rollback
  kb_log "rolled back: the files are as they were before this run"
  exit 1
}

# A file of ours (in the journal with a hash) that no longer has that hash was edited on this host: keep a copy
# before it is replaced or removed, and say where.
kb_save_local_edit() {
  local path=$1 dest="$KB_ROOT$1" prev=${KB_PREV[$1]:-} cur copy
  [ -n "$prev" ] && [ "$prev" != host ] && [ -f "$dest" ] || return 0
  cur=$(sha256sum -- "$dest")
  [ "${cur%% *}" = "$prev" ] && return 0
  copy="$KB_STATE_DIR/local-edits/$KB_RUN_TIME$path"
  if ! { mkdir -p -- "$(dirname -- "$KB_ROOT$copy")" && cp -p -- "$dest" "$KB_ROOT$copy"; }; then
    kb_fail_install "" "cannot save a copy of the local edit of $path"
  fi
  kb_log "local edit of $path (changed on this host since it was installed) saved as $copy"
}

kb_write_file() {
  local path=$1 mode=$2 dest="$KB_ROOT$1" rel
  if [ -d "$dest" ] && [ ! -L "$dest" ]; then
    kb_fail_install "" "$dest is a folder; this bundle installs a file there: move the folder away, then run this again"
  fi
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    kb_save_local_edit "$path"
    # Back up what we replace: for this run's rollback, and (the host's own file, first time only) for uninstall.
    mkdir -p -- "$(dirname -- "$KB_BACKUP_DIR$path")"
    cp -pP -- "$dest" "$KB_BACKUP_DIR$path" || kb_fail_install "" "cannot back up $dest"
    rel="$KB_ROOT$KB_STATE_DIR/backup$path"
    if { [ -z "${KB_PREV[$path]:-}" ] || [ "${KB_PREV[$path]}" = host ]; } && [ ! -e "$rel" ]; then
      if ! { mkdir -p -- "$(dirname -- "$rel")" && cp -pP -- "$dest" "$rel"; }; then kb_fail_install "" "cannot back up $dest"; fi
    fi
  else
    KB_CREATED+=("$path")
  fi
  mkdir -p -- "$(dirname -- "$dest")"
  # -T: never into a folder that appeared meanwhile.
  if ! { install -m "$mode" -- "$KB_STAGE$path" "$dest.kbundle-new" && mv -f -T -- "$dest.kbundle-new" "$dest"; }; then
    kb_fail_install "" "cannot write $dest"
  fi
}

kb_make_dirs() {
  local dir mode
  while IFS=$'\t' read -r dir mode; do
    if [ ! -d "$KB_ROOT$dir" ]; then
      install -d -m "$mode" -- "$KB_ROOT$dir" || kb_fail_install "" "cannot create $KB_ROOT$dir"
      KB_NEW_DIRS+=("$dir")
    elif [ "$mode" = 0700 ]; then
      chmod 0700 -- "$KB_ROOT$dir"
    fi
  done <"$KB_STAGE/$KB_DIR_TABLE"
}

# The site's block in /etc/hosts (KBUNDLE_HOSTS_FILE in tests): every other line stays as it was, a last line without
# a newline included. A BEGIN whose END was lost ends nowhere: only the BEGIN line goes, every line after it stays.
kb_hosts_file() { printf '%s' "${KBUNDLE_HOSTS_FILE:-/etc/hosts}"; }

kb_hosts_wanted() {
  local pair
  printf '%s\n' "# BEGIN kbundle $KB_SITE"
  for pair in $KB_HOSTS; do printf '%s %s\n' "${pair%%=*}" "${pair#*=}"; done
  printf '%s\n' "# END kbundle $KB_SITE"
}

kb_hosts_block() {
  local hosts tmp
  hosts=$(kb_hosts_file)
  # Uninstall has no staging folder: a private temporary file, removed here.
  tmp=$(mktemp "${KB_STAGE:-${TMPDIR:-/tmp}}/.kbundle-hosts.XXXXXX") || { kb_log "warning: cannot rewrite $hosts (no temporary file)"; return 0; }
  [ -f "$hosts" ] && kb_hosts_without_block <"$hosts" >"$tmp"
  [ "${1:-}" != remove ] && kb_hosts_wanted >>"$tmp"
  # In place (not renamed over): /etc/hosts may be a bind mount (containers) or a link the host manages.
  if ! [ -f "$hosts" ] || [ "$(cat -- "$tmp")" != "$(cat -- "$hosts")" ]; then
    cat -- "$tmp" >"$hosts" && kb_log "$hosts: cluster block ${1:-updated}"
  fi
  rm -f -- "$tmp"
}

kb_hosts_without_block() {
  local line inside=0 held=()
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "$line" = "# BEGIN kbundle $KB_SITE" ]; then inside=1; held=(); continue; fi
    if [ "$line" = "# END kbundle $KB_SITE" ] && [ $inside -eq 1 ]; then inside=0; held=(); continue; fi
    if [ $inside -eq 1 ]; then held+=("$line"); else printf '%s\n' "$line"; fi
  done
  if [ $inside -eq 1 ] && [ ${#held[@]} -gt 0 ]; then printf '%s\n' "${held[@]}"; fi
  return 0
}

kb_install() {
  local entry state rest path mode changes=0 d old f
  KB_NEW_DIRS=()
  mkdir -p -- "$KB_ROOT$KB_STATE_DIR" "$(dirname -- "$KB_ROOT$KB_INSTALL_LOG")"
  chmod 0700 -- "$KB_ROOT$KB_STATE_DIR"
  KB_LOG_READY=1
  kb_log "kbundle $KB_TOOL_VERSION: installing $KB_NODE of site $KB_SITE${KB_ROOT:+ under $KB_ROOT}"
  KB_RUN_TIME=$(date -u +%Y%m%dT%H%M%SZ)
  KB_BACKUP_DIR="$KB_STAGE/.rollback"
  mkdir -p -- "$KB_BACKUP_DIR"
  kb_make_dirs
  for entry in "${KB_PLAN[@]}"; do
    state=${entry%%$'\t'*}
    rest=${entry#*$'\t'}
    path=${rest%%$'\t'*}
    rest=${rest#*$'\t'}
    mode=${rest%%$'\t'*}
    [ "$state" = same ] && continue
    kb_write_file "$path" "$mode"
    [ "$state" = folder ] && state=changed
    kb_log "$state: $path"
    changes=$((changes + 1))
  done
  # Files an older bundle installed and this one no longer has: the host's own file comes back where it had one.
  for old in "${!KB_PREV[@]}"; do
    [[ $old == dir:* ]] && continue
    kb_in_plan "$old" && continue
    # The host's file all along: not ours to remove; it just leaves the journal.
    [ "${KB_PREV[$old]}" = host ] && continue
    # Already gone (super-admin.conf after the bootstrap): nothing to change, it just leaves the journal.
    [ -e "$KB_ROOT$old" ] || continue
    kb_save_local_edit "$old"
    mkdir -p -- "$(dirname -- "$KB_BACKUP_DIR$old")" && cp -p -- "$KB_ROOT$old" "$KB_BACKUP_DIR$old"
    if [ -e "$KB_ROOT$KB_STATE_DIR/backup$old" ]; then
      if ! { cp -p -- "$KB_ROOT$KB_STATE_DIR/backup$old" "$KB_ROOT$old.kbundle-new" && mv -f -T -- "$KB_ROOT$old.kbundle-new" "$KB_ROOT$old"; }; then
        kb_fail_install "" "cannot restore $old"
      fi
      KB_RESTORED+=("$old")
      kb_log "restored: $old (the host's own, which the first install had replaced)"
    else
      rm -f -- "$KB_ROOT$old"
      kb_log "removed: $old"
    fi
    changes=$((changes + 1))
  done
  for d in $KB_DATA_DIRS; do [ -d "$KB_ROOT$d" ] || install -d -m 0700 -- "$KB_ROOT$d"; done

  # The journal itself is restored by a rollback like any other file.
  for f in journal site node bundle.info held; do
    if [ -f "$KB_ROOT$KB_STATE_DIR/$f" ]; then
      mkdir -p -- "$KB_BACKUP_DIR$KB_STATE_DIR" && cp -p -- "$KB_ROOT$KB_STATE_DIR/$f" "$KB_BACKUP_DIR$KB_STATE_DIR/$f"
    else KB_CREATED+=("$KB_STATE_DIR/$f"); fi
  done
  kb_write_journal
  # The backups of restored files go only now: a rollback before this point still finds them.
  for old in "${KB_RESTORED[@]}"; do rm -f -- "$KB_ROOT$KB_STATE_DIR/backup$old"; done
  printf '%s\n' "$KB_SITE" >"$KB_ROOT$KB_STATE_DIR/site"
  printf '%s\n' "$KB_NODE" >"$KB_ROOT$KB_STATE_DIR/node"
  kb_info >"$KB_ROOT$KB_STATE_DIR/bundle.info"

  kb_affected_units
  if [ -z "$KB_ROOT" ] || [ -n "${KBUNDLE_SYSTEMCTL:-}" ]; then
    [ -z "$KB_ROOT" ] && kb_host_changes
    if [ -z "${KB_NO_START:-}" ]; then kb_start_units; fi
  fi
  if [ -n "$KB_ROOT" ]; then
    local skipped="units (not started: $KB_UNITS), "
    if [ -n "${KBUNDLE_SYSTEMCTL:-}" ] && [ -z "${KB_NO_START:-}" ]; then skipped=""; fi
    kb_log "not applied under --root: ${skipped}sysctls, kernel modules, routes, /etc/hosts (they are the running host's)"
  fi
  kb_check_log install ok "$changes changes"
  kb_log "done: $changes changes"
}
