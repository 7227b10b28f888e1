package ax

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// readBufferSize holds any ordinary response whole, so it is decoded in place.
const readBufferSize = 64 << 10

// closedError: the peer had closed the connection (a write met EPIPE or ECONNRESET, or a read
// met the end of the stream or ECONNRESET before any byte of a frame), so no byte of an answer
// came from it: the case the resend rule of PROTOCOL.md §7.4 turns on.
type closedError struct{ cause error }

func (e *closedError) Error() string { return describe(e.cause) }
func (e *closedError) Unwrap() error { return e.cause }

func isClosed(err error) bool {
	var c *closedError
	return errors.As(err, &c)
}

func peerClosed(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// conn is one connected Unix socket with its read buffer. Not safe for concurrent use: the
// client holds its lock around every use.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
	// answered: a request (not the Hello) was answered on it. Only then is it reused, and
	// only a request on a reused connection is ever resent.
	answered bool
}

// testHookDialed, when set (by tests only), runs once a dial has connected: a test makes it
// wait for its fake sidecar to close that connection, so the Hello's write meets a closed peer.
var testHookDialed func()

func dial(path string, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	if testHookDialed != nil {
		testHookDialed()
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, readBufferSize)}, nil
}

func (k *conn) close() { _ = k.nc.Close() }

// send writes all of frame in one write. It returns a *closedError when the peer had closed
// the connection: on a Unix stream socket a write to a peer that has closed fails at once with
// EPIPE (or ECONNRESET when it closed with unread data), so no peek is needed before each
// request; and whatever part went out, a closed peer reads none of it.
func (k *conn) send(frame []byte) error {
	_, err := k.nc.Write(frame)
	if err != nil && peerClosed(err) {
		return &closedError{err}
	}
	return err
}

// receive reads and decodes the next response. The end of the stream (or a reset) before
// its first byte is a *closedError; inside it, io.ErrUnexpectedEOF or the read's error.
func (k *conn) receive() (wire.Response, error) {
	var resp wire.Response
	if _, err := k.r.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || peerClosed(err) {
			return resp, &closedError{err}
		}
		return resp, err
	}
	err := wire.ReadFrame(k.r, wire.MaxResponseBody, func(body []byte) error {
		var err error
		resp, err = wire.DecodeResponse(body)
		return err
	})
	return resp, err
}

// waitingError is the connection-level Error (id 0) a peer that closed left to be read, if
// it left one (PROTOCOL.md §7.3): read even after a failed write.
func (k *conn) waitingError() *wire.ErrorResponse {
	resp, err := k.receive()
	if e, ok := resp.Body.(wire.ErrorResponse); ok && err == nil && resp.ID == 0 {
		return &e
	}
	return nil
}

// describe is an I/O error's reason for a message: the errno's text where there is one.
func describe(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "end of stream"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	return err.Error()
}
