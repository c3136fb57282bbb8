#!/usr/bin/env pwsh
# Build host entry point for Windows (twin of build.sh; same arguments):
#   ./build.ps1                        bundles sites/example/site.yaml into artifacts/example/
#   ./build.ps1 --target Test          runs every test
$ErrorActionPreference = 'Stop'
Set-Location -Path $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
dotnet build build/Build.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet build/bin/Release/net10.0/Build.dll @args
exit $LASTEXITCODE
