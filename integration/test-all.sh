#!/usr/bin/env bash
# Runs every test of the project on a fresh machine of this project's kind (see README.md).
# Installs only what the project's own files name; never anything by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 1; }
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "$component"
  fi
done
cargo --version
# The shims' toolchains (this machine kind has them); each shim's test.sh installs the rest
# from its own files (pytest from requirements-test.txt, npm packages from package-lock.json,
# Maven plugins from the pom, Mono's mcs from Debian).
for tool in python3 go node npm; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: this machine kind has it; install it" >&2; exit 1; }
done
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q -r sdk-shims/python/requirements-test.txt

# The sandbox test (integration/tests/sandbox.rs) runs nodes in bubblewrap; it fails, never
# skips, without it. setpriv comes with util-linux, which every Debian has.
step "sandbox tools (bubblewrap)"
if ! command -v bwrap >/dev/null; then
  apt-get update
  apt-get install -y bubblewrap
fi
bwrap --version

step "format (cargo fmt --check)"
cargo fmt --all -- --check

step "lints (clippy, warnings are errors)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "tests (cargo test)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-features --locked 2>&1 | tee "$log"

step "doc tests and docs build without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --locked --quiet

# One closing line for the Rust side, summed over every test binary and the doc tests.
awk '/^test result:/ { p += $4; f += $6 } END { printf "\ncargo: %d passed, %d failed\n", p, f }' "$log"

# The shims test against the real sidecar: build it once, and every shim's suite uses it.
step "ax-sidecar for the shims and the conformance suite"
cargo build -q -p ax-sidecar --locked
export AX_SIDECAR_BIN="$PWD/target/debug/ax-sidecar"
"$AX_SIDECAR_BIN" --version

# The Rust shim's tests ran with the workspace above; its install test (a fresh cargo project
# depending on it by path) runs here. Every other shim runs its own suite, install test included.
step "shim: rust, installed into a fresh project (sdk-shims/rust/install-test.sh)"
sdk-shims/rust/install-test.sh
for shim in python go ts java csharp; do
  step "shim: $shim (sdk-shims/$shim/test.sh)"
  "sdk-shims/$shim/test.sh"
done

step "conformance suite (integration/conformance/run.py)"
python3 integration/conformance/run.py

# The README's main command, end to end: the reference control plane, ax-run and a node in
# every language. It closes with its own passed/failed line and fails on any scenario.
step "the demo (integration/demo.sh)"
integration/demo.sh

# The deployment guide: its manifests (kubeconform, vendored schemas), its systemd unit
# (systemd-analyze verify) and every command it shows, run for real; installs what it needs.
step "the deployment guide (integration/deploy/test.sh)"
integration/deploy/test.sh
