package main

// The conformance scenarios that need no sidecar, run in process against the mock loaded
// with the conformance bundle's effective values, as run.py does in its mock mode.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/sidecartest"
)

func conformanceDir(t *testing.T) string {
	root, err := sidecartest.WorkspaceRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "integration", "conformance")
}

func effectiveValues(t *testing.T) map[string]string {
	data, err := os.ReadFile(filepath.Join(conformanceDir(t), "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Secrets   map[string]json.RawMessage `json:"secrets"`
		Overrides map[string]json.RawMessage `json:"overrides"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, part := range []map[string]json.RawMessage{doc.Secrets, doc.Overrides} {
		for name, raw := range part {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				var obj struct{ Value string }
				if err := json.Unmarshal(raw, &obj); err != nil {
					t.Fatal(err)
				}
				s = obj.Value
			}
			values[name] = s
		}
	}
	return values
}

type scenario struct {
	Name     string `json:"name"`
	LiveOnly bool   `json:"live_only"`
	Steps    []struct {
		Request map[string]any `json:"request"`
		Expect  any            `json:"expect"`
		Runner  string         `json:"runner"`
	} `json:"steps"`
}

func TestTheConformanceScenariosPassAgainstTheMock(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(conformanceDir(t), "scenarios.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Scenarios []scenario }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	mock := axtest.NewMock(effectiveValues(t))
	ran := 0
	for _, s := range doc.Scenarios {
		if s.LiveOnly {
			continue
		}
		ran++
		t.Run(s.Name, func(t *testing.T) {
			var in bytes.Buffer
			var expected []any
			for _, step := range s.Steps {
				line, _ := json.Marshal(step.Request)
				in.Write(append(line, '\n'))
				expected = append(expected, step.Expect)
			}
			var out bytes.Buffer
			if err := serve(mock, &in, &out); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != len(expected) {
				t.Fatalf("%d answers to %d requests", len(lines), len(expected))
			}
			for i, line := range lines {
				var got any
				if err := json.Unmarshal([]byte(line), &got); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, expected[i]) {
					t.Errorf("step %d: got %s, want %v", i+1, line, expected[i])
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("no scenario ran")
	}
}

func TestAnUnknownOpAndABadLineAreAnswered(t *testing.T) {
	var out bytes.Buffer
	in := strings.NewReader("{\"op\": \"dance\"}\n\nnot json\n{\"op\": \"get\"}")
	if err := serve(axtest.NewMock(nil), in, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != `{"error":"unknown_op"}` || !strings.Contains(lines[1], `"unexpected"`) || !strings.Contains(lines[2], "missing") {
		t.Fatalf("answers %q", lines)
	}
}
