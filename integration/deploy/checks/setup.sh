# Sourced by integration/deploy/test.sh: the binaries, a reference control plane with a tenant,
# and the node of the checks.
# shellcheck shell=bash
step "binaries and a reference control plane"
command -v bwrap >/dev/null || apt_install bubblewrap
# bubblewrap's sandbox binds the host's /usr: the node's Python is Debian's.
[ -x /usr/bin/python3 ] || apt_install python3
command -v setpriv >/dev/null || apt_install util-linux
command -v curl >/dev/null || apt_install curl
command -v strace >/dev/null || apt_install strace
cargo build -q --locked -p ax-sidecar -p ax-integration --bins
# Copies, so that every uid of the tests can run them whatever the checkout's permissions.
bin=$scratch/bin
mkdir "$bin"
cp "${AX_SIDECAR_BIN:-target/debug/ax-sidecar}" "$bin/ax-sidecar"
cp target/debug/ax-run target/debug/ax-control-plane "$bin/"
export AX_SIDECAR_BIN=$bin/ax-sidecar

STATE=$scratch/control-plane
exec {cp_out}< <(exec "$bin/ax-control-plane" --state-dir "$STATE")
pids+=($!)
read -r -t 30 url <&"$cp_out" || die "the control plane printed no URL within 30 s"
admin() {
  curl -sS --fail-with-body --cacert "$STATE/ca.pem" \
    -H "Authorization: Bearer $(cat "$STATE/admin-token")" -H 'Content-Type: application/json' "$@"
}
admin -X POST "$url/v1/tenants" -d "{\"name\": \"$TENANT\"}" >/dev/null
admin -X PUT "$url/v1/tenants/$TENANT/secrets/GREETING" \
  -d "{\"value\": \"$GREETING_VALUE\"}" >/dev/null
new_execution() { # prints "ID TOKEN"
  admin -X POST "$url/v1/tenants/$TENANT/executions" -d '{}' \
    | python3 -c 'import json, sys; e = json.load(sys.stdin); print(e["execution_id"], e["token"])'
}
echo "control plane at $url, tenant $TENANT with GREETING"

# The node of the guide and of the pod: prints its identity and what it read.
NODE_DIR=$scratch/node
mkdir "$NODE_DIR"
cp -r sdk-shims/python/ax_secrets "$NODE_DIR/"
cat >"$NODE_DIR/main.py" <<'EOF'
import os

from ax_secrets import AxiomContext

value, found = AxiomContext().secrets.get("GREETING")
state = "found" if found else "missing"
print(f"uid {os.getuid()} gid {os.getgid()}: GREETING {state}, value {value}", flush=True)
EOF
chmod -R a+rX "$NODE_DIR"
