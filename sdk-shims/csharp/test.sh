#!/usr/bin/env bash
# Runs every test of the C# shim under Mono: the shared vectors, the codec and frame reader, the
# mock, the client's protocol rules against a scripted fake sidecar, and live tests against a real
# ax-sidecar ($AX_SIDECAR_BIN, or built with cargo from this repository by the test program).
# Prints one line per test and a closing "N passed, N failed" line; exits non-zero on any failure.
# Optional argument: run only the tests whose name contains it. install-test.sh first checks the
# .csproj and builds its sources into a DLL that a consumer program is compiled against and run.
set -euo pipefail
cd "$(dirname "$0")"

./build.sh
./install-test.sh
exec mono --debug build/Tests.exe "$@"
