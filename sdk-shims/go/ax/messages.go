package ax

import (
	"fmt"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// Every message a user of the shim can see. None ever holds a secret value, a token, a
// template or a text to redact: only socket paths, names of request kinds, error codes and
// sizes.

const prefix = "ax-secrets: "

func noSocketConfigured(env string) string {
	return prefix + env + " is not set, so there is no sidecar to ask (in tests, use axtest.NewMock)"
}

func at(path, what string) string { return prefix + "the sidecar at " + path + " " + what }

func socketPathTooLong(path string, size int) string {
	return fmt.Sprintf("%ssocket path %s is %d bytes; a Unix socket path holds at most %d", prefix, path, size, wire.MaxSocketPath)
}

const (
	msgTokenRefused = "refused the client token (a missing or wrong " + wire.TokenEnv + ")"
	msgBusy         = "is at its connection cap (error Busy); try again after a pause"
)

func msgUIDRefused(uid int) string {
	return fmt.Sprintf("refused this process's uid %d (not allowed to connect)", uid)
}

func msgCannotConnect(reason string) string { return "cannot be reached (" + reason + ")" }

func msgHandshakeRefused(code ErrorCode) string {
	return fmt.Sprintf("refused the handshake with error %s", code)
}

func msgWrongVersion(v uint16) string {
	return fmt.Sprintf("speaks protocol version %d, not %d", v, wire.ProtocolVersion)
}

func msgNotServedTwice(code ErrorCode) string {
	return fmt.Sprintf("did not serve the request, twice in a row (error %s)", code)
}

func msgClosedMidRequest(op, reason string) string {
	return fmt.Sprintf("closed the connection before answering %s (%s); it was not resent", op, reason)
}

func msgClosedResent(op, reason string) string {
	return fmt.Sprintf("closed the connection before answering %s (%s), also when resent", op, reason)
}

func msgIDMismatch(sent, received uint32) string {
	return fmt.Sprintf("answered request %d with id %d; the connection was dropped", sent, received)
}

func msgMalformed(kind string) string {
	return fmt.Sprintf("sent a malformed response (%s); the connection was dropped", kind)
}

func msgUnexpectedAnswer(op, answer string) string {
	return fmt.Sprintf("answered %s with %s; the connection was dropped", op, answer)
}

func msgErrorAnswer(op string, code ErrorCode) string {
	return fmt.Sprintf("refused %s with error %s", op, code)
}

func msgTimedOut(op string, timeout fmt.Stringer) string {
	return fmt.Sprintf("did not answer %s within %s; the connection was dropped", op, timeout)
}
