#!/usr/bin/env bash
# Installs the shim the way its README says for Mono, as far as this machine can: no .NET SDK
# exists here (Debian packages none; Microsoft's own feeds are out of reach), and Mono's
# xbuild 6.8 refuses an SDK-style project ("The default XML namespace of the project must be
# the MSBuild XML namespace"), so the net8.0 build of src/Ax.Secrets.csproj is NOT verified.
# What is verified:
#  1. the .csproj: well-formed, SDK-style, net8.0, and the settings build.sh relies on
#     (AssemblyName Ax.Secrets, LangVersion 7.2, no Compile items, so its default glob is every
#     .cs file under src/, and no .cs file below a subfolder of src/, so that glob is src/*.cs);
#  2. those sources compiled by mcs, with the project's assembly name and language level, into a
#     library in a temporary directory (-target:library, warnings as errors, XML docs);
#  3. a consumer program compiled against that DLL alone (mcs -r:) and run with mono next to it:
#     it uses the mock and the real client's typed exception.
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "install-test.sh: FAILED: $*" >&2; exit 1; }

if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || fail "needs Mono's mcs and mono (Debian: mono-mcs)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-mcs >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# 1. What the .csproj says, read by an XML parser; prints "ASSEMBLY LANGVERSION".
settings="$(python3 - src/Ax.Secrets.csproj <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

path = Path(sys.argv[1])
project = ET.parse(path).getroot()
def need(ok, what):
    if not ok:
        sys.exit(f"{path}: {what}")
need(project.tag == "Project" and project.get("Sdk") == "Microsoft.NET.Sdk", "not an SDK-style project")
props = {p.tag: (p.text or "").strip() for g in project.iter("PropertyGroup") for p in g}
want = {"TargetFramework": "net8.0", "AssemblyName": "Ax.Secrets", "LangVersion": "7.2",
        "Nullable": "disable", "ImplicitUsings": "disable"}
for key, value in want.items():
    need(props.get(key) == value, f"{key} is {props.get(key)!r}, expected {value!r}")
need(not any(True for g in project.iter("ItemGroup") for i in g if i.tag == "Compile"),
     "has Compile items: build.sh compiles src/*.cs, the default glob")
nested = [str(p) for p in path.parent.rglob("*.cs") if p.parent != path.parent
          and not {"bin", "obj"} & set(p.relative_to(path.parent).parts)]
need(not nested, f".cs files below src/ that mcs's src/*.cs would miss: {nested}")
print(props["AssemblyName"], props["LangVersion"])
PY
)" || fail "src/Ax.Secrets.csproj (above)"
read -r assembly langversion <<<"$settings"

# 2. The library from exactly those sources.
lib="$work/lib"
mkdir -p "$lib"
mcs -langversion:"$langversion" -warnaserror+ -nologo -target:library \
    -out:"$lib/$assembly.dll" -doc:"$lib/$assembly.xml" src/*.cs || fail "mcs -target:library of src/*.cs"

# 3. A consumer compiled against the DLL alone, run beside it.
app="$work/app"
mkdir -p "$app"
cat >"$app/Consumer.cs" <<'CS'
using System;
using System.Collections.Generic;
using System.IO;
using Ax.Secrets;

public static class Consumer
{
    public static int Main()
    {
        IAxiomContext ax = new MockAxiomContext(new Dictionary<string, string> { { "GREETER_SIGNATURE", "test-sig" } });
        var sig = ax.Secrets().Get("GREETER_SIGNATURE");
        Check(sig.Value == "test-sig" && sig.Found, "mock Get");
        Check(ax.Secrets().Render("sig={{secrets.GREETER_SIGNATURE}}").Text == "sig=test-sig", "mock Render");
        Check(ax.Secrets().Redact("was test-sig").Text == "was ***", "mock Redact");

        // The real client, with no sidecar behind its socket: the typed exception.
        string socket = Path.Combine(Path.GetTempPath(), "ax-no-sidecar-" + Guid.NewGuid().ToString("N") + ".sock");
        using (var real = new AxiomContext(socket))
        {
            try
            {
                real.Secrets().Get("GREETER_SIGNATURE");
                Check(false, "a missing sidecar threw nothing");
            }
            catch (SecretsUnavailableException)
            {
            }
        }
        Console.WriteLine("consumer: ok");
        return 0;
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            Console.Error.WriteLine("consumer: FAILED: " + what);
            Environment.Exit(1);
        }
    }
}
CS
cp "$lib/$assembly.dll" "$app/"
mcs -langversion:"$langversion" -warnaserror+ -nologo -target:exe -out:"$app/Consumer.exe" \
    -r:"$app/$assembly.dll" "$app/Consumer.cs" || fail "mcs -r:$assembly.dll of a consumer"
(cd "$app" && mono Consumer.exe) || fail "the consumer under mono"

echo "install-test.sh: the .csproj's settings checked; its sources built by mcs into $assembly.dll; a consumer built against it ran"
echo "install-test.sh: NOT verified here: the net8.0 build with a .NET SDK (none on this machine)"
