#!/usr/bin/env bash
# Checks the deployment guide (integration/deploy/DEPLOYMENT.md) and its files for real:
#   1. the Kubernetes manifests, with kubeconform in strict mode against the vendored schemas,
#      and two broken copies that the same command must reject;
#   2. the systemd unit, with systemd-analyze verify, and two broken copies it must reject;
#   3. every ```sh {test} block of the guide, run as written (bubblewrap under ax-run
#      --node-uid/--node-gid, the ready file and the probe);
#   4. the pod's sidecar arguments and probe commands, and the unit's ExecStart, run against a
#      reference control plane under the identities the pod and the unit give them.
# Runs as root (CI does): ax-run --node-uid and the identities of 4 need it. Installs what it
# needs (kubeconform from the Go module proxy; Debian's systemd and bubblewrap) or fails saying
# why; it never skips a check.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
deploy=integration/deploy

KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VERSION=1.34.4
# The identities of the manifests and the guide: node uid 1000; socket group 2000 in the pod.
NODE_UID=1000
POD_GROUP=2000
# The unit's User=ax-sidecar and Group=ax-nodes, as numbers no account on this machine needs.
UNIT_UID=64101
UNIT_GID=64102
# What the guide's reference control plane holds (not a secret: test data).
TENANT=acme
GREETING_VALUE="hello from the control plane, $RANDOM$RANDOM"

passed=0
failed=0
step() { printf '\n==> %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }
die() { printf 'integration/deploy/test.sh: %s\n' "$*" >&2; exit 1; }

scratch=$(mktemp -d)
chmod 0755 "$scratch"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "must run as root (CI does): ax-run --node-uid, setpriv and apt-get need it"

apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---------------------------------------------------------------------------------------------
step "Kubernetes manifests: kubeconform $KUBECONFORM_VERSION, strict, Kubernetes $KUBERNETES_VERSION schemas"
command -v go >/dev/null || die "go is missing: kubeconform is installed with go install"
kc_dir=${XDG_CACHE_HOME:-$HOME/.cache}/ax-secrets/kubeconform-$KUBECONFORM_VERSION
if [ ! -x "$kc_dir/kubeconform" ]; then
  mkdir -p "$kc_dir"
  GOBIN=$kc_dir go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi
kubeconform() {
  "$kc_dir/kubeconform" -strict -summary -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$repo/$deploy/schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    "$@"
}

manifests=("$deploy"/kubernetes/*.yaml)
if out=$(kubeconform "${manifests[@]}" 2>&1) \
  && grep -q "Valid: ${#manifests[@]}, Invalid: 0, Errors: 0, Skipped: 0" <<<"$out"; then
  pass "${#manifests[@]} manifests valid: $(tail -n 1 <<<"$out")"
else
  fail "manifests not valid:"; printf '%s\n' "$out"
fi

# Each broken copy must differ from the original, and the same command must reject it for
# the reason planted.
reject_broken_manifest() {
  local what=$1 expression=$2 expect=$3 copy="$scratch/broken-$RANDOM.yaml"
  sed "$expression" "$deploy/kubernetes/pod.yaml" >"$copy"
  if cmp -s "$copy" "$deploy/kubernetes/pod.yaml"; then
    fail "broken manifest ($what): the edit changed nothing"; return
  fi
  if out=$(kubeconform "$copy" 2>&1); then
    fail "broken manifest ($what) accepted:"; printf '%s\n' "$out"
  elif grep -qF "$expect" <<<"$out"; then
    pass "broken manifest ($what) rejected: ...$expect..."
  else
    fail "broken manifest ($what) rejected, but not for the planted fault:"; printf '%s\n' "$out"
  fi
}
reject_broken_manifest "misspelled field" 's/readOnlyRootFilesystem:/readOnlyRootFileSystem:/' \
  "additional properties 'readOnlyRootFileSystem' not allowed"
reject_broken_manifest "string for an integer" 's/failureThreshold: 30/failureThreshold: "30"/' \
  "/spec/initContainers/0/startupProbe/failureThreshold"

# ---------------------------------------------------------------------------------------------
step "systemd unit: systemd-analyze verify"
command -v systemd-analyze >/dev/null || apt_install systemd
[ -d /usr/lib/systemd/system ] || die "systemd's units are missing (/usr/lib/systemd/system)"
systemd-analyze --version | head -n 1

# verify checks the unit as PID 1 would load it, which needs no running systemd: a scratch
# root holding systemd's own units (for the default dependencies), the unit, and the binary
# its ExecStart names. A clean unit prints nothing; any line is a finding.
unit_root() {
  local root=$1
  mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/local/bin"
  cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
  cp "$deploy/systemd/ax-sidecar@.service" "$root/etc/systemd/system/"
  printf '#!/bin/sh\n' >"$root/usr/local/bin/ax-sidecar"
  chmod 0755 "$root/usr/local/bin/ax-sidecar"
}
verify_unit() { systemd-analyze verify --root="$1" ax-sidecar@exec-0123.service 2>&1; }

unit_root "$scratch/unit-ok"
if out=$(verify_unit "$scratch/unit-ok") && [ -z "$out" ]; then
  pass "ax-sidecar@.service verifies clean (instance ax-sidecar@exec-0123.service)"
else
  fail "ax-sidecar@.service does not verify clean:"; printf '%s\n' "$out"
fi

unit_root "$scratch/unit-typo"
sed -i 's/^ProtectSystem=/ProtectSytem=/' "$scratch/unit-typo/etc/systemd/system/ax-sidecar@.service"
out=$(verify_unit "$scratch/unit-typo") || true
if grep -q "Unknown key.*ProtectSytem" <<<"$out"; then
  pass "broken unit (misspelled directive) rejected: $(head -n 1 <<<"$out" | sed 's/.*: Unknown/Unknown/')"
else
  fail "broken unit (misspelled directive) not rejected: '$out'"
fi

unit_root "$scratch/unit-nobinary"
rm "$scratch/unit-nobinary/usr/local/bin/ax-sidecar"
if out=$(verify_unit "$scratch/unit-nobinary"); then
  fail "broken unit (ExecStart binary missing) not rejected: '$out'"
else
  pass "broken unit (ExecStart binary missing) rejected: $(head -n 1 <<<"$out")"
fi

# ---------------------------------------------------------------------------------------------
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

# ---------------------------------------------------------------------------------------------
step "the guide's sh {test} blocks, as written"
python3 - "$deploy/DEPLOYMENT.md" >"$scratch/guide.sh" <<'EOF'
import sys

lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
blocks, block = [], None
for line in lines:
    if block is None and line.strip() == "```sh {test}":
        block = []
    elif block is not None and line.strip() == "```":
        blocks.append(block)
        block = None
    elif block is not None:
        block.append(line)
print("set -euo pipefail")
for number, block in enumerate(blocks, 1):
    print(f"echo '--- block {number}' >&2")
    print("\n".join(block))
print(f"echo '--- {len(blocks)} blocks ran' >&2")
EOF
blocks=$(grep -c '^```sh {test}$' "$deploy/DEPLOYMENT.md")
rc=0
STATE=$STATE NODE_DIR=$NODE_DIR PATH="$bin:$PATH" \
  timeout 120 bash "$scratch/guide.sh" >"$scratch/guide.out" 2>"$scratch/guide.err" || rc=$?
expect_guide() { # what the guide says the blocks print
  if grep -qF -- "$1" "$scratch/guide.out"; then pass "guide: printed '$1'"; else fail "guide: no '$1' in its output"; fi
}
if [ "$rc" = 0 ] && grep -q -- "--- $blocks blocks ran" "$scratch/guide.err"; then
  pass "guide: all $blocks sh {test} blocks ran and exited 0"
else
  fail "guide: the blocks exited $rc (of $blocks blocks); stdout and stderr:"
  cat "$scratch/guide.out" "$scratch/guide.err"
fi
expect_guide "uid $NODE_UID gid $NODE_UID: GREETING found, value ***"
expect_guide "READY"
expect_guide "probe: exit 69"
if grep -qF -- "$GREETING_VALUE" "$scratch/guide.out" "$scratch/guide.err"; then
  fail "guide: the secret's value was printed unmasked"
elif grep -qF -- "GREETING found, value ***" "$scratch/guide.out"; then
  pass "guide: the node printed the value, and it appears nowhere in the output (masked)"
else
  fail "guide: the node never printed the value, so masking was not shown"
fi

# ---------------------------------------------------------------------------------------------
step "the pod: its sidecar arguments and probes against a real sidecar, under the pod's identities"
# The probe commands of pod.yaml and job.yaml (startup, readiness, liveness) must be one command.
probes=$(grep -h 'command: \["/usr/local/bin/ax-sidecar", "probe"' "$deploy"/kubernetes/pod.yaml \
  "$deploy"/kubernetes/job.yaml | sed 's/^ *command: //' | sort -u)
if [ "$(grep -c . <<<"$probes")" = 1 ] \
  && [ "$(cat "$deploy"/kubernetes/pod.yaml "$deploy"/kubernetes/job.yaml | grep -c '"probe"')" = 6 ]; then
  pass "the 6 probe commands of pod.yaml and job.yaml are one: $probes"
else
  fail "the probe commands of pod.yaml and job.yaml differ or are missing: $probes"
fi

# The pod's paths mapped onto scratch directories: /run/ax is the emptyDir (world-writable,
# as the kubelet makes it), /var/run/ax-credentials the projected volume (root, 0400).
pod=$scratch/pod
mkdir -p "$pod/run" "$pod/credentials"
chmod 0777 "$pod/run"
read -r exec_id exec_token < <(new_execution)
printf '%s\n' "$exec_token" >"$pod/credentials/execution-token"
cp "$STATE/control-plane.pub" "$pod/credentials/control-plane.pub"
cp "$STATE/ca.pem" "$pod/credentials/ca.pem"
chmod 0400 "$pod/credentials"/*
map_pod_paths() {
  sed -e "s|/run/ax/|$pod/run/|g" -e "s|/var/run/ax-credentials/|$pod/credentials/|g" \
    -e "s|/usr/local/bin/ax-sidecar|$bin/ax-sidecar|g" \
    -e "s|https://ax-control-plane.ax-system.svc:8443|$url|g" -e "s|exec-0123|$exec_id|g"
}
# The sidecar container's args: the list under the only "args:" of a manifest.
sidecar_args_of() {
  python3 - "$1" <<'EOF'
import sys

lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
start = next(i for i, line in enumerate(lines) if line.strip() == "args:")
for line in lines[start + 1:]:
    item = line.strip()
    if item.startswith("#"):
        continue
    if not item.startswith("- "):
        break
    print(item[2:])
EOF
}
mapfile -t sidecar_args < <(sidecar_args_of "$deploy/kubernetes/pod.yaml" | map_pod_paths)
# The Job runs the same sidecar: its args are the pod's but for where the execution id comes from.
if diff <(sidecar_args_of "$deploy/kubernetes/pod.yaml") \
  <(sidecar_args_of "$deploy/kubernetes/job.yaml" | sed 's/[$](AX_EXECUTION_ID)/exec-0123/'); then
  pass "job.yaml's sidecar args are pod.yaml's, the execution id from the downward API"
else
  fail "job.yaml's sidecar args differ from pod.yaml's (above)"
fi
mapfile -t probe < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' \
  "$(head -n 1 <<<"$probes")" | map_pod_paths)
echo "sidecar: ax-sidecar ${sidecar_args[*]}"

# runAsUser 0, runAsGroup 2000, capabilities drop ALL + add IPC_LOCK, no privilege escalation.
# shellcheck disable=SC2054 # the commas are setpriv's capability lists
as_pod_sidecar=(setpriv --reuid 0 --regid "$POD_GROUP" --clear-groups --no-new-privs
  --inh-caps=-all --bounding-set=-all,+ipc_lock)
# runAsUser 1000, runAsGroup 2000, capabilities drop ALL, no privilege escalation.
as_pod_node=(setpriv --reuid "$NODE_UID" --regid "$POD_GROUP" --clear-groups --no-new-privs
  --inh-caps=-all --bounding-set=-all)
# The node container's view: the emptyDir read-only at /run/ax (the pod's own socket path, from
# its env), its code, Debian's /usr, nothing else.
pod_node_socket=$(grep -A1 'name: AX_SECRETS_SOCKET' "$deploy/kubernetes/pod.yaml" | sed -n 's/^ *value: //p')
pod_node_mounts=(bwrap --unshare-all --die-with-parent --new-session --clearenv
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64
  --proc /proc --dev /dev --tmpfs /tmp --ro-bind "$pod/run" /run/ax --ro-bind "$NODE_DIR" /node
  --setenv PATH /usr/bin --setenv PYTHONPATH /node --setenv AX_SECRETS_SOCKET "$pod_node_socket" --)
"${as_pod_sidecar[@]}" "$bin/ax-sidecar" "${sidecar_args[@]}" 2>"$scratch/pod-sidecar.err" &
pod_sidecar=$!
pids+=("$pod_sidecar")
# As the kubelet runs the startup probe: every second, at most 30 times.
started=
for _ in $(seq 30); do
  if "${as_pod_sidecar[@]}" "${probe[@]}" 2>/dev/null; then started=1; break; fi
  kill -0 "$pod_sidecar" 2>/dev/null || break
  sleep 1
done
if [ -n "$started" ]; then
  pass "pod: the startup probe passes once the sidecar serves"
else
  fail "pod: the startup probe never passed; the sidecar's stderr:"; cat "$scratch/pod-sidecar.err"
fi
socket=$pod/run/socket/sidecar.sock
if [ -n "$started" ]; then
  modes="$(stat -c '%a %g' "$pod/run/socket") / $(stat -c '%a %g' "$socket")"
  if [ "$modes" = "750 $POD_GROUP / 660 $POD_GROUP" ]; then
    pass "pod: socket directory 0750 and socket 0660, group $POD_GROUP"
  else
    fail "pod: socket directory and socket are '$modes', not '750 $POD_GROUP / 660 $POD_GROUP'"
  fi
  if [ "$(cat "$pod/run/ready" 2>/dev/null)" = READY ]; then
    pass "pod: --ready-file wrote READY"
  else
    fail "pod: no READY in the ready file"
  fi
  node_out=$("${as_pod_node[@]}" "${pod_node_mounts[@]}" python3 /node/main.py 2>&1) || true
  if [ "$node_out" = "uid $NODE_UID gid $POD_GROUP: GREETING found, value $GREETING_VALUE" ]; then
    pass "pod: the node (uid $NODE_UID, gid $POD_GROUP) reads GREETING through the Python shim"
  else
    fail "pod: the node did not read GREETING: ${node_out//$GREETING_VALUE/<the value>}"
  fi
  # The guide's warning: a supplementary group (fsGroup, supplementalGroups) opens the
  # directory but does not let the node in, since SO_PEERCRED carries the primary gid only.
  # Seen by the probe, then by the Python shim, whose error must name the uid, not the token.
  as_supplementary=(setpriv --reuid "$NODE_UID" --regid "$((POD_GROUP + 1))" --groups "$POD_GROUP"
    --no-new-privs --inh-caps=-all --bounding-set=-all)
  rc=0; said=$("${as_supplementary[@]}" "${probe[@]}" 2>&1) || rc=$?
  if [ "$rc" = 69 ] && grep -q "refused this process's uid $NODE_UID" <<<"$said"; then
    pass "pod: with the socket group only supplementary, the probe is refused for its uid (69)"
  else
    fail "pod: with the socket group only supplementary, the probe exited $rc: $said"
  fi
  refused=$("${as_supplementary[@]}" "${pod_node_mounts[@]}" python3 -c '
from ax_secrets import AxiomContext, SecretsUnavailableError
try:
    AxiomContext().secrets.get("GREETING")
    print("let in")
except SecretsUnavailableError as error:
    print("refused:", error.code, "-", error)
' 2>&1) || true
  if [[ $refused == "refused: Unauthorized - "* && $refused == *uid* && $refused != *token* ]]; then
    pass "pod: ... and the Python shim says Unauthorized, naming the uid, not the token"
  else
    fail "pod: a node with the socket group only as a supplementary group: '$refused'"
  fi
fi
kill -TERM "$pod_sidecar" 2>/dev/null || true
rc=0; wait "$pod_sidecar" || rc=$?
if [ "$rc" = 0 ] && [ ! -e "$pod/run/ready" ] && [ ! -e "$socket" ]; then
  pass "pod: SIGTERM stops the sidecar with 0, the socket and the ready file removed"
else
  fail "pod: after SIGTERM the sidecar exited $rc; ready file or socket left: $(ls "$pod/run" "$pod/run/socket" 2>&1 | tr '\n' ' ')"
fi

# The guide's warning about hostUsers: false: in a user namespace the container's IPC_LOCK is
# namespaced, the kernel applies the (here 8 MiB) memlock limit anyway, and the sidecar refuses.
rc=0
prlimit --memlock=8388608:8388608 -- unshare --user --map-root-user -- \
  "$bin/ax-sidecar" "${sidecar_args[@]}" 2>"$scratch/userns.err" || rc=$?
if [ "$rc" = 71 ] && grep -q mlockall "$scratch/userns.err"; then
  pass "pod: in a user namespace (hostUsers: false) the sidecar cannot lock its memory: exit 71"
else
  fail "pod: in a user namespace the sidecar exited $rc: $(cat "$scratch/userns.err")"
fi

# ---------------------------------------------------------------------------------------------
step "the unit: its ExecStart against a real control plane, as User=ax-sidecar, Group=ax-nodes"
unit=$scratch/unit
read -r unit_id unit_token < <(new_execution)
# RuntimeDirectory=ax-secrets/%i (0750, User:Group); %d holds LoadCredential's file.
mkdir -p "$unit/run/ax-secrets/$unit_id" "$unit/credentials" "$unit/etc"
chown "$UNIT_UID:$UNIT_GID" "$unit/run/ax-secrets/$unit_id" "$unit/credentials"
chmod 0750 "$unit/run/ax-secrets/$unit_id"
printf '%s\n' "$unit_token" >"$unit/credentials/execution-token"
chown "$UNIT_UID" "$unit/credentials/execution-token"
chmod 0400 "$unit/credentials/execution-token"
cp "$STATE/control-plane.pub" "$STATE/ca.pem" "$unit/etc/"
chmod 0644 "$unit/etc"/*
mapfile -t exec_start < <(python3 - "$deploy/systemd/ax-sidecar@.service" <<'EOF'
import shlex, sys

text = open(sys.argv[1], encoding="utf-8").read().replace("\\\n", " ")
line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
for word in shlex.split(line[len("ExecStart="):]):
    print(word)
EOF
)
unit_words=()
for word in "${exec_start[@]}"; do
  case $word in
    '$AX_SIDECAR_ARGS') unit_words+=(--ca-file "$unit/etc/ca.pem") ;;  # from sidecar.env
    *)
      word=${word//%i/$unit_id}
      word=${word//%t/$unit/run}
      word=${word//%d/$unit/credentials}
      word=${word//'${AX_CONTROL_PLANE}'/$url}
      word=${word//'${AX_SOCKET_GROUP}'/$UNIT_GID}
      word=${word//\/etc\/ax-secrets\//$unit/etc/}
      word=${word//\/usr\/local\/bin\/ax-sidecar/$bin/ax-sidecar}
      unit_words+=("$word") ;;
  esac
done
echo "ExecStart: ${unit_words[*]}"
# User=, Group=, NoNewPrivileges=yes, and the memory lock: LimitMEMLOCK=infinity with
# CapabilityBoundingSet= (none), as the unit says, where this machine's root may raise the
# limit; a container's root without CAP_SYS_RESOURCE may not, and then the unit's documented
# alternative stands in: CAP_IPC_LOCK as its only, ambient, capability.
as_unit=(setpriv --reuid "$UNIT_UID" --regid "$UNIT_GID" --clear-groups --no-new-privs)
if prlimit --memlock=unlimited:unlimited true 2>/dev/null; then
  memory=(prlimit --memlock=unlimited:unlimited --)
  as_unit+=(--inh-caps=-all --bounding-set=-all)
  echo "memory lock: LimitMEMLOCK=infinity, no capability"
else
  memory=()
  # shellcheck disable=SC2054 # the commas are setpriv's capability lists
  as_unit+=(--inh-caps=-all,+ipc_lock --ambient-caps=+ipc_lock --bounding-set=-all,+ipc_lock)
  echo "memory lock: AmbientCapabilities=CAP_IPC_LOCK (root here cannot raise RLIMIT_MEMLOCK)"
fi
# Under strace, to hold every system call it makes against the unit's SystemCallFilter below.
strace -f -qq -o "$scratch/unit.trace" -- \
  "${memory[@]}" "${as_unit[@]}" "${unit_words[@]}" 2>"$scratch/unit.err" &
unit_tracer=$!
pids+=("$unit_tracer")
# strace's child execs setpriv (and prlimit) and then the sidecar in place: one pid throughout.
unit_sidecar=
for _ in $(seq 50); do
  unit_sidecar=$(pgrep -P "$unit_tracer" || true)
  [ -n "$unit_sidecar" ] && break
  sleep 0.1
done
[ -n "$unit_sidecar" ] || die "strace started no child"
unit_socket=$unit/run/ax-secrets/$unit_id/sidecar.sock
started=
for _ in $(seq 30); do
  if "${as_unit[@]}" "$bin/ax-sidecar" probe --socket "$unit_socket" 2>/dev/null; then started=1; break; fi
  kill -0 "$unit_sidecar" 2>/dev/null || break
  sleep 1
done
if [ -n "$started" ] && [ "$(cat "$unit/run/ax-secrets/$unit_id/ready" 2>/dev/null)" = READY ]; then
  pass "unit: ExecStart serves (probe exit 0, READY in the ready file)"
else
  fail "unit: ExecStart did not serve; the sidecar's stderr:"; cat "$scratch/unit.err"
fi
kill -TERM "$unit_sidecar" 2>/dev/null || true
rc=0; wait "$unit_tracer" || rc=$?  # strace exits with its command's code
if [ "$rc" = 0 ]; then pass "unit: SIGTERM stops it with 0"; else fail "unit: SIGTERM: exit $rc"; fi

# SystemCallFilter=@system-service: every call the sidecar made from its execve on (start,
# fetch over HTTPS, serving the probes, shutdown) must be in that set, groups expanded.
expand_filter() { # its first line names the group itself; members are indented
  systemd-analyze syscall-filter "$1" </dev/null | sed -n 's/^ \{1,\}\([@a-z0-9_-]\{1,\}\)$/\1/p' |
    while read -r name; do
      case $name in @*) expand_filter "$name" ;; *) echo "$name" ;; esac
    done
}
filter=$(sed -n 's/^SystemCallFilter=//p' "$deploy/systemd/ax-sidecar@.service")
expand_filter "$filter" | sort -u >"$scratch/allowed.syscalls"
awk -v exe="$bin/ax-sidecar" '
  index($0, "execve(\"" exe "\"") && $0 ~ /= 0$/ { on = 1 }
  on { name = $2; sub(/\(.*/, "", name); if (name ~ /^[a-z0-9_]+$/) print name }
' "$scratch/unit.trace" | sort -u >"$scratch/used.syscalls"
outside=$(comm -23 "$scratch/used.syscalls" "$scratch/allowed.syscalls" | paste -sd' ')
used=$(grep -c . "$scratch/used.syscalls" || true)
if [ "$used" -gt 20 ] && [ -z "$outside" ]; then
  pass "unit: all $used system calls the sidecar made are in SystemCallFilter=$filter"
else
  fail "unit: of $used system calls, outside SystemCallFilter=$filter: ${outside:-none, but too few traced}"
fi
# The comparison can fail: against a narrower set (@basic-io alone) the same trace has calls
# outside it (socket, mlockall, ...).
narrow=$(comm -23 "$scratch/used.syscalls" <(expand_filter @basic-io | sort -u) | grep -c . || true)
if [ "$narrow" -gt 0 ]; then
  pass "unit: the same check against @basic-io alone finds $narrow calls outside it"
else
  fail "unit: the system-call check finds nothing outside even @basic-io"
fi

printf '\ndeploy: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
