// Package template is the {{secrets.NAME}} template language of PROTOCOL.md §8.3, rendered
// as the sidecar renders it, for the mock.
//
// A reference is "{{", optional whitespace (space, tab, CR, LF), "secrets.", a valid name,
// optional whitespace, "}}". Anything else is literal text; there is no escape syntax. At each
// "{{" that does not start a reference, the first "{" is text and scanning goes on at the next
// byte, so "{{{secrets.A}}}" is "{", a reference, "}". Rendering is one pass: a value holding
// "{{secrets.X}}" is inserted as it is, never expanded.
package template

import (
	"strings"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/names"
)

// Segment is a piece of a template: literal Text, or a reference to Name written as Raw.
type Segment struct {
	Text string // literal text, when Name is ""
	Name string // the referenced name (always valid), for a reference
	Raw  string // the whole reference as written, braces included
}

// IsReference reports whether the segment is a reference.
func (s Segment) IsReference() bool { return s.Name != "" }

const keyword = "secrets."

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// reference parses a reference at the start of s (which starts with "{{"): the name, and the
// length of the whole reference, or ok false.
func reference(s string) (name string, length int, ok bool) {
	i := 2
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if !strings.HasPrefix(s[i:], keyword) {
		return "", 0, false
	}
	i += len(keyword)
	start := i
	if i >= len(s) || !names.IsLetter(s[i]) {
		return "", 0, false
	}
	for i < len(s) && names.IsNameByte(s[i]) {
		i++
	}
	if i-start > names.MaxLen {
		return "", 0, false
	}
	end := i
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if !strings.HasPrefix(s[i:], "}}") {
		return "", 0, false
	}
	return s[start:end], i + 2, true
}

// Segments splits template into text and references, in order, adjacent text joined.
func Segments(template string) []Segment {
	var out []Segment
	textStart, search := 0, 0
	for {
		offset := strings.Index(template[search:], "{{")
		if offset < 0 {
			break
		}
		at := search + offset
		name, length, ok := reference(template[at:])
		if !ok {
			search = at + 1
			continue
		}
		if at > textStart {
			out = append(out, Segment{Text: template[textStart:at]})
		}
		out = append(out, Segment{Name: name, Raw: template[at : at+length]})
		textStart = at + length
		search = textStart
	}
	if textStart < len(template) {
		out = append(out, Segment{Text: template[textStart:]})
	}
	return out
}

// Render renders template, resolving each name with lookup. It returns the text and the
// names lookup did not know, each once, in order of first appearance; a reference to a
// missing name stays exactly as written. missing is never nil.
func Render(template string, lookup func(name string) (string, bool)) (text string, missing []string) {
	var b strings.Builder
	b.Grow(len(template))
	missing = []string{}
	for _, s := range Segments(template) {
		if !s.IsReference() {
			b.WriteString(s.Text)
			continue
		}
		if value, ok := lookup(s.Name); ok {
			b.WriteString(value)
			continue
		}
		b.WriteString(s.Raw)
		if !contains(missing, s.Name) {
			missing = append(missing, s.Name)
		}
	}
	return b.String(), missing
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
