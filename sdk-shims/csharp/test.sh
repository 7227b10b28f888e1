#!/usr/bin/env bash
# Runs every test of the C# shim under Mono: the shared vectors, the codec and frame reader, the
# mock, the client's protocol rules against a scripted fake sidecar, and live tests against a real
# ax-sidecar ($AX_SIDECAR_BIN, or built with cargo from this repository by the test program).
# Prints one line per test and a closing "N passed, N failed" line; exits non-zero on any failure.
# Optional argument: run only the tests whose name contains it.
set -euo pipefail
cd "$(dirname "$0")"

./build.sh
exec mono --debug build/Tests.exe "$@"
