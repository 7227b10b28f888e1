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
//   - The Hello goes with id 1 (wire.HelloID): an Unauthorized with id 0 came before the
//     sidecar read it (this process's uid may not connect), one under id 1 is the token's.
//   - When a write fails because the peer closed (EPIPE, ECONNRESET), one frame is still read:
//     a connection-level Error (id 0) waiting there (Busy, Unauthorized, ShuttingDown) is what
//     is reported, not the broken pipe.
//   - Resend once. Every request is idempotent (§7.1). A request on a reused connection (one
//     that already carried an answered request) that fails before any byte of its answer
//     arrived (the peer had closed: the write fails, or the read meets the end of the stream,
//     or an id-0 ShuttingDown is waiting) is sent once more on a fresh connection. Never on a
//     fresh connection, never twice, never once its answer has begun, never after a timeout.
//   - ShuttingDown under the request's id means "not served": sent once more too. Busy and
//     Unauthorized are never retried.
//   - A response whose id is not the request's drops the connection (the stream is out of
//     step).

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

// resend: the request was not served and may go once more on a fresh connection; code is
// ShuttingDown, or CodeNone when the connection was found closed.
type resend struct {
	code   ErrorCode
	reason string
}

func (e *resend) Error() string { return "ax-secrets: not served (" + e.reason + ")" }

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
		c.nextID = 1 // id 0 is never sent: it is the sidecar's connection-level id
	}
	frame, err := buildFrame(c.wbuf[:0], id)
	if err != nil {
		return nil, err
	}
	defer c.release(frame)
	body, err := c.once(op, want, frame, id, false)
	var again *resend
	if !errors.As(err, &again) {
		return body, err
	}
	c.drop()
	body, err = c.once(op, want, frame, id, true)
	if !errors.As(err, &again) {
		return body, err
	}
	c.drop()
	if again.code != CodeNone {
		return nil, c.fail(op, msgNotServedTwice(again.code), again.code, nil)
	}
	return nil, c.fail(op, msgClosedResent(op, again.reason), CodeNone, nil)
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

func (c *client) once(op string, want uint32, frame []byte, id uint32, resending bool) (wire.ResponseBody, error) {
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
	k := c.conn
	reused := k.answered
	err := k.send(frame)
	var resp wire.Response
	if err == nil {
		resp, err = c.receive(op, id)
	}
	if err != nil {
		if !isClosed(err) {
			return nil, c.broken(op, op, err)
		}
		waiting := k.waitingError()
		c.drop()
		switch {
		case waiting != nil:
			return nil, c.connectionError(op, waiting.Code, reused)
		case reused:
			return nil, &resend{reason: describe(err)}
		case resending:
			return nil, c.fail(op, msgClosedResent(op, describe(err)), CodeNone, err)
		}
		return nil, c.fail(op, msgClosedMidRequest(op, describe(err)), CodeNone, err)
	}
	if e, ok := resp.Body.(wire.ErrorResponse); ok {
		code := codeOf(e.Code)
		switch {
		case resp.ID == 0:
			c.drop()
			return nil, c.connectionError(op, e.Code, reused)
		case e.Code == wire.ShuttingDown:
			return nil, &resend{code: code, reason: code.String()}
		case e.Code == wire.Internal || e.Code == wire.TooLarge:
			k.answered = true // the sidecar keeps the connection open (PROTOCOL.md §6.6)
		default:
			c.drop()
		}
		return nil, c.fail(op, msgErrorAnswer(op, code), code, nil)
	}
	if resp.Body.ResponseTag() != want {
		c.drop()
		return nil, c.fail(op, msgUnexpectedAnswer(op, wire.ResponseName(resp.Body.ResponseTag())), CodeNone, nil)
	}
	k.answered = true
	return resp.Body, nil
}

// connectionError is the error for a connection-level Error (id 0) met by a request op; a
// *resend for a ShuttingDown on a reused connection.
func (c *client) connectionError(op string, wc wire.ErrorCode, reused bool) error {
	code := codeOf(wc)
	switch wc {
	case wire.ShuttingDown:
		if reused {
			return &resend{code: code, reason: code.String()}
		}
	case wire.Unauthorized:
		return c.fail(op, msgUIDRefused(os.Getuid()), code, nil)
	case wire.Busy:
		return c.fail(op, msgBusy, code, nil)
	}
	return c.fail(op, msgErrorAnswer(op, code), code, nil)
}

// receive reads the answer to request id, or a connection-level Error (id 0). A
// *closedError is returned as it is, for the caller's resend rule.
func (c *client) receive(op string, id uint32) (wire.Response, error) {
	resp, err := c.conn.receive()
	if err != nil {
		var kind wire.Kind
		if errors.As(err, &kind) {
			c.drop()
			return resp, c.fail(op, msgMalformed(kind.String()), CodeNone, nil)
		}
		return resp, err
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
	var u *UnavailableError
	if errors.As(err, &u) {
		return err // already told (a malformed answer, an id mismatch)
	}
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
	if len(c.path) > wire.MaxSocketPath {
		return &UnavailableError{SocketPath: c.path, Op: op, message: socketPathTooLong(c.path, len(c.path))}
	}
	k, err := dial(c.path, c.opts.Timeout)
	if err != nil {
		return c.fail(op, msgCannotConnect(describe(err)), CodeNone, err)
	}
	c.conn = k
	c.deadline()
	hello := wire.Request{ID: wire.HelloID, Body: wire.HelloRequest{
		Version: wire.ProtocolVersion, Client: wire.ClientName, Token: c.token,
	}}
	frame := wire.AppendRequestFrame(nil, hello)
	err = k.send(frame)
	clear(frame) // it holds the token
	var resp wire.Response
	if err == nil {
		resp, err = c.receive(op, wire.HelloID)
	}
	if err != nil {
		if !isClosed(err) {
			return c.broken(op, "Hello", err)
		}
		// A sidecar that refuses a connection (Busy, a uid it does not allow) may write its
		// id-0 Error and close before the Hello is even written: it is read anyway.
		waiting := k.waitingError()
		c.drop()
		if waiting != nil {
			return c.handshakeError(op, waiting.Code, 0)
		}
		return c.fail(op, msgClosedMidRequest("Hello", describe(err)), CodeNone, err)
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
		return c.handshakeError(op, b.Code, resp.ID)
	}
	c.drop()
	return c.fail(op, msgUnexpectedAnswer("Hello", wire.ResponseName(resp.Body.ResponseTag())), CodeNone, nil)
}

// handshakeError is the error for an Error answering the Hello (id 0: about the connection).
func (c *client) handshakeError(op string, wc wire.ErrorCode, id uint32) error {
	code := codeOf(wc)
	switch wc {
	case wire.ShuttingDown:
		return &resend{code: code, reason: code.String()} // nothing was sent: safe to connect again
	case wire.Unauthorized:
		if id == 0 {
			return c.fail(op, msgUIDRefused(os.Getuid()), code, nil)
		}
		return c.fail(op, msgTokenRefused, code, nil)
	case wire.Busy:
		return c.fail(op, msgBusy, code, nil)
	}
	return c.fail(op, msgHandshakeRefused(code), code, nil)
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
