#!/bin/sh
# kbundle: nginx's configure takes the CPU from `uname -m` (alignment, cache line size); when kube-nginx is
# cross-built it must answer for the target, not for the build machine. Everything else is the real uname.
# Environment: KBUNDLE_CROSS_MACHINE (aarch64, x86_64), KBUNDLE_HOST_UNAME (the real uname).
if [ "$*" = -m ]; then
  echo "$KBUNDLE_CROSS_MACHINE"
else
  exec "$KBUNDLE_HOST_UNAME" "$@"
fi
