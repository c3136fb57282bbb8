# main.sh: the command line (SPEC §3). Everything starts with kb_verify: nothing runs from a damaged bundle.
kb_usage() {
  cat <<EOF
Usage: $0 [ACTION] [OPTION]...
Installs or upgrades node $KB_NODE ($KB_IP, $KB_ROLES) of Kubernetes site $KB_SITE.
Actions (the default installs):
  --info                  what this bundle is: node, roles, versions, build
  --check                 verify it, change nothing; print its sha256
  --list                  list the files it carries (modes, sizes)
  --extract DIR           verify, then unpack the files into DIR
  --dry-run               print every change an install would make
  --uninstall             remove what this node's install wrote
  --etcd-restore FILE     restore this etcd member from a snapshot (restore
                          every member from the same one, at the same time)
  --version               print the kbundle version and this build
  --help                  print this help
Options:
  --purge                 with --uninstall: delete the data folders too
  --root DIR              install under DIR (images, tests); leaves units,
                          sysctls, modules, routes and /etc/hosts alone
  --no-start              install the files, start no service
  --hold UNIT[,UNIT]      keep these running units as they are (a minor upgrade:
                          kubelet,kube-proxy until every apiserver is upgraded);
                          the next run without --hold restarts them
  --skip-preflight NAME[,NAME]
                          skip these preflight checks (names below)
  --allow-downgrade       install over a newer build of the site
  --yes                   ask no questions (uninstall)
Preflight checks: $KB_CHECKS
Exit codes: 0 done, 1 install failed (rolled back), 2 usage, 3 a check failed
(preflight, another install running, an older build), 4 integrity failed.
EOF
}

kb_version() {
  printf 'kbundle %s: node %s of site %s, build serial %s built %s, Kubernetes %s\n' "$KB_TOOL_VERSION" "$KB_NODE" "$KB_SITE" \
    "${KB_BUILD_SERIAL:-0}" "${KB_BUILD_TIME:-unknown}" "$KB_KUBERNETES"
}

kb_main() {
  local action=install extract_dir="" purge=no skip="" snapshot=""
  while [ $# -gt 0 ]; do
    case $1 in
      --info | --check | --list | --dry-run | --uninstall | --version) action=${1#--} ;;
      --extract) [ $# -ge 2 ] || kb_die 2 "--extract needs a folder"; action=extract; extract_dir=$2; shift ;;
      --etcd-restore) [ $# -ge 2 ] || kb_die 2 "--etcd-restore needs a snapshot file"; action=etcd-restore; snapshot=$2; shift ;;
      --hold) [ $# -ge 2 ] || kb_die 2 "--hold needs UNIT[,UNIT]"; KB_HOLD+="$2,"; shift ;;
      --root) [ $# -ge 2 ] || kb_die 2 "--root needs a folder"; KB_ROOT=$(readlink -m -- "$2"); shift ;;
      --purge) purge=yes ;;
      --no-start) KB_NO_START=1 ;;
      --skip-preflight) [ $# -ge 2 ] || kb_die 2 "--skip-preflight needs NAME[,NAME]"; skip=$2; KB_SKIPPED=",$2,"; shift ;;
      --yes) KB_YES=1 ;;
      --allow-downgrade) KB_ALLOW_DOWNGRADE=1 ;;
      -h | --help) kb_usage; exit 0 ;;
      *) kb_usage >&2; kb_die 2 "unknown option: $1" ;;
    esac
    shift
  done
  if [ "$purge" = yes ] && [ "$action" != uninstall ]; then kb_die 2 "--purge goes with --uninstall"; fi
  local name
  for name in ${skip//,/ }; do [[ " $KB_CHECKS " == *" $name "* ]] || kb_die 2 "--skip-preflight $name: no such check; checks: $KB_CHECKS"; done
  for name in ${KB_HOLD//,/ }; do [[ " $KB_UNITS " == *" $name "* ]] || kb_die 2 "--hold $name: this node runs no such unit; its units: $KB_UNITS"; done
  [ "$KB_ROOT" = / ] && KB_ROOT=""

  kb_open_self
  case $action in
    info | check | uninstall | version | etcd-restore) kb_verify ;;
    # Everything that reads the payload reads the private copy kb_verify made of exactly what it hashed.
    *) kb_stage; kb_verify "$KB_VERIFIED" ;;
  esac
  case $action in
    info) kb_info ;;
    version) kb_version ;;
    check)
      printf 'kbundle: %s: header and payload verified (payload sha256 %s); the whole file, as SHA256SUMS lists it:\n' "$(basename -- "$KB_SELF")" "$KB_PAYLOAD_SHA256"
      local whole
      whole=$(sha256sum <"$KB_IMAGE")
      printf '%s  %s\n' "${whole%% *}" "$(basename -- "$KB_SELF")" ;;
    list) tar -tvzf "$KB_VERIFIED" --exclude="$KB_META_DIR" ;;
    extract)
      if ! { mkdir -p -- "$extract_dir" && tar -xzf "$KB_VERIFIED" -C "$extract_dir" --exclude="$KB_META_DIR"; }; then kb_die 1 "cannot unpack into $extract_dir"; fi
      printf 'kbundle: unpacked into %s\n' "$extract_dir" ;;
    uninstall) kb_uninstall "$purge" ;;
    etcd-restore) kb_etcd_restore "$snapshot" ;;
    dry-run | install)
      [ -n "$KB_ROOT" ] && [ ! -d "$KB_ROOT" ] && kb_die 2 "--root $KB_ROOT: no such folder"
      [ "$action" = install ] && kb_lock
      if [ "$action" = install ] && mkdir -p -- "$KB_ROOT$KB_STATE_DIR" "$(dirname -- "$KB_ROOT$KB_INSTALL_LOG")" 2>/dev/null; then KB_LOG_READY=1; fi
      if [ -z "$KB_ROOT" ]; then kb_preflight "$skip"; else KB_FAILS=(); kb_pf_other_site; [ ${#KB_FAILS[@]} -eq 0 ] || { printf '  %s\n' "${KB_FAILS[@]}" >&2; exit 3; }; fi
      kb_unpack
      kb_read_journal
      kb_check_downgrade
      kb_plan
      if [ "$action" = dry-run ]; then kb_dry_run; else kb_install; fi ;;
  esac
}

kb_main "$@"
exit $?
