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

# One closing line for the whole run, summed over every test binary and the doc tests.
awk '/^test result:/ { p += $4; f += $6 } END { printf "\ncargo: %d passed, %d failed\n", p, f }' "$log"
