#!/usr/bin/env bash
# Checks the deployment guide (integration/deploy/DEPLOYMENT.md) and its files for real, one
# concern per file of checks/:
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
# shellcheck source-path=SCRIPTDIR
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

# One file per concern, run in this order in this shell (they share its variables).
# shellcheck source=checks/manifests.sh
source "$deploy/checks/manifests.sh"
# shellcheck source=checks/unit-verify.sh
source "$deploy/checks/unit-verify.sh"
# shellcheck source=checks/setup.sh
source "$deploy/checks/setup.sh"
# shellcheck source=checks/guide.sh
source "$deploy/checks/guide.sh"
# shellcheck source=checks/pod.sh
source "$deploy/checks/pod.sh"
# shellcheck source=checks/unit-run.sh
source "$deploy/checks/unit-run.sh"

printf '\ndeploy: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
