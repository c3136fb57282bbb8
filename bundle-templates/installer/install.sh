# install.sh: writing files (each replaced one backed up), folders, /etc/hosts, and the rollback that undoes a
# failed run exactly.
KB_CREATED=()
KB_NEW_DIRS=()
KB_STARTED=()
KB_BACKUP_DIR=""

kb_rollback() {
  local i path
  kb_log "rolling back"
  for ((i = ${#KB_STARTED[@]} - 1; i >= 0; i--)); do kb_systemctl stop "${KB_STARTED[i]}" || true; done
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

kb_write_file() {
  local path=$1 mode=$2 dest="$KB_ROOT$1" rel
  if [ -e "$dest" ]; then
    # Back up what we replace: for this run's rollback, and (first time only) for uninstall.
    mkdir -p -- "$(dirname -- "$KB_BACKUP_DIR$path")"
    cp -p -- "$dest" "$KB_BACKUP_DIR$path"
    rel="$KB_ROOT$KB_STATE_DIR/backup$path"
    if [ -z "${KB_PREV[$path]:-}" ] && [ ! -e "$rel" ]; then
      mkdir -p -- "$(dirname -- "$rel")" && cp -p -- "$dest" "$rel"
    fi
  else
    KB_CREATED+=("$path")
  fi
  mkdir -p -- "$(dirname -- "$dest")"
  if ! { install -m "$mode" -- "$KB_STAGE$path" "$dest.kbundle-new" && mv -f -- "$dest.kbundle-new" "$dest"; }; then
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

kb_hosts_block() {
  local hosts=/etc/hosts begin="# BEGIN kbundle $KB_SITE" end="# END kbundle $KB_SITE" pair tmp
  tmp=$(mktemp "$KB_STAGE/hosts.XXXXXX")
  kb_hosts_without_block <"$hosts" >"$tmp"
  if [ "${1:-}" != remove ]; then
    { printf '%s\n' "$begin"; for pair in $KB_HOSTS; do printf '%s %s\n' "${pair%%=*}" "${pair#*=}"; done; printf '%s\n' "$end"; } >>"$tmp"
  fi
  [ "$(cat -- "$tmp")" = "$(cat -- "$hosts")" ] || { cat -- "$tmp" >"$hosts" && kb_log "/etc/hosts: cluster block ${1:-updated}"; }
}

kb_hosts_without_block() {
  local line inside=0
  while IFS= read -r line; do
    [ "$line" = "# BEGIN kbundle $KB_SITE" ] && { inside=1; continue; }
    [ "$line" = "# END kbundle $KB_SITE" ] && { inside=0; continue; }
    [ $inside -eq 0 ] && printf '%s\n' "$line"
  done
}

kb_install() {
  local entry state rest path mode changes=0 d old f
  KB_NEW_DIRS=()
  mkdir -p -- "$KB_ROOT$KB_STATE_DIR" "$(dirname -- "$KB_ROOT$KB_INSTALL_LOG")"
  chmod 0700 -- "$KB_ROOT$KB_STATE_DIR"
  KB_LOG_READY=1
  kb_log "kbundle $KB_TOOL_VERSION: installing $KB_NODE of site $KB_SITE${KB_ROOT:+ under $KB_ROOT}"
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
    kb_log "$state: $path"
    changes=$((changes + 1))
  done
  # Files an older bundle installed and this one no longer has.
  for old in "${!KB_PREV[@]}"; do
    [[ $old == dir:* ]] && continue
    kb_in_plan "$old" && continue
    # Already gone (super-admin.conf after the bootstrap): nothing to change, it just leaves the journal.
    [ -e "$KB_ROOT$old" ] || continue
    mkdir -p -- "$(dirname -- "$KB_BACKUP_DIR$old")" && cp -p -- "$KB_ROOT$old" "$KB_BACKUP_DIR$old"
    rm -f -- "$KB_ROOT$old"
    kb_log "removed: $old"
    changes=$((changes + 1))
  done
  for d in $KB_DATA_DIRS; do [ -d "$KB_ROOT$d" ] || install -d -m 0700 -- "$KB_ROOT$d"; done

  # The journal itself is restored by a rollback like any other file.
  for f in journal site node bundle.info; do
    if [ -f "$KB_ROOT$KB_STATE_DIR/$f" ]; then
      mkdir -p -- "$KB_BACKUP_DIR$KB_STATE_DIR" && cp -p -- "$KB_ROOT$KB_STATE_DIR/$f" "$KB_BACKUP_DIR$KB_STATE_DIR/$f"
    else KB_CREATED+=("$KB_STATE_DIR/$f"); fi
  done
  kb_write_journal
  printf '%s\n' "$KB_SITE" >"$KB_ROOT$KB_STATE_DIR/site"
  printf '%s\n' "$KB_NODE" >"$KB_ROOT$KB_STATE_DIR/node"
  kb_info >"$KB_ROOT$KB_STATE_DIR/bundle.info"

  kb_affected_units
  if [ -z "$KB_ROOT" ] || [ -n "${KBUNDLE_SYSTEMCTL:-}" ]; then
    [ -z "$KB_ROOT" ] && kb_host_changes
    if [ -z "${KB_NO_START:-}" ]; then kb_start_units; fi
  fi
  kb_check_log install ok "$changes changes"
  kb_log "done: $changes changes"
}
