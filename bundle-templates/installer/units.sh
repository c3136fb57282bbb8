# units.sh: starting the node's units in start order (only those a change affects, or that are not running), each
# health-checked; the first master's bootstrap (bootstrap.sh) once its apiserver is up; the host changes an install
# makes (modules, sysctls, routes).
kb_start_units() {
  local u
  kb_systemctl daemon-reload || kb_fail_install "" "systemctl daemon-reload failed"
  for u in $KB_UNITS; do
    kb_systemctl enable "$u" >/dev/null 2>&1 || kb_fail_install "$u" "systemctl enable $u failed"
    if [[ $KB_AFFECTED == *" $u "* ]] || ! kb_systemctl is-active --quiet "$u"; then
      kb_log "starting $u"
      kb_systemctl restart "$u" || kb_fail_install "$u" "systemctl restart $u failed"
      KB_STARTED+=("$u")
      kb_health "$u" || kb_fail_install "$u" "health check of $u failed"
      kb_log "$u is healthy"
    fi
    if [ "$u" = kube-apiserver ] && [ "$KB_FIRST_MASTER" = yes ]; then kb_bootstrap; fi
  done
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
