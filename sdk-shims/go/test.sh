#!/usr/bin/env bash
# Runs every test of the Go shim: gofmt, go vet, then `go test` over every package: the shared
# vectors, the mock, the client's protocol rules against a scripted fake, the conformance
# scenarios against the mock, and live tests against a real ax-sidecar ($AX_SIDECAR_BIN, or
# built with cargo from this repository by the tests). Needs only Go (1.22+) and, for the live
# tests, cargo; the shim has no dependencies. The race detector is used when cgo works.
# First, install-test.sh builds a fresh module that uses the shim by the README's recipe.
set -euo pipefail
cd "$(dirname "$0")"

unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
    echo "gofmt: these files are not formatted:" >&2
    echo "$unformatted" >&2
    exit 1
fi

go vet ./...
./install-test.sh

race=()
if [[ "$(go env CGO_ENABLED)" == "1" ]] && command -v "$(go env CC)" >/dev/null 2>&1; then
    race=(-race)
fi
go test -count=1 ${race[@]+"${race[@]}"} "$@" ./...
