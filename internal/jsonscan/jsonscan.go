// Package jsonscan is a small strict JSON scanner, stricter than
// encoding/json. encoding/json accepts duplicate member names (the last one
// wins) and replaces invalid UTF-8, so two readers of the same token could
// disagree on its claims; this scanner rejects such input instead, as well
// as trailing data and nesting deeper than [MaxDepth]. Its work is bounded
// by the input's length. It never allocates for well-formed input without
// escapes, except for objects with more than 32 members.
//
// It knows nothing of JWTs: the caller interprets the values it hands out.
package jsonscan

import (
	"encoding/binary"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the type of a JSON value.
type Kind uint8

// JSON value kinds.
const (
	KindString Kind = iota + 1
	KindNumber
	KindObject
	KindArray
	KindTrue
	KindFalse
	KindNull
)

// MaxDepth is the deepest nesting of objects and arrays accepted; the
// outermost value has depth 1.
const MaxDepth = 32

// Value is one scanned and fully validated JSON value.
type Value struct {
	// Kind is the value's type.
	Kind Kind
	// Raw holds the value's bytes as written; a string keeps its quotes.
	Raw []byte
	// Off is the offset of Raw in the input given to Object, ObjectNested
	// or Array.
	Off int
	// Escaped reports, for a string, that it holds backslash escapes, so
	// Raw[1:len(Raw)-1] is not its value.
	Escaped bool
}

// Text returns the value of a JSON string, and false for any other kind.
// It allocates.
func (v Value) Text() (string, bool) {
	if v.Kind != KindString {
		return "", false
	}
	body := v.Raw[1 : len(v.Raw)-1]
	if v.Escaped {
		return string(Unescape(body)), true
	}
	return string(body), true
}

// SyntaxError reports malformed JSON. It holds an offset and a fixed
// description, never input bytes.
type SyntaxError struct {
	off int
	msg string
}

// Error returns "invalid JSON at offset N: <description>".
func (e *SyntaxError) Error() string {
	return "invalid JSON at offset " + strconv.Itoa(e.off) + ": " + e.msg
}

// Object checks that data is exactly one JSON object (surrounding
// whitespace allowed, nothing else) and calls fn for each member in order,
// with the member name unescaped and the value already validated. It rejects
// trailing data, invalid UTF-8 and lone surrogates in strings, control
// characters in strings, nesting deeper than MaxDepth, and duplicate
// member names in any object (compared after unescaping). A malformed input
// gives a *SyntaxError; an error from fn stops the scan and is returned
// as is. Offsets in the values are relative to data. fn must not retain key,
// which may alias data.
//
// For example:
//
//	err := Object(header, func(key []byte, v Value) error {
//		switch string(key) {
//		case "alg":
//			alg, ok = v.Text()
//		}
//		return nil
//	})
func Object(data []byte, fn func(key []byte, v Value) error) error {
	return ObjectNested(data, fn, nil, nil)
}

// ObjectNested is Object that also decodes chosen nested objects in
// the same pass: the members of a top-level member whose name is in into and
// whose value is an object go to nested, with the name of that top-level
// member as parent and offsets relative to data, before fn sees the whole
// object.
func ObjectNested(data []byte, fn func(key []byte, v Value) error, into []string, nested func(parent, key []byte, v Value) error) error {
	s := jsonScanner{data: data}
	s.skipSpace()
	if s.peek() != '{' {
		return s.fail("expected an object")
	}
	if err := s.object(1, fn, into, nested); err != nil {
		return err
	}
	return s.end()
}

// Array is Object for a JSON array: fn is called for each element.
func Array(data []byte, fn func(v Value) error) error {
	s := jsonScanner{data: data}
	s.skipSpace()
	if s.peek() != '[' {
		return s.fail("expected an array")
	}
	if err := s.array(1, fn); err != nil {
		return err
	}
	return s.end()
}

// jsonScanner is a cursor over a JSON text.
type jsonScanner struct {
	data []byte
	pos  int
}

func (s *jsonScanner) fail(msg string) error { return &SyntaxError{off: s.pos, msg: msg} }

// peek returns the byte at the cursor, or 0 at the end of the input.
func (s *jsonScanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// end checks that only whitespace is left.
func (s *jsonScanner) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.fail("trailing data after the value")
	}
	return nil
}

// value scans the value at the cursor, which is nested at depth, into v.
func (s *jsonScanner) value(depth int, v *Value) error {
	start := s.pos
	var err error
	switch c := s.peek(); {
	case c == '"':
		v.Kind = KindString
		v.Escaped, err = s.str()
	case c == '{':
		v.Kind, v.Escaped = KindObject, false
		err = s.object(depth+1, nil, nil, nil)
	case c == '[':
		v.Kind, v.Escaped = KindArray, false
		err = s.array(depth+1, nil)
	case c == '-' || isDigit(c):
		v.Kind, v.Escaped = KindNumber, false
		err = s.number()
	case c == 't':
		v.Kind, v.Escaped, err = KindTrue, false, s.literal("true")
	case c == 'f':
		v.Kind, v.Escaped, err = KindFalse, false, s.literal("false")
	case c == 'n':
		v.Kind, v.Escaped, err = KindNull, false, s.literal("null")
	default:
		err = s.fail("expected a value")
	}
	v.Off, v.Raw = start, s.data[start:s.pos]
	return err
}

// object scans the object at the cursor; fn may be nil. The members of
// members named in into go to nested (see ObjectNested).
func (s *jsonScanner) object(depth int, fn func(key []byte, v Value) error,
	into []string, nested func(parent, key []byte, v Value) error) error {
	if depth > MaxDepth {
		return s.fail("nesting too deep")
	}
	s.pos++ // '{'
	s.skipSpace()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	keys := keySet{data: s.data}
	for {
		key, err := s.memberName(&keys)
		if err != nil {
			return err
		}
		var v Value
		if err := s.memberValue(depth, key, &v, into, nested); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(key, v); err != nil {
				return err
			}
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

// memberValue scans a member's value, descending into it if into names
// it.
func (s *jsonScanner) memberValue(depth int, key []byte, v *Value,
	into []string, nested func(parent, key []byte, v Value) error) error {
	if len(into) > 0 && s.peek() == '{' && contains(into, key) {
		start := s.pos
		err := s.object(depth+1, func(k []byte, m Value) error { return nested(key, k, m) }, nil, nil)
		*v = Value{Kind: KindObject, Off: start, Raw: s.data[start:s.pos]}
		return err
	}
	return s.value(depth, v)
}

func contains(names []string, key []byte) bool {
	for _, n := range names {
		if n == string(key) {
			return true
		}
	}
	return false
}

// memberName scans a member name, the colon and the whitespace after it, and
// records the name in keys.
func (s *jsonScanner) memberName(keys *keySet) ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("expected a member name")
	}
	start := s.pos
	escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	key := s.data[start+1 : s.pos-1]
	if escaped {
		key = Unescape(key)
	}
	if !keys.add(key, !escaped, start+1) {
		s.pos = start
		return nil, s.fail("duplicate member name")
	}
	if s.pos+1 < len(s.data) && s.data[s.pos] == ':' && s.data[s.pos+1] > ' ' {
		s.pos++ // compact JSON: a colon and the value
		return key, nil
	}
	s.skipSpace()
	if s.peek() != ':' {
		return nil, s.fail("expected ':'")
	}
	s.pos++
	s.skipSpace()
	return key, nil
}

// next consumes the separator after a member or element: it reports done at
// the closing byte.
func (s *jsonScanner) next(closing byte) (done bool, err error) {
	if s.pos+1 < len(s.data) && s.data[s.pos] == ',' && s.data[s.pos+1] > ' ' {
		s.pos++ // compact JSON: a comma and the next member or element
		return false, nil
	}
	s.skipSpace()
	switch s.peek() {
	case ',':
		s.pos++
		s.skipSpace()
		return false, nil
	case closing:
		s.pos++
		return true, nil
	}
	return true, s.fail("expected ',' or '" + string(closing) + "'")
}

// array scans the array at the cursor; fn may be nil.
func (s *jsonScanner) array(depth int, fn func(v Value) error) error {
	if depth > MaxDepth {
		return s.fail("nesting too deep")
	}
	s.pos++ // '['
	s.skipSpace()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		var v Value
		if err := s.value(depth, &v); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(v); err != nil {
				return err
			}
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// str scans the string at the cursor and reports whether it holds escapes.
func (s *jsonScanner) str() (escaped bool, err error) {
	d, i := s.data, s.pos+1
	for {
		i = skipPlain(d, i)
		if i >= len(d) {
			s.pos = i
			return false, s.fail("unterminated string")
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			s.pos = i
			if err := s.escape(); err != nil {
				return false, err
			}
			i = s.pos
		case c < 0x20:
			s.pos = i
			return false, s.fail("control character in string")
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				s.pos = i
				return false, s.fail("invalid UTF-8 in string")
			}
			i += size
		}
	}
}

// skipPlain returns the index of the first byte at or after i that needs a
// closer look inside a string: a quote, a backslash, a control character
// or a non-ASCII byte. It tests eight bytes at a time.
func skipPlain(d []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		// Each term flags (with possible false positives, never false
		// negatives) a byte < 0x20, a quote, a backslash, a byte >= 0x80.
		if ((x-ones*0x20)|(quote-ones)|(backslash-ones)|x)&highs != 0 {
			break
		}
	}
	for i < len(d) {
		if c := d[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return i
		}
		i++
	}
	return i
}

// escape scans the escape sequence at the cursor (a backslash).
func (s *jsonScanner) escape() error {
	s.pos++
	switch s.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return nil
	case 'u':
	default:
		return s.fail("invalid escape")
	}
	r, ok := hex4(s.data, s.pos+1)
	if !ok {
		return s.fail("invalid \\u escape")
	}
	s.pos += 5
	if !utf16.IsSurrogate(r) {
		return nil
	}
	if r >= 0xDC00 || s.peek() != '\\' || s.pos+1 >= len(s.data) || s.data[s.pos+1] != 'u' {
		return s.fail("lone surrogate")
	}
	if r2, ok := hex4(s.data, s.pos+2); !ok || r2 < 0xDC00 || r2 > 0xDFFF {
		return s.fail("lone surrogate")
	}
	s.pos += 6
	return nil
}

// number scans the number at the cursor, following RFC 8259's grammar.
func (s *jsonScanner) number() error {
	d, i := s.data, s.pos
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && isDigit(d[i]):
		i = skipDigits(d, i)
	default:
		s.pos = i
		return s.fail("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		if i++; i >= len(d) || !isDigit(d[i]) {
			s.pos = i
			return s.fail("invalid number")
		}
		i = skipDigits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		if i++; i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || !isDigit(d[i]) {
			s.pos = i
			return s.fail("invalid number")
		}
		i = skipDigits(d, i)
	}
	s.pos = i
	return nil
}

func (s *jsonScanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.pos += len(word)
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(d []byte, i int) int {
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	return i
}

// hex4 decodes the four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case isDigit(c):
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Unescape returns the value of a string body that the scanner has
// validated (quotes excluded).
func Unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			out = append(out, b[i])
			i++
			continue
		}
		switch c := b[i+1]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hex4(b, i+2)
			i += 6
			if utf16.IsSurrogate(r) {
				r2, _ := hex4(b, i+2)
				r = utf16.DecodeRune(r, r2)
				i += 6
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, c)
		}
		i += 2
	}
	return out
}

// maxInlineKeys is how many member names of one object keySet tracks
// without allocating.
const maxInlineKeys = 32

// keySet detects duplicate member names in one object. Plain (unescaped)
// names are kept as offsets into data with a hash; escaped ones and names
// past maxInlineKeys go to a map. A 64-bit filter of the hashes skips the
// search for most new names, and the stored hashes skip most comparisons.
type keySet struct {
	data   []byte
	filter uint64
	n      int
	inline [maxInlineKeys]struct {
		start, end int32
		hash       uint32
	}
	more map[string]struct{}
}

// add records key and reports false if it was already present. For a plain
// key, start is its offset in data.
func (k *keySet) add(key []byte, plain bool, start int) bool {
	h := keyHash(key)
	bit := uint64(1) << (h >> 26)
	if k.filter&bit != 0 && k.contains(key, h) {
		return false
	}
	k.filter |= bit
	if plain && k.n < maxInlineKeys && start+len(key) <= 1<<31-1 {
		e := &k.inline[k.n]
		e.start, e.end, e.hash = int32(start), int32(start+len(key)), h
		k.n++
		return true
	}
	if k.more == nil {
		k.more = make(map[string]struct{})
	}
	k.more[string(key)] = struct{}{}
	return true
}

func (k *keySet) contains(key []byte, h uint32) bool {
	for _, e := range k.inline[:k.n] {
		if e.hash == h && string(k.data[e.start:e.end]) == string(key) {
			return true
		}
	}
	_, ok := k.more[string(key)]
	return ok
}

// keyHash mixes a name's length and first, middle and last bytes.
func keyHash(key []byte) uint32 {
	if len(key) == 0 {
		return 0
	}
	x := uint32(len(key)) | uint32(key[0])<<8 | uint32(key[len(key)/2])<<16 | uint32(key[len(key)-1])<<24
	return x * 0x9E3779B1
}
