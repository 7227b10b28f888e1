package wire

import (
	"encoding/binary"
	"unicode/utf8"
)

// AppendRequest appends the postcard body of r (no length prefix).
func AppendRequest(dst []byte, r Request) []byte {
	dst = AppendVarint(dst, uint64(r.ID))
	dst = AppendVarint(dst, uint64(r.Body.RequestTag()))
	switch b := r.Body.(type) {
	case HelloRequest:
		dst = AppendVarint(dst, uint64(b.Version))
		dst = AppendString(dst, b.Client)
		dst = AppendOptionString(dst, b.Token)
	case GetRequest:
		dst = AppendString(dst, b.Name)
	case RenderRequest:
		dst = AppendString(dst, b.Template)
	case RedactRequest:
		dst = AppendString(dst, b.Text)
	case ListRequest, PingRequest:
	}
	return dst
}

// AppendResponse appends the postcard body of r (no length prefix).
func AppendResponse(dst []byte, r Response) []byte {
	dst = AppendVarint(dst, uint64(r.ID))
	dst = AppendVarint(dst, uint64(r.Body.ResponseTag()))
	switch b := r.Body.(type) {
	case HelloResponse:
		dst = AppendVarint(dst, uint64(b.Version))
		dst = AppendString(dst, b.Sidecar)
		dst = AppendString(dst, b.ExecutionID)
	case SecretResponse:
		if b.Found {
			dst = AppendString(append(dst, 1), b.Value)
		} else {
			dst = append(dst, 0)
		}
	case ListResponse:
		dst = AppendVarint(dst, uint64(len(b.Secrets)))
		for _, s := range b.Secrets {
			dst = AppendString(dst, s.Name)
			dst = AppendVarint(dst, uint64(s.Version))
			dst = AppendVarint(dst, s.UpdatedAt)
		}
	case RenderedResponse:
		dst = AppendString(dst, b.Text)
		dst = AppendStrings(dst, b.Missing)
	case RedactedResponse:
		dst = AppendString(dst, b.Text)
		dst = AppendStrings(dst, b.Found)
	case ErrorResponse:
		dst = AppendVarint(dst, uint64(b.Code))
		dst = AppendString(dst, b.Message)
	case PongResponse:
	}
	return dst
}

// Frame prefixes body with its length.
func Frame(body []byte) []byte {
	out := make([]byte, HeaderLen, HeaderLen+len(body))
	binary.BigEndian.PutUint32(out, uint32(len(body)))
	return append(out, body...)
}

// AppendGetFrame appends the whole frame of Get(name) with the given id: the per-call path
// of a client's get, with no allocation when dst has room.
func AppendGetFrame(dst []byte, id uint32, name string) []byte {
	bodyLen := VarintLen(uint64(id)) + 1 + VarintLen(uint64(len(name))) + len(name)
	dst = binary.BigEndian.AppendUint32(dst, uint32(bodyLen))
	dst = AppendVarint(dst, uint64(id))
	dst = append(dst, byte(TagGet))
	return AppendString(dst, name)
}

// TextBodyLen is the body length of a Render or Redact request carrying text of n bytes.
func TextBodyLen(id uint32, n int) int {
	return VarintLen(uint64(id)) + 1 + VarintLen(uint64(n)) + n
}

// AppendTextFrame appends the whole frame of Render (tag TagRender) or Redact (TagRedact)
// with the given id and text. The caller checks TextBodyLen against the request limit.
func AppendTextFrame(dst []byte, tag uint32, id uint32, text string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(TextBodyLen(id, len(text))))
	dst = AppendVarint(dst, uint64(id))
	dst = append(dst, byte(tag))
	return AppendString(dst, text)
}

// AppendRequestFrame appends the whole frame of r: its length prefix and body.
func AppendRequestFrame(dst []byte, r Request) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = AppendRequest(dst, r)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-HeaderLen))
	return dst
}

// FirstInvalidUTF8 is the byte offset of the first byte of s that is not valid UTF-8, or -1.
func FirstInvalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(s)
}
