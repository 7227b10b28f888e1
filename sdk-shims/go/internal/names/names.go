// Package names is the secret-name rule of PROTOCOL.md §8.1: ^[A-Za-z][A-Za-z0-9_]{0,127}$,
// case-sensitive. A string that breaks it is "not found" without a round trip: it may be a
// value pasted by mistake, and it never leaves the process.
package names

// MaxLen is the longest name, in bytes.
const MaxLen = 128

// Problem is what is wrong with a name, named as in names.json.
type Problem string

// The problems, checked in this order (as the reference implementation does).
const (
	Empty             Problem = "Empty"
	TooLong           Problem = "TooLong"
	BadFirstCharacter Problem = "BadFirstCharacter"
	BadCharacter      Problem = "BadCharacter"
)

// IsLetter reports whether b is an ASCII letter.
func IsLetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }

// IsNameByte reports whether b may appear in a name after its first byte.
func IsNameByte(b byte) bool { return IsLetter(b) || (b >= '0' && b <= '9') || b == '_' }

// Valid reports whether name is a valid secret name.
func Valid(name string) bool {
	if len(name) == 0 || len(name) > MaxLen || !IsLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !IsNameByte(name[i]) {
			return false
		}
	}
	return true
}

// Check returns what is wrong with name, or "" when it is valid.
func Check(name string) Problem {
	switch {
	case len(name) == 0:
		return Empty
	case len(name) > MaxLen:
		return TooLong
	case !IsLetter(name[0]):
		return BadFirstCharacter
	}
	for i := 1; i < len(name); i++ {
		if !IsNameByte(name[i]) {
			return BadCharacter
		}
	}
	return ""
}
