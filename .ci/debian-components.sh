#!/usr/bin/env bash
# Fetches real Debian builds of the components the end-to-end tests need beyond what bookworm installs:
# containerd 2.1, CNI plugins 1.9.1, kubectl 1.36 and etcd 3.5 from sid; bookworm's arm64 etcd-server and
# etcd-client (the arm64 etcd artifact of the mixed-arch tests) and arm64 bash-static (runs an arm64 bundle's header
# under qemu-aarch64-static).
# They are downloaded and unpacked under .cache/testdata/debian/, never installed: the machine's own apt
# sources, lists and dpkg database stay as they are (sid's libc and runc must not reach this bookworm machine).
#
# Usage: .ci/debian-components.sh          fetch what is missing, check every binary, print the variables
#        eval "$(.ci/debian-components.sh)"  or  . .cache/testdata/debian/env  (written by every run)
# stdout carries only `export KBUNDLE_…=…` lines; progress, versions and each .deb's sha256 go to stderr.
# A run with everything present touches no network. Exit 1 with a message naming the package when anything
# cannot be fetched, has moved to another version in sid, or does not run.
# KBUNDLE_DEBIAN_MIRROR overrides the archive (default http://deb.debian.org/debian).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$repo/.cache/testdata/debian
mirror=${KBUNDLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
qemu=/usr/bin/qemu-aarch64-static
arm64_sysroot=/usr/aarch64-linux-gnu

# id | suite | arch | upstream version | packages unpacked into one tree | variable | binary folder in the tree
# The tests are written against these versions, so a sid that has moved on is an error, not an upgrade.
components=(
  "containerd|sid|amd64|2.1.9|containerd|KBUNDLE_CONTAINERD2_DIR|usr/bin"
  "containernetworking-plugins|sid|amd64|1.9.1|containernetworking-plugins|KBUNDLE_CNI191_DIR|usr/lib/cni"
  "kubectl|sid|amd64|1.36.4|kubectl|KBUNDLE_KUBECTL136_DIR|usr/bin"
  "etcd|sid|amd64|3.5.30|etcd-server etcd-client|KBUNDLE_ETCD35_DIR|usr/bin"
  "etcd-server|bookworm|arm64|3.4.23|etcd-server|KBUNDLE_ETCD_ARM64_DIR|usr/bin"
  "etcd-client|bookworm|arm64|3.4.23|etcd-client|KBUNDLE_ETCDCTL_ARM64_DIR|usr/bin"
  "bash-static|bookworm|arm64|5.2.15|bash-static|KBUNDLE_BASH_ARM64_DIR|bin"
)

log() { echo "debian-components: $*" >&2; }
die() { echo "debian-components: ERROR: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool is missing (a Debian machine with apt, dpkg and util-linux is required)"
done
[ -r "$keyring" ] || die "$keyring is missing: apt-get install debian-archive-keyring"
[ -x "$qemu" ] || die "$qemu is missing (runs the arm64 etcd and bash): apt-get install qemu-user-static"
[ -e "$arm64_sysroot/lib/ld-linux-aarch64.so.1" ] ||
  die "$arm64_sysroot/lib/ld-linux-aarch64.so.1 is missing (the arm64 etcd is dynamically linked): apt-get install libc6-arm64-cross"

mkdir -p "$root"
# Downloads unpack here and move into place only once whole, so an interrupted run leaves nothing half-made.
work=$root/.tmp.$$
trap 'rm -rf "$work"' EXIT
# Two runs at once (CI and a developer) would unpack into the same folders.
exec 9>"$root/.lock"
flock 9

# Debian versions look like [epoch:]upstream[+ds1|~dfsg…]-revision; any revision of the pinned upstream will do.
matches_upstream() { [[ $1 =~ ^([0-9]+:)?${2//./\\.}([+~][^-]*)?-[^-]+$ ]]; }

# apt with a private sources list, lists, cache and an empty dpkg status, so neither the machine's sources
# nor its installed packages take part: an installed package with a higher version would otherwise be the
# candidate (Google's kubectl 1:528.0.0-0 on the CI image beats sid's 1.36.4+ds-1 by its epoch).
apt_private() { # suite arch cmd args...
  local suite=$1 arch=$2 cmd=$3; shift 3
  local dir=$root/.apt/$suite-$arch
  "$cmd" -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" -o Dir::State::status="$dir/status" \
    -o APT::Architectures::="$arch" -o APT::Architecture="$arch" \
    -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false -o APT::Update::Error-Mode=any "$@"
}

updated=" "
apt_update() { # suite arch
  local suite=$1 arch=$2 dir=$root/.apt/$1-$2
  [[ $updated == *" $suite-$arch "* ]] && return 0
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  : >"$dir/status"
  echo "deb [arch=$arch signed-by=$keyring] $mirror $suite main" >"$dir/sources.list"
  log "apt-get update ($suite $arch, private lists in ${dir#"$repo"/})"
  apt_private "$suite" "$arch" apt-get update >"$dir/update.log" 2>&1 ||
    { cat "$dir/update.log" >&2; die "apt-get update of $mirror $suite ($arch) failed (see above)"; }
  updated+="$suite-$arch "
}

field() { sed -n "s/^$1: //p" | head -n1; }

fetch() { # id suite arch upstream "packages" dir
  local id=$1 suite=$2 arch=$3 upstream=$4 packages=$5 dir=$6 pkg info version sha deb actual
  apt_update "$suite" "$arch"
  local tmp=$work/$id-$arch
  mkdir -p "$tmp/.debs"
  # apt downloads as the _apt user where it can; the folder must be theirs or apt warns and runs as root.
  chown _apt "$tmp/.debs" 2>/dev/null || true
  for pkg in $packages; do
    info=$(apt_private "$suite" "$arch" apt-cache show --no-all-versions "$pkg:$arch/$suite" 2>/dev/null) ||
      die "$pkg ($arch) is not in $suite on $mirror"
    version=$(field Version <<<"$info"); sha=$(field SHA256 <<<"$info")
    matches_upstream "$version" "$upstream" ||
      die "$suite has $pkg $version ($arch), the tests pin $upstream: update components in .ci/debian-components.sh and the tests together"
    (cd "$tmp/.debs" && apt_private "$suite" "$arch" apt-get download "$pkg:$arch=$version" >/dev/null) ||
      die "apt-get download $pkg:$arch=$version from $suite failed"
    deb=$(ls "$tmp/.debs/${pkg}_"*"_$arch.deb") || die "apt-get download left no .deb for $pkg"
    actual=$(sha256sum "$deb" | cut -d' ' -f1)
    [ "$actual" = "$sha" ] || die "$(basename "$deb"): sha256 $actual, the signed $suite index says $sha"
    dpkg-deb -x "$deb" "$tmp"
    printf '%s %s %s %s %s\n' "$pkg" "$version" "$arch" "$suite" "$actual" >>"$tmp/.debian-packages"
  done
  rm -rf "$tmp/.debs"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

# Runs the component's own version command; the output must name the pinned version.
check() { # id arch upstream dir bin
  local id=$1 arch=$2 upstream=$3 dir=$4 bin=$5 out=
  case $id-$arch in
    containerd-amd64)
      out=$("$bin/containerd" --version) && [[ $out == *" $upstream"* ]] &&
        "$bin/ctr" --version >/dev/null && "$bin/containerd-shim-runc-v2" -v >/dev/null ;;
    containernetworking-plugins-amd64)
      # Debian builds the plugins without the version ldflag ("version unknown"), so the plugins' own answer
      # is the CNI spec they speak; the package version in .debian-packages is what names 1.9.1.
      local p version; for p in bridge host-local portmap loopback; do
        out=$(CNI_COMMAND=VERSION "$bin/$p" </dev/null) && [[ $out == *'"1.1.0"'* ]] || break
      done && version=$(sed -n 's/^containernetworking-plugins \([^ ]*\) .*/\1/p' "$dir/.debian-packages") &&
        matches_upstream "$version" "$upstream" &&
        out="bridge, host-local, portmap, loopback speak CNI spec 1.1.0; package $version" ;;
    kubectl-amd64)
      out=$("$bin/kubectl" version --client 2>&1) && [[ $out == *"Client Version: v$upstream"* ]] ;;
    etcd-amd64)
      out=$("$bin/etcd" --version) && [[ $out == *"etcd Version: $upstream"* ]] &&
        [[ $("$bin/etcdctl" version) == *"etcdctl version: $upstream"* ]] &&
        [[ $("$bin/etcdutl" version) == *"etcdutl version: $upstream"* ]] ;;
    etcd-server-arm64)
      out=$(ETCD_UNSUPPORTED_ARCH=arm64 "$qemu" -L "$arm64_sysroot" "$bin/etcd" --version 2>/dev/null) &&
        [[ $out == *"etcd Version: $upstream"* ]] && [[ $out == *"linux/arm64"* ]] ;;
    etcd-client-arm64)
      out=$(ETCDCTL_API=3 "$qemu" -L "$arm64_sysroot" "$bin/etcdctl" version 2>/dev/null) &&
        [[ $out == *"etcdctl version: $upstream"* ]] ;;
    bash-static-arm64)
      # Static: it runs under the emulator without the arm64 sysroot (-L), as the tests run it.
      out=$("$qemu" "$bin/bash-static" --version) && [[ $out == *"version $upstream"*"(aarch64-"* ]] ;;
    *) die "no version check for $id ($arch)" ;;
  esac || { log "$id ($arch) in $bin answered: ${out:-nothing}"; return 1; }
  log "ok $id $upstream ($arch): $(grep -m1 -F "$upstream" <<<"$out")"
  local pkg version suite sha
  while read -r pkg version _ suite sha; do log "   from $pkg $version ($suite) .deb sha256 $sha"; done <"$dir/.debian-packages"
}

env_lines=()
for spec in "${components[@]}"; do
  IFS='|' read -r id suite arch upstream packages var sub <<<"$spec"
  dir=$root/$id-$upstream-$arch
  if [ ! -f "$dir/.debian-packages" ]; then
    log "fetching $id $upstream ($arch) from $suite"
    fetch "$id" "$suite" "$arch" "$upstream" "$packages" "$dir"
  fi
  check "$id" "$arch" "$upstream" "$dir" "$dir/$sub" ||
    die "$id $upstream ($arch) in ${dir#"$repo"/} does not run or reports another version; delete that folder to fetch it again"
  env_lines+=("export $var=$(printf '%q' "$dir/$sub")")
done
env_lines+=("export KBUNDLE_QEMU_AARCH64=$(printf '%q' "$qemu")"
            "export KBUNDLE_ARM64_SYSROOT=$(printf '%q' "$arm64_sysroot")")

mkdir -p "$work"
printf '%s\n' "${env_lines[@]}" >"$work/env"
mv "$work/env" "$root/env"
printf '%s\n' "${env_lines[@]}"
