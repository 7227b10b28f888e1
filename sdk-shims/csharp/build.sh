#!/usr/bin/env bash
# Builds the C# shim with Mono's mcs into build/: the library (Ax.Secrets.dll), the test program
# (Tests.exe), the conformance program (Conformance.exe, integration/conformance/DRIVER.md) and
# the benchmark (Bench.exe). Installs Debian's mono-mcs (which brings the mono runtime) when mcs
# or mono is missing. Users on .NET build src/Ax.Secrets.csproj instead; the sources are the same.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
    echo "build.sh: installing mono-mcs (Debian package)" >&2
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mono-mcs >/dev/null
fi

# mcs 6.8 silently drops a whole statement holding a lambda whose body deconstructs a tuple
# (`var (value, found) = ...`): no error, no code. The sources never deconstruct; this keeps it so.
if grep -nE '^[^/]*(var \(\s*[A-Za-z_][A-Za-z0-9_]*\s*,|\(var [A-Za-z_][A-Za-z0-9_]*\s*,)' src/*.cs tests/*.cs conformance/*.cs bench/*.cs; then
    echo "build.sh: tuple deconstruction above; mcs miscompiles it inside lambdas (use .Value/.Found)" >&2
    exit 1
fi

# C# 7.2 is what mcs accepts and what the .csproj pins; warnings are errors in both builds' spirit.
MCS=(mcs -langversion:7.2 -debug -warnaserror+ -nologo)
mkdir -p build
"${MCS[@]}" -target:library -out:build/Ax.Secrets.dll -doc:build/Ax.Secrets.xml src/*.cs
"${MCS[@]}" -target:exe -out:build/Tests.exe -r:build/Ax.Secrets.dll tests/*.cs conformance/Driver.cs
"${MCS[@]}" -target:exe -out:build/Conformance.exe -r:build/Ax.Secrets.dll conformance/*.cs tests/Json.cs
"${MCS[@]}" -target:exe -out:build/Bench.exe -r:build/Ax.Secrets.dll bench/*.cs
