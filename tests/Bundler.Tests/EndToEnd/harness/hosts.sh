#!/usr/bin/env bash
# Simulated hosts for the end-to-end tests: each host is a network namespace with its own address on a
# bridge that lives in a namespace of its own (the root namespace's networking is never touched), plus a
# mount namespace whose /etc, /opt, /root, /var/lib, /var/log and /usr/local are overlays and /run a tmpfs,
# so an installer writes the real paths of that host only. systemctl/journalctl stand-ins are on its PATH.
# /var/lib/containerd is a plain folder of the host's own (bound over the overlay): containerd's overlayfs
# snapshotter cannot put its layers on an overlay.
#
#   hosts.sh up   BASE NAME=IP/PREFIX...   create the hosts (BASE: a scratch folder)
#   hosts.sh exec BASE NAME CMD...         run CMD inside host NAME
#   hosts.sh down BASE                     stop every unit, unmount, delete the namespaces and BASE
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
overlays=(etc opt root var/lib var/log usr/local)

ns_of() { printf 'kbe%s-%s' "$(cksum <<<"$1" | cut -c1-4)" "$2"; }

up() {
  local base=$1; shift
  mkdir -p "$base"
  base=$(cd "$base" && pwd)
  local bridge_ns
  bridge_ns=$(ns_of "$base" br)
  ip netns add "$bridge_ns"
  ip -n "$bridge_ns" link add br0 type bridge
  ip -n "$bridge_ns" link set br0 up
  ip -n "$bridge_ns" link set lo up
  local i=0
  for spec in "$@"; do
    local name=${spec%%=*} address=${spec#*=}
    local ns h
    ns=$(ns_of "$base" "$name"); h="$base/$name"
    mkdir -p "$h"
    echo "$ns" >"$h/netns"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "kbe$$h$i" type veth peer name "kbe$$b$i"
    ip link set "kbe$$h$i" netns "$ns"
    ip link set "kbe$$b$i" netns "$bridge_ns"
    ip -n "$ns" link set "kbe$$h$i" name eth0
    ip -n "$ns" addr add "$address" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$bridge_ns" link set "kbe$$b$i" master br0
    ip -n "$bridge_ns" link set "kbe$$b$i" up
    # A persistent mount namespace bound to a file; its parent mount must be private.
    mkdir -p "$h/ns"
    mount --bind "$h/ns" "$h/ns"
    mount --make-private "$h/ns"
    touch "$h/ns/mnt" "$h/ns/uts"
    unshare --mount="$h/ns/mnt" --uts="$h/ns/uts" --propagation private hostname "$name"
    local mounts=""
    for d in "${overlays[@]}"; do
      local key=${d//\//_}
      mkdir -p "$h/upper/$key" "$h/work/$key"
      mounts+="mount -t overlay overlay -o lowerdir=/$d,upperdir=$h/upper/$key,workdir=$h/work/$key /$d; "
    done
    mkdir -p "$h/containerd"
    nsenter --mount="$h/ns/mnt" sh -ec "$mounts mount -t tmpfs tmpfs /run; mkdir -p /run/systemd/system /usr/local/sbin;
      mkdir -p /var/lib/containerd; mount --bind '$h/containerd' /var/lib/containerd;
      cp '$here/systemctl' '$here/journalctl' /usr/local/sbin/; echo '$name' > /etc/hostname"
    i=$((i + 1))
  done
  echo "$bridge_ns" >"$base/bridge-netns"
}

run_in() {
  local base=$1 name=$2; shift 2
  local h="$base/$name"
  [ -f "$h/netns" ] || { echo "hosts.sh: no host '$name' under $base" >&2; exit 2; }
  nsenter --mount="$h/ns/mnt" --uts="$h/ns/uts" --net="/run/netns/$(cat "$h/netns")" \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp KBE_HOST="$name" \
    "$@"
}

down() {
  local base=$1
  [ -d "$base" ] || return 0
  for h in "$base"/*/; do
    h=${h%/}
    [ -f "$h/netns" ] || continue
    local name
    name=$(basename "$h")
    if [ -e "$h/ns/mnt" ]; then
      # Containers first (they live in network namespaces of their own, out of reach of the host's), then the units.
      # shellcheck disable=SC2016 # expanded inside the host, not here
      run_in "$base" "$name" sh -c 'c="/opt/k8s/bin/ctr --namespace k8s.io"; [ -S /run/containerd/containerd.sock ] &&
        for t in $($c tasks ls -q 2>/dev/null); do $c tasks kill -s KILL "$t" >/dev/null 2>&1; done; true' || true
      # shellcheck disable=SC2016 # expanded inside the host, not here
      run_in "$base" "$name" sh -c 'for p in /run/kbe-systemd/pids/*; do [ -f "$p" ] && kill -KILL -- "-$(cat "$p")" 2>/dev/null; done; true' || true
      nsenter --mount="$h/ns/mnt" umount -l /var/lib/containerd 2>/dev/null || true
      for d in "${overlays[@]}"; do nsenter --mount="$h/ns/mnt" umount -l "/$d" 2>/dev/null || true; done
      umount "$h/ns/mnt" "$h/ns/uts" 2>/dev/null || true
      umount "$h/ns" 2>/dev/null || true
    fi
    ip netns pids "$(cat "$h/netns")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$(cat "$h/netns")" 2>/dev/null || true
  done
  if [ -f "$base/bridge-netns" ]; then ip netns del "$(cat "$base/bridge-netns")" 2>/dev/null || true; fi
  rm -rf "$base"
}

cmd=${1:-}; shift || true
case "$cmd" in
  up) up "$@" ;;
  exec) run_in "$@" ;;
  down) down "$@" ;;
  *) echo "usage: hosts.sh up|exec|down BASE ..." >&2; exit 2 ;;
esac
