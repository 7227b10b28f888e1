# Sourced by integration/deploy/test.sh: the Kubernetes manifests against the vendored schemas,
# and two broken copies.
# shellcheck shell=bash
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
