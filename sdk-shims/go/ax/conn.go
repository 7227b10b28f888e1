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

// errNotSent: the peer had closed the connection and not one byte of the request went out,
// so the request may be sent again on a fresh connection (PROTOCOL.md §7.4).
var errNotSent = errors.New("ax-secrets: connection closed before sending")

// conn is one connected Unix socket with its read buffer. Not safe for concurrent use: the
// client holds its lock around every use.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dial(path string, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, readBufferSize)}, nil
}

func (k *conn) close() { _ = k.nc.Close() }

// send writes all of frame in one write. It returns errNotSent when the peer had closed the
// connection and nothing went out: on a Unix stream socket a write to a peer that has closed
// fails at once with EPIPE (or ECONNRESET when it closed with unread data), so no peek is
// needed before each request.
func (k *conn) send(frame []byte) error {
	n, err := k.nc.Write(frame)
	if err == nil {
		return nil
	}
	if n == 0 && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		return errNotSent
	}
	return err
}

// receive reads and decodes the next response.
func (k *conn) receive() (wire.Response, error) {
	var resp wire.Response
	err := wire.ReadFrame(k.r, wire.MaxResponseBody, func(body []byte) error {
		var err error
		resp, err = wire.DecodeResponse(body)
		return err
	})
	return resp, err
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
