# bootstrap.sh: the first master's cluster bootstrap (SPEC §7), once its apiserver is healthy: every manifest in
# KB_BOOTSTRAP_MANIFESTS, in that order (the bootstrap RBAC, then the add-ons), with the bundle's kubectl,
# server-side (kubectl apply --server-side: the apiserver merges, the bundle is the field manager "kbundle").
# What was applied is recorded, "<sha256> <path>" per manifest, in $KB_STATE_DIR/applied: a manifest applied before
# with the same bytes is skipped, so a re-run applies nothing new and a newer bundle applies only what changed.
# A failure names the manifest and fails the install (exit 1, rolled back). The super-admin credential applies while
# it is on the host and is removed once everything is applied; later runs apply with admin.conf (the group
# kubeadm:cluster-admins, bound to cluster-admin by the first manifest).
kb_bootstrap() {
  local record="$KB_STATE_DIR/applied" conf manifest sha rest out applied=0 skipped=0
  [ -n "$KB_ROOT" ] && return 0
  [ -n "$KB_BOOTSTRAP_MANIFESTS" ] || return 0
  conf=$KB_SUPER_ADMIN_CONF
  [ -f "$conf" ] || conf=$KB_ADMIN_CONF
  declare -A recorded=()
  if [ -f "$record" ]; then
    while read -r sha rest; do recorded[$rest]=$sha; done <"$record"
  fi
  for manifest in $KB_BOOTSTRAP_MANIFESTS; do
    [ -f "$manifest" ] || kb_fail_install kube-apiserver "bootstrap: $manifest is missing"
    sha=$(sha256sum -- "$manifest")
    sha=${sha%% *}
    if [ "${recorded[$manifest]:-}" = "$sha" ]; then skipped=$((skipped + 1)); continue; fi
    kb_log "bootstrap: applying $manifest"
    if ! out=$("$KB_BIN_DIR/kubectl" --kubeconfig "$conf" --server "https://$KB_IP:$(kb_port kube-apiserver secure)" \
      apply --server-side --field-manager=kbundle --force-conflicts -f "$manifest" 2>&1); then
      while IFS= read -r rest; do kb_log "  $rest"; done <<<"$out"
      kb_check_log bootstrap fail "$manifest"
      kb_fail_install kube-apiserver "bootstrap: applying $manifest failed (kubectl apply --server-side)"
    fi
    while IFS= read -r rest; do kb_log "  $rest"; done <<<"$out"
    recorded[$manifest]=$sha
    # Written whole after each manifest: a run cut short re-applies only what it had not recorded.
    for rest in "${!recorded[@]}"; do printf '%s %s\n' "${recorded[$rest]}" "$rest"; done | LC_ALL=C sort -k 2 >"$record.new" && mv -f -- "$record.new" "$record"
    applied=$((applied + 1))
  done
  kb_check_log bootstrap ok "$applied applied, $skipped applied before"
  kb_log "bootstrap: $applied manifest(s) applied, $skipped unchanged since applied"
  if [ -f "$KB_SUPER_ADMIN_CONF" ]; then
    rm -f -- "$KB_SUPER_ADMIN_CONF"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$KB_STATE_DIR/bootstrapped"
    kb_log "bootstrap: super-admin credentials removed from this host"
  fi
}
