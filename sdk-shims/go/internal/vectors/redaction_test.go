package vectors_test

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/redact"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/vectors"
)

// formNames names the forms of PROTOCOL.md §8.4 in the order redact.Forms gives them: the keys
// of a forms case in redaction.json (FORM_NAMES in protocol/src/encodings.rs).
var formNames = [23]string{
	"utf8", "base64", "base64_unpadded", "base64url", "base64url_unpadded", "json", "json_ascii",
	"percent", "json_html_safe", "json_gson", "json_dotnet", "json_upper_controls",
	"python_repr_str", "python_repr_bytes", "go_quoted", "query_escape", "form_urlencoded",
	"python_quote", "go_path_escape", "uri_component", "percent_lower", "dotnet_http_utility",
	"dotnet_web_utility",
}

// TestRedactionVectors runs redaction.json through the mock's forms (redact.Forms), its
// matcher (redact.Redactor) and axtest.Mock.Redact.
func TestRedactionVectors(t *testing.T) {
	f, err := vectors.Load("redaction.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Tests {
		t.Run(v.Label(f.Name), func(t *testing.T) {
			value, ok := v.Value.(vectors.Object)
			if !ok || !v.Valid {
				t.Fatalf("value %v, valid %v", v.Value, v.Valid)
			}
			if _, isForms := value["forms"]; isForms {
				checkForms(t, v, value)
			} else {
				checkRedaction(t, v, value)
			}
		})
	}
}

func checkForms(t *testing.T, v vectors.Test, value vectors.Object) {
	if err := vectors.ExactKeys(value, "secret", "masked", "forms"); err != nil {
		t.Fatal(err)
	}
	secret, _ := value["secret"].(string)
	if hex.EncodeToString([]byte(secret)) != v.Hex {
		t.Fatalf("hex %s is not the UTF-8 of the secret", v.Hex)
	}
	masked, _ := value["masked"].(bool)
	if want := len(secret) >= 4; masked != want {
		t.Fatalf("masked %v, but the value has %d bytes", masked, len(secret))
	}
	named, _ := value["forms"].(vectors.Object)
	if err := vectors.ExactKeys(named, formNames[:]...); err != nil {
		t.Fatal(err)
	}
	mock := axtest.NewMock(map[string]string{"S": secret})
	for i, form := range redact.Forms(secret) {
		name := formNames[i]
		if want, _ := named[name].(string); form != want {
			t.Errorf("form %s = %q, want %q", name, form, want)
		}
		redacted, found, err := mock.Redact(form)
		want, wantFound := form, []string{}
		if masked {
			want, wantFound = "***", []string{"S"}
		}
		if err != nil || redacted != want || !reflect.DeepEqual(found, wantFound) {
			t.Errorf("form %s alone redacts to %q %q %v", name, redacted, found, err)
		}
	}
}

func checkRedaction(t *testing.T, v vectors.Test, value vectors.Object) {
	if err := vectors.ExactKeys(value, "secrets", "text", "redacted", "found"); err != nil {
		t.Fatal(err)
	}
	text, _ := value["text"].(string)
	if hex.EncodeToString([]byte(text)) != v.Hex {
		t.Fatalf("hex %s is not the UTF-8 of the text", v.Hex)
	}
	secrets := map[string]string{}
	raw, _ := value["secrets"].(vectors.Object)
	for name, val := range raw {
		secrets[name], _ = val.(string)
	}
	wantText, _ := value["redacted"].(string)
	wantFound := []string{}
	list, _ := value["found"].([]any)
	for _, f := range list {
		s, _ := f.(string)
		wantFound = append(wantFound, s)
	}
	if got, found := redact.New(secrets).Redact(text); got != wantText || !reflect.DeepEqual(found, wantFound) {
		t.Errorf("Redactor: %q %q\nwant       %q %q", got, found, wantText, wantFound)
	}
	got, found, err := axtest.NewMock(secrets).Redact(text)
	if err != nil || got != wantText || !reflect.DeepEqual(found, wantFound) {
		t.Errorf("the mock: %q %q %v\nwant       %q %q", got, found, err, wantText, wantFound)
	}
}
