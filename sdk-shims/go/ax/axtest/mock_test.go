package axtest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
)

func newMock() *axtest.Mock {
	return axtest.NewMock(map[string]string{
		"GREETER_SIGNATURE": "test-sig",
		"EMPTY":             "",
		"UNICODE":           "pässwörd-密码-🔑",
		"QUOTED":            "say \"hi\"\\n\tthen\x01go",
		"URL":               "postgres://app:p@ss w0rd/db?x=1",
		"SHORT":             "k9",
		"LONG":              "k9k9k9",
		"TWIN":              "k9",
		"LOOP":              "{{secrets.SHORT}}",
		"lower":             "lower-value",
	})
}

func TestMockGet(t *testing.T) {
	m := newMock()
	cases := []struct {
		name, value string
		found       bool
	}{
		{"GREETER_SIGNATURE", "test-sig", true},
		{"EMPTY", "", true},
		{"UNICODE", "pässwörd-密码-🔑", true},
		{"MISSING", "", false},
		{"greeter_signature", "", false},
		{"", "", false},
		{"1BAD", "", false},
		{"test-sig", "", false},
	}
	for _, c := range cases {
		if v, ok := m.Get(c.name); v != c.value || ok != c.found {
			t.Errorf("Get(%q) = %q, %v", c.name, v, ok)
		}
		if v, ok, err := m.Lookup(c.name); v != c.value || ok != c.found || err != nil {
			t.Errorf("Lookup(%q) = %q, %v, %v", c.name, v, ok, err)
		}
		if ok, err := m.Exists(c.name); ok != c.found || err != nil {
			t.Errorf("Exists(%q) = %v, %v", c.name, ok, err)
		}
	}
}

func TestMockKeepsACopyOfTheMap(t *testing.T) {
	values := map[string]string{"A": "1"}
	m := axtest.NewMock(values)
	values["A"] = "2"
	values["B"] = "3"
	if v, _ := m.Get("A"); v != "1" {
		t.Fatalf("A = %q", v)
	}
	if _, ok := m.Get("B"); ok {
		t.Fatal("B appeared")
	}
}

func TestMockRefusesAKeyThatIsNotANameWithoutShowingIt(t *testing.T) {
	defer func() {
		msg := fmt.Sprint(recover())
		if !strings.Contains(msg, "not a secret name (BadCharacter)") || strings.Contains(msg, "sk-live") {
			t.Fatalf("panic %q", msg)
		}
	}()
	axtest.NewMock(map[string]string{"sk-live-1": "x"})
}

func TestMockRefusesValuesASidecarCannotHold(t *testing.T) {
	for _, value := range []string{"bad \xff", strings.Repeat("x", 1<<20+1)} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, "the value of A is") || strings.Contains(msg, "bad") {
					t.Errorf("panic %q", msg)
				}
			}()
			axtest.NewMock(map[string]string{"A": value})
		}()
	}
	axtest.NewMock(map[string]string{"A": strings.Repeat("x", 1<<20)}) // the limit itself is fine
}

func TestMockList(t *testing.T) {
	listed, err := axtest.NewMock(map[string]string{"b": "1", "A": "2", "Z": "3"}).List()
	if err != nil {
		t.Fatal(err)
	}
	want := []ax.SecretInfo{
		{Name: "A", Version: 1},
		{Name: "Z", Version: 1},
		{Name: "b", Version: 1},
	}
	if !reflect.DeepEqual(listed, want) {
		t.Fatalf("List = %+v", listed)
	}
}

func TestMockRender(t *testing.T) {
	m := newMock()
	cases := []struct {
		template, text string
		missing        []string
	}{
		{"Bearer {{secrets.GREETER_SIGNATURE}}", "Bearer test-sig", []string{}},
		{"{{ secrets.SHORT }}|{{\tsecrets.SHORT\r\n}}", "k9|k9", []string{}},
		{"{{secrets.B}} {{secrets.A}} {{ secrets.B }}", "{{secrets.B}} {{secrets.A}} {{ secrets.B }}", []string{"B", "A"}},
		{"[{{secrets.EMPTY}}]", "[]", []string{}},
		{"{{secrets.LOOP}}", "{{secrets.SHORT}}", []string{}},
		{"{{{secrets.SHORT}}}", "{k9}", []string{}},
		{"{{ secret.SHORT }} {{SECRETS.SHORT}} {{ secrets. SHORT }} {{secrets.1A}} {{secrets.SHORT", "{{ secret.SHORT }} {{SECRETS.SHORT}} {{ secrets. SHORT }} {{secrets.1A}} {{secrets.SHORT", []string{}},
		{"", "", []string{}},
		{"{{secrets.UNICODE}}", "pässwörd-密码-🔑", []string{}},
	}
	for _, c := range cases {
		text, missing, err := m.Render(c.template)
		if err != nil || text != c.text || !reflect.DeepEqual(missing, c.missing) {
			t.Errorf("Render(%q) = %q, %q, %v", c.template, text, missing, err)
		}
	}
}

func TestMockRedactsEveryForm(t *testing.T) {
	m := axtest.NewMock(map[string]string{"A": "p@ss/wörd?", "EMPTY": ""})
	raw := []byte("p@ss/wörd?")
	forms := []string{
		"p@ss/wörd?",
		base64.StdEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		`p@ss/w\u00f6rd?`,
		"p%40ss%2Fw%C3%B6rd%3F",
	}
	for _, form := range forms {
		text, found, err := m.Redact("<" + form + ">")
		if err != nil || text != "<***>" || !reflect.DeepEqual(found, []string{"A"}) {
			t.Errorf("Redact(%q) = %q, %q, %v", form, text, found, err)
		}
	}
}

func TestMockRedactsJSONEscapes(t *testing.T) {
	m := newMock()
	text, found, _ := m.Redact(`{"msg": "say \"hi\"\\n\tthen\u0001go"}`)
	if text != `{"msg": "***"}` || !reflect.DeepEqual(found, []string{"QUOTED"}) {
		t.Fatalf("Redact = %q, %q", text, found)
	}
	text, found, _ = m.Redact(`{"pw": "p\u00e4ssw\u00f6rd-\u5bc6\u7801-\ud83d\udd11"}`)
	if text != `{"pw": "***"}` || !reflect.DeepEqual(found, []string{"UNICODE"}) {
		t.Fatalf("Redact = %q, %q", text, found)
	}
}

func TestMockRedactsLeftmostLongestAndReportsEveryOwner(t *testing.T) {
	m := axtest.NewMock(map[string]string{"LONG": "abcdabcd", "SHORT": "abcd", "TWIN": "abcd"})
	text, found, _ := m.Redact("abcdabcdabcd abcd xabcdabcd")
	// LONG wins at 0, then abcd (SHORT and TWIN share it) at 8.
	if text != "****** *** x***" {
		t.Fatalf("text %q", text)
	}
	if !reflect.DeepEqual(found, []string{"LONG", "SHORT", "TWIN"}) {
		t.Fatalf("found %q", found)
	}
}

func TestMockNeverMasksValuesUnderFourBytes(t *testing.T) {
	text, found, _ := newMock().Redact("k9 k9")
	if text != "k9 k9" || len(found) != 0 {
		t.Fatalf("Redact = %q, %q", text, found)
	}
}

func TestMockRedactsWhatGoItselfPrints(t *testing.T) {
	value := "p@ss w/\u00fc<&>'\"\x01"
	m := axtest.NewMock(map[string]string{"V": value})
	j, _ := json.Marshal(value)
	text := string(j) + " " + strconv.Quote(value) + " " + url.QueryEscape(value) + " " + url.PathEscape(value)
	if got, found, _ := m.Redact(text); got != `"***" "***" *** ***` || !reflect.DeepEqual(found, []string{"V"}) {
		t.Fatalf("Redact(%q) = %q, %q", text, got, found)
	}
}

func TestMockReportsFoundNamesSortedBytewise(t *testing.T) {
	m := axtest.NewMock(map[string]string{"b": "beee", "Z": "zeddd", "A_": "ayyy"})
	_, found, _ := m.Redact("beee zeddd ayyy")
	if !reflect.DeepEqual(found, []string{"A_", "Z", "b"}) {
		t.Fatalf("found %q", found)
	}
}

func TestMockNeverRedactsEmptyValues(t *testing.T) {
	m := axtest.NewMock(map[string]string{"EMPTY": ""})
	text, found, err := m.Redact(`[] "" empty`)
	if err != nil || text != `[] "" empty` || len(found) != 0 || found == nil {
		t.Fatalf("Redact = %q, %#v, %v", text, found, err)
	}
}

func TestMockRefusesWhatTheClientRefuses(t *testing.T) {
	m := newMock()
	var tooLarge *ax.RequestTooLargeError
	if _, _, err := m.Render(strings.Repeat("x", 1<<20)); !errors.As(err, &tooLarge) || tooLarge.Op != "Render" {
		t.Errorf("Render: %v", err)
	}
	if _, _, err := m.Redact(strings.Repeat("x", 1<<20-5)); err != nil {
		t.Errorf("Redact at the limit: %v", err)
	}
	var bad *ax.InvalidUTF8Error
	if _, _, err := m.Redact("ok \xc3"); !errors.As(err, &bad) || bad.Offset != 3 {
		t.Errorf("Redact: %v", err)
	}
	if errors.Is(bad, ax.ErrUnavailable) {
		t.Error("a bad argument is not an outage")
	}
}

func TestMockFormattingShowsNoValue(t *testing.T) {
	m := newMock()
	var shown string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		shown += fmt.Sprintf(verb, m) + fmt.Sprintf(verb, *m)
	}
	if !strings.Contains(shown, "GREETER_SIGNATURE") || strings.Contains(shown, "test-sig") {
		t.Fatalf("shown: %s", shown)
	}
}

func TestMockIsSafeForConcurrentUse(t *testing.T) {
	m := newMock()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if v, _ := m.Get("SHORT"); v != "k9" {
					t.Error(v)
				}
				if text, _, _ := m.Redact("k9k9k9"); text != "***" {
					t.Error(text)
				}
			}
		}()
	}
	wg.Wait()
}

// greet is node code that reads its secret through ax.Secrets itself.
func greet() string {
	sig, ok := ax.Secrets().Get("GREETER_SIGNATURE")
	if !ok {
		return "unsigned"
	}
	return "hello, signed " + sig
}

func TestInstallPointsAxSecretsAtTheMockForOneTest(t *testing.T) {
	before := ax.Secrets()
	t.Run("installed", func(t *testing.T) {
		axtest.Install(t, axtest.NewMock(map[string]string{"GREETER_SIGNATURE": "test-sig"}))
		if got := greet(); got != "hello, signed test-sig" {
			t.Fatalf("greet() = %q", got)
		}
	})
	if ax.Secrets() != before {
		t.Fatal("the mock is still installed after its test")
	}
}
