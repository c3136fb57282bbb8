#!/bin/sh
# kbundle: the C compiler nginx's configure and make see when kube-nginx is cross-built (docs/decisions.md,
# "Cross-building kube-nginx"). configure compiles each feature test to objs/autotest and RUNS some of them
# (type sizes, byte order, "found but is not working"); a program for the target arch cannot run on the build
# machine, so such a test is compiled to <out>.target and <out> becomes a script that runs it under the
# user-mode emulator: configure records the answers the target gives. Tests are linked static, as kube-nginx
# is, so the emulator needs no target root file system. Every other compile goes straight to the compiler.
# Environment: KBUNDLE_CROSS_CC (the cross compiler), KBUNDLE_CROSS_EMULATOR (qemu-<arch>[-static]).
out=
prev=
for arg in "$@"; do
  [ "$prev" = -o ] && out=$arg
  prev=$arg
done
case $out in
  autotest | */autotest) ;;
  *) exec "$KBUNDLE_CROSS_CC" "$@" ;;
esac
count=$#
prev=
for arg in "$@"; do
  if [ "$prev" = -o ]; then set -- "$@" "$out.target"; else set -- "$@" "$arg"; fi
  prev=$arg
done
shift "$count"
"$KBUNDLE_CROSS_CC" "$@" -static || exit
# shellcheck disable=SC2016 # expanded by the written script when configure runs it
printf '%s\n' '#!/bin/sh' 'exec "$KBUNDLE_CROSS_EMULATOR" "$0.target" "$@"' > "$out"
chmod +x "$out"
