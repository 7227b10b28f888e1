#!/usr/bin/env bash
# Runs every test of the Rust shim with cargo: unit tests, the shared vectors (one case each),
# the mock and the conformance scenarios on it, the client's protocol rules against a scripted
# fake sidecar, live tests against a real ax-sidecar, and the doc tests; rustfmt and clippy
# must be clean too. The live tests use $AX_SIDECAR_BIN if set, else target/debug/ax-sidecar,
# built here first so that it is current. install-test.sh first builds a fresh cargo project that
# depends on this folder by path, as the README's "Install" section says.
set -euo pipefail
cd "$(dirname "$0")"

if [[ -z "${AX_SIDECAR_BIN:-}" ]]; then
    (cd ../.. && cargo build -q -p ax-sidecar)
fi
cargo fmt -p ax-secrets --check
cargo clippy -q -p ax-secrets --all-targets -- -D warnings
./install-test.sh
cargo test -p ax-secrets "$@"
