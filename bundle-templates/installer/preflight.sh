# preflight.sh: the named host checks an install runs first (SPEC §3); each is skippable, all failures are listed
# together with their fix, and each result is one line in checks.jsonl.
KB_FAILS=()
kb_fail() { KB_FAILS+=("$1: $2"); kb_check_log "preflight:$1" fail "$2"; }
kb_pass() { kb_check_log "preflight:$1" ok "${2:-}"; }

# The checks. kb_preflight calls them by name, which shellcheck cannot follow (SC2317).
# shellcheck disable=SC2317
{
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

# Every port the node's components bind (KB_PORTS, from the roles table).
kb_pf_ports() {
  local wanted=" " busy=() p listening entry
  for entry in $KB_PORTS; do [[ $wanted == *" ${entry#*=} "* ]] || wanted+="${entry#*=} "; done
  # Our own services hold these ports on a re-run or upgrade.
  if [ -f "$KB_ROOT$KB_STATE_DIR/journal" ]; then kb_pass ports "re-install: ports held by this site's services"; return; fi
  listening=" $(kb_listening_ports | tr '\n' ' ') "
  for p in $wanted; do [[ $listening == *" $p "* ]] && busy+=("$p"); done
  wanted=${wanted# }
  if [ ${#busy[@]} -eq 0 ]; then kb_pass ports "${wanted% }"; else kb_fail ports "ports in use: ${busy[*]}; stop what listens there (ss -ltnp)"; fi
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
  local file="$KB_ROOT$KB_STATE_DIR/site" installed
  if [ -f "$file" ]; then
    installed=$(cat -- "$file")
    if [ "$installed" != "$KB_SITE" ]; then kb_fail other-site "this host has an install of site '$installed'; run that bundle with --uninstall first"; return; fi
  fi
  kb_pass other-site
}

# KB_HOST_COMMANDS: "component:command:package;..." (from the roles table), the commands the node's components run
# on the host without shipping them.
kb_pf_host_commands() {
  [ -n "$KB_HOST_COMMANDS" ] || { kb_pass host-commands "none needed"; return; }
  local missing=() who="" entry component command
  local IFS=';'
  for entry in $KB_HOST_COMMANDS; do
    component=${entry%%:*}
    entry=${entry#*:}
    command=${entry%%:*}
    [[ "/$who/" == *"/$component/"* ]] || who=${who:+$who/}$component
    command -v "$command" >/dev/null 2>&1 || missing+=("$command (package ${entry#*:})")
  done
  unset IFS
  if [ ${#missing[@]} -eq 0 ]; then kb_pass host-commands; else kb_fail host-commands "missing commands $who need: ${missing[*]}; install them"; fi
}
}

# The checks, in the order they run: check NAME is the function kb_pf_NAME (with - as _). Adding a check is adding
# its name here and writing its function above.
KB_CHECKS="root arch systemd cgroup2 node-ip swap modules ports disk clock other-site host-commands"
kb_preflight() {
  local skip=",$1," name
  for name in $KB_CHECKS; do
    if [[ $skip == *",$name,"* ]]; then kb_check_log "preflight:$name" skipped "--skip-preflight"; continue; fi
    "kb_pf_${name//-/_}"
  done
  if [ ${#KB_FAILS[@]} -gt 0 ]; then
    printf 'kbundle: preflight failed (skip a check with --skip-preflight NAME):\n' >&2
    printf '  %s\n' "${KB_FAILS[@]}" >&2
    exit 3
  fi
}
