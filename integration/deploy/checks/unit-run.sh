# Sourced by integration/deploy/test.sh: the unit's ExecStart against the control plane, its
# FIFO and its system calls.
# shellcheck shell=bash
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
  "${memory[@]}" "${as_unit[@]}" "${unit_words[@]}" >"$scratch/unit.out" 2>"$scratch/unit.err" &
unit_tracer=$!
pids+=("$unit_tracer")
unit_socket=$unit/run/ax-secrets/$unit_id/sidecar.sock
# The ready file appears (atomically) once it serves. Under strace on a loaded 2-CPU machine
# start-up can take many seconds, so the deadline is generous; the wait ends early if strace
# (which lives as long as the sidecar it traces) exits.
started=
unit_ready=$unit/run/ax-secrets/$unit_id/ready
for _ in $(seq 1200); do
  [ -e "$unit_ready" ] && break
  kill -0 "$unit_tracer" 2>/dev/null || break
  sleep 0.1
done
# The sidecar itself, found once it serves: strace's child has exec'd setpriv and then
# ax-sidecar by then, so it is the one `ax-sidecar` whose parent is strace.
unit_sidecar=$(pgrep -P "$unit_tracer" -x ax-sidecar || true)
if [ -e "$unit_ready" ] && [ -n "$unit_sidecar" ] &&
  "${as_unit[@]}" "$bin/ax-sidecar" probe --socket "$unit_socket" --timeout 20s; then
  started=1
fi
if [ -n "$started" ] && [ "$(cat "$unit_ready" 2>/dev/null)" = READY ]; then
  pass "unit: ExecStart serves (probe exit 0, READY in the ready file)"
else
  fail "unit: ExecStart did not serve; the sidecar's stderr:"; cat "$scratch/unit.err"
fi
# A node of the group writes a line holding the value into the unit's FIFO.
if [ -n "$started" ]; then
  setpriv --reuid "$NODE_UID" --regid "$UNIT_GID" --clear-groups --no-new-privs \
    sh -c 'printf "node says: %s\n" "$1" >"$2"' node "$GREETING_VALUE" \
    "$unit/run/ax-secrets/$unit_id/output" || fail "unit: the node could not write to the FIFO"
fi
if [ -n "$unit_sidecar" ]; then kill -TERM "$unit_sidecar" 2>/dev/null || true; else kill -TERM "$unit_tracer" 2>/dev/null || true; fi
rc=0; wait "$unit_tracer" || rc=$?  # strace exits with its command's code
if [ "$rc" = 0 ]; then pass "unit: SIGTERM stops it with 0"; else fail "unit: SIGTERM: exit $rc"; fi
if grep -qF -- "$GREETING_VALUE" "$scratch/unit.out" "$scratch/unit.err"; then
  fail "unit: the value reached the sidecar's output unmasked"
elif grep -qxF "node says: ***" "$scratch/unit.out"; then
  pass "unit: what a node wrote to the FIFO reached the sidecar's stdout (the journal) masked"
else
  fail "unit: the node's line is not in the sidecar's stdout: $(head -c 300 "$scratch/unit.out")"
fi

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
