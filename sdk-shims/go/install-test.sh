#!/usr/bin/env bash
# Uses the shim the way the README's "Install" section says: a fresh module in a temporary
# directory points the shim's module path at this checkout with a `replace` directive, then
# `go get`s it at v0.0.0, and `go build`s and `go run`s a program that uses the mock (ax/axtest) and the real client type.
# The proxy is turned off (GOPROXY=off): the recipe needs nothing from the network.
set -euo pipefail
cd "$(dirname "$0")"
shim="$PWD"
module="$(go list -m)"

fail() { echo "install-test.sh: FAILED: $*" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOPROXY=off GOFLAGS=-mod=mod GOWORK=off

cd "$work"
go mod init example.com/consumer >/dev/null 2>&1
# The recipe of the README, verbatim but for the checkout's path.
go mod edit -replace="$module=$shim"
go get "$module/ax@v0.0.0" || fail "go get $module/ax@v0.0.0 with the replace in place"
cat >main.go <<'GO'
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
)

func main() {
	var api ax.SecretsAPI = axtest.NewMock(map[string]string{"GREETER_SIGNATURE": "test-sig"})
	if v, ok := api.Get("GREETER_SIGNATURE"); v != "test-sig" || !ok {
		fail("mock Get = %q, %v", v, ok)
	}
	if text, _, err := api.Render("sig={{secrets.GREETER_SIGNATURE}}"); err != nil || text != "sig=test-sig" {
		fail("mock Render = %q, %v", text, err)
	}
	if text, _, err := api.Redact("was test-sig"); err != nil || text != "was ***" {
		fail("mock Redact = %q, %v", text, err)
	}

	// The real client, with no sidecar behind its socket: the typed error.
	dir, err := os.MkdirTemp("", "axgo-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(dir)
	client := ax.New(ax.Options{Socket: filepath.Join(dir, "no-sidecar.sock")})
	var unavailable *ax.UnavailableError
	if _, _, err := client.Lookup("GREETER_SIGNATURE"); !errors.As(err, &unavailable) {
		fail("Lookup without a sidecar: %v, want an *ax.UnavailableError", err)
	}
	fmt.Println("consumer: ok")
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "consumer: "+format+"\n", args...)
	os.Exit(1)
}
GO
go mod tidy || fail "go mod tidy of the consumer"
grep -qx "require $module v0.0.0" go.mod || fail "go.mod does not require $module v0.0.0 directly: $(cat go.mod)"
go build -o consumer . || fail "go build of a module requiring $module"
./consumer || fail "the built consumer"
go run . || fail "go run of the consumer"
echo "install-test.sh: a fresh module with require + replace built and ran against $shim"
