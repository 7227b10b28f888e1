package ax_test

// A scripted stand-in for the sidecar, for the client's edge cases: a goroutine accepting on
// a Unix socket hands connection number i (from 0) to a test-supplied script.

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// peer is one accepted connection, seen from the fake sidecar.
type peer struct {
	t  *testing.T
	f  *fake
	nc net.Conn
	r  *bufio.Reader
}

// read returns the next request, or ok false at end of stream. The fake records every
// request but the Hello.
func (p *peer) read() (wire.Request, bool) {
	var header [4]byte
	if _, err := io.ReadFull(p.r, header[:]); err != nil {
		return wire.Request{}, false
	}
	body := make([]byte, binary.BigEndian.Uint32(header[:]))
	if _, err := io.ReadFull(p.r, body); err != nil {
		return wire.Request{}, false
	}
	req, err := wire.DecodeRequest(body)
	if err != nil {
		p.t.Errorf("the fake received a malformed request: %v", err)
		return wire.Request{}, false
	}
	if _, isHello := req.Body.(wire.HelloRequest); !isHello {
		p.f.record(req)
	}
	return req, true
}

func (p *peer) answer(id uint32, body wire.ResponseBody) {
	p.raw(wire.Frame(wire.AppendResponse(nil, wire.Response{ID: id, Body: body})))
}

func (p *peer) raw(data []byte) { _, _ = p.nc.Write(data) }

func (p *peer) error(id uint32, code wire.ErrorCode) {
	p.answer(id, wire.ErrorResponse{Code: code, Message: code.String() + " from the fake"})
}

// handshake reads the Hello and accepts it.
func (p *peer) handshake() wire.HelloRequest {
	req, ok := p.read()
	if !ok {
		p.t.Error("no Hello")
		return wire.HelloRequest{}
	}
	hello, isHello := req.Body.(wire.HelloRequest)
	if !isHello || req.ID != wire.HelloID {
		p.t.Errorf("the first request is %#v", req)
	}
	p.answer(req.ID, wire.HelloResponse{Version: wire.ProtocolVersion, Sidecar: "fake/0", ExecutionID: "exec-fake"})
	return hello
}

// serveGets answers every Get with value until the client hangs up.
func (p *peer) serveGets(value string) {
	for {
		req, ok := p.read()
		if !ok {
			return
		}
		p.answer(req.ID, wire.SecretResponse{Value: value, Found: true})
	}
}

type fake struct {
	path     string
	listener net.Listener
	mu       sync.Mutex
	conns    int
	requests []wire.Request
	done     chan int // receives i when the script of connection i has returned and closed it
	wg       sync.WaitGroup
}

func newFake(t *testing.T, script func(i int, p *peer)) *fake {
	t.Helper()
	dir, err := os.MkdirTemp("", "axgo-fake-")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{path: filepath.Join(dir, "s.sock"), done: make(chan int, 64)}
	f.listener, err = net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			nc, err := f.listener.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			i := f.conns
			f.conns++
			f.mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				script(i, &peer{t: t, f: f, nc: nc, r: bufio.NewReader(nc)})
				nc.Close()
				f.done <- i
			}()
		}
	}()
	t.Cleanup(func() {
		f.listener.Close()
		f.wg.Wait()
		os.RemoveAll(dir)
	})
	return f
}

func (f *fake) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

func (f *fake) record(r wire.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
}

func (f *fake) recorded() []wire.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.Request(nil), f.requests...)
}
