package ax_test

// The client's protocol rules (PROTOCOL.md §7) against a scripted fake sidecar.

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

func lookupErr(t *testing.T, c *ax.Client, name string) *ax.UnavailableError {
	t.Helper()
	_, _, err := c.Lookup(name)
	var u *ax.UnavailableError
	if !errors.As(err, &u) {
		t.Fatalf("want an *ax.UnavailableError, got %T %v", err, err)
	}
	return u
}

func wantGet(t *testing.T, c *ax.Client, name, value string) {
	t.Helper()
	v, ok, err := c.Lookup(name)
	if err != nil || v != value || !ok {
		t.Fatalf("Lookup(%s) = %q, %v, %v; want %q", name, v, ok, err, value)
	}
}

func TestHandshakeSendsVersionClientAndTokenOnceAndReusesTheConnection(t *testing.T) {
	var hellos []wire.HelloRequest
	var mu sync.Mutex
	f := newFake(t, func(i int, p *peer) {
		h := p.handshake()
		mu.Lock()
		hellos = append(hellos, h)
		mu.Unlock()
		p.serveGets("v")
	})
	c := ax.New(ax.Options{Socket: f.path, Token: "tok-1"})
	wantGet(t, c, "A", "v")
	wantGet(t, c, "B", "v")
	c.Close()
	<-f.done
	if len(hellos) != 1 || f.connections() != 1 {
		t.Fatalf("%d hellos on %d connections", len(hellos), f.connections())
	}
	h := hellos[0]
	if h.Version != 2 || h.Client != "go/0.1.0" || h.Token == nil || *h.Token != "tok-1" {
		t.Fatalf("Hello %+v", h)
	}
}

func TestAnEmptyTokenIsSentAsNone(t *testing.T) {
	tokens := make(chan *string, 1)
	f := newFake(t, func(i int, p *peer) {
		tokens <- p.handshake().Token
		p.serveGets("v")
	})
	t.Setenv("AX_SECRETS_SOCKET", f.path)
	t.Setenv("AX_SECRETS_TOKEN", "")
	c := ax.New(ax.Options{})
	defer c.Close()
	wantGet(t, c, "A", "v")
	if token := <-tokens; token != nil {
		t.Fatalf("token %q", *token)
	}
}

func TestRequestIDsAreDistinctAndNeverZero(t *testing.T) {
	ids := make(chan uint32, 10)
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		for {
			req, ok := p.read()
			if !ok {
				return
			}
			ids <- req.ID
			p.answer(req.ID, wire.SecretResponse{Value: "v", Found: true})
		}
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	seen := map[uint32]bool{}
	for i := 0; i < 5; i++ {
		wantGet(t, c, "A", "v")
		id := <-ids
		if id == 0 || seen[id] {
			t.Fatalf("id %d repeated or zero", id)
		}
		seen[id] = true
	}
}

func TestAnIDMismatchDropsTheConnectionAndTheNextCallReconnects(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		req, _ := p.read()
		if i == 0 {
			p.answer(req.ID+1, wire.SecretResponse{Value: "wrong", Found: true})
			if _, ok := p.read(); ok {
				t.Error("the client kept the connection")
			}
			return
		}
		p.answer(req.ID, wire.SecretResponse{Value: "right", Found: true})
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); !strings.Contains(u.Error(), "answered request") {
		t.Fatalf("message %q", u.Error())
	}
	wantGet(t, c, "A", "right")
	if f.connections() != 2 {
		t.Fatalf("%d connections", f.connections())
	}
}

func TestShuttingDownIsRetriedOnceOnAFreshConnection(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		req, _ := p.read()
		if i == 0 {
			p.error(req.ID, wire.ShuttingDown)
			return
		}
		p.answer(req.ID, wire.SecretResponse{Value: "served", Found: true})
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	wantGet(t, c, "A", "served")
	if f.connections() != 2 {
		t.Fatalf("%d connections", f.connections())
	}
}

func TestBusyIsATypedErrorAndNeverRetried(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.read()
		p.error(0, wire.Busy)
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	u := lookupErr(t, c, "A")
	if u.Code != ax.CodeBusy || !strings.Contains(u.Error(), f.path) || !errors.Is(u, ax.ErrUnavailable) {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
	if f.connections() != 1 {
		t.Fatalf("%d connections", f.connections())
	}
}

func TestBusyBeforeTheHelloIsReadIsStillSeenAsBusy(t *testing.T) {
	// The sidecar at its connection limit answers Busy at once and closes, whether or not
	// the client's Hello has arrived.
	f := newFake(t, func(i int, p *peer) {
		p.error(0, wire.Busy)
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); u.Code != ax.CodeBusy {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
}

func TestARequestOnAFreshConnectionIsNotResentWhenItBreaks(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		p.read() // and hang up without answering
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); !strings.Contains(u.Error(), "it was not resent") {
		t.Fatalf("message %q", u.Error())
	}
	<-f.done
	requests := f.recorded()
	if len(requests) != 1 || f.connections() != 1 {
		t.Fatalf("%d requests on %d connections", len(requests), f.connections())
	}
	if g, ok := requests[0].Body.(wire.GetRequest); !ok || g.Name != "A" {
		t.Fatalf("request %#v", requests[0])
	}
}

func TestAConnectionClosedWhileIdleIsReplacedBeforeSending(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		req, _ := p.read()
		p.answer(req.ID, wire.SecretResponse{Value: []string{"conn0", "conn1"}[i], Found: true})
		// then close: the client finds it closed before its next request
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	wantGet(t, c, "A", "conn0")
	<-f.done // the fake has closed the connection
	wantGet(t, c, "A", "conn1")
	if f.connections() != 2 {
		t.Fatalf("%d connections", f.connections())
	}
	// The write met the closed peer: the request reached the fake once, on the fresh one.
	if n := len(f.recorded()); n != 2 {
		t.Fatalf("%d requests", n)
	}
}

func TestUnsolicitedBytesDropTheConnectionBeforeTheNextRequest(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		if i == 1 {
			p.serveGets("fresh")
			return
		}
		req, _ := p.read()
		resp := wire.Frame(wire.AppendResponse(nil, wire.Response{ID: req.ID, Body: wire.SecretResponse{Value: "v", Found: true}}))
		pong := wire.Frame(wire.AppendResponse(nil, wire.Response{ID: 99, Body: wire.PongResponse{}}))
		p.raw(append(resp, pong...)) // one write, so both arrive together
		if _, ok := p.read(); ok {
			t.Error("the client sent on a connection out of step")
		}
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	wantGet(t, c, "A", "v")
	wantGet(t, c, "A", "fresh")
	if f.connections() != 2 {
		t.Fatalf("%d connections", f.connections())
	}
}

func TestAnUnexpectedAnswerKindIsATypedError(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		req, _ := p.read()
		p.answer(req.ID, wire.PongResponse{})
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); !strings.Contains(u.Error(), "answered Get with Pong") {
		t.Fatalf("message %q", u.Error())
	}
}

func TestAMalformedResponseIsATypedError(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		p.read()
		p.raw([]byte{0, 0, 0, 4, 1, 1, 2, 0}) // option tag 02
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); !strings.Contains(u.Error(), "InvalidOptionTag") {
		t.Fatalf("message %q", u.Error())
	}
}

func TestAFrameOverTheResponseLimitIsRefusedUnread(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		p.read()
		p.raw([]byte{0x01, 0, 0, 1}) // 16 MiB + 1, and no body
		p.read()
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); !strings.Contains(u.Error(), "FrameTooLarge") {
		t.Fatalf("message %q", u.Error())
	}
}

func TestAnotherProtocolVersionIsRefused(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		req, _ := p.read()
		p.answer(req.ID, wire.HelloResponse{Version: 3, Sidecar: "future", ExecutionID: "exec"})
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); !strings.Contains(u.Error(), "version 3, not 2") {
		t.Fatalf("message %q", u.Error())
	}
}

func TestInternalErrorsKeepTheConnection(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		req, _ := p.read()
		p.error(req.ID, wire.Internal)
		p.serveGets("after")
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); u.Code != ax.CodeInternal {
		t.Fatalf("code %v", u.Code)
	}
	wantGet(t, c, "A", "after")
	if f.connections() != 1 {
		t.Fatalf("%d connections", f.connections())
	}
}

func TestAnErrorWithIDZeroAnswersTheRequest(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		p.read()
		p.error(0, wire.BadRequest)
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); u.Code != ax.CodeBadRequest || !strings.Contains(u.Error(), "refused Get with error BadRequest") {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
}

func TestATimeoutIsATypedError(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		p.read()
		<-release // never answers in time
	})
	defer close(release)
	c := ax.New(ax.Options{Socket: f.path, Timeout: 100 * time.Millisecond})
	defer c.Close()
	u := lookupErr(t, c, "A")
	if !strings.Contains(u.Error(), "did not answer Get within 100ms") {
		t.Fatalf("message %q", u.Error())
	}
}

func TestARenderOverTheRequestLimitIsRefusedBeforeConnecting(t *testing.T) {
	c := ax.New(ax.Options{Socket: "/nonexistent/ax.sock"})
	_, _, err := c.Render(strings.Repeat("x", 1<<20))
	var tooLarge *ax.RequestTooLargeError
	if !errors.As(err, &tooLarge) || errors.Is(err, ax.ErrUnavailable) {
		t.Fatalf("%T %v", err, err)
	}
	if !strings.Contains(err.Error(), "1048576") || strings.Contains(err.Error(), "xxxx") {
		t.Fatalf("message %q", err.Error())
	}
	if _, _, err := c.Redact(strings.Repeat("y", 1<<20-4)); !errors.As(err, &tooLarge) {
		t.Fatalf("%T %v", err, err)
	}
}

func TestTextThatIsNotUTF8IsRefusedBeforeConnecting(t *testing.T) {
	c := ax.New(ax.Options{Socket: "/nonexistent/ax.sock"})
	_, _, err := c.Redact("secret sk-1 \xff")
	var bad *ax.InvalidUTF8Error
	if !errors.As(err, &bad) || bad.Offset != 12 || strings.Contains(err.Error(), "sk-1") {
		t.Fatalf("%T %v", err, err)
	}
}

func TestARequestOfExactlyTheLimitIsSent(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		req, _ := p.read()
		if r, ok := req.Body.(wire.RedactRequest); !ok || len(r.Text) != 1<<20-5 {
			t.Errorf("request %T", req.Body)
		}
		p.answer(req.ID, wire.RedactedResponse{Text: "ok", Found: []string{}})
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	// id 1 (1 byte) + tag (1) + length varint (3) + text = 1 MiB exactly
	text, found, err := c.Redact(strings.Repeat("r", 1<<20-5))
	if err != nil || text != "ok" || len(found) != 0 {
		t.Fatalf("Redact = %q %v %v", text, found, err)
	}
}

func TestNoSocketConfiguredIsATypedError(t *testing.T) {
	t.Setenv("AX_SECRETS_SOCKET", "")
	u := lookupErr(t, ax.New(ax.Options{}), "A")
	if !strings.Contains(u.Error(), "AX_SECRETS_SOCKET is not set") || u.SocketPath != "" {
		t.Fatalf("message %q", u.Error())
	}
}

func TestAnInvalidNameNeverConnects(t *testing.T) {
	c := ax.New(ax.Options{Socket: "/nonexistent/ax.sock"})
	if v, ok := c.Get("not a name"); v != "" || ok {
		t.Fatalf("Get = %q %v", v, ok)
	}
	if ok, err := c.Exists(""); ok || err != nil {
		t.Fatalf("Exists = %v %v", ok, err)
	}
}

func TestListRendersAndRedactsThroughTheFake(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		for {
			req, ok := p.read()
			if !ok {
				return
			}
			switch b := req.Body.(type) {
			case wire.ListRequest:
				p.answer(req.ID, wire.ListResponse{Secrets: []wire.SecretInfo{
					{Name: "A", Version: 4294967295, UpdatedAt: 1 << 63},
				}})
			case wire.RenderRequest:
				p.answer(req.ID, wire.RenderedResponse{Text: "r:" + b.Template, Missing: []string{"M"}})
			case wire.RedactRequest:
				p.answer(req.ID, wire.RedactedResponse{Text: "d:" + b.Text, Found: []string{"F"}})
			}
		}
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	listed, err := c.List()
	if err != nil || len(listed) != 1 || listed[0] != (ax.SecretInfo{Name: "A", Version: 4294967295, UpdatedAt: 1 << 63}) {
		t.Fatalf("List = %+v %v", listed, err)
	}
	if text, missing, err := c.Render("t"); text != "r:t" || len(missing) != 1 || missing[0] != "M" || err != nil {
		t.Fatalf("Render = %q %v %v", text, missing, err)
	}
	if text, found, err := c.Redact("x"); text != "d:x" || len(found) != 1 || found[0] != "F" || err != nil {
		t.Fatalf("Redact = %q %v %v", text, found, err)
	}
}

func TestARequestRefusedBeforeItWasReadReportsTheRefusal(t *testing.T) {
	// A sidecar configured with a smaller request limit answers TooLarge after the length
	// prefix and closes without reading the rest.
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		var header [4]byte
		if _, err := p.r.Read(header[:]); err != nil {
			t.Error(err)
		}
		p.error(0, wire.TooLarge)
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	_, _, err := c.Render(strings.Repeat("t", 1<<20-8))
	var u *ax.UnavailableError
	if !errors.As(err, &u) || u.Code != ax.CodeTooLarge || !strings.Contains(u.Error(), "refused Render with error TooLarge") {
		t.Fatalf("%T %v", err, err)
	}
}
