package ax_test

// The client against the races of PROTOCOL.md §7.3/§7.4: a sidecar that refuses, closes or
// shuts down at the moment a request is written. Each test fixes the order of events itself
// (the fake closes before the client writes, or only after it has read what the client
// wrote), so none depends on timing luck; the fake records every request but the Hello, so
// the tests count how often a request arrived.

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/ax"
	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// answerFirst does the handshake and answers the first Get: the connection is now reused.
func answerFirst(p *peer) {
	p.handshake()
	if req, ok := p.read(); ok {
		p.answer(req.ID, wire.SecretResponse{Value: "first", Found: true})
	}
}

func wantCounts(t *testing.T, f *fake, connections, requests int) {
	t.Helper()
	if f.connections() != connections || len(f.recorded()) != requests {
		t.Fatalf("%d connections and %d requests; want %d and %d",
			f.connections(), len(f.recorded()), connections, requests)
	}
}

func TestARequestOnAReusedConnectionClosedAfterItWasReadIsResentOnce(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		if i > 0 {
			p.handshake()
			p.serveGets("resent")
			return
		}
		answerFirst(p)
		p.read() // and close without answering
	})
	c := ax.New(ax.Options{Socket: f.path})
	wantGet(t, c, "A", "first")
	wantGet(t, c, "A", "resent")
	c.Close()
	<-f.done
	<-f.done
	wantCounts(t, f, 2, 3) // the second request arrived twice
}

func TestARequestIsResentOnlyOnce(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		if i == 0 {
			answerFirst(p)
		} else {
			p.handshake()
		}
		p.read() // and close without answering, every time
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	wantGet(t, c, "A", "first")
	u := lookupErr(t, c, "A")
	if !strings.Contains(u.Error(), "also when resent") || u.Code != ax.CodeNone {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
	<-f.done
	<-f.done
	wantCounts(t, f, 2, 3)
}

func TestAnAnswerCutAfterItsFirstByteIsNotResent(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		answerFirst(p)
		if _, ok := p.read(); ok {
			p.raw([]byte{0}) // the first byte of a length prefix, then close
		}
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	wantGet(t, c, "A", "first")
	u := lookupErr(t, c, "A")
	if !strings.Contains(u.Error(), "it was not resent") || u.Code != ax.CodeNone {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
	<-f.done
	wantCounts(t, f, 1, 2)
}

func TestAnIdleShuttingDownFoundAtTheWriteIsResentOnAFreshConnection(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		if i > 0 {
			p.handshake()
			p.serveGets("new sidecar")
			return
		}
		answerFirst(p)
		p.error(0, wire.ShuttingDown) // what a sidecar sends an idle connection, then closes
	})
	c := ax.New(ax.Options{Socket: f.path})
	wantGet(t, c, "A", "first")
	<-f.done // closed: the next write fails, and the error is waiting
	wantGet(t, c, "A", "new sidecar")
	c.Close()
	<-f.done
	wantCounts(t, f, 2, 2)
}

func TestAnID0ShuttingDownReadInsteadOfAnAnswerIsResentOnAReusedConnection(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		if i > 0 {
			p.handshake()
			p.serveGets("new sidecar")
			return
		}
		answerFirst(p)
		if _, ok := p.read(); ok {
			p.error(0, wire.ShuttingDown)
		}
	})
	c := ax.New(ax.Options{Socket: f.path})
	wantGet(t, c, "A", "first")
	wantGet(t, c, "A", "new sidecar")
	c.Close()
	<-f.done
	<-f.done
	wantCounts(t, f, 2, 3)
}

func TestAnID0ShuttingDownOnAFreshConnectionIsNotResent(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.handshake()
		if _, ok := p.read(); ok {
			p.error(0, wire.ShuttingDown)
		}
	})
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	if u := lookupErr(t, c, "A"); u.Code != ax.CodeShuttingDown {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
	<-f.done
	wantCounts(t, f, 1, 1)
}

func TestBusyWaitingWhenTheHelloWriteFailsIsReportedAsBusy(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		p.error(0, wire.Busy) // before reading anything
	})
	ax.SetDialedHook(t, func() { <-f.done })
	c := ax.New(ax.Options{Socket: f.path})
	defer c.Close()
	u := lookupErr(t, c, "A")
	if u.Code != ax.CodeBusy || !strings.Contains(u.Error(), "connection cap") || strings.Contains(u.Error(), "closed the connection") {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
	wantCounts(t, f, 1, 0) // Busy is never retried
}

func TestARefusedUIDNamesTheUIDAndNotTheToken(t *testing.T) {
	for _, helloWriteFails := range []bool{true, false} {
		t.Run(fmt.Sprintf("the Hello write fails: %v", helloWriteFails), func(t *testing.T) {
			f := newFake(t, func(i int, p *peer) {
				p.error(0, wire.Unauthorized)
			})
			if helloWriteFails {
				ax.SetDialedHook(t, func() { <-f.done })
			}
			c := ax.New(ax.Options{Socket: f.path, Token: "tok"})
			defer c.Close()
			u := lookupErr(t, c, "A")
			uid := fmt.Sprintf("uid %d", os.Getuid())
			if u.Code != ax.CodeUnauthorized || !strings.Contains(u.Error(), uid) || strings.Contains(u.Error(), "token") {
				t.Fatalf("%v (code %v)", u, u.Code)
			}
		})
	}
}

func TestARefusedTokenNamesTheTokenAndNotTheUID(t *testing.T) {
	f := newFake(t, func(i int, p *peer) {
		if req, ok := p.read(); ok {
			if req.ID == 0 {
				t.Error("the Hello came with id 0")
			}
			p.error(req.ID, wire.Unauthorized)
		}
	})
	c := ax.New(ax.Options{Socket: f.path, Token: "tok-s3cr3t"})
	defer c.Close()
	u := lookupErr(t, c, "A")
	msg := u.Error()
	if u.Code != ax.CodeUnauthorized || !strings.Contains(msg, "token") || strings.Contains(msg, "uid") || strings.Contains(msg, "tok-s3cr3t") {
		t.Fatalf("%v (code %v)", u, u.Code)
	}
}

func TestASocketPathOver107BytesIsRefusedBeforeConnecting(t *testing.T) {
	path := "/tmp/" + strings.Repeat("é", 52) // 5 + 104 bytes, though only 57 characters
	u := lookupErr(t, ax.New(ax.Options{Socket: path}), "A")
	want := "ax-secrets: socket path " + path + " is 109 bytes; a Unix socket path holds at most 107"
	if u.Error() != want || u.Code != ax.CodeNone || u.SocketPath != path {
		t.Fatalf("%q\nwant %q", u.Error(), want)
	}
}

func TestASocketPathOf107BytesIsTried(t *testing.T) {
	path := "/nonexistent/" + strings.Repeat("x", 94)
	if u := lookupErr(t, ax.New(ax.Options{Socket: path}), "A"); !strings.Contains(u.Error(), "cannot be reached") {
		t.Fatalf("%q", u.Error())
	}
}
