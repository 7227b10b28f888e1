#!/usr/bin/env bash
# Runs every test of the TypeScript shim: vectors, framing, mock, client rules against a fake
# sidecar, and live tests against a real ax-sidecar ($AX_SIDECAR_BIN, or built with cargo from
# this repository by the tests). Needs node 20+ and npm; the compiler and Node's type
# definitions come from package-lock.json through `npm ci`. The shim itself has no run-time
# dependencies. install-test.sh first installs it from a fresh copy of this folder, as a user
# would (`npm install <path>`, and `npm pack` + `npm install <tarball>`). `npm ci` here skips
# the `prepare` build: the full build (tests included) follows.
set -euo pipefail
cd "$(dirname "$0")"

if [[ ! -f node_modules/.package-lock.json ]] \
    || [[ package-lock.json -nt node_modules/.package-lock.json ]] \
    || [[ package.json -nt node_modules/.package-lock.json ]]; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

./install-test.sh
rm -rf dist
npm run build --silent
node --test --test-reporter=tap --test-timeout=120000 "$@" dist/test/*.test.js
