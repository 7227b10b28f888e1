package redact

import (
	"reflect"
	"testing"
)

func TestBase64FormsMatchRFC4648(t *testing.T) {
	cases := map[string]string{"f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"}
	for plain, encoded := range cases {
		f := Forms(plain)
		if f[1] != encoded || f[3] != encoded {
			t.Errorf("%s: %q %q", plain, f[1], f[3])
		}
	}
	f := Forms("\xfb\xff")
	if f[1] != "+/8=" || f[2] != "+/8" || f[3] != "-_8=" || f[4] != "-_8" {
		t.Errorf("forms of fb ff: %q", f)
	}
}

func TestJSONEscapesLikeCommonEncoders(t *testing.T) {
	if got := JSONEscaped("a\"b\\c\nd\x01\x7f", false); got != `a\"b\\c\nd\u0001`+"\x7f" {
		t.Errorf("%q", got)
	}
	if got := JSONEscaped("grüß 🌍", false); got != "grüß 🌍" {
		t.Errorf("%q", got)
	}
	// Python's json.dumps (ensure_ascii) writes exactly this.
	if got := JSONEscaped("grüß 🌍", true); got != `gr\u00fc\u00df \ud83c\udf0d` {
		t.Errorf("%q", got)
	}
	if got := JSONEscaped("\b\f\r\t", true); got != `\b\f\r\t` {
		t.Errorf("%q", got)
	}
}

func TestPercentEncodesAllButUnreserved(t *testing.T) {
	if got := PercentEncoded([]byte("a-b.c_d~e")); got != "a-b.c_d~e" {
		t.Errorf("%q", got)
	}
	if got := PercentEncoded([]byte("p@ss w/ü")); got != "p%40ss%20w%2F%C3%BC" {
		t.Errorf("%q", got)
	}
}

func TestRedactorPrefersTheLongestMatchAtTheLeftmostPosition(t *testing.T) {
	r := New(map[string]string{"SHORT": "abcd", "LONG": "abcdefgh", "TWIN": "abcd", "MID": "defg"})
	text, found := r.Redact("xabcdefghx abcd defgh")
	if text != "x***x *** ***h" {
		t.Fatalf("text %q", text)
	}
	if !reflect.DeepEqual(found, []string{"LONG", "MID", "SHORT", "TWIN"}) {
		t.Fatalf("found %q", found)
	}
}

func TestRedactorLeavesTextWithoutMatchesAlone(t *testing.T) {
	r := New(map[string]string{"A": "secret", "EMPTY": ""})
	if text, found := r.Redact("nothing here"); text != "nothing here" || len(found) != 0 {
		t.Fatalf("%q %q", text, found)
	}
	if text, _ := New(nil).Redact("x"); text != "x" {
		t.Fatalf("%q", text)
	}
}
