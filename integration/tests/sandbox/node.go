// A node for the sandbox test (integration/tests/sandbox.rs), built against sdk-shims/go: reads
// one secret through the Go shim and prints one JSON line, with a fingerprint of the value
// (never the value itself), or the shim's error code when the sidecar cannot be asked.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
)

func main() {
	value, found, err := ax.Secrets().Lookup(os.Args[1])
	out := map[string]any{"shim": "go"}
	var unavailable *ax.UnavailableError
	switch {
	case errors.As(err, &unavailable):
		out["error"] = "unavailable"
		out["code"] = unavailable.Code.String()
	case err != nil:
		out["error"] = err.Error()
	default:
		out["found"] = found
		sum := sha256.Sum256([]byte(value))
		out["fingerprint"] = hex.EncodeToString(sum[:6])
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
