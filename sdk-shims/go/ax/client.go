package ax

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// The rules of PROTOCOL.md §7, as the client applies them:
//
//   - A connection found closed before a request is written (the write fails with EPIPE or
//     ECONNRESET before any byte went out) is replaced, once, by a fresh connection and
//     handshake, and the request is sent there.
//   - ShuttingDown and Busy mean the request was not served: retried once on a fresh
//     connection.
//   - A connection that breaks after a request was written is dropped and the request is not
//     resent: the caller gets an *UnavailableError, and the next call connects afresh.
//   - A response whose id is not the request's drops the connection (the stream is out of
//     step). An Error with id 0 is the sidecar's answer to a request it could not read.

// Client speaks protocol v2 to one sidecar. It is safe for concurrent use; it connects on its
// first request. Make one with [New] or use the process-wide one of [Secrets].
type Client struct {
	c *client // behind a pointer, so that printing a Client value shows no field
}

type client struct {
	opts  Options
	shown atomic.Pointer[string] // the socket path once known, for Format without the lock

	mu         sync.Mutex
	configured bool
	path       string
	token      *string
	conn       *conn
	nextID     uint32
	wbuf       []byte
}

// New returns a client for opts; it does not connect until the first request.
func New(opts Options) *Client {
	c := &client{opts: opts, nextID: 1}
	if opts.Socket != "" {
		c.shown.Store(&opts.Socket)
	}
	return &Client{c: c}
}

// SocketPath is the socket the client talks to: "" until known, when it comes from
// AX_SECRETS_SOCKET (read at the first request).
func (c *Client) SocketPath() string {
	if p := c.c.shown.Load(); p != nil {
		return *p
	}
	return ""
}

// Close closes the connection, if any. A later request connects again.
func (c *Client) Close() error {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	c.c.drop()
	return nil
}

// String shows the client as its socket path alone; never a token or a value.
func (c Client) String() string {
	socket := "$" + wire.SocketEnv
	if c.c != nil {
		if p := c.c.shown.Load(); p != nil {
			socket = fmt.Sprintf("%q", *p)
		}
	}
	return "ax.Client{socket: " + socket + "}"
}

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// Format prints String for every verb (%v, %+v, %#v, %s, %d...).
func (c Client) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, c.String()) }

// notServed: the sidecar answered ShuttingDown or Busy; the request may go to a fresh
// connection.
type notServed struct{ code ErrorCode }

func (e *notServed) Error() string { return "ax-secrets: not served (" + e.code.String() + ")" }

// build writes the request frame for id into dst; it runs before any connection is made, so
// an argument error it returns leaves nothing sent.
type build func(dst []byte, id uint32) ([]byte, error)

// do sends the frame build makes and returns the response body, which has tag want.
func (c *client) do(op string, want uint32, buildFrame build) (wire.ResponseBody, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1 // id 0 is the handshake's
	}
	frame, err := buildFrame(c.wbuf[:0], id)
	if err != nil {
		return nil, err
	}
	defer c.release(frame)
	for attempt := 1; ; attempt++ {
		body, err := c.once(op, want, frame, id)
		if err == nil {
			return body, nil
		}
		var ns *notServed
		switch {
		case errors.Is(err, errNotSent):
			c.drop()
			if attempt > 1 {
				return nil, c.fail(op, msgBrokenTwice, CodeNone, nil)
			}
		case errors.As(err, &ns):
			c.drop()
			if attempt > 1 {
				return nil, c.fail(op, msgNotServedTwice(ns.code), ns.code, nil)
			}
		default:
			return nil, err
		}
	}
}

// release keeps the write buffer for the next call, wiping what a text request left in it
// and letting a large one go.
func (c *client) release(frame []byte) {
	if len(frame) > 1024 {
		clear(frame)
	}
	if cap(frame) <= readBufferSize {
		c.wbuf = frame[:0]
	} else {
		c.wbuf = nil
	}
}

func (c *client) once(op string, want uint32, frame []byte, id uint32) (wire.ResponseBody, error) {
	if c.conn != nil && c.conn.r.Buffered() > 0 {
		c.drop() // unsolicited bytes: the stream is out of step
	}
	if c.conn == nil {
		if err := c.connect(op); err != nil {
			return nil, err
		}
	} else {
		c.deadline()
	}
	if err := c.conn.send(frame); err != nil {
		if errors.Is(err, errNotSent) {
			return nil, err
		}
		// A sidecar that refuses a request before reading all of it (TooLarge under a smaller
		// configured limit) answers and closes: report its answer when it came.
		resp, rerr := c.conn.receive()
		if e, ok := resp.Body.(wire.ErrorResponse); ok && rerr == nil && (resp.ID == id || resp.ID == 0) {
			c.drop()
			code := codeOf(e.Code)
			return nil, c.fail(op, msgErrorAnswer(op, code), code, nil)
		}
		return nil, c.broken(op, op, err)
	}
	resp, err := c.receive(op, op, id)
	if err != nil {
		return nil, err
	}
	if e, ok := resp.Body.(wire.ErrorResponse); ok {
		code := codeOf(e.Code)
		switch e.Code {
		case wire.ShuttingDown, wire.Busy:
			return nil, &notServed{code}
		case wire.Internal, wire.TooLarge:
			// The sidecar keeps the connection open after these (PROTOCOL.md §6.6).
		default:
			c.drop()
		}
		return nil, c.fail(op, msgErrorAnswer(op, code), code, nil)
	}
	if resp.Body.ResponseTag() != want {
		c.drop()
		return nil, c.fail(op, msgUnexpectedAnswer(op, wire.ResponseName(resp.Body.ResponseTag())), CodeNone, nil)
	}
	return resp.Body, nil
}

// receive reads the answer to request what (id) of a call op.
func (c *client) receive(op, what string, id uint32) (wire.Response, error) {
	resp, err := c.conn.receive()
	if err != nil {
		c.drop()
		var kind wire.Kind
		if errors.As(err, &kind) {
			return resp, c.fail(op, msgMalformed(kind.String()), CodeNone, nil)
		}
		return resp, c.broken(op, what, err)
	}
	if resp.ID != id {
		if _, isError := resp.Body.(wire.ErrorResponse); !isError || resp.ID != 0 {
			c.drop()
			return resp, c.fail(op, msgIDMismatch(id, resp.ID), CodeNone, nil)
		}
	}
	return resp, nil
}

// broken is the error for a connection that failed once request what was (partly) written.
func (c *client) broken(op, what string, err error) error {
	c.drop()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return c.fail(op, msgTimedOut(what, c.opts.Timeout), CodeNone, err)
	}
	return c.fail(op, msgClosedMidRequest(what, describe(err)), CodeNone, err)
}

func (c *client) configure() {
	if c.configured {
		return
	}
	c.configured = true
	c.path = c.opts.Socket
	if c.path == "" {
		c.path = os.Getenv(wire.SocketEnv)
	}
	token := c.opts.Token
	if token == "" {
		token = os.Getenv(wire.TokenEnv)
	}
	if token != "" {
		c.token = &token
	}
	if c.path != "" {
		path := c.path
		c.shown.Store(&path)
	}
}

// connect dials the socket and does the handshake, for a request op.
func (c *client) connect(op string) error {
	c.configure()
	if c.path == "" {
		return &UnavailableError{Op: op, message: noSocketConfigured(wire.SocketEnv)}
	}
	k, err := dial(c.path, c.opts.Timeout)
	if err != nil {
		return c.fail(op, msgCannotConnect(describe(err)), CodeNone, err)
	}
	c.conn = k
	c.deadline()
	hello := wire.Request{ID: 0, Body: wire.HelloRequest{
		Version: wire.ProtocolVersion, Client: wire.ClientName, Token: c.token,
	}}
	frame := wire.AppendRequestFrame(nil, hello)
	sendErr := k.send(frame)
	clear(frame) // it holds the token
	// A sidecar that refuses a connection (Busy, a uid it does not allow) may answer and close
	// before the Hello is written: its answer is read even when the write failed.
	resp, err := c.receive(op, "Hello", 0)
	if err != nil {
		if errors.Is(sendErr, errNotSent) {
			return c.fail(op, msgClosedMidRequest("Hello", "closed"), CodeNone, nil)
		}
		if sendErr != nil {
			return c.broken(op, "Hello", sendErr)
		}
		return err
	}
	switch b := resp.Body.(type) {
	case wire.HelloResponse:
		if b.Version != wire.ProtocolVersion {
			c.drop()
			return c.fail(op, msgWrongVersion(b.Version), CodeNone, nil)
		}
		return nil
	case wire.ErrorResponse:
		c.drop()
		code := codeOf(b.Code)
		switch b.Code {
		case wire.ShuttingDown, wire.Busy:
			return &notServed{code}
		case wire.Unauthorized:
			return c.fail(op, msgTokenRefused, code, nil)
		}
		return c.fail(op, msgHandshakeRefused(code), code, nil)
	}
	c.drop()
	return c.fail(op, msgUnexpectedAnswer("Hello", wire.ResponseName(resp.Body.ResponseTag())), CodeNone, nil)
}

func (c *client) deadline() {
	if c.opts.Timeout > 0 {
		_ = c.conn.nc.SetDeadline(time.Now().Add(c.opts.Timeout))
	}
}

func (c *client) drop() {
	if c.conn != nil {
		c.conn.close()
		c.conn = nil
	}
}

func (c *client) fail(op, what string, code ErrorCode, err error) *UnavailableError {
	return &UnavailableError{SocketPath: c.path, Op: op, Code: code, Err: err, message: at(c.path, what)}
}
