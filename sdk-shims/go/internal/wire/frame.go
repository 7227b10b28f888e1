package wire

// Every message, in both directions, travels as one frame:
//
//	+----------------------+------------------------------------------+
//	| length: u32, big-end |  body: `length` bytes                    |
//	|      (4 bytes)       |  exactly one postcard-encoded message    |
//	+----------------------+------------------------------------------+
//
//	Ping with id 20:  00 00 00 02 | 14 (id 20, varint) | 05 (request tag 5 = Ping)
//
// The length is checked against the receiver's limit before any memory is reserved for the
// body. End of stream exactly between frames is a clean close; inside one, an error.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// FromStream returns the body of the one frame stream must consist of, as the shared
// vectors are run: FrameTooLarge, Truncated (the stream ends inside the frame) or
// TrailingBytes (more bytes follow it).
func FromStream(stream []byte, limit int) ([]byte, error) {
	if len(stream) < HeaderLen {
		return nil, Truncated
	}
	n := binary.BigEndian.Uint32(stream)
	if uint64(n) > uint64(limit) {
		return nil, FrameTooLarge
	}
	end := HeaderLen + int(n)
	switch {
	case len(stream) < end:
		return nil, Truncated
	case len(stream) > end:
		return nil, TrailingBytes
	}
	return stream[HeaderLen:end], nil
}

// ReadFrame reads the next frame from r and hands its body to use. The body is valid only
// during use and is wiped afterwards, so a value it holds does not linger in the read buffer.
//
// It returns io.EOF for a clean end of stream before the frame, io.ErrUnexpectedEOF for an
// end of stream inside it, FrameTooLarge (before reading the body) for a length over limit,
// any other error of r, or what use returns.
func ReadFrame(r *bufio.Reader, limit int, use func(body []byte) error) error {
	header, err := r.Peek(HeaderLen)
	if err != nil {
		if errors.Is(err, io.EOF) && len(header) > 0 {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	n := binary.BigEndian.Uint32(header)
	if uint64(n) > uint64(limit) {
		return FrameTooLarge
	}
	_, _ = r.Discard(HeaderLen) // buffered: cannot fail
	size := int(n)
	if size <= r.Size() {
		// Small enough to decode in place, straight from the read buffer.
		body, err := r.Peek(size)
		if err != nil {
			return eofInside(err)
		}
		err = use(body)
		clear(body)
		_, _ = r.Discard(size)
		return err
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		clear(body)
		return eofInside(err)
	}
	err = use(body)
	clear(body)
	return err
}

func eofInside(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
