package ax_test

// The client against a real ax-sidecar built from this repository.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax/axtest"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/sidecartest"
)

var (
	big         = strings.Repeat("0123456789abcdef", 1<<20/16) // exactly 1 MiB
	liveSecrets = map[string]any{
		"OPENAI_API_KEY": "sk-live-4f2b9c",
		"EMPTY":          "",
		"UNICODE":        "pässwörd-密码-🔑",
		"DB_URL":         map[string]any{"value": "postgres://u:p@db/x", "version": 3, "updated_at": 1795000000},
		"WEBHOOK":        "whk_tenant",
		"SHORT":          "k9",
	}
	liveOverrides = map[string]any{
		"WEBHOOK":       map[string]any{"value": "whk_override", "version": 9, "updated_at": 1796000000},
		"ONLY_OVERRIDE": "only",
	}
)

// live starts a sidecar with the live secrets and a token, and a client for it.
func live(t *testing.T) (*sidecartest.Sidecar, *ax.Client) {
	t.Helper()
	s := sidecartest.Start(t, liveSecrets, liveOverrides, sidecartest.NewToken())
	c := ax.New(ax.Options{Socket: s.Socket, Token: s.Token})
	t.Cleanup(func() { c.Close() })
	return s, c
}

func mustLookup(t *testing.T, c ax.SecretsAPI, name string) (string, bool) {
	t.Helper()
	v, ok, err := c.Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", name, err)
	}
	return v, ok
}

func wantUnavailable(t *testing.T, err error, socket string) *ax.UnavailableError {
	t.Helper()
	var u *ax.UnavailableError
	if !errors.As(err, &u) {
		t.Fatalf("want an *ax.UnavailableError, got %T %v", err, err)
	}
	if !errors.Is(err, ax.ErrUnavailable) {
		t.Errorf("errors.Is(err, ErrUnavailable) is false for %v", err)
	}
	if u.SocketPath != socket || !strings.Contains(u.Error(), socket) {
		t.Errorf("the error does not name the socket %s: %q (SocketPath %q)", socket, u.Error(), u.SocketPath)
	}
	return u
}

func TestLiveFound(t *testing.T) {
	_, c := live(t)
	if v, ok := c.Get("OPENAI_API_KEY"); v != "sk-live-4f2b9c" || !ok {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if v, ok := mustLookup(t, c, "OPENAI_API_KEY"); v != "sk-live-4f2b9c" || !ok {
		t.Fatalf("Lookup = %q, %v", v, ok)
	}
}

func TestLiveMissingIsNotFound(t *testing.T) {
	_, c := live(t)
	if v, ok := c.Get("NOPE"); v != "" || ok {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if ok, err := c.Exists("NOPE"); ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
}

func TestLiveEmptyValueIsFound(t *testing.T) {
	_, c := live(t)
	if v, ok := c.Get("EMPTY"); v != "" || !ok {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if ok, err := c.Exists("EMPTY"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
}

func TestLiveUnicodeValue(t *testing.T) {
	_, c := live(t)
	if v, ok := c.Get("UNICODE"); v != "pässwörd-密码-🔑" || !ok {
		t.Fatalf("Get = %q, %v", v, ok)
	}
}

func TestLiveValueOfOneMebibyte(t *testing.T) {
	// A sidecar of its own: redacting with a 1 MiB value is costly for a debug-built sidecar.
	s := sidecartest.Start(t, map[string]any{"BIG": big, "SMALL": "s"}, nil, "")
	c := ax.New(ax.Options{Socket: s.Socket})
	defer c.Close()
	for i := 0; i < 3; i++ { // and the connection stays in step after it
		if v, ok := c.Get("BIG"); v != big || !ok {
			t.Fatalf("Get(BIG) = %d bytes, %v", len(v), ok)
		}
		if v, ok := c.Get("SMALL"); v != "s" || !ok {
			t.Fatalf("Get(SMALL) = %q, %v", v, ok)
		}
	}
}

func TestLiveOverrideWins(t *testing.T) {
	_, c := live(t)
	if v, _ := c.Get("WEBHOOK"); v != "whk_override" {
		t.Errorf("WEBHOOK = %q", v)
	}
	if v, _ := c.Get("ONLY_OVERRIDE"); v != "only" {
		t.Errorf("ONLY_OVERRIDE = %q", v)
	}
}

func TestLiveInvalidAndUnicodeNamesAreNotFound(t *testing.T) {
	_, c := live(t)
	for _, name := range []string{"", "1A", "has space", "ключ", "sk-live-4f2b9c", strings.Repeat("A", 129), "A\xff"} {
		if v, ok := mustLookup(t, c, name); v != "" || ok {
			t.Errorf("Lookup(%q) = %q, %v", name, v, ok)
		}
	}
}

func TestLiveList(t *testing.T) {
	_, c := live(t)
	listed, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	byName := map[string]ax.SecretInfo{}
	for _, i := range listed {
		got = append(got, i.Name)
		byName[i.Name] = i
	}
	want := []string{"DB_URL", "EMPTY", "ONLY_OVERRIDE", "OPENAI_API_KEY", "SHORT", "UNICODE", "WEBHOOK"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	if i := byName["DB_URL"]; i != (ax.SecretInfo{Name: "DB_URL", Version: 3, UpdatedAt: 1795000000}) {
		t.Errorf("DB_URL: %+v", i)
	}
	if i := byName["DB_URL"]; i.Updated().Unix() != 1795000000 {
		t.Errorf("Updated() = %v", i.Updated())
	}
	// An override shows its own metadata and nothing that marks it as an override.
	if i := byName["WEBHOOK"]; i != (ax.SecretInfo{Name: "WEBHOOK", Version: 9, UpdatedAt: 1796000000}) {
		t.Errorf("WEBHOOK: %+v", i)
	}
}

func TestLiveRender(t *testing.T) {
	_, c := live(t)
	text, missing, err := c.Render("k={{ secrets.OPENAI_API_KEY }} m={{secrets.M}} {{secrets.M}}")
	if err != nil {
		t.Fatal(err)
	}
	if text != "k=sk-live-4f2b9c m={{secrets.M}} {{secrets.M}}" || !reflect.DeepEqual(missing, []string{"M"}) {
		t.Fatalf("Render = %q, %q", text, missing)
	}
}

func TestLiveRedact(t *testing.T) {
	_, c := live(t)
	text, found, err := c.Redact("key=sk-live-4f2b9c b64=c2stbGl2ZS00ZjJiOWM= k9k9 whk_tenant")
	if err != nil {
		t.Fatal(err)
	}
	// SHORT ("k9") is under the 4-byte minimum: never masked.
	if text != "key=*** b64=*** k9k9 whk_tenant" || !reflect.DeepEqual(found, []string{"OPENAI_API_KEY"}) {
		t.Fatalf("Redact = %q, %q", text, found)
	}
}

func TestLiveTheMockAgreesWithTheSidecar(t *testing.T) {
	_, c := live(t)
	listed, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for _, i := range listed {
		values[i.Name], _ = c.Get(i.Name)
	}
	mock := axtest.NewMock(values)
	for _, text := range []string{
		"pässwörd-密码-🔑 p%C3%A4ssw%C3%B6rd only k9 {{secrets.SHORT}} whk_override",
		`{"k": "p\u00e4ssw\u00f6rd-\u5bc6\u7801-\ud83d\udd11"} cG9zdGdyZXM6Ly91OnBAZGIveA postgres%3A%2F%2Fu%3Ap%40db%2Fx`,
		"", "nothing", "k9k9k", "sk-live-4f2b9ck9",
	} {
		wantText, wantFound, err := c.Redact(text)
		if err != nil {
			t.Fatal(err)
		}
		gotText, gotFound, _ := mock.Redact(text)
		if gotText != wantText || !reflect.DeepEqual(gotFound, wantFound) {
			t.Errorf("Redact(%q): mock %q %q, sidecar %q %q", text, gotText, gotFound, wantText, wantFound)
		}
	}
	for _, tmpl := range []string{"{{{secrets.SHORT}}} {{ secrets.X }} {{secrets.UNICODE}}", "", "{{secrets.X}}{{secrets.X}}"} {
		wantText, wantMissing, err := c.Render(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		gotText, gotMissing, _ := mock.Render(tmpl)
		if gotText != wantText || !reflect.DeepEqual(gotMissing, wantMissing) {
			t.Errorf("Render(%q): mock %q %q, sidecar %q %q", tmpl, gotText, gotMissing, wantText, wantMissing)
		}
	}
}

func TestLiveAWrongTokenIsATypedErrorNamingTheSocket(t *testing.T) {
	s, _ := live(t)
	c := ax.New(ax.Options{Socket: s.Socket, Token: "not-" + s.Token})
	_, _, err := c.Lookup("OPENAI_API_KEY")
	u := wantUnavailable(t, err, s.Socket)
	want := "ax-secrets: the sidecar at " + s.Socket + " refused the client token (a missing or wrong AX_SECRETS_TOKEN)"
	if u.Error() != want {
		t.Errorf("message %q\nwant    %q", u.Error(), want)
	}
	if u.Code != ax.CodeUnauthorized || u.Op != "Get" {
		t.Errorf("Code %v, Op %q", u.Code, u.Op)
	}
	if strings.Contains(u.Error(), s.Token) {
		t.Error("the message holds the token")
	}
	if _, err := c.List(); !errors.Is(err, ax.ErrUnavailable) {
		t.Errorf("List: %v", err)
	}
}

func TestLiveGetPanicsWithTheTypedErrorWhenTheTokenIsWrong(t *testing.T) {
	s, _ := live(t)
	c := ax.New(ax.Options{Socket: s.Socket, Token: "wrong"})
	defer func() {
		err, ok := recover().(error)
		if !ok {
			t.Fatal("Get did not panic with an error")
		}
		if u := wantUnavailable(t, err, s.Socket); u.Code != ax.CodeUnauthorized {
			t.Errorf("Code %v", u.Code)
		}
	}()
	c.Get("OPENAI_API_KEY")
}

func TestLiveAMissingTokenIsATypedError(t *testing.T) {
	s, _ := live(t)
	t.Setenv("AX_SECRETS_TOKEN", "")
	_, err := ax.New(ax.Options{Socket: s.Socket}).Exists("OPENAI_API_KEY")
	if u := wantUnavailable(t, err, s.Socket); u.Code != ax.CodeUnauthorized {
		t.Errorf("Code %v", u.Code)
	}
}

func TestLiveTheEnvironmentConfiguresTheClient(t *testing.T) {
	s, _ := live(t)
	t.Setenv("AX_SECRETS_SOCKET", s.Socket)
	t.Setenv("AX_SECRETS_TOKEN", s.Token)
	c := ax.New(ax.Options{})
	defer c.Close()
	if c.SocketPath() != "" {
		t.Errorf("SocketPath before the first request: %q", c.SocketPath())
	}
	if v, ok := c.Get("SHORT"); v != "k9" || !ok {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if c.SocketPath() != s.Socket {
		t.Errorf("SocketPath %q", c.SocketPath())
	}
}

func TestLiveTheProcessWideClientComesFromTheEnvironment(t *testing.T) {
	s, _ := live(t)
	// ax.Secrets() reads the environment at its first request, once per process: run in a
	// process of its own (this test binary, running only processWideClient).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestProcessWideClientInAProcessOfItsOwn$", "-test.count=1")
	cmd.Env = append(os.Environ(), "AX_GO_TEST_PROCESS_WIDE=1",
		"AX_SECRETS_SOCKET="+s.Socket, "AX_SECRETS_TOKEN="+s.Token)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "process-wide client: k9 true") {
		t.Fatalf("%v:\n%s", err, out)
	}
}

// TestProcessWideClientInAProcessOfItsOwn is the other half of the test above; run directly,
// it checks that Secrets is one client and nothing more.
func TestProcessWideClientInAProcessOfItsOwn(t *testing.T) {
	if ax.Secrets() != ax.Secrets() {
		t.Fatal("Secrets() is not one client")
	}
	if os.Getenv("AX_GO_TEST_PROCESS_WIDE") == "" {
		return
	}
	v, ok := ax.Secrets().Get("SHORT")
	fmt.Printf("process-wide client: %s %v\n", v, ok)
}

func TestLiveNoSidecarIsATypedErrorNamingThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody.sock")
	c := ax.New(ax.Options{Socket: path})
	for _, call := range []func() error{
		func() error { _, _, err := c.Lookup("OPENAI_API_KEY"); return err },
		func() error { _, err := c.List(); return err },
		func() error { _, _, err := c.Render("{{secrets.SHORT}}"); return err },
		func() error { _, _, err := c.Redact("k9"); return err },
	} {
		err := call()
		wantUnavailable(t, err, path)
		if !errors.Is(err, syscall.ENOENT) {
			t.Errorf("the cause is not ENOENT: %v", errors.Unwrap(err))
		}
	}
}

func TestLiveARestartedSidecarIsReconnectedTo(t *testing.T) {
	s, c := live(t)
	if v, _ := c.Get("OPENAI_API_KEY"); v != "sk-live-4f2b9c" {
		t.Fatalf("first Get = %q", v)
	}
	s.Restart()
	if v, ok := mustLookup(t, c, "SHORT"); v != "k9" || !ok {
		t.Fatalf("Get after restart = %q, %v", v, ok)
	}
	if v, _ := c.Get("OPENAI_API_KEY"); v != "sk-live-4f2b9c" {
		t.Fatalf("second Get after restart = %q", v)
	}
}

func TestLiveAStoppedSidecarIsATypedError(t *testing.T) {
	s, c := live(t)
	if ok, err := c.Exists("SHORT"); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	if code, err := s.Stop(); code != 0 || err != nil {
		t.Fatalf("stop: %d %v", code, err)
	}
	_, _, err := c.Lookup("SHORT")
	wantUnavailable(t, err, s.Socket)
}

func TestLiveConcurrentCallersAllGetTheRightValue(t *testing.T) {
	_, c := live(t)
	names := []string{"OPENAI_API_KEY", "SHORT", "UNICODE", "NOPE", "EMPTY"}
	type answer struct {
		value string
		found bool
	}
	expected := map[string]answer{}
	for _, n := range names {
		v, ok := c.Get(n)
		expected[n] = answer{v, ok}
	}
	c.Close() // and let the goroutines race to connect
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wrong []string
	start := make(chan struct{})
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			<-start
			for i := 0; i < 50; i++ {
				v, ok, err := c.Lookup(name)
				if err != nil || (answer{v, ok}) != expected[name] {
					mu.Lock()
					wrong = append(wrong, fmt.Sprintf("%s: %q %v %v", name, v, ok, err))
					mu.Unlock()
				}
			}
		}(names[g%len(names)])
	}
	close(start)
	wg.Wait()
	if len(wrong) > 0 {
		t.Fatalf("%d wrong answers, e.g. %s", len(wrong), wrong[0])
	}
}

func TestLiveNoValueOrTokenInFormattingOrErrors(t *testing.T) {
	s, c := live(t)
	if v, _ := c.Get("OPENAI_API_KEY"); v != "sk-live-4f2b9c" {
		t.Fatal(v)
	}
	opts := ax.Options{Socket: s.Socket, Token: s.Token}
	var shown string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		shown += fmt.Sprintf(verb, c) + fmt.Sprintf(verb, *c) + fmt.Sprintf(verb, opts)
	}
	if !strings.Contains(shown, s.Socket) {
		t.Errorf("the socket is not shown: %s", shown)
	}
	if strings.Contains(shown, "sk-live") || strings.Contains(shown, s.Token) {
		t.Errorf("a value or the token is shown: %s", shown)
	}
	if code, err := s.Stop(); code != 0 || err != nil {
		t.Fatal(code, err)
	}
	_, _, err := c.Render("secret sk-live-4f2b9c {{secrets.OPENAI_API_KEY}}")
	wantUnavailable(t, err, s.Socket)
	if text := err.Error() + fmt.Sprintf("%+v %#v", err, err); strings.Contains(text, "sk-live") {
		t.Errorf("the error shows the text: %s", text)
	}
}

func TestLiveCloseThenTheNextCallReconnects(t *testing.T) {
	_, c := live(t)
	if v, _ := c.Get("SHORT"); v != "k9" {
		t.Fatal(v)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("SHORT"); v != "k9" {
		t.Fatal(v)
	}
}

func TestLiveSealingRefusesANameThatBreaksTheRule(t *testing.T) {
	// The same rule on both sides: what the shim refuses locally, the bundle cannot hold.
	if err := sidecartest.Seal(t, map[string]any{"UNI_ключ": "x"}); err == nil {
		t.Fatal("sealing accepted a name that breaks the rule")
	}
}
