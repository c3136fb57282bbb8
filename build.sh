#!/usr/bin/env bash
# Cake bootstrap (the tested twin of build.ps1): restores the pinned Cake tool (.config/dotnet-tools.json) and runs
# build/build.cake with the arguments as given. Same arguments on both:
#   ./build.sh                         bundles sites/example/site.yaml into artifacts/example/
#   ./build.sh --target Test           runs every test
#   ./build.sh --target Bundle --site my/site.yaml --mirror /media/artifacts
#   ./build.sh --help                  targets and options
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
[ -t 1 ] || export NO_COLOR=1   # no colour codes in logs and captured output
if ! restore=$(dotnet tool restore 2>&1); then
  echo "$restore" >&2
  exit 1
fi
args=()
for a in "$@"; do
  case "$a" in
    -h|--help) args+=(--usage) ;;   # Cake answers --help itself with its own options
    *) args+=("$a") ;;
  esac
done
exec dotnet cake build/build.cake ${args[@]+"${args[@]}"}
