#!/usr/bin/env bash
# Uses the shim the way the README's "Install" section says: a fresh cargo project in a
# temporary directory, outside this workspace, with a `path` dependency on this folder, builds
# offline (`cargo build --offline`, from the registry cache the workspace's own build filled)
# and runs a program that uses the mock and the real client's typed error. The project starts
# from the workspace's Cargo.lock, so it gets the versions the workspace tests; cargo drops the
# entries it does not need.
set -euo pipefail
cd "$(dirname "$0")"
shim="$PWD"
root="$(cd ../.. && pwd)"

fail() { echo "install-test.sh: FAILED: $*" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
app="$work/consumer"
mkdir -p "$app/src"
cat >"$app/Cargo.toml" <<TOML
[package]
name = "ax-secrets-consumer"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
ax-secrets = { path = "$shim" }
TOML
cat >"$app/src/main.rs" <<'RUST'
use ax_secrets::{AxiomContext, MockAxiomContext};

fn main() {
    let ax = MockAxiomContext::from_map([("GREETER_SIGNATURE", "test-sig")]);
    assert_eq!(ax.secrets().get("GREETER_SIGNATURE"), ("test-sig".to_owned(), true));
    let rendered = ax.secrets().render("sig={{secrets.GREETER_SIGNATURE}}").expect("mock render");
    assert_eq!(rendered.text, "sig=test-sig");

    // The real client, with no sidecar behind its socket: the typed error, not a panic.
    let socket = std::env::temp_dir().join(format!("ax-no-sidecar-{}.sock", std::process::id()));
    let real = AxiomContext::builder().socket(&socket).build();
    assert!(real.secrets().try_get("GREETER_SIGNATURE").is_err());
    println!("consumer: ok");
}
RUST
cp "$root/Cargo.lock" "$app/Cargo.lock"

# The project is fresh; only its build cache is the workspace's target folder, so that the
# dependencies the workspace already compiled at the same versions and features (serde's derive
# macro and its syn, above all) are reused: ~9 s instead of ~35 s on a fresh machine. It adds
# the binary target/debug/ax-secrets-consumer there and overwrites nothing of the workspace's.
export CARGO_TARGET_DIR="$root/target"
(cd "$app" && cargo build --offline -q) || fail "cargo build --offline of a project with a path dependency on $shim"
(cd "$app" && cargo run --offline -q) || fail "the consumer"
echo "install-test.sh: a fresh cargo project with a path dependency on $shim built offline and ran"
