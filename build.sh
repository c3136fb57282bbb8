#!/usr/bin/env bash
# Build host entry point (the tested twin of build.ps1). Same arguments:
#   ./build.sh                         bundles sites/example/site.yaml into artifacts/example/
#   ./build.sh --target Test           runs every test
#   ./build.sh --target Bundle --site my/site.yaml --mirror /media/artifacts
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build build/Build.csproj -c Release -nologo -v quiet -clp:ErrorsOnly >&2
exec dotnet build/bin/Release/net10.0/Build.dll "$@"
