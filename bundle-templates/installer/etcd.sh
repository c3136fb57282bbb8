# etcd.sh: an etcd member's day two (SPEC §8): joining a running cluster (member add before its etcd first starts),
# removing the members the site no longer has (only while a quorum holds without them), and restoring this member
# from a snapshot (--etcd-restore). etcdctl is the bundle's, with the health-check client certificate.
KB_ETCD_ADDED=""

kb_etcdctl() {
  ETCDCTL_API=3 "$KB_BIN_DIR/etcdctl" --cacert="$KB_ETCD_CA_CERT" --cert="$KB_ETCD_HEALTH_CERT" --key="$KB_ETCD_HEALTH_KEY" \
    --dial-timeout=5s --command-timeout=30s "$@"
}

# A member's peer and client URLs, from its "name=ip".
kb_etcd_peer_url() { printf 'https://%s:%s' "${1#*=}" "$(kb_port etcd peer)"; }
kb_etcd_client_url() { printf 'https://%s:%s' "${1#*=}" "$(kb_port etcd client)"; }

# The other members' client URLs, comma-separated: whom a joining member asks.
kb_etcd_others() {
  local entry urls=""
  for entry in $KB_ETCD_MEMBERS; do
    [ "${entry%%=*}" = "$KB_NODE" ] && continue
    urls+="${urls:+,}$(kb_etcd_client_url "$entry")"
  done
  printf '%s' "$urls"
}

# The "name=peer-url" pairs this member starts an empty data dir with (its cluster env file).
kb_etcd_initial_cluster() {
  local line
  while IFS= read -r line; do
    [[ $line == ETCD_INITIAL_CLUSTER=* ]] && printf '%s\n' "${line#ETCD_INITIAL_CLUSTER=}" | tr ',' ' '
  done <"$KB_ROOT$KB_ETCD_CLUSTER_ENV"
  return 0
}

# KB_ETCD_JOIN=yes: this member joined, or joins, a running cluster. Before its etcd first starts (no data yet), the
# running members add it (member add); it then starts with initial-cluster-state=existing and the membership the
# cluster has (the cluster env file). A member listed already and never started (an earlier run added it) is not added
# again; one listed and started has lost its data, and the install fails saying so.
kb_etcd_join() {
  local peer list out entry absent="" others line
  [ "$KB_ETCD_JOIN" = yes ] || return 0
  [ -d "$KB_ROOT$KB_ETCD_DATA_DIR/member" ] && return 0
  peer=$(kb_etcd_peer_url "$KB_NODE=$KB_IP")
  others=$(kb_etcd_others)
  if ! list=$(kb_etcdctl --endpoints="$others" member list 2>&1); then
    kb_fail_install etcd "etcd: $KB_NODE joins the running cluster, but no other member answers ($others): $list"
  fi
  # Every member it starts with must be in the cluster already: the ones the rollout adds before it, first.
  for entry in $(kb_etcd_initial_cluster); do
    [ "${entry%%=*}" = "$KB_NODE" ] && continue
    [[ $list == *", ${entry#*=},"* ]] || absent+="${absent:+, }${entry%%=*}"
  done
  if [ -n "$absent" ]; then
    kb_fail_install etcd "etcd: $KB_NODE joins after $absent, which the cluster does not have yet: install their bundles first (kbundle plan shows the order)"
  fi
  if line=$(grep -F ", $peer," <<<"$list"); then
    # Added by an earlier run that did not get it started: start it now. A started member with no data has lost it.
    if [[ $line == *", started, "* ]]; then
      kb_fail_install etcd "etcd: $KB_NODE ($peer) is a started member of the cluster, but its data dir $KB_ETCD_DATA_DIR is empty: a member's data cannot be recreated by starting it; remove it (build the site without it and roll out), then add it back"
    fi
    kb_log "etcd: $KB_NODE ($peer) is a member already (an earlier run added it); starting it"
    return 0
  fi
  out=$(kb_etcdctl --endpoints="$others" member add "$KB_NODE" --peer-urls="$peer" 2>&1) || kb_fail_install etcd "etcd: member add $KB_NODE failed: $out"
  KB_ETCD_ADDED=$(sed -n 's/^Member \([0-9a-f]*\) added.*/\1/p' <<<"$out")
  kb_log "etcd: added $KB_NODE ($peer) to the running cluster as member ${KB_ETCD_ADDED:-?}; it starts with initial-cluster-state=existing"
}

# A rollback undoes this run's join: a member added but never healthy counts against the quorum, so it leaves the
# cluster again, and its half-joined data goes (a later run joins afresh).
kb_etcd_undo_join() {
  [ -n "$KB_ETCD_ADDED" ] || return 0
  if kb_etcdctl --endpoints="$(kb_etcd_others)" member remove "$KB_ETCD_ADDED" >/dev/null 2>&1; then
    kb_log "etcd: removed $KB_NODE (member $KB_ETCD_ADDED) from the cluster again"
  else
    kb_log "warning: etcd: could not remove member $KB_ETCD_ADDED ($KB_NODE) again; remove it by hand: etcdctl member remove $KB_ETCD_ADDED"
  fi
  rm -rf -- "${KB_ROOT}${KB_ETCD_DATA_DIR:?}/member"
  KB_ETCD_ADDED=""
}

# KB_ETCD_REMOVE ("name=ip ..."): members the site no longer has, removed once this member is healthy, one at a time,
# each only while a quorum of the cluster without it is healthy. One already gone is skipped: the first remaining
# member in the rollout removes them, the others find it done.
kb_etcd_remove_members() {
  local entry list line id n need healthy member local_url out
  [ -n "$KB_ETCD_REMOVE" ] || return 0
  local_url="https://127.0.0.1:$(kb_port etcd client)"
  for entry in $KB_ETCD_REMOVE; do
    list=$(kb_etcdctl --endpoints="$local_url" member list 2>&1) || kb_fail_install etcd "etcd: cannot list the members to remove ${entry%%=*}: $list"
    if ! line=$(grep -F ", $(kb_etcd_peer_url "$entry")," <<<"$list"); then
      kb_log "etcd: ${entry%%=*} is not a member (removed before)"
      continue
    fi
    id=${line%%,*}
    n=$(grep -c . <<<"$list")
    need=$(((n - 1) / 2 + 1))
    healthy=0
    for member in $KB_ETCD_MEMBERS; do
      kb_etcdctl --endpoints="$(kb_etcd_client_url "$member")" endpoint health >/dev/null 2>&1 && healthy=$((healthy + 1))
    done
    if [ "$healthy" -lt "$need" ]; then
      kb_fail_install etcd "etcd: removing ${entry%%=*} would leave $((n - 1)) members of which $healthy are healthy, fewer than the quorum of $need; bring the other members back, then run this again"
    fi
    out=$(kb_etcdctl --endpoints="$local_url" member remove "$id" 2>&1) || kb_fail_install etcd "etcd: member remove ${entry%%=*} ($id) failed: $out"
    kb_log "etcd: removed ${entry%%=*} ($(kb_etcd_peer_url "$entry"), member $id) from the cluster; $healthy of the $((n - 1)) members that stay are healthy"
    kb_check_log "etcd:remove:${entry%%=*}" ok "$healthy of $((n - 1)) healthy"
  done
}

# --etcd-restore FILE: this member's store from a snapshot, restored (etcdutl, or etcdctl for etcd before 3.5) into a
# fresh data dir with this member's name and peer URL and the site's membership, then swapped in while etcd is
# stopped; the data it had is kept beside it. A cluster is restored whole: every member from the same snapshot at
# about the same time (each waits, as at the first install, for a quorum of restored members). The restored cluster
# gets a token of its own, made from the site's and the snapshot's sha256 (the same on every member): with the site's
# token it would have the running cluster's ID, and a member restored first would rejoin the members still running
# the old data and be brought up to date by them, the snapshot lost.
kb_etcd_restore() {
  local snapshot=$1 stamp data new old cluster="" entry out tool=() token
  [[ " $KB_UNITS " == *" etcd "* ]] || kb_die 2 "--etcd-restore: node $KB_NODE is not an etcd member (roles $KB_ROLES)"
  [ -n "$KB_ROOT" ] && [ -z "${KBUNDLE_SYSTEMCTL:-}" ] && kb_die 2 "--etcd-restore restores a running member: not with --root"
  [ -f "$snapshot" ] || kb_die 2 "--etcd-restore $snapshot: no such file"
  snapshot=$(readlink -f -- "$snapshot")
  kb_lock
  if [ ! -f "$KB_ROOT$KB_STATE_DIR/journal" ] || [ "$(cat -- "$KB_ROOT$KB_STATE_DIR/node" 2>/dev/null)" != "$KB_NODE" ]; then
    kb_die 3 "--etcd-restore: this host has no install of node $KB_NODE of site $KB_SITE; install this bundle first"
  fi
  kb_confirm "Replace the etcd data of member $KB_NODE of site $KB_SITE with the snapshot $snapshot (restore every member from it)?"
  KB_LOG_READY=1
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  data=$KB_ROOT$KB_ETCD_DATA_DIR
  new="$data.restore-$stamp"
  old="$data.before-restore-$stamp"
  for entry in $KB_ETCD_MEMBERS; do cluster+="${cluster:+,}${entry%%=*}=$(kb_etcd_peer_url "$entry")"; done
  if [ -x "$KB_BIN_DIR/etcdutl" ]; then
    tool=("$KB_BIN_DIR/etcdutl")
    kb_log "etcd: restoring with etcdutl snapshot restore"
  else
    tool=(env ETCDCTL_API=3 "$KB_BIN_DIR/etcdctl")
    kb_log "etcd: this bundle has no etcdutl (etcd before 3.5): restoring with etcdctl snapshot restore"
  fi
  token="$KB_ETCD_TOKEN-restore-$(sha256sum -- "$snapshot" | cut -c1-16)"
  kb_log "etcd: restoring member $KB_NODE of site $KB_SITE from $snapshot (members: $cluster; cluster token $token)"
  if ! out=$("${tool[@]}" snapshot restore "$snapshot" --name "$KB_NODE" --initial-cluster "$cluster" --initial-cluster-token "$token" \
    --initial-advertise-peer-urls "$(kb_etcd_peer_url "$KB_NODE=$KB_IP")" --data-dir "$new" 2>&1); then
    rm -rf -- "$new"
    kb_die 1 "etcd: snapshot restore failed; nothing was changed: $out"
  fi
  chmod 0700 -- "$new"
  kb_systemctl stop etcd || true
  if ! mv -T -- "$data" "$old"; then
    rm -rf -- "$new"
    kb_systemctl start etcd
    kb_die 1 "etcd: cannot move $data aside; nothing was changed"
  fi
  mv -T -- "$new" "$data" || { mv -T -- "$old" "$data"; kb_systemctl start etcd; kb_die 1 "etcd: cannot move the restored data into $data; the old data is back"; }
  kb_log "etcd: the data $KB_NODE had is kept in $old (0700: it holds the cluster's secrets); delete it once the cluster is healthy"
  kb_systemctl start etcd || kb_die 1 "etcd: systemctl start etcd failed after the restore (the old data is in $old)"
  KB_HEALTH_HINT="restore every member from the same snapshot now"
  if ! kb_health etcd; then
    kb_die 1 "etcd: $KB_NODE runs the restored data but is not healthy yet: it waits for a quorum of restored members; restore the other members from the same snapshot now and it joins them (etcdctl endpoint health --cluster shows when); do not restore this member again (the old data is in $old)"
  fi
  kb_check_log etcd:restore ok "$snapshot"
  kb_log "etcd: $KB_NODE restored from $snapshot and healthy"
}
