package wire

// Kind is why bytes are not a valid frame or message (PROTOCOL.md §2, §4), named as the
// shared vectors name it. A Kind is an error; making one never allocates.
type Kind uint8

// The kinds of malformation, as the vectors' "error" field names them.
const (
	// FrameTooLarge: the length prefix announces more than the limit.
	FrameTooLarge Kind = iota + 1
	// Truncated: the stream ends inside a frame.
	Truncated
	// UnexpectedEnd: the body ends before the message does (or is empty).
	UnexpectedEnd
	// TrailingBytes: bytes are left after the message (or after the one frame of a stream).
	TrailingBytes
	// UnknownVariant: an enum tag this protocol version does not define.
	UnknownVariant
	// InvalidUtf8: a string that is not UTF-8.
	InvalidUtf8
	// InvalidOptionTag: an option tag that is neither 0 nor 1.
	InvalidOptionTag
	// InvalidVarint: a varint too long for its type, or overflowing it.
	InvalidVarint
	// MessageTooLarge: a message would exceed the frame limit (when encoding).
	MessageTooLarge
)

var kindNames = [...]string{
	FrameTooLarge:    "FrameTooLarge",
	Truncated:        "Truncated",
	UnexpectedEnd:    "UnexpectedEnd",
	TrailingBytes:    "TrailingBytes",
	UnknownVariant:   "UnknownVariant",
	InvalidUtf8:      "InvalidUtf8",
	InvalidOptionTag: "InvalidOptionTag",
	InvalidVarint:    "InvalidVarint",
	MessageTooLarge:  "MessageTooLarge",
}

var kindMessages = [...]string{
	FrameTooLarge:    "frame length exceeds the limit",
	Truncated:        "stream ended inside a frame",
	UnexpectedEnd:    "frame ended before the message did",
	TrailingBytes:    "bytes left in the frame after the message",
	UnknownVariant:   "unknown enum variant for this protocol version",
	InvalidUtf8:      "string is not valid UTF-8",
	InvalidOptionTag: "option tag is neither 0 nor 1",
	InvalidVarint:    "varint is too long or overflows its type",
	MessageTooLarge:  "message would exceed the frame limit",
}

// String is the vectors' name of the kind, e.g. "InvalidVarint".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Error says what is wrong, never quoting the bytes.
func (k Kind) Error() string {
	if int(k) < len(kindMessages) && kindMessages[k] != "" {
		return "ax-secrets wire: " + kindMessages[k]
	}
	return "ax-secrets wire: malformed message"
}
