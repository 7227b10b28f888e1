# Sourced by integration/deploy/test.sh: the pod's sidecar arguments, probes and node command,
# under the pod's identities.
# shellcheck shell=bash
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
# The node container's command (its output into the sidecar's FIFO), with its code at /node.
mapfile -t pod_node_command < <(python3 -c 'import json, sys; print("\n".join(json.loads(sys.argv[1])))' \
  "$(grep -h 'command: \["sh"' "$deploy/kubernetes/pod.yaml" | sed 's/^ *command: //')" \
  | sed 's|/app/main.py|/node/main.py|')
"${as_pod_sidecar[@]}" "$bin/ax-sidecar" "${sidecar_args[@]}" \
  >"$scratch/pod-sidecar.out" 2>"$scratch/pod-sidecar.err" &
pod_sidecar=$!
pids+=("$pod_sidecar")
# As the kubelet runs the startup probe: every second (the pod allows 30 tries; a loaded CI
# machine gets 120, since only whether it comes up is checked here, not how fast).
started=
for _ in $(seq 120); do
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
  rc=0; node_out=$("${as_pod_node[@]}" "${pod_node_mounts[@]}" "${pod_node_command[@]}" 2>&1) || rc=$?
  if [ "$rc" = 0 ] && [ -z "$node_out" ]; then
    pass "pod: the node's command (${pod_node_command[*]}) exits 0, printing nothing of its own"
  else
    fail "pod: the node's command exited $rc: ${node_out//$GREETING_VALUE/<the value>}"
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
# What the node printed, as the sidecar container's log shows it: read, and masked.
if grep -qF -- "$GREETING_VALUE" "$scratch/pod-sidecar.out" "$scratch/pod-sidecar.err"; then
  fail "pod: the value reached the sidecar's log unmasked"
elif grep -qxF "uid $NODE_UID gid $POD_GROUP: GREETING found, value ***" "$scratch/pod-sidecar.out"; then
  pass "pod: the node (uid $NODE_UID, gid $POD_GROUP) read GREETING; its output is in the sidecar's log, masked"
else
  fail "pod: the node's line is not in the sidecar's stdout: $(head -c 300 "$scratch/pod-sidecar.out")"
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
