#!/usr/bin/env bash
# Runs every test of the Python shim: vectors, mock, client rules, and live tests against a
# real ax-sidecar ($AX_SIDECAR_BIN, or built with cargo from this repository by the tests).
# Needs only python3 (3.9+) and pytest; the shim itself has no run-time dependencies.
# First, install-test.sh installs the shim as a user would (a wheel, and `pip install <path>`).
set -euo pipefail
cd "$(dirname "$0")"

if ! python3 -c 'import pytest' 2>/dev/null; then
    python3 -m pip install --quiet -r requirements-test.txt
fi

python3 -m compileall -q ax_secrets conformance bench
./install-test.sh
python3 -m pytest -q "$@"
