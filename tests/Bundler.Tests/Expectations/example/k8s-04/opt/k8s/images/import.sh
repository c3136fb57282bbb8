#!/bin/bash
# kbundle-images on k8s-04 (rendered by kbundle; override with --templates): imports the bundle's image archive
# into containerd's k8s.io namespace with the bundle's ctr, unless every image is there already with its pinned
# digest, and pins the sandbox image (label io.cri-containerd.pinned=pinned: the kubelet's image garbage collection
# keeps it). Run by kbundle-images.service after containerd and before the kubelet; exit 0: every image is present.
set -euo pipefail
ctr=('/opt/k8s/bin'/ctr --address '/run/containerd/containerd.sock' --namespace k8s.io)
archive='/opt/k8s/images/images-amd64.tar'
platform='linux/amd64'
# "name digest": every name the archive's index.json gives an image, and the digest it must resolve to.
wanted=(
  "registry.k8s.io/pause:3.10.2 sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4"
  "registry.k8s.io/pause@sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4 sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4"
  "registry.k8s.io/coredns/coredns:v1.14.2 sha256:e7e6440cfd1e919280958f5b5a6ab2b184d385bba774c12ad2a9e1e4183f90d9"
  "registry.k8s.io/coredns/coredns@sha256:e7e6440cfd1e919280958f5b5a6ab2b184d385bba774c12ad2a9e1e4183f90d9 sha256:e7e6440cfd1e919280958f5b5a6ab2b184d385bba774c12ad2a9e1e4183f90d9"
)
sandbox=(
  'registry.k8s.io/pause:3.10.2'
  'registry.k8s.io/pause@sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4'
)

# "name digest labels" per image. ctr images ls prints REF TYPE DIGEST SIZE PLATFORMS LABELS; SIZE holds a space
# ("1.2 MiB") and LABELS (k=v,k=v or -) none, so the labels are the last word.
present() {
  local ref digest rest
  "${ctr[@]}" images ls | tail -n +2 | while read -r ref _ digest rest; do printf '%s %s %s\n' "$ref" "$digest" "${rest##* }"; done
}

# Whether a line of $1 starts with $2.
has_prefix() {
  local line
  while IFS= read -r line; do [ "${line#"$2"}" != "$line" ] && return 0; done <<<"$1"
  return 1
}

# The wanted names that are absent or resolve to another digest.
missing() {
  local have entry
  have=$(present)
  for entry in "${wanted[@]}"; do has_prefix "$have" "$entry " || printf '%s\n' "${entry%% *}"; done
  return 0
}

absent=$(missing)
if [ -z "$absent" ]; then
  echo "kbundle-images: all ${#wanted[@]} image names present with their pinned digests; nothing imported"
else
  echo "kbundle-images: importing $archive ($platform), missing: $(tr '\n' ' ' <<<"$absent")"
  "${ctr[@]}" images import --platform "$platform" "$archive"
  absent=$(missing)
  if [ -n "$absent" ]; then
    echo "kbundle-images: still missing after the import: $(tr '\n' ' ' <<<"$absent")" >&2
    exit 1
  fi
fi

for name in "${sandbox[@]}"; do
  labels=$(present | while read -r ref _ labels; do if [ "$ref" = "$name" ]; then printf '%s' "$labels"; fi; done)
  case ",$labels," in
    *,io.cri-containerd.pinned=pinned,*) ;;
    *) "${ctr[@]}" images label "$name" io.cri-containerd.pinned=pinned >/dev/null
       echo "kbundle-images: pinned $name" ;;
  esac
done
