# Sourced by integration/deploy/test.sh: the systemd unit with systemd-analyze verify, and two
# broken copies.
# shellcheck shell=bash
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
