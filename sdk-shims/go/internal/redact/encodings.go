package redact

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Forms returns every form of value that is redacted (PROTOCOL.md §8.4), in the order the
// sidecar computes them, duplicates included: the value itself; base64 and base64url, padded
// and unpadded; JSON-string escaped with non-ASCII kept and with it as \uXXXX; percent-encoded;
// then what common libraries print (§8.4 items 6 to 11, in that order).
func Forms(value string) [23]string {
	data := []byte(value)
	return [23]string{
		value,
		base64.StdEncoding.EncodeToString(data),
		base64.RawStdEncoding.EncodeToString(data),
		base64.URLEncoding.EncodeToString(data),
		base64.RawURLEncoding.EncodeToString(data),
		JSONEscaped(value, false),
		JSONEscaped(value, true),
		PercentEncoded(data),
		JSONStyled(value, JSONHTMLSafe),
		JSONStyled(value, JSONGson),
		JSONStyled(value, JSONDotNet),
		JSONStyled(value, JSONUpperControls),
		PythonReprStr(value),
		PythonReprBytes(data),
		GoQuoted(value),
		URLEscaped(data, "-_.~", true, false),
		URLEscaped(data, "-_.*", true, false),
		URLEscaped(data, "-_.~/", false, false),
		URLEscaped(data, "-_.~$&+:=@", false, false),
		URLEscaped(data, "-_.!~*'()", false, false),
		URLEscaped(data, "-_.~", false, true),
		URLEscaped(data, "-_.!*()", true, true),
		URLEscaped(data, "-_.!*()", true, false),
	}
}

// The JSON encoders whose output differs from JSONEscaped's (§8.4 item 6).
const (
	// JSONHTMLSafe is Go's json.Marshal: < > & U+2028 U+2029 as \u00xx.
	JSONHTMLSafe = iota
	// JSONGson is Gson's default: as JSONHTMLSafe, plus = and '.
	JSONGson
	// JSONDotNet is System.Text.Json's default: non-ASCII, DEL and " & ' + < > ` as \uXXXX.
	JSONDotNet
	// JSONUpperControls is Jackson's: control characters in upper-case hex.
	JSONUpperControls
)

func writeUnits(b *strings.Builder, r rune, upper bool) {
	units := []rune{r}
	if r > 0xffff {
		hi, lo := utf16.EncodeRune(r)
		units = []rune{hi, lo}
	}
	for _, u := range units {
		if upper {
			fmt.Fprintf(b, `\u%04X`, u)
		} else {
			fmt.Fprintf(b, `\u%04x`, u)
		}
	}
}

// JSONStyled is value between the quotes of a JSON string as the encoder style writes it.
func JSONStyled(value string, style int) string {
	upper := style == JSONDotNet || style == JSONUpperControls
	var b strings.Builder
	for _, r := range value {
		var escaped bool
		switch style {
		case JSONHTMLSafe:
			escaped = strings.ContainsRune("<>&\u2028\u2029", r)
		case JSONGson:
			escaped = strings.ContainsRune("<>&='\u2028\u2029", r)
		case JSONDotNet:
			escaped = r > 0x7f || strings.ContainsRune("\"&'+<>`\x7f", r)
		}
		switch {
		case escaped:
			writeUnits(&b, r, upper)
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
			writeUnits(&b, r, upper)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unprintable: the non-ASCII characters Python's repr and Go's %q escape that §8.4 knows.
func unprintable(r rune) bool {
	return (r >= 0x80 && r <= 0xa0) || r == 0xad || r == 0x2028 || r == 0x2029
}

func pythonQuote(s string) byte {
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		return '"'
	}
	return '\''
}

// PythonReprStr is value between the quotes of Python's repr() of a str (§8.4 item 7).
func PythonReprStr(value string) string {
	quote := rune(pythonQuote(value))
	var b strings.Builder
	for _, r := range value {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == quote:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (unprintable(r) && r < 0x100):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unprintable(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PythonReprBytes is data between the quotes of Python's repr() of bytes (§8.4 item 8).
func PythonReprBytes(data []byte) string {
	quote := pythonQuote(string(data))
	var b strings.Builder
	for _, c := range data {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == quote:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// GoQuoted is value between the quotes of strconv.Quote (§8.4 item 9), with §8.4's set of
// unprintable characters rather than Go's full table.
func GoQuoted(value string) string {
	var b strings.Builder
	for _, r := range value {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\a':
			b.WriteString(`\a`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\v':
			b.WriteString(`\v`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unprintable(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// URLEscaped is percent-encoding keeping ASCII letters, digits and kept; a space as + if plus;
// hex in lower case if lower (§8.4 items 10 and 11).
func URLEscaped(data []byte, kept string, plus, lower bool) string {
	hex := "0123456789ABCDEF"
	if lower {
		hex = "0123456789abcdef"
	}
	var b strings.Builder
	for _, c := range data {
		alnum := (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		switch {
		case alnum || strings.IndexByte(kept, c) >= 0:
			b.WriteByte(c)
		case plus && c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
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
