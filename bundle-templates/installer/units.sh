# units.sh: starting the node's units in start order (only those a change affects, that an earlier run held back, or
# that are not running), each health-checked; an etcd member's join and removals (etcd.sh) around its etcd; the first
# master's bootstrap (bootstrap.sh) once its apiserver is up; the host changes an install makes (modules, sysctls,
# routes).
# --hold UNIT,...: a running unit a change would restart keeps running (a master's kubelet and kube-proxy while the
# other apiservers are upgraded, SPEC §8); it is named in $KB_STATE_DIR/held, and the next run without --hold restarts it.
KB_HOLD=","
KB_WAS_ACTIVE=()
kb_held_before() { cat -- "$KB_ROOT$KB_STATE_DIR/held" 2>/dev/null; return 0; }

kb_start_units() {
  local u active held_before held_now=()
  held_before=" $(kb_held_before) "
  kb_systemctl daemon-reload || kb_fail_install "" "systemctl daemon-reload failed"
  for u in $KB_UNITS; do
    kb_systemctl enable "$u" >/dev/null 2>&1 || kb_fail_install "$u" "systemctl enable $u failed"
    active=no
    if kb_systemctl is-active --quiet "$u"; then active=yes; KB_WAS_ACTIVE+=("$u"); fi
    if [[ $KB_AFFECTED == *" $u "* ]] || [[ $held_before == *" $u "* ]] || [ $active = no ]; then
      if [ $active = yes ] && [[ $KB_HOLD == *",$u,"* ]]; then
        held_now+=("$u")
        kb_log "held: $u keeps running as it is (--hold); run this bundle again without --hold to restart it"
      else
        [ "$u" = etcd ] && kb_etcd_join
        kb_log "starting $u"
        # Counted as started before it is: a unit whose restart fails is stopped by the rollback and, if it ran before, started again.
        KB_STARTED+=("$u")
        kb_systemctl restart "$u" || kb_fail_install "$u" "systemctl restart $u failed"
        kb_health "$u" || kb_fail_install "$u" "health check of $u failed"
        kb_log "$u is healthy"
      fi
    fi
    [ "$u" = etcd ] && kb_etcd_remove_members
    if [ "$u" = kube-apiserver ] && [ "$KB_FIRST_MASTER" = yes ]; then kb_bootstrap; fi
  done
  if [ ${#held_now[@]} -gt 0 ]; then printf '%s\n' "${held_now[*]}" >"$KB_ROOT$KB_STATE_DIR/held"
  else rm -f -- "$KB_ROOT$KB_STATE_DIR/held"; fi
}

kb_host_changes() {
  local subnet via gw m
  kb_hosts_block
  if [ -f "$KB_MODULES_CONF" ]; then
    while read -r m; do
      if [ -z "$m" ] || [[ $m == \#* ]]; then continue; fi
      [ -d "/sys/module/$m" ] && continue   # loaded already, or built into the kernel
      modprobe "$m" && continue
      # Only an operator who skipped the modules preflight check gets here with a module missing.
      if [[ $KB_SKIPPED == *",modules,"* ]]; then kb_log "warning: modprobe $m failed (modules check skipped)"
      else kb_fail_install "" "modprobe $m failed"; fi
    done <"$KB_MODULES_CONF"
  fi
  if [ -f "$KB_SYSCTL_CONF" ] && ! sysctl -q -p "$KB_SYSCTL_CONF"; then
    # net.bridge.* exists only with br_netfilter loaded: tolerated only when the modules check was skipped.
    if [[ $KB_SKIPPED == *",modules,"* ]] && sysctl -q -e -p "$KB_SYSCTL_CONF"; then
      kb_log "warning: some sysctls could not be applied (modules check skipped)"
    else kb_fail_install "" "sysctl failed"; fi
  fi
  if [ -f "$KB_POD_ROUTES" ]; then
    while read -r subnet via gw; do
      [ "$via" = via ] && { ip route replace "$subnet" via "$gw" || kb_log "warning: ip route replace $subnet via $gw failed"; }
    done <"$KB_POD_ROUTES"
  fi
}
