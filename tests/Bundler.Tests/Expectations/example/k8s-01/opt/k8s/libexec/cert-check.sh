#!/bin/bash
# Certificate check of k8s-01 of site example (rendered by kbundle; override with --templates): logs to the
# journal every certificate this node holds that expires within 30 days, as a warning (an expired one as an
# error). Run daily by kbundle-cert-check.service (kbundle-cert-check.timer); journalctl -u kbundle-cert-check -p warning
# shows what it found. Needs only bash and date: the not-after of each certificate is in /etc/kubernetes/cert-expiry.tsv,
# written by the build that issued them. Renew by rebuilding the site (a build re-issues every leaf within
# 30 days of its end) and installing the new bundle. Test hooks: KBUNDLE_NOW, KBUNDLE_CERT_TABLE.
set -uo pipefail
table=${KBUNDLE_CERT_TABLE:-"/etc/kubernetes/cert-expiry.tsv"}
now=${KBUNDLE_NOW:-$(date +%s)}
window=$((30 * 86400))
found=0
[ -r "$table" ] || { echo "<3>kbundle-cert-check: cannot read $table"; exit 1; }
while IFS=$'\t' read -r not_after not_after_text path id; do
  case $not_after in '' | '#'*) continue ;; esac
  left=$(((not_after - now) / 86400))
  if [ "$not_after" -le "$now" ]; then
    echo "<3>kbundle-cert-check: EXPIRED: $path ($id) expired on $not_after_text; rebuild the site and install this node's bundle to renew it"
    found=$((found + 1))
  elif [ $((not_after - now)) -le "$window" ]; then
    echo "<4>kbundle-cert-check: $path ($id) expires on $not_after_text, in $left day(s); rebuild the site and install this node's bundle to renew it"
    found=$((found + 1))
  fi
done <"$table"
if [ "$found" -eq 0 ]; then
  echo "<6>kbundle-cert-check: no certificate of k8s-01 expires within 30 days"
else
  echo "<4>kbundle-cert-check: $found certificate(s) of k8s-01 expire within 30 days"
fi
