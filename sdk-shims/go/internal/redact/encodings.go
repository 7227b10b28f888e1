package redact

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Forms returns every form of value that is redacted (PROTOCOL.md §8.4), in the order the
// sidecar computes them, duplicates included: the value itself; base64 and base64url, padded
// and unpadded; JSON-string escaped with non-ASCII kept and with it as \uXXXX; percent-encoded.
func Forms(value string) [8]string {
	data := []byte(value)
	return [8]string{
		value,
		base64.StdEncoding.EncodeToString(data),
		base64.RawStdEncoding.EncodeToString(data),
		base64.URLEncoding.EncodeToString(data),
		base64.RawURLEncoding.EncodeToString(data),
		JSONEscaped(value, false),
		JSONEscaped(value, true),
		PercentEncoded(data),
	}
}

// JSONEscaped is value as it appears between the quotes of a JSON string: " and \ escaped,
// control characters below U+0020 as \n, \t, \r, \b, \f or \u00xx; with asciiOnly, every
// non-ASCII character as \uxxxx (lower-case hex, a surrogate pair above U+FFFF). DEL stays.
func JSONEscaped(value string, asciiOnly bool) string {
	var b strings.Builder
	b.Grow(len(value) + 2)
	for _, r := range value {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		case asciiOnly && r > 0x7f:
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PercentEncoded is RFC 3986 percent-encoding: every byte outside A-Z a-z 0-9 - . _ ~ as
// %XX, upper-case.
func PercentEncoded(data []byte) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(data))
	for _, c := range data {
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
