// Package redact is the redaction engine of the mock, matching the sidecar's (PROTOCOL.md
// §8.4): every form of every non-empty value is matched at once, leftmost-longest, without
// overlaps, and each match is replaced by ***.
//
// Matching bytes of UTF-8 text finds the same matches as the sidecar's: a valid UTF-8
// pattern can only match valid UTF-8 text at character boundaries.
package redact

import (
	"sort"
	"strings"

	"github.com/ax-secrets/ax-secrets/sdk-shims/go/internal/wire"
)

// Redactor is the matcher for one fixed map of names to values. It is safe for concurrent
// use once built.
type Redactor struct {
	patterns []string
	owners   [][]string // owners[p]: the names whose value has pattern p as a form, sorted
	// byFirst[b]: the patterns starting with byte b, longest first.
	byFirst [256][]int
}

// New builds the matcher for every non-empty value of secrets.
func New(secrets map[string]string) *Redactor {
	owners := map[string][]string{}
	for name, value := range secrets {
		if len(value) < wire.MinRedactedLen {
			continue
		}
		for _, form := range Forms(value) {
			if !contains(owners[form], name) {
				owners[form] = append(owners[form], name)
			}
		}
	}
	r := &Redactor{}
	for form := range owners {
		r.patterns = append(r.patterns, form)
	}
	// Longest first, so the first pattern that matches at a position is the longest there.
	sort.Slice(r.patterns, func(i, j int) bool {
		a, b := r.patterns[i], r.patterns[j]
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	r.owners = make([][]string, len(r.patterns))
	for p, form := range r.patterns {
		names := owners[form]
		sort.Strings(names)
		r.owners[p] = names
		r.byFirst[form[0]] = append(r.byFirst[form[0]], p)
	}
	return r
}

// Redact returns text with every match replaced by ***, and the names found, each once,
// sorted bytewise (as the sidecar lists them). found is never nil.
func (r *Redactor) Redact(text string) (redacted string, found []string) {
	seen := map[string]bool{}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); {
		p := r.longestAt(text, i)
		if p < 0 {
			i++
			continue
		}
		b.WriteString(text[last:i])
		b.WriteString("***")
		for _, name := range r.owners[p] {
			seen[name] = true
		}
		i += len(r.patterns[p])
		last = i
	}
	found = make([]string, 0, len(seen))
	for name := range seen {
		found = append(found, name)
	}
	sort.Strings(found)
	if last == 0 {
		return text, found
	}
	b.WriteString(text[last:])
	return b.String(), found
}

// longestAt is the longest pattern matching text at i, or -1.
func (r *Redactor) longestAt(text string, i int) int {
	for _, p := range r.byFirst[text[i]] {
		if strings.HasPrefix(text[i:], r.patterns[p]) {
			return p
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
