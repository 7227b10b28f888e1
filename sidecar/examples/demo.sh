#!/usr/bin/env bash
# The sidecar's main job, offline: seal the example secrets, serve them on a private socket,
# read them as node code would, stop with SIGTERM, and show the audit trail.
#
#   sidecar/examples/demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --quiet --release -p ax-sidecar --bin ax-sidecar --example client
bin=target/release/ax-sidecar
client=target/release/examples/client

work=$(mktemp -d)            # mode 0700: the socket's directory must be private
trap 'rm -rf "$work"' EXIT
socket="$work/run/sidecar.sock"

"$bin" seal --input sidecar/examples/secrets.json --key-file "$work/key" \
  --output "$work/bundle.sealed" --new-key

exec 3> "$work/ready"        # the launcher's ready descriptor
"$bin" serve --socket "$socket" --bundle-file "$work/bundle.sealed" --key-file "$work/key" \
  --ready-fd 3 --audit-file "$work/audit.jsonl" &
pid=$!
exec 3>&-
until grep -q READY "$work/ready" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; exit $?; }
  sleep 0.01
done

echo "--- list";   "$client" "$socket" list
echo "--- get";    "$client" "$socket" get OPENAI_API_KEY
echo "--- get (override)"; "$client" "$socket" get DB_URL
echo "--- get (missing)";  "$client" "$socket" get NOT_THERE || true
echo "--- render"; "$client" "$socket" render 'db={{ secrets.DB_URL }} hook={{secrets.WEBHOOK_TOKEN}} x={{secrets.NOPE}}'
echo "--- redact"; "$client" "$socket" redact "leaked: sk-example-0000000000000000000000000000 and $(printf %s whk_example_1234 | base64)"

kill -TERM "$pid"
wait "$pid"
echo "--- sidecar exited with $? and removed its socket: $([ -e "$socket" ] && echo no || echo yes)"
echo "--- audit trail"
cat "$work/audit.jsonl"
