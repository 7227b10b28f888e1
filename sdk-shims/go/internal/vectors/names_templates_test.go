package vectors_test

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/names"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/template"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/vectors"
)

func TestNameVectors(t *testing.T) {
	f, err := vectors.Load("names.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Tests {
		t.Run(v.Label(f.Name), func(t *testing.T) {
			name, ok := v.Value.(string)
			if !ok {
				t.Fatalf("value %v is not a string", v.Value)
			}
			if hex.EncodeToString([]byte(name)) != v.Hex {
				t.Fatalf("hex %s is not the UTF-8 of %q", v.Hex, name)
			}
			if names.Valid(name) != v.Valid {
				t.Fatalf("Valid(%q) = %v", name, !v.Valid)
			}
			if got := names.Check(name); string(got) != v.Error {
				t.Fatalf("Check(%q) = %q, want %q", name, got, v.Error)
			}
		})
	}
}

func TestTemplateVectors(t *testing.T) {
	f, err := vectors.Load("templates.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Tests {
		t.Run(v.Label(f.Name), func(t *testing.T) {
			value, ok := v.Value.(vectors.Object)
			if !ok || !v.Valid {
				t.Fatalf("value %v, valid %v", v.Value, v.Valid)
			}
			if err := vectors.ExactKeys(value, "template", "secrets", "segments", "rendered", "missing"); err != nil {
				t.Fatal(err)
			}
			tmpl, _ := value["template"].(string)
			if hex.EncodeToString([]byte(tmpl)) != v.Hex {
				t.Fatalf("hex %s is not the UTF-8 of the template", v.Hex)
			}
			secrets := map[string]string{}
			raw, _ := value["secrets"].(vectors.Object)
			for name, val := range raw {
				secrets[name], _ = val.(string)
			}
			var want []template.Segment
			segs, _ := value["segments"].([]any)
			for _, s := range segs {
				seg, _ := s.(vectors.Object)
				switch {
				case vectors.ExactKeys(seg, "text") == nil:
					text, _ := seg["text"].(string)
					want = append(want, template.Segment{Text: text})
				case vectors.ExactKeys(seg, "reference", "raw") == nil:
					name, _ := seg["reference"].(string)
					rawRef, _ := seg["raw"].(string)
					want = append(want, template.Segment{Name: name, Raw: rawRef})
				default:
					t.Fatalf("unknown segment keys in %v", seg)
				}
			}
			if got := template.Segments(tmpl); !reflect.DeepEqual(got, want) {
				t.Fatalf("segments %#v\nwant     %#v", got, want)
			}
			rendered, _ := value["rendered"].(string)
			var missing []string
			list, _ := value["missing"].([]any)
			for _, m := range list {
				s, _ := m.(string)
				missing = append(missing, s)
			}
			if missing == nil {
				missing = []string{}
			}
			text, gotMissing := template.Render(tmpl, func(n string) (string, bool) {
				v, ok := secrets[n]
				return v, ok
			})
			if text != rendered || !reflect.DeepEqual(gotMissing, missing) {
				t.Fatalf("Render = %q %q\nwant     %q %q", text, gotMissing, rendered, missing)
			}
			text, gotMissing, err := axtest.NewMock(secrets).Render(tmpl)
			if err != nil || text != rendered || !reflect.DeepEqual(gotMissing, missing) {
				t.Fatalf("the mock renders %q %q %v", text, gotMissing, err)
			}
		})
	}
}
