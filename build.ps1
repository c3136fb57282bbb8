#!/usr/bin/env pwsh
# Cake bootstrap for Windows (twin of build.sh; same arguments): restores the pinned Cake tool
# (.config/dotnet-tools.json) and runs build/build.cake with the arguments as given.
#   ./build.ps1                        bundles sites/example/site.yaml into artifacts/example/
#   ./build.ps1 --target Test          runs every test
#   ./build.ps1 --help                 targets and options
$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
if ([Console]::IsOutputRedirected) { $env:NO_COLOR = '1' }   # no colour codes in logs and captured output
$restore = dotnet tool restore 2>&1
if ($LASTEXITCODE -ne 0) { [Console]::Error.WriteLine(($restore | Out-String)); exit $LASTEXITCODE }
# Cake answers --help itself with its own options.
$arguments = @($args | ForEach-Object { if ($_ -in '-h', '--help') { '--usage' } else { $_ } })
dotnet cake build/build.cake @arguments
exit $LASTEXITCODE
