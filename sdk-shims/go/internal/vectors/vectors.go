// Package vectors loads the shared vectors of protocol/vectors/ with the strict key checks of
// PROTOCOL.md §10.2, for the tests. Numbers are kept exact (json.Number): u64 fields reach
// beyond what a float64 holds.
package vectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/sidecartest"
)

// Object is a JSON object as decoded with numbers kept exact.
type Object = map[string]any

// File is one vector file.
type File struct {
	Name      string // e.g. "requests.json"
	Schema    string
	Direction string // "request" or "response", for message files
	Limit     int    // the body limit, for message files
	Tests     []Test
}

// Test is one vector.
type Test struct {
	ID      int
	Comment string
	Flags   []string
	Hex     string
	Value   any // the decoded JSON value (Object, string, nil...)
	Valid   bool
	Error   string // "" when valid
}

// HasFlag reports whether the vector carries flag.
func (t Test) HasFlag(flag string) bool {
	for _, f := range t.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// Label names the vector in sub-tests, e.g. "requests.json#12".
func (t Test) Label(file string) string { return fmt.Sprintf("%s#%d", file, t.ID) }

var (
	fileKeys        = []string{"area", "description", "numberOfTests", "schema", "tests"}
	messageFileKeys = []string{"area", "description", "direction", "limit", "numberOfTests", "schema", "tests"}
	testKeys        = []string{"comment", "error", "flags", "hex", "id", "result", "value"}
	// Schemas maps every schema a shim knows to the keys its files have.
	Schemas = map[string][]string{
		"ax-protocol/messages/v2":  messageFileKeys,
		"ax-protocol/names/v1":     fileKeys,
		"ax-protocol/templates/v1": fileKeys,
		"ax-protocol/bundles/v1":   fileKeys,
		"ax-protocol/redaction/v1": fileKeys,
	}
)

// Dir is protocol/vectors of this repository.
func Dir() (string, error) {
	root, err := sidecartest.WorkspaceRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "protocol", "vectors"), nil
}

// Decode decodes JSON with exact numbers, refusing trailing data.
func Decode(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// Load reads and checks the vector file name of Dir.
func Load(name string) (*File, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	doc, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return Check(name, doc)
}

// Check checks a decoded vector file's keys and tests; it fails on anything unknown.
func Check(name string, doc any) (*File, error) {
	obj, ok := doc.(Object)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", name)
	}
	schema, _ := obj["schema"].(string)
	want, known := Schemas[schema]
	if !known {
		return nil, fmt.Errorf("%s: unknown schema %q", name, schema)
	}
	if err := ExactKeys(obj, want...); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &File{Name: name, Schema: schema}
	var err error
	if schema == "ax-protocol/messages/v2" {
		f.Direction, _ = obj["direction"].(string)
		if f.Direction != "request" && f.Direction != "response" {
			return nil, fmt.Errorf("%s: direction %v", name, obj["direction"])
		}
		if f.Limit, err = Int(obj["limit"]); err != nil {
			return nil, fmt.Errorf("%s: limit: %w", name, err)
		}
	}
	tests, ok := obj["tests"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: tests is not a list", name)
	}
	count, err := Int(obj["numberOfTests"])
	if err != nil || count != len(tests) {
		return nil, fmt.Errorf("%s: numberOfTests %v is not the number of tests, %d", name, obj["numberOfTests"], len(tests))
	}
	seen := map[int]bool{}
	for i, raw := range tests {
		t, err := checkTest(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: test %d: %w", name, i+1, err)
		}
		if seen[t.ID] {
			return nil, fmt.Errorf("%s#%d: id repeated", name, t.ID)
		}
		seen[t.ID] = true
		f.Tests = append(f.Tests, t)
	}
	return f, nil
}

func checkTest(raw any) (Test, error) {
	obj, ok := raw.(Object)
	if !ok {
		return Test{}, fmt.Errorf("not an object")
	}
	if err := ExactKeys(obj, testKeys...); err != nil {
		return Test{}, err
	}
	var t Test
	var err error
	if t.ID, err = Int(obj["id"]); err != nil || t.ID < 1 {
		return t, fmt.Errorf("id %v", obj["id"])
	}
	t.Comment, _ = obj["comment"].(string)
	t.Hex, ok = obj["hex"].(string)
	if !ok {
		return t, fmt.Errorf("hex is not a string")
	}
	flags, ok := obj["flags"].([]any)
	if !ok {
		return t, fmt.Errorf("flags is not a list")
	}
	for _, f := range flags {
		s, ok := f.(string)
		if !ok {
			return t, fmt.Errorf("a flag is not a string")
		}
		t.Flags = append(t.Flags, s)
	}
	switch obj["result"] {
	case "valid":
		t.Valid = true
	case "invalid":
	default:
		return t, fmt.Errorf("result %v", obj["result"])
	}
	switch e := obj["error"].(type) {
	case nil:
		if !t.Valid {
			return t, fmt.Errorf("an invalid vector without an error")
		}
	case string:
		if t.Valid {
			return t, fmt.Errorf("a valid vector with an error")
		}
		t.Error = e
	default:
		return t, fmt.Errorf("error %v", e)
	}
	t.Value = obj["value"]
	return t, nil
}

// ExactKeys fails unless obj has exactly keys.
func ExactKeys(obj Object, keys ...string) error {
	got := make([]string, 0, len(obj))
	for k := range obj {
		got = append(got, k)
	}
	sort.Strings(got)
	want := append([]string(nil), keys...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Errorf("keys %v but expected exactly %v", got, want)
	}
	return nil
}

// Int is an exact JSON integer that fits an int.
func Int(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	i, err := n.Int64()
	return int(i), err
}
