package ax

import (
	"errors"
	"fmt"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// ErrUnavailable matches every [*UnavailableError] with [errors.Is]: the sidecar could not
// be asked. It is never "secret not found".
var ErrUnavailable = errors.New("ax-secrets: the sidecar is unavailable")

// UnavailableError means the sidecar could not be asked: AX_SECRETS_SOCKET is unset, nothing
// listens at the path, the sidecar refused the token, the connection broke while a request
// was in flight, or the sidecar answered with something the shim cannot accept.
type UnavailableError struct {
	// SocketPath is the socket the shim tried to reach ("" when none was configured).
	SocketPath string
	// Op is the request that failed: "Get", "List", "Render", "Redact".
	Op string
	// Code is the protocol error code the sidecar answered with, or CodeNone.
	Code ErrorCode
	// Err is the underlying I/O error, if any (an *net.OpError, a syscall.Errno...).
	Err error

	message string
}

// Error names the socket path and what happened; never a value, a token or a text.
func (e *UnavailableError) Error() string {
	if e.message != "" {
		return e.message
	}
	// Made outside the shim (a node author's own fake, say): say what the fields say.
	if e.SocketPath == "" {
		return prefix + "the sidecar is unavailable"
	}
	return at(e.SocketPath, "is unavailable")
}

// Unwrap returns the underlying I/O error, if any.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrUnavailable].
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// RequestTooLargeError means a Render or Redact argument would make a request over the 1 MiB
// request limit. Nothing was sent. It is not an [ErrUnavailable].
type RequestTooLargeError struct {
	Op    string // "Render" or "Redact"
	Size  int    // the request body it would take, in bytes
	Limit int    // the request body limit, in bytes
}

func (e *RequestTooLargeError) Error() string {
	return fmt.Sprintf("%sthis %s request would be %d bytes, over the request limit of %d bytes (1 MiB); nothing was sent",
		prefix, e.Op, e.Size, e.Limit)
}

// InvalidUTF8Error means a Render template or Redact text is not valid UTF-8 (the protocol
// carries only UTF-8). Nothing was sent. It is not an [ErrUnavailable].
type InvalidUTF8Error struct {
	Op     string // "Render" or "Redact"
	Offset int    // the byte offset of the first invalid byte
}

func (e *InvalidUTF8Error) Error() string {
	return fmt.Sprintf("%sthe %s argument is not valid UTF-8 (at byte %d); nothing was sent", prefix, e.Op, e.Offset)
}

// ErrorCode is the protocol error code the sidecar answered with (PROTOCOL.md §6.6).
type ErrorCode uint8

// The codes; CodeNone means the sidecar did not answer with an error.
const (
	CodeNone ErrorCode = iota
	CodeBadRequest
	CodeUnsupportedVersion
	CodeUnauthorized
	CodeTooLarge
	CodeShuttingDown
	CodeInternal
	CodeHandshakeRequired
	CodeBusy
)

func codeOf(c wire.ErrorCode) ErrorCode { return ErrorCode(c) + 1 }

// String is the code's protocol name, e.g. "Unauthorized", or "None".
func (c ErrorCode) String() string {
	if c == CodeNone {
		return "None"
	}
	return wire.ErrorCode(c - 1).String()
}
