#!/bin/bash
# kbundle installer: the logic of every <node>.run (SPEC §3). kbundle prepends the hash line, the sizes and
# this node's KB_* metadata, and appends the tar.gz payload after the last line. Needs only bash, coreutils,
# tar and gzip; never touches the network. Test hooks (all KBUNDLE_*): PROC_ROOT prefixes every /proc, /sys
# and /run path preflight reads; FAKE_UID, NOW, SYSTEMCTL, HEALTH_CMD replace id -u, date, systemctl and the
# health checks.
# shellcheck disable=SC2034  # KB_* metadata above is read by --info and by the functions below
set -u
umask 022
KB_SELF=$(readlink -f -- "$0")
KB_STAGE=""
KB_ROOT=""
KB_PROC="${KBUNDLE_PROC_ROOT:-}"
KB_STATE_REL=/var/lib/kbundle
KB_LOG_REL=/var/log/kbundle-install.log
KB_SKIPPED=","

kb_die() { printf 'kbundle: %s\n' "$2" >&2; exit "$1"; }
kb_integrity() { kb_die 4 "integrity check failed: $*"; }

# The header hash covers every byte after the first two lines (94 bytes: the shebang and KB_HEADER_SHA256),
# so a changed byte anywhere in the script or its metadata is caught before any of it is used.
kb_verify() {
  local hs=$((10#$KB_HEADER_SIZE)) ps=$((10#$KB_PAYLOAD_SIZE)) size actual
  size=$(stat -c %s -- "$KB_SELF") || kb_integrity "cannot read $KB_SELF"
  actual=$(tail -c +95 -- "$KB_SELF" 2>/dev/null | head -c $((hs - 94)) | sha256sum)
  actual=${actual%% *}
  [ "$actual" = "$KB_HEADER_SHA256" ] || kb_integrity "header sha256 is $actual, expected $KB_HEADER_SHA256: the header was modified"
  [ "$size" -eq $((hs + ps)) ] || kb_integrity "$KB_SELF is $size bytes, expected $((hs + ps)): truncated or appended to"
  actual=$(tail -c +$((hs + 1)) -- "$KB_SELF" | sha256sum)
  actual=${actual%% *}
  [ "$actual" = "$KB_PAYLOAD_SHA256" ] || kb_integrity "payload sha256 is $actual, expected $KB_PAYLOAD_SHA256: the payload was modified"
}

kb_payload() { tail -c +$((10#$KB_HEADER_SIZE + 1)) -- "$KB_SELF"; }

kb_usage() {
  cat <<EOF
Usage: $0 [--info | --check | --list | --extract DIR | --dry-run | --uninstall [--purge]]
          [--root DIR] [--no-start] [--skip-preflight NAME[,NAME]] [--yes]
Installs Kubernetes node $KB_NODE of site $KB_SITE. Exit codes: 0 done, 1 install failed (rolled back),
2 usage, 3 preflight failed, 4 integrity check failed.
Preflight checks: root arch systemd cgroup2 node-ip swap modules ports disk clock other-site host-commands
EOF
}

kb_log() {
  printf '%s\n' "$*"
  [ -n "${KB_LOG_READY:-}" ] && printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$KB_ROOT$KB_LOG_REL"
  return 0
}

# One JSON line per check (evidence for auditors). Details never hold quotes: they are our own messages.
kb_check_log() {
  local name=$1 result=$2 detail=${3:-}
  detail=${detail//\\/\\\\}
  detail=${detail//\"/\'}
  [ -n "${KB_LOG_READY:-}" ] || return 0
  printf '{"time":"%s","site":"%s","node":"%s","check":"%s","result":"%s","detail":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$KB_SITE" "$KB_NODE" "$name" "$result" "$detail" >>"$KB_ROOT$KB_STATE_REL/checks.jsonl"
}

kb_info() {
  cat <<EOF
site:           $KB_SITE
node:           $KB_NODE ($KB_IP)
roles:          $KB_ROLES
arch:           $KB_ARCH
kubernetes:     $KB_KUBERNETES
kbundle:        $KB_TOOL_VERSION
units:          $KB_UNITS
header sha256:  $KB_HEADER_SHA256
payload size:   $((10#$KB_PAYLOAD_SIZE))
payload sha256: $KB_PAYLOAD_SHA256
EOF
}

# Staging goes to TMPDIR, else beside the bundle (a small or noexec /tmp is common on hardened hosts).
kb_stage() {
  local base=${TMPDIR:-}
  if [ -z "$base" ] || [ ! -w "$base" ]; then base=$(dirname -- "$KB_SELF"); fi
  [ -w "$base" ] || base=/var/tmp
  KB_STAGE=$(mktemp -d "$base/.kbundle-stage.XXXXXX") || kb_die 1 "cannot create a staging folder in $base (set TMPDIR)"
  trap 'rm -rf -- "$KB_STAGE"' EXIT
  kb_payload | tar -xzf - -C "$KB_STAGE/" || kb_die 1 "cannot unpack the payload into $KB_STAGE (disk full?)"
}

# ---------------------------------------------------------------- preflight
KB_FAILS=()
kb_fail() { KB_FAILS+=("$1: $2"); kb_check_log "preflight:$1" fail "$2"; }
kb_pass() { kb_check_log "preflight:$1" ok "${2:-}"; }
kb_has_role() { [[ ",$KB_ROLES," == *",$1,"* ]]; }

kb_pf_root() {
  local uid=${KBUNDLE_FAKE_UID:-$(id -u)}
  if [ "$uid" -eq 0 ]; then kb_pass root; else kb_fail root "runs as uid $uid; run it as root (sudo $0)"; fi
}

kb_pf_arch() {
  local machine arch
  machine=$(cat "$KB_PROC/proc/sys/kernel/arch" 2>/dev/null || uname -m)
  case $machine in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=$machine ;; esac
  if [ "$arch" = "$KB_ARCH" ]; then kb_pass arch "$arch"; else kb_fail arch "this host is $arch ($machine), the bundle is for $KB_ARCH; use the bundle built for this node"; fi
}

kb_pf_systemd() {
  if [ -d "$KB_PROC/run/systemd/system" ]; then kb_pass systemd; else kb_fail systemd "systemd is not the init system (no /run/systemd/system); the units need systemd"; fi
}

kb_pf_cgroup2() {
  if [ -f "$KB_PROC/sys/fs/cgroup/cgroup.controllers" ]; then kb_pass cgroup2
  else kb_fail cgroup2 "cgroup v2 is not mounted at /sys/fs/cgroup; boot with systemd.unified_cgroup_hierarchy=1"; fi
}

kb_pf_node_ip() {
  local prev="" line
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}
    if [ "$line" = "/32 host LOCAL" ] && [ "$prev" = "|-- $KB_IP" ]; then kb_pass node-ip "$KB_IP"; return; fi
    prev=$line
  done <"$KB_PROC/proc/net/fib_trie"
  kb_fail node-ip "$KB_IP (this node's IP in the site file) is on no interface; fix the site file or the network"
}

kb_pf_swap() {
  local lines=0 line
  while IFS= read -r line; do lines=$((lines + 1)); done <"$KB_PROC/proc/swaps"
  if [ "$lines" -le 1 ]; then kb_pass swap; else kb_fail swap "swap is on; run swapoff -a and remove swap from /etc/fstab"; fi
}

kb_pf_modules() {
  local m missing=()
  for m in overlay br_netfilter; do
    [ -d "$KB_PROC/sys/module/$m" ] && continue
    if [ -z "$KB_PROC" ] && modprobe -n -q "$m" 2>/dev/null; then continue; fi
    missing+=("$m")
  done
  if [ ${#missing[@]} -eq 0 ]; then kb_pass modules; else kb_fail modules "kernel modules not loadable: ${missing[*]}; install the kernel's extra modules package"; fi
}

kb_listening_ports() {
  local file sl local_address rest
  for file in "$KB_PROC/proc/net/tcp" "$KB_PROC/proc/net/tcp6"; do
    [ -f "$file" ] || continue
    while read -r sl local_address _ st rest; do
      [ "$sl" = "sl" ] && continue
      [ "$st" = "0A" ] && printf '%d\n' "0x${local_address##*:}"
    done <"$file"
  done
  : "$rest"
}

kb_pf_ports() {
  local wanted=("$KB_LOCAL_PROXY_PORT") busy=() p listening
  kb_has_role etcd && wanted+=(2379 2380)
  kb_has_role master && wanted+=("$KB_API_PORT" 10257 10259)
  kb_has_role worker && wanted+=(10250)
  # Our own services hold these ports on a re-run or upgrade.
  if [ -f "$KB_ROOT$KB_STATE_REL/journal" ]; then kb_pass ports "re-install: ports held by this site's services"; return; fi
  listening=" $(kb_listening_ports | tr '\n' ' ') "
  for p in "${wanted[@]}"; do [[ $listening == *" $p "* ]] && busy+=("$p"); done
  if [ ${#busy[@]} -eq 0 ]; then kb_pass ports "${wanted[*]}"; else kb_fail ports "ports in use: ${busy[*]}; stop what listens there (ss -ltnp)"; fi
}

kb_pf_disk() {
  local need avail
  need=$(((10#$KB_PAYLOAD_SIZE * 4) / 1024))
  local where=${KBUNDLE_DISK_PATH:-$KB_ROOT/}
  avail=$(df -Pk -- "$where" | tail -n 1 | tr -s ' ' | cut -d ' ' -f 4)
  if [ "${avail:-0}" -ge "$need" ]; then kb_pass disk "${avail}K free"; else kb_fail disk "${avail}K free on $where, ${need}K needed; free some space"; fi
}

kb_pf_clock() {
  local now=${KBUNDLE_NOW:-$(date +%s)}
  if [ "$now" -lt "$KB_BUILD_EPOCH" ]; then
    printf 'kbundle: warning: clock: the host clock is before the bundle was built; certificates may look not yet valid (set the time, use NTP)\n' >&2
    kb_check_log preflight:clock warn "clock $now before build $KB_BUILD_EPOCH"
  else kb_pass clock; fi
}

kb_pf_other_site() {
  local file="$KB_ROOT$KB_STATE_REL/site" installed
  if [ -f "$file" ]; then
    installed=$(cat -- "$file")
    if [ "$installed" != "$KB_SITE" ]; then kb_fail other-site "this host has an install of site '$installed'; run that bundle with --uninstall first"; return; fi
  fi
  kb_pass other-site
}

kb_pf_host_commands() {
  kb_has_role worker || { kb_pass host-commands "not a worker"; return; }
  local missing=() pair
  local needed=("conntrack:conntrack (RHEL: conntrack-tools)" "socat:socat" "mount:mount (util-linux)")
  case $KB_PROXY_MODE in
    iptables) needed+=("iptables:iptables") ;;
    nftables) needed+=("nft:nftables") ;;
    ipvs) needed+=("ipset:ipset" "iptables:iptables") ;;
  esac
  for pair in "${needed[@]}"; do command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair%%:*} (package ${pair#*:})"); done
  if [ ${#missing[@]} -eq 0 ]; then kb_pass host-commands; else kb_fail host-commands "missing commands kubelet/kube-proxy need: ${missing[*]}; install them"; fi
}

KB_CHECKS="root arch systemd cgroup2 node-ip swap modules ports disk clock other-site host-commands"
kb_preflight() {
  local skip=",$1," name
  for name in $KB_CHECKS; do
    if [[ $skip == *",$name,"* ]]; then kb_check_log "preflight:$name" skipped "--skip-preflight"; continue; fi
    case $name in
      root) kb_pf_root ;; arch) kb_pf_arch ;; systemd) kb_pf_systemd ;; cgroup2) kb_pf_cgroup2 ;;
      node-ip) kb_pf_node_ip ;; swap) kb_pf_swap ;; modules) kb_pf_modules ;; ports) kb_pf_ports ;;
      disk) kb_pf_disk ;; clock) kb_pf_clock ;; other-site) kb_pf_other_site ;; host-commands) kb_pf_host_commands ;;
    esac
  done
  if [ ${#KB_FAILS[@]} -gt 0 ]; then
    printf 'kbundle: preflight failed (skip a check with --skip-preflight NAME):\n' >&2
    printf '  %s\n' "${KB_FAILS[@]}" >&2
    exit 3
  fi
}

# ---------------------------------------------------------------- plan
# KB_PLAN: one "state<TAB>path<TAB>mode<TAB>sha<TAB>units" line per file; state is new, changed or same.
declare -A KB_PREV=()
KB_PLAN=()
kb_read_journal() {
  local sha path
  [ -f "$KB_ROOT$KB_STATE_REL/journal" ] || return 0
  while read -r sha path; do KB_PREV[$path]=$sha; done <"$KB_ROOT$KB_STATE_REL/journal"
}

kb_file_state() {
  local dest=$1 mode=$2 sha=$3 cur
  [ -e "$dest" ] || { echo new; return; }
  cur=$(sha256sum -- "$dest")
  if [ "${cur%% *}" = "$sha" ] && [ "$((8#$(stat -c %a -- "$dest")))" -eq "$((8#$mode))" ]; then echo same; else echo changed; fi
}

kb_plan() {
  local path mode sha units table="$KB_STAGE/.kbundle/files.tsv"
  # Masters get kubectl working for root out of the box.
  if [ -f "$KB_STAGE/etc/kubernetes/admin.conf" ]; then
    mkdir -p "$KB_STAGE/root/.kube"
    cp -- "$KB_STAGE/etc/kubernetes/admin.conf" "$KB_STAGE/root/.kube/config"
    sha=$(sha256sum -- "$KB_STAGE/root/.kube/config")
    printf '/root/.kube/config\t0600\t%s\t-\n' "${sha%% *}" >>"$table"
  fi
  while IFS=$'\t' read -r path mode sha units; do
    # The super-admin credentials live on the host only until the bootstrap manifests are applied.
    if [ "$path" = /etc/kubernetes/super-admin.conf ] && [ -f "$KB_ROOT$KB_STATE_REL/bootstrapped" ]; then continue; fi
    KB_PLAN+=("$(kb_file_state "$KB_ROOT$path" "$mode" "$sha")"$'\t'"$path"$'\t'"$mode"$'\t'"$sha"$'\t'"$units")
  done <"$table"
}

kb_in_plan() {
  local entry rest
  for entry in "${KB_PLAN[@]}"; do rest=${entry#*$'\t'}; [ "${rest%%$'\t'*}" = "$1" ] && return 0; done
  return 1
}

kb_sysctl_changes() {
  local file="$KB_STAGE/etc/sysctl.d/99-kubernetes.conf" key value current
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
    printf '%-8s %s\n' "$state" "$path"
    case $state in new) new=$((new + 1)) ;; changed) changed=$((changed + 1)) ;; *) same=$((same + 1)) ;; esac
  done
  for path in "${!KB_PREV[@]}"; do
    [[ $path == dir:* ]] && continue
    kb_in_plan "$path" || printf '%-8s %s\n' remove "$path"
  done
  kb_affected_units
  for u in $KB_UNITS; do
    if [[ $KB_AFFECTED == *" $u "* ]]; then printf 'unit     %s: enable, (re)start\n' "$u"; else printf 'unit     %s: unchanged\n' "$u"; fi
  done
  [ -z "$KB_ROOT" ] && kb_sysctl_changes
  printf 'dry run: %d new, %d changed, %d same; nothing was changed\n' "$new" "$changed" "$same"
}

# ---------------------------------------------------------------- install
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

kb_systemctl() { ${KBUNDLE_SYSTEMCTL:-systemctl} "$@"; }

kb_write_file() {
  local path=$1 mode=$2 dest="$KB_ROOT$1" rel
  if [ -e "$dest" ]; then
    # Back up what we replace: for this run's rollback, and (first time only) for uninstall.
    mkdir -p -- "$(dirname -- "$KB_BACKUP_DIR$path")"
    cp -p -- "$dest" "$KB_BACKUP_DIR$path"
    rel="$KB_ROOT$KB_STATE_REL/backup$path"
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
  done <"$KB_STAGE/.kbundle/dirs.tsv"
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

kb_http_200() {
  local port=$1 path=$2 reply
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  IFS= read -r -t 5 reply <&3
  exec 3>&-
  [[ ${reply:-} == *" 200 "* ]]
}

kb_tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Health checks use only what the bundle ships (kubectl, etcdctl, ctr) or bash itself: minimal hosts lack HTTP and TLS clients.
kb_health_once() {
  local unit=$1 bin=/opt/k8s/bin pki=/etc/kubernetes/pki
  if [ -n "${KBUNDLE_HEALTH_CMD:-}" ]; then "$KBUNDLE_HEALTH_CMD" "$unit"; return; fi
  case $unit in
    containerd) "$bin/ctr" --address /run/containerd/containerd.sock version >/dev/null 2>&1 ;;
    etcd) "$bin/etcdctl" --endpoints=https://127.0.0.1:2379 --cacert="$pki/etcd/ca.crt" \
      --cert="$pki/etcd/healthcheck-client.crt" --key="$pki/etcd/healthcheck-client.key" endpoint health >/dev/null 2>&1 ;;
    kube-apiserver) "$bin/kubectl" --kubeconfig /etc/kubernetes/admin.conf --server "https://$KB_IP:$KB_API_PORT" get --raw /readyz >/dev/null 2>&1 ;;
    kube-controller-manager) kb_tcp_open 10257 ;;
    kube-scheduler) kb_tcp_open 10259 ;;
    kube-nginx)
      # TLS through the local proxy to an apiserver, verified against ca.crt, with this node's own credentials
      # (admin on masters, the kubelet's on workers); a TCP connect on a node with neither (etcd only).
      local kc=/etc/kubernetes/admin.conf
      [ -f "$kc" ] || kc=/etc/kubernetes/kubelet.conf
      if [ -x "$bin/kubectl" ] && [ -f "$kc" ]; then
        "$bin/kubectl" --kubeconfig "$kc" --server "https://127.0.0.1:$KB_LOCAL_PROXY_PORT" \
          --certificate-authority "$pki/ca.crt" get --raw /readyz >/dev/null 2>&1
      else kb_tcp_open "$KB_LOCAL_PROXY_PORT"; fi ;;
    kubelet) kb_http_200 10248 /healthz ;;
    kube-proxy) kb_http_200 10256 /healthz ;;
    *) return 0 ;;
  esac
}

kb_health() {
  local unit=$1 timeout=${KBUNDLE_HEALTH_TIMEOUT:-120} waited=0
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

kb_bootstrap() {
  local conf=/etc/kubernetes/super-admin.conf
  [ -n "$KB_ROOT" ] || [ -f "$KB_STATE_REL/bootstrapped" ] && return 0
  [ -d /etc/kubernetes/bootstrap ] || return 0
  /opt/k8s/bin/kubectl --kubeconfig "$conf" --server "https://$KB_IP:$KB_API_PORT" apply -f /etc/kubernetes/bootstrap/ ||
    kb_fail_install kube-apiserver "applying the bootstrap manifests failed"
  kb_check_log bootstrap ok "manifests applied"
  rm -f -- "$conf"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$KB_STATE_REL/bootstrapped"
  kb_log "bootstrap manifests applied; super-admin credentials removed from this host"
}

kb_host_changes() {
  local subnet via gw m
  kb_hosts_block
  if [ -f /etc/modules-load.d/kubernetes.conf ]; then
    while read -r m; do
      if [ -z "$m" ] || [[ $m == \#* ]]; then continue; fi
      [ -d "/sys/module/$m" ] && continue   # loaded already, or built into the kernel
      modprobe "$m" && continue
      # Only an operator who skipped the modules preflight check gets here with a module missing.
      if [[ $KB_SKIPPED == *",modules,"* ]]; then kb_log "warning: modprobe $m failed (modules check skipped)"
      else kb_fail_install "" "modprobe $m failed"; fi
    done </etc/modules-load.d/kubernetes.conf
  fi
  if [ -f /etc/sysctl.d/99-kubernetes.conf ] && ! sysctl -q -p /etc/sysctl.d/99-kubernetes.conf; then
    # net.bridge.* exists only with br_netfilter loaded: tolerated only when the modules check was skipped.
    if [[ $KB_SKIPPED == *",modules,"* ]] && sysctl -q -e -p /etc/sysctl.d/99-kubernetes.conf; then
      kb_log "warning: some sysctls could not be applied (modules check skipped)"
    else kb_fail_install "" "sysctl failed"; fi
  fi
  if [ -f /etc/kubernetes/pod-routes.conf ]; then
    while read -r subnet via gw; do
      [ "$via" = via ] && { ip route replace "$subnet" via "$gw" || kb_log "warning: ip route replace $subnet via $gw failed"; }
    done </etc/kubernetes/pod-routes.conf
  fi
}

kb_install() {
  local entry state rest path mode sha changes=0 d old tmp f
  KB_NEW_DIRS=()
  mkdir -p -- "$KB_ROOT$KB_STATE_REL" "$(dirname -- "$KB_ROOT$KB_LOG_REL")"
  chmod 0700 -- "$KB_ROOT$KB_STATE_REL"
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
    if [ -f "$KB_ROOT$KB_STATE_REL/$f" ]; then
      mkdir -p -- "$KB_BACKUP_DIR$KB_STATE_REL" && cp -p -- "$KB_ROOT$KB_STATE_REL/$f" "$KB_BACKUP_DIR$KB_STATE_REL/$f"
    else KB_CREATED+=("$KB_STATE_REL/$f"); fi
  done
  # The journal: every file with its hash, and every folder we created (uninstall removes them if empty).
  tmp="$KB_ROOT$KB_STATE_REL/.journal.new"
  {
    for entry in "${KB_PLAN[@]}"; do
      rest=${entry#*$'\t'}
      path=${rest%%$'\t'*}
      rest=${rest#*$'\t'}
      rest=${rest#*$'\t'}
      sha=${rest%%$'\t'*}
      printf '%s %s\n' "$sha" "$path"
    done
    for old in "${!KB_PREV[@]}"; do [[ $old == dir:* ]] && printf '%s %s\n' "${KB_PREV[$old]}" "$old"; done
    for d in "${KB_NEW_DIRS[@]}"; do printf 'dir dir:%s\n' "$d"; done
  } | sort -u -k 2 >"$tmp" && mv -f -- "$tmp" "$KB_ROOT$KB_STATE_REL/journal"
  printf '%s\n' "$KB_SITE" >"$KB_ROOT$KB_STATE_REL/site"
  printf '%s\n' "$KB_NODE" >"$KB_ROOT$KB_STATE_REL/node"
  kb_info >"$KB_ROOT$KB_STATE_REL/bundle.info"

  kb_affected_units
  if [ -z "$KB_ROOT" ] || [ -n "${KBUNDLE_SYSTEMCTL:-}" ]; then
    [ -z "$KB_ROOT" ] && kb_host_changes
    if [ -z "${KB_NO_START:-}" ]; then kb_start_units; fi
  fi
  kb_check_log install ok "$changes changes"
  kb_log "done: $changes changes"
}

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
  local dir="$KB_ROOT$KB_STATE_REL" site="" node="" line
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
  if [ ! -f "$KB_ROOT$KB_STATE_REL/journal" ]; then
    printf 'kbundle: nothing to uninstall: no install journal at %s (already uninstalled?)\n' "$KB_ROOT$KB_STATE_REL/journal"
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
    if [ -e "$KB_ROOT$KB_STATE_REL/backup$path" ]; then
      mv -f -- "$KB_ROOT$KB_STATE_REL/backup$path" "$KB_ROOT$path"
      kb_log "restored: $path"
      restored=$((restored + 1))
    fi
  done <"$KB_ROOT$KB_STATE_REL/journal"
  # Deepest folders first; only the empty ones we created go.
  while IFS= read -r d; do [ -n "$d" ] && rmdir -- "$KB_ROOT$d" 2>/dev/null; done < <(printf '%s\n' "${dirs[@]}" | sort -r)
  [ -z "$KB_ROOT" ] && kb_hosts_block remove
  for d in $KB_DATA_DIRS; do
    if [ "$purge" = yes ]; then kb_rm_tree "$d"; else rmdir -- "$KB_ROOT$d" 2>/dev/null; fi
  done
  kb_rm_tree "$KB_STATE_REL/backup"
  # The journal goes last: an uninstall cut short can be run again.
  rm -f -- "$KB_ROOT$KB_STATE_REL/site" "$KB_ROOT$KB_STATE_REL/node" "$KB_ROOT$KB_STATE_REL/bundle.info" "$KB_ROOT$KB_STATE_REL/bootstrapped" \
    "$KB_ROOT$KB_STATE_REL/journal"
  kb_log "uninstalled: $removed files removed, $restored host files restored, $kept kept"
  if [ "$purge" = yes ]; then
    kb_log "data purged: $KB_DATA_DIRS"
    kb_rm_tree "$KB_STATE_REL"
  else kb_log "data folders kept ($KB_DATA_DIRS); --purge removes them"; fi
  return 0
}

kb_main() {
  local action=install extract_dir="" purge=no skip=""
  while [ $# -gt 0 ]; do
    case $1 in
      --info | --check | --list | --dry-run | --uninstall) action=${1#--} ;;
      --extract) [ $# -ge 2 ] || kb_die 2 "--extract needs a folder"; action=extract; extract_dir=$2; shift ;;
      --root) [ $# -ge 2 ] || kb_die 2 "--root needs a folder"; KB_ROOT=$(readlink -m -- "$2"); shift ;;
      --purge) purge=yes ;;
      --no-start) KB_NO_START=1 ;;
      --skip-preflight) [ $# -ge 2 ] || kb_die 2 "--skip-preflight needs NAME[,NAME]"; skip=$2; KB_SKIPPED=",$2,"; shift ;;
      --yes) KB_YES=1 ;;
      -h | --help) kb_usage; exit 0 ;;
      *) kb_usage >&2; kb_die 2 "unknown option: $1" ;;
    esac
    shift
  done
  if [ "$purge" = yes ] && [ "$action" != uninstall ]; then kb_die 2 "--purge goes with --uninstall"; fi
  local name
  for name in ${skip//,/ }; do [[ " $KB_CHECKS " == *" $name "* ]] || kb_die 2 "--skip-preflight $name: no such check; checks: $KB_CHECKS"; done
  [ "$KB_ROOT" = / ] && KB_ROOT=""

  kb_verify
  case $action in
    info) kb_info ;;
    check) printf 'kbundle: %s: header and payload verified (payload sha256 %s)\n' "$(basename -- "$KB_SELF")" "$KB_PAYLOAD_SHA256" ;;
    list) kb_payload | tar -tvzf - --exclude=.kbundle ;;
    extract)
      if ! { mkdir -p -- "$extract_dir" && kb_payload | tar -xzf - -C "$extract_dir" --exclude=.kbundle; }; then kb_die 1 "cannot unpack into $extract_dir"; fi
      printf 'kbundle: unpacked into %s\n' "$extract_dir" ;;
    uninstall) kb_uninstall "$purge" ;;
    dry-run | install)
      [ -n "$KB_ROOT" ] && [ ! -d "$KB_ROOT" ] && kb_die 2 "--root $KB_ROOT: no such folder"
      if [ "$action" = install ] && mkdir -p -- "$KB_ROOT$KB_STATE_REL" "$(dirname -- "$KB_ROOT$KB_LOG_REL")" 2>/dev/null; then KB_LOG_READY=1; fi
      if [ -z "$KB_ROOT" ]; then kb_preflight "$skip"; else KB_FAILS=(); kb_pf_other_site; [ ${#KB_FAILS[@]} -eq 0 ] || { printf '  %s\n' "${KB_FAILS[@]}" >&2; exit 3; }; fi
      kb_stage
      kb_read_journal
      kb_plan
      if [ "$action" = dry-run ]; then kb_dry_run; else kb_install; fi ;;
  esac
}

kb_main "$@"
exit $?
