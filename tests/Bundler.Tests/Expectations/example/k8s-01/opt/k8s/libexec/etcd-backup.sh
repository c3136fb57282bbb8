#!/bin/bash
# etcd backup of member k8s-01 of site example (rendered by kbundle; override with --templates): saves a snapshot
# of this member's store with the bundle's etcdctl into /var/lib/kbundle/etcd-backups and keeps the newest 7.
# Run by kbundle-etcd-backup.service, which kbundle-etcd-backup.timer starts daily; take one now with
# systemctl start kbundle-etcd-backup. Restore (every member, the same snapshot): <node>.run --etcd-restore FILE.
set -euo pipefail
umask 077
dir="/var/lib/kbundle/etcd-backups"
keep=7
mkdir -p -- "$dir"
chmod 0700 -- "$dir"
# Names sort by time; a snapshot is a .db only once it is whole.
snapshot="$dir/example-k8s-01-$(date -u +%Y%m%dT%H%M%SZ).db"
trap 'rm -f -- "$snapshot.part"' EXIT
ETCDCTL_API=3 "/opt/k8s/bin/etcdctl" --endpoints="https://127.0.0.1:2379" --cacert="/etc/kubernetes/pki/etcd/ca.crt" \
  --cert="/etc/kubernetes/pki/etcd/healthcheck-client.crt" --key="/etc/kubernetes/pki/etcd/healthcheck-client.key" --command-timeout=5m snapshot save "$snapshot.part" >/dev/null
mv -f -- "$snapshot.part" "$snapshot"
echo "kbundle-etcd-backup: saved $snapshot ($(stat -c %s -- "$snapshot") bytes)"
mapfile -t old < <(find "$dir" -maxdepth 1 -name '*.db' -type f | sort | head -n -"$keep")
for file in "${old[@]}"; do
  rm -f -- "$file"
  echo "kbundle-etcd-backup: removed $file (keeping the newest $keep)"
done
