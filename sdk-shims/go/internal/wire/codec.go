package wire

import "unicode/utf8"

// The postcard primitives of PROTOCOL.md §4. Integers are unsigned LEB128 varints, least
// significant group first; strings are a varint byte length and UTF-8; Option is a 00/01 tag;
// enums are a varint tag then their fields; sequences a varint count then their elements.
// Decoders accept non-canonical (over-long) varints within the type's width; encoders write
// the shortest form.

// AppendVarint appends the shortest unsigned LEB128 encoding of v.
func AppendVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// VarintLen is the length of the shortest encoding of v.
func VarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// AppendString appends s as a varint length and its bytes.
func AppendString(dst []byte, s string) []byte {
	dst = AppendVarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendOptionString appends None (when s is nil) or Some(*s).
func AppendOptionString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, 0)
	}
	return AppendString(append(dst, 1), *s)
}

// AppendStrings appends a sequence of strings.
func AppendStrings(dst []byte, ss []string) []byte {
	dst = AppendVarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = AppendString(dst, s)
	}
	return dst
}

// Reader is a cursor over one frame body. Every read checks the bytes left before using
// them, and nothing is allocated for a length or count before its bytes are present.
type Reader struct {
	data []byte
	pos  int
}

// NewReader reads data from its start.
func NewReader(data []byte) *Reader { return &Reader{data: data} }

// Varint reads an unsigned varint of a type of bits bits (16, 32 or 64).
func (r *Reader) Varint(bits uint) (uint64, error) {
	data, pos := r.data, r.pos
	if pos < len(data) && data[pos] < 0x80 { // the common one-byte case
		r.pos = pos + 1
		return uint64(data[pos]), nil
	}
	last := int((bits+6)/7) - 1
	var v uint64
	for i := 0; i <= last; i++ {
		if pos >= len(data) {
			return 0, UnexpectedEnd
		}
		b := data[pos]
		pos++
		v |= uint64(b&0x7f) << (7 * uint(i))
		if b < 0x80 {
			if i == last && uint64(b) > (uint64(1)<<(bits-7*uint(i)))-1 {
				return 0, InvalidVarint
			}
			r.pos = pos
			return v, nil
		}
	}
	return 0, InvalidVarint
}

// U16 reads a u16 varint.
func (r *Reader) U16() (uint16, error) {
	v, err := r.Varint(16)
	return uint16(v), err
}

// U32 reads a u32 varint.
func (r *Reader) U32() (uint32, error) {
	v, err := r.Varint(32)
	return uint32(v), err
}

// U64 reads a u64 varint.
func (r *Reader) U64() (uint64, error) { return r.Varint(64) }

// Tag reads an enum tag, refusing any at or above count.
func (r *Reader) Tag(count uint32) (uint32, error) {
	t, err := r.U32()
	if err != nil {
		return 0, err
	}
	if t >= count {
		return 0, UnknownVariant
	}
	return t, nil
}

// Bytes reads a string's bytes without copying or checking them; the slice aliases the body.
func (r *Reader) Bytes() ([]byte, error) {
	n, err := r.U64()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.data)-r.pos) {
		return nil, UnexpectedEnd
	}
	start := r.pos
	r.pos += int(n)
	return r.data[start:r.pos:r.pos], nil
}

// String reads a UTF-8 string (a copy: the body may be reused).
func (r *Reader) String() (string, error) {
	b, err := r.Bytes()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", InvalidUtf8
	}
	return string(b), nil
}

// OptionString reads an Option<String>: found is false for None.
func (r *Reader) OptionString() (s string, found bool, err error) {
	if r.pos >= len(r.data) {
		return "", false, UnexpectedEnd
	}
	flag := r.data[r.pos]
	r.pos++
	switch flag {
	case 0:
		return "", false, nil
	case 1:
		s, err = r.String()
		return s, err == nil, err
	default:
		return "", false, InvalidOptionTag
	}
}

// Count reads a sequence's element count, and a capacity safe to reserve for it: every
// element takes at least one byte, so no more than the bytes left.
func (r *Reader) Count() (n uint64, capacity int, err error) {
	n, err = r.U64()
	if err != nil {
		return 0, 0, err
	}
	left := uint64(len(r.data) - r.pos)
	return n, int(min(n, left)), nil
}

// Strings reads a sequence of strings.
func (r *Reader) Strings() ([]string, error) {
	n, capacity, err := r.Count()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, capacity)
	for i := uint64(0); i < n; i++ {
		s, err := r.String()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Finish requires that every byte was read.
func (r *Reader) Finish() error {
	if r.pos != len(r.data) {
		return TrailingBytes
	}
	return nil
}
