#!/usr/bin/env bash
# The end-to-end demo: builds the sidecar and the integration binaries, starts the reference
# control plane in a temporary state directory, registers demo secrets, and runs every demo
# node (integration/demo/nodes/<lang>/) through ax-run, printing what happened.
#
#   integration/demo.sh                  # every language that has a node
#   integration/demo.sh --lang python    # one language (repeatable)
#
# Exits non-zero when any scenario misbehaved, a secret value leaked into an output, or a node's
# `setup` failed (that language is reported as failed, never skipped; the others still run).
#
# Extra arguments go to ax-demo (see `target/debug/ax-demo --help`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
echo "building ax-sidecar and the integration binaries..." >&2
cargo build -q -p ax-sidecar -p ax-integration --bins
target="${CARGO_TARGET_DIR:-$root/target}/debug"
args=()
# Locked memory is the default; where mlock is not allowed, say so and run without it.
if [ "${AX_ALLOW_UNLOCKED_MEMORY:-}" = 1 ]; then
  args+=(--sidecar-arg=--allow-unlocked-memory)
fi
exec "$target/ax-demo" --nodes "$here/demo/nodes" --bin-dir "$target" "${args[@]}" "$@"
