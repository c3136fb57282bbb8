# health.sh: is a unit up? Each check uses only what the bundle ships (kubectl, etcdctl, ctr) or bash itself:
# minimal hosts lack HTTP and TLS clients. Ports come from the roles table (kb_port), paths from the header.
kb_http_200() {
  local port=$1 path=$2 reply
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  IFS= read -r -t 5 reply <&3
  exec 3>&-
  [[ ${reply:-} == *" 200 "* ]]
}

kb_tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kb_health_once() {
  local unit=$1 bin=$KB_BIN_DIR
  if [ -n "${KBUNDLE_HEALTH_CMD:-}" ]; then "$KBUNDLE_HEALTH_CMD" "$unit"; return; fi
  case $unit in
    containerd) "$bin/ctr" --address "$KB_CONTAINERD_SOCKET" version >/dev/null 2>&1 ;;
    etcd) "$bin/etcdctl" --endpoints="https://127.0.0.1:$(kb_port etcd client)" --cacert="$KB_ETCD_CA_CERT" \
      --cert="$KB_ETCD_HEALTH_CERT" --key="$KB_ETCD_HEALTH_KEY" endpoint health >/dev/null 2>&1 ;;
    kube-apiserver) "$bin/kubectl" --kubeconfig "$KB_ADMIN_CONF" --server "https://$KB_IP:$(kb_port kube-apiserver secure)" get --raw /readyz >/dev/null 2>&1 ;;
    kube-controller-manager) kb_tcp_open "$(kb_port kube-controller-manager secure)" ;;
    kube-scheduler) kb_tcp_open "$(kb_port kube-scheduler secure)" ;;
    kube-nginx)
      # TLS through the local proxy to an apiserver, verified against ca.crt, with this node's own credentials
      # (admin on masters, the kubelet's on workers); a TCP connect on a node with neither (etcd only).
      local kc=$KB_ADMIN_CONF
      [ -f "$kc" ] || kc=$KB_KUBELET_CONF
      if [ -x "$bin/kubectl" ] && [ -f "$kc" ]; then
        "$bin/kubectl" --kubeconfig "$kc" --server "https://127.0.0.1:$(kb_port kube-nginx proxy)" \
          --certificate-authority "$KB_CA_CERT" get --raw /readyz >/dev/null 2>&1
      else kb_tcp_open "$(kb_port kube-nginx proxy)"; fi ;;
    kubelet) kb_http_200 "$(kb_port kubelet healthz)" /healthz ;;
    kube-proxy) kb_http_200 "$(kb_port kube-proxy healthz)" /healthz ;;
    *) return 0 ;;
  esac
}

# etcd is healthy only with a quorum of its members: the first one installed waits for the others, so say which.
kb_health_waiting() {
  local entry others=""
  [ "$1" = etcd ] || return 0
  for entry in $KB_ETCD_MEMBERS; do
    [ "${entry%%=*}" = "$KB_NODE" ] || others+="${others:+, }${entry%%=*} (${entry#*=})"
  done
  [ -n "$others" ] || return 0
  kb_log "waiting for etcd: it is healthy only once a quorum of its members runs; waiting for $others" \
    "(${KB_HEALTH_HINT:-install the etcd members together: start their bundles now})"
}

kb_health() {
  local unit=$1 timeout=${KBUNDLE_HEALTH_TIMEOUT:-120} waited=0
  kb_health_once "$unit" || kb_health_waiting "$unit"
  while ! kb_health_once "$unit"; do
    if [ "$waited" -ge "$timeout" ]; then
      kb_check_log "health:$unit" fail "not healthy after ${timeout}s"
      return 1
    fi
    sleep 2
    waited=$((waited + 2))
  done
  kb_check_log "health:$unit" ok "healthy after ${waited}s"
}
