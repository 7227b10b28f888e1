// Package wire is protocol v2 of ax-secrets on the wire (PROTOCOL.md §2–§6): framing, the
// postcard primitives and the v2 messages. It does no I/O of its own beyond reading frames
// from a [bufio.Reader].
//
// # Layout
//
//   - limits.go: every constant and limit of the protocol the shim relies on.
//   - errors.go: [Kind], the ways bytes can fail to be a frame or a message.
//   - codec.go: varints, strings, options and sequences ([Reader] and the Append functions).
//   - messages.go: the request and response types, in tag order.
//   - encode.go, decode.go: whole messages to and from frame bodies.
//   - frame.go: length prefixes, and reading one frame from a stream.
package wire
