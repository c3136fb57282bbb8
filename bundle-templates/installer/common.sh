#!/bin/bash
# kbundle installer: the logic of every <node>.run (SPEC §3), in parts (bundle-templates/installer/*.sh) that
# kbundle concatenates in the order Layout/BundleLayout.InstallerParts lists. kbundle prepends the hash line, the
# sizes and this node's KB_* variables (its metadata, what the roles table gives it, and every name it uses:
# Layout/HeaderKeys), and appends the tar.gz payload after the last line. Needs only bash, coreutils, tar and gzip;
# never touches the network. Test hooks (all KBUNDLE_*): PROC_ROOT prefixes every /proc, /sys and /run path
# preflight reads; FAKE_UID, NOW, SYSTEMCTL, HEALTH_CMD replace id -u, date, systemctl and the health checks.
#
# common.sh: integrity, logging, staging and the helpers every other part uses.
# shellcheck disable=SC2034  # KB_* metadata above is read by --info and by the functions below
# Started with sh (dash, busybox): everything below needs bash, so run again with it, with the same arguments.
if [ -z "${BASH_VERSION:-}" ]; then
  command -v bash >/dev/null 2>&1 || { echo "kbundle: this installer needs bash" >&2; exit 2; }
  exec bash "$0" "$@"
fi
set -u
umask 022
KB_SELF=$(readlink -f -- "$0")
# Every read of the bundle goes through one descriptor opened at the start (kb_open_self): a file renamed over it later
# is never read. What is unpacked is a private copy of exactly the bytes whose hash was checked (kb_verify).
KB_IMAGE=$KB_SELF
KB_STAGE=""
KB_ROOT=""
KB_PROC="${KBUNDLE_PROC_ROOT:-}"
KB_SKIPPED=","

kb_die() { printf 'kbundle: %s\n' "$2" >&2; exit "$1"; }
kb_integrity() { kb_die 4 "integrity check failed: $*"; }

kb_open_self() {
  exec {KB_SELF_FD}<"$KB_SELF" || kb_integrity "cannot read $KB_SELF"
  KB_IMAGE=/dev/fd/$KB_SELF_FD
}

# The header hash covers every byte after the first two lines (the shebang and KB_HEADER_SHA256; KB_HASHED_FROM is
# where the rest starts), so a changed byte anywhere in the script or its variables is caught before any is used.
# With a file name, the payload is copied there while it is hashed: what is unpacked later is what was checked.
kb_verify() {
  local hs=$((10#$KB_HEADER_SIZE)) ps=$((10#$KB_PAYLOAD_SIZE)) from=$KB_HASHED_FROM size actual copy=${1:-}
  size=$(stat -L -c %s -- "$KB_IMAGE") || kb_integrity "cannot read $KB_SELF"
  actual=$(tail -c +"$from" -- "$KB_IMAGE" 2>/dev/null | head -c $((hs - from + 1)) | sha256sum)
  actual=${actual%% *}
  [ "$actual" = "$KB_HEADER_SHA256" ] || kb_integrity "header sha256 is $actual, expected $KB_HEADER_SHA256: the header was modified"
  [ "$size" -eq $((hs + ps)) ] || kb_integrity "$KB_SELF is $size bytes, expected $((hs + ps)): truncated or appended to"
  if [ -n "$copy" ]; then
    actual=$(kb_payload | tee -- "$copy" | sha256sum)
    [ "$(stat -c %s -- "$copy" 2>/dev/null)" = "$ps" ] || kb_die 1 "cannot copy the payload to $copy (disk full?)"
  else
    actual=$(kb_payload | sha256sum)
  fi
  actual=${actual%% *}
  [ "$actual" = "$KB_PAYLOAD_SHA256" ] || kb_integrity "payload sha256 is $actual, expected $KB_PAYLOAD_SHA256: the payload was modified"
}

kb_payload() { tail -c +$((10#$KB_HEADER_SIZE + 1)) -- "$KB_IMAGE"; }

kb_log() {
  printf '%s\n' "$*"
  [ -n "${KB_LOG_READY:-}" ] && printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$KB_ROOT$KB_INSTALL_LOG"
  return 0
}

# One JSON line per check (evidence for auditors). Details never hold quotes: they are our own messages.
kb_check_log() {
  local name=$1 result=$2 detail=${3:-}
  detail=${detail//\\/\\\\}
  detail=${detail//\"/\'}
  [ -n "${KB_LOG_READY:-}" ] || return 0
  printf '{"time":"%s","site":"%s","node":"%s","check":"%s","result":"%s","detail":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$KB_SITE" "$KB_NODE" "$name" "$result" "$detail" >>"$KB_ROOT$KB_STATE_DIR/checks.jsonl"
}

kb_info() {
  cat <<EOF
site:           $KB_SITE
node:           $KB_NODE ($KB_IP)
roles:          $KB_ROLES
arch:           $KB_ARCH
kubernetes:     $KB_KUBERNETES
kbundle:        $KB_TOOL_VERSION
build serial:   ${KB_BUILD_SERIAL:-0}
built:          ${KB_BUILD_TIME:-unknown}
units:          $KB_UNITS
header sha256:  $KB_HEADER_SHA256
payload size:   $((10#$KB_PAYLOAD_SIZE))
payload sha256: $KB_PAYLOAD_SHA256
EOF
}

# Staging goes to TMPDIR, else beside the bundle (a small or noexec /tmp is common on hardened hosts). The folder is
# private (mktemp -d: 0700); the verified copy of the payload waits there until it is unpacked.
kb_stage() {
  local base=${TMPDIR:-}
  if [ -z "$base" ] || [ ! -w "$base" ]; then base=$(dirname -- "$KB_SELF"); fi
  [ -w "$base" ] || base=/var/tmp
  KB_STAGE=$(mktemp -d "$base/.kbundle-stage.XXXXXX") || kb_die 1 "cannot create a staging folder in $base (set TMPDIR)"
  trap 'rm -rf -- "$KB_STAGE"' EXIT
  KB_VERIFIED="$KB_STAGE/.payload.tar.gz"
}

kb_unpack() {
  tar -xzf "$KB_VERIFIED" -C "$KB_STAGE/" || kb_die 1 "cannot unpack the payload into $KB_STAGE (disk full?)"
  rm -f -- "$KB_VERIFIED"
}

# One install or uninstall at a time on a host (or --root): an exclusive lock on $KB_STATE_DIR/lock, held until this
# process exits. The holder writes who it is into the file, so the next one can say whom it waits for.
kb_lock() {
  local dir="$KB_ROOT$KB_STATE_DIR" lock holder
  lock="$dir/lock"
  if ! { mkdir -p -- "$dir" && chmod 0700 -- "$dir"; }; then kb_die 1 "cannot create $dir"; fi
  if ! command -v flock >/dev/null 2>&1; then
    printf 'kbundle: warning: flock (util-linux) not found: not guarding against a second installer running at the same time\n' >&2
    return 0
  fi
  exec {KB_LOCK_FD}>>"$lock" || kb_die 1 "cannot open $lock"
  if ! flock -n "$KB_LOCK_FD"; then
    holder=$(cat -- "$lock" 2>/dev/null)
    kb_die 3 "another kbundle installer is running on this host (${holder:-who is unknown}; lock $lock); wait for it to end, then run this again"
  fi
  printf 'pid %s, started %s, %s of node %s of site %s\n' "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(basename -- "$KB_SELF")" "$KB_NODE" "$KB_SITE" >"$lock"
}

kb_systemctl() { ${KBUNDLE_SYSTEMCTL:-systemctl} "$@"; }

# The port a component of this node binds, by name (KB_PORTS: "component:name=number ...", from the roles table).
kb_port() {
  local entry
  for entry in $KB_PORTS; do
    if [ "${entry%%=*}" = "$1:$2" ]; then printf '%s' "${entry#*=}"; return 0; fi
  done
  return 1
}
