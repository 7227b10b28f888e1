#!/usr/bin/env bash
# Installs the shim the two ways the README's "Install" section gives, from a fresh checkout
# (this folder's tracked files copied into a temporary directory: no node_modules/, no dist/),
# each into a fresh npm project that then uses it: `npm install <path>` (npm links the folder
# and runs its `prepare` script, which installs the pinned TypeScript from package-lock.json
# and compiles), and `npm pack` followed by `npm install <tarball>`. The consumer loads the
# package both with require() and with import, uses the mock and the real client's typed error,
# and is type-checked against the installed package's declarations.
set -euo pipefail
cd "$(dirname "$0")"

fail() { echo "install-test.sh: FAILED: $*" >&2; exit 1; }
npm_quiet=(--no-audit --no-fund --loglevel=error)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fresh_checkout() {
    mkdir -p "$1"
    git ls-files -z . | tar --null -T - -cf - | tar -xf - -C "$1"
    [[ ! -e "$1/dist" && ! -e "$1/node_modules" ]] || fail "the fresh checkout has dist/ or node_modules/"
}

consumer_project() {
    mkdir -p "$1"
    (cd "$1" && npm init -y >/dev/null)
    cat >"$1/use.cjs" <<'JS'
const assert = require("node:assert/strict");
const path = require("node:path");
const { MockAxiomContext, AxiomContext, SecretsUnavailableError } = require("@ax-secrets/sdk");

(async () => {
  const ax = new MockAxiomContext({ secretsMap: { GREETER_SIGNATURE: "test-sig" } });
  assert.deepEqual(await ax.secrets.get("GREETER_SIGNATURE"), ["test-sig", true]);
  assert.equal((await ax.secrets.redact("was test-sig")).text, "was ***");
  const real = new AxiomContext({ socket: path.join(__dirname, "no-sidecar.sock") });
  await assert.rejects(real.secrets.get("GREETER_SIGNATURE"), SecretsUnavailableError);
  console.log("consumer (require): ok");
})().catch((e) => { console.error(e); process.exit(1); });
JS
    cat >"$1/use.mjs" <<'JS'
import assert from "node:assert/strict";
import { MockAxiomContext, VERSION } from "@ax-secrets/sdk";

const ax = new MockAxiomContext({ secretsMap: { GREETER_SIGNATURE: "test-sig" } });
assert.equal((await ax.secrets.render("sig={{secrets.GREETER_SIGNATURE}}")).text, "sig=test-sig");
console.log(`consumer (import): ok ${VERSION}`);
JS
    cat >"$1/use.ts" <<'TS'
import { MockAxiomContext, type SecretsMap } from "@ax-secrets/sdk";

const map: SecretsMap = { GREETER_SIGNATURE: "test-sig" };
export async function signature(): Promise<string> {
  const [value, found]: [string, boolean] = await new MockAxiomContext({ secretsMap: map }).secrets.get("GREETER_SIGNATURE");
  return found ? value : "";
}
TS
}

# Runs the consumer in $1; $2 is a checkout whose pinned compiler type-checks use.ts.
use_it() {
    (cd "$1" && node use.cjs && node use.mjs) || fail "the consumer in $1"
    (cd "$1" && node "$2/node_modules/typescript/bin/tsc" --noEmit --strict --module node16 \
        --moduleResolution node16 --target ES2022 --skipLibCheck --types node --typeRoots "$2/node_modules/@types" use.ts) \
        || fail "type-checking the consumer in $1 against the installed declarations"
}

# 1. npm install <path> of a fresh checkout.
fresh_checkout "$work/linked"
consumer_project "$work/app-path"
(cd "$work/app-path" && npm install "${npm_quiet[@]}" "$work/linked") || fail "npm install <path>"
[[ -f "$work/linked/dist/src/index.js" ]] || fail "npm install <path> did not build dist/ (prepare)"
use_it "$work/app-path" "$work/linked"

# 2. npm pack of a fresh checkout, and the tarball installed into a fresh project.
fresh_checkout "$work/packed"
(cd "$work/packed" && npm pack "${npm_quiet[@]}" --pack-destination "$work" >/dev/null) || fail "npm pack"
tarballs=("$work"/ax-secrets-sdk-*.tgz)
[[ ${#tarballs[@]} -eq 1 && -f "${tarballs[0]}" ]] || fail "expected one tarball, got: ${tarballs[*]}"
if tar -tzf "${tarballs[0]}" | grep -vE '^package/(package\.json|README\.md|dist/src/.*)$'; then
    fail "the tarball holds files beyond package.json, README.md and dist/src/ (above)"
fi
consumer_project "$work/app-tarball"
(cd "$work/app-tarball" && npm install "${npm_quiet[@]}" "${tarballs[0]}") || fail "npm install <tarball>"
[[ ! -L "$work/app-tarball/node_modules/@ax-secrets/sdk" ]] || fail "the tarball was linked, not installed"
use_it "$work/app-tarball" "$work/packed"

echo "install-test.sh: npm install <path> and npm pack + install <tarball> both work from a fresh checkout"
