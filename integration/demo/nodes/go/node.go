// The demo node in Go: runs the operations it is given, one JSON line per result.
//
// Operations (the contract every demo node follows, see ../README.md):
//
//	get NAME             {"op": "get", "name": NAME, "found": bool, "fingerprint": hex|null}
//	get-or NAME DEFAULT  like get; when NAME is missing, uses DEFAULT and reports it
//	print NAME           prints "NAME is <value>" (the platform log shows ***)
//	wait                 reads one line from stdin (the demo changes something meanwhile)
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
)

// result is the JSON line of a get (nil pointers print as null).
type result struct {
	Op          string  `json:"op"`
	Name        string  `json:"name"`
	Found       bool    `json:"found"`
	Fingerprint *string `json:"fingerprint"`
}

// fallback is the JSON line of a get-or: a get and the default it used, if any.
type fallback struct {
	result
	Used *string `json:"used"`
}

// fingerprint is twelve hex digits of SHA-256: it shows which value was read without printing it.
func fingerprint(value string, ok bool) *string {
	if !ok {
		return nil
	}
	sum := sha256.Sum256([]byte(value))
	f := hex.EncodeToString(sum[:])[:12]
	return &f
}

func emit(r any) {
	line, _ := json.Marshal(r)
	fmt.Println(string(line))
}

func run(args []string) int {
	stdin := bufio.NewReader(os.Stdin)
	for i := 0; i < len(args); {
		switch op := args[i]; {
		case op == "get" && i+1 < len(args):
			name := args[i+1]
			value, ok := ax.Secrets().Get(name)
			emit(result{Op: "get", Name: name, Found: ok, Fingerprint: fingerprint(value, ok)})
			i += 2
		case op == "get-or" && i+2 < len(args):
			name, def := args[i+1], args[i+2]
			value, ok := ax.Secrets().Get(name)
			r := fallback{result: result{Op: "get-or", Name: name, Found: ok, Fingerprint: fingerprint(value, ok)}}
			if !ok {
				r.Used = &def
			}
			emit(r)
			i += 3
		case op == "print" && i+1 < len(args):
			name := args[i+1]
			value, _ := ax.Secrets().Get(name)
			fmt.Printf("%s is %s\n", name, value)
			i += 2
		case op == "wait":
			_, _ = stdin.ReadString('\n')
			i++
		default:
			emit(map[string]string{"op": op, "error": "unknown operation"})
			return 2
		}
	}
	return 0
}

func main() {
	os.Exit(run(os.Args[1:]))
}
