package esdsl

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/translators/ast"
)

// maxJSONDepth bounds the nesting of JSON arrays and objects. A bool clause
// costs up to four JSON levels ({"bool":{"must":[{...}]}}), so this leaves
// room for ast.MaxDepth query levels plus a wrapper or a filter pill; the
// query walk enforces ast.MaxDepth itself.
const maxJSONDepth = 4*ast.MaxDepth + 16

// kind is the JSON type of a value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// article returns the type with its article, for messages such as
// "expected an object, found a string".
func (k kind) article() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	}
	return "an object"
}

// value is a decoded JSON value that remembers where it sits in the input.
type value struct {
	kind kind
	// start and end delimit the value's text in the input.
	start, end int
	// text is the decoded string, the number's literal, or "true"/"false".
	text    string
	members []member // object members in input order
	elems   []*value // array elements
}

// member is one key of an object.
type member struct {
	key      string
	keyStart int
	val      *value
}

// field returns the value of key, or nil.
func (v *value) field(key string) *value {
	for _, m := range v.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// scalar reports whether the value is a string, number or boolean.
func (v *value) scalar() bool {
	return v.kind == kindString || v.kind == kindNumber || v.kind == kindBool
}

// pathSeg is one step of the JSON path kept while scanning, so a syntax
// error can name where it happened.
type pathSeg struct {
	key   string
	index int // -1 for an object key
}

// scanner decodes JSON into values with offsets. It rejects invalid UTF-8
// in strings, duplicate object keys and nesting deeper than maxJSONDepth.
type scanner struct {
	src  []byte
	pos  int
	path []pathSeg
}

// decodeJSON decodes exactly one JSON value from src.
func decodeJSON(src []byte) (*value, error) {
	s := &scanner{src: src}
	s.skipSpace()
	v, err := s.value()
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.pos < len(s.src) {
		return nil, s.errorf(s.pos, "unexpected %s after the JSON value; remove it", s.describe())
	}
	return v, nil
}

func (s *scanner) errorf(offset int, format string, args ...any) *ast.SyntaxError {
	msg := "invalid JSON: " + format
	if p := s.pathString(); p != "" {
		msg = p + ": " + msg
	}
	return ast.NewSyntaxError(ast.ESDSL, string(s.src), offset, msg, args...)
}

func (s *scanner) pathString() string {
	var b strings.Builder
	for _, seg := range s.path {
		if seg.index >= 0 {
			b.WriteString("[" + strconv.Itoa(seg.index) + "]")
			continue
		}
		appendKey(&b, seg.key)
	}
	return b.String()
}

// describe names the byte at the current position for an error message.
func (s *scanner) describe() string {
	if s.pos >= len(s.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(s.src[s.pos:])
	return strconv.QuoteRune(r)
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) value() (*value, error) {
	if s.pos >= len(s.src) {
		return nil, s.errorf(s.pos, "unexpected end of input, expected a value")
	}
	switch c := s.src[s.pos]; {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		start := s.pos
		text, err := s.str()
		if err != nil {
			return nil, err
		}
		return &value{kind: kindString, start: start, end: s.pos, text: text}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true", kindBool)
	case c == 'f':
		return s.literal("false", kindBool)
	case c == 'n':
		return s.literal("null", kindNull)
	}
	return nil, s.unexpected("a value")
}

// unexpected reports the byte at the current position; a byte that is not
// valid UTF-8 is reported as such.
func (s *scanner) unexpected(expected string) error {
	if r, size := utf8.DecodeRune(s.src[s.pos:]); r == utf8.RuneError && size <= 1 {
		e := s.errorf(s.pos, "invalid UTF-8 byte 0x%02x", s.src[s.pos])
		e.Err = ast.ErrInvalidUTF8
		return e
	}
	return s.errorf(s.pos, "unexpected %s, expected %s", s.describe(), expected)
}

func (s *scanner) enter(start int) error {
	if len(s.path) >= maxJSONDepth {
		e := s.errorf(start, "arrays and objects nested deeper than %d levels", maxJSONDepth)
		e.Err = ast.ErrTooDeep
		return e
	}
	return nil
}

func (s *scanner) object() (*value, error) {
	v := &value{kind: kindObject, start: s.pos}
	if err := s.enter(s.pos); err != nil {
		return nil, err
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.src) && s.src[s.pos] == '}' {
		s.pos++
		v.end = s.pos
		return v, nil
	}
	var keys keySet
	for {
		m, err := s.member(v, &keys)
		if err != nil {
			return nil, err
		}
		v.members = append(v.members, m)
		s.skipSpace()
		if s.pos >= len(s.src) {
			return nil, s.errorf(s.pos, "unexpected end of input, expected ',' or '}'")
		}
		if s.src[s.pos] == '}' {
			s.pos++
			v.end = s.pos
			return v, nil
		}
		if s.src[s.pos] != ',' {
			return nil, s.unexpected("',' or '}'")
		}
		s.pos++
		s.skipSpace()
	}
}

// keySet finds duplicate keys: by a scan while an object is small, and
// through a map once it is large, so that wide objects stay linear.
type keySet struct{ large map[string]bool }

// has reports whether obj already has key, and records key otherwise.
func (k *keySet) has(obj *value, key string) bool {
	const scanLimit = 16
	if k.large == nil && len(obj.members) < scanLimit {
		return obj.field(key) != nil
	}
	if k.large == nil {
		k.large = make(map[string]bool, 2*len(obj.members))
		for _, m := range obj.members {
			k.large[m.key] = true
		}
	}
	if k.large[key] {
		return true
	}
	k.large[key] = true
	return false
}

// member scans `"key": value` and checks the key is new in obj.
func (s *scanner) member(obj *value, keys *keySet) (member, error) {
	if s.pos >= len(s.src) {
		return member{}, s.errorf(s.pos, "unexpected end of input, expected an object key")
	}
	if s.src[s.pos] != '"' {
		return member{}, s.unexpected("an object key in double quotes")
	}
	keyStart := s.pos
	key, err := s.str()
	if err != nil {
		return member{}, err
	}
	if keys.has(obj, key) {
		return member{}, s.errorf(keyStart, "duplicate key %q; keep one of them", key)
	}

	s.skipSpace()
	if s.pos >= len(s.src) {
		return member{}, s.errorf(s.pos, "unexpected end of input, expected ':'")
	}
	if s.src[s.pos] != ':' {
		return member{}, s.unexpected("':'")
	}
	s.pos++
	s.skipSpace()
	s.path = append(s.path, pathSeg{key: key, index: -1})
	val, err := s.value()
	s.path = s.path[:len(s.path)-1]
	if err != nil {
		return member{}, err
	}
	return member{key: key, keyStart: keyStart, val: val}, nil
}

func (s *scanner) array() (*value, error) {
	v := &value{kind: kindArray, start: s.pos}
	if err := s.enter(s.pos); err != nil {
		return nil, err
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.src) && s.src[s.pos] == ']' {
		s.pos++
		v.end = s.pos
		return v, nil
	}
	for {
		s.path = append(s.path, pathSeg{index: len(v.elems)})
		elem, err := s.value()
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, elem)
		s.skipSpace()
		if s.pos >= len(s.src) {
			return nil, s.errorf(s.pos, "unexpected end of input, expected ',' or ']'")
		}
		if s.src[s.pos] == ']' {
			s.pos++
			v.end = s.pos
			return v, nil
		}
		if s.src[s.pos] != ',' {
			return nil, s.unexpected("',' or ']'")
		}
		s.pos++
		s.skipSpace()
	}
}

func (s *scanner) literal(word string, k kind) (*value, error) {
	start := s.pos
	end := start + len(word)
	if end > len(s.src) || string(s.src[start:end]) != word {
		return nil, s.unexpected("a value")
	}
	s.pos = end
	v := &value{kind: k, start: start, end: end}
	if k == kindBool {
		v.text = word
	}
	return v, nil
}

func (s *scanner) number() (*value, error) {
	start := s.pos
	if s.src[s.pos] == '-' {
		s.pos++
	}
	if s.pos < len(s.src) && s.src[s.pos] == '0' {
		s.pos++
	} else if !s.digits() {
		return nil, s.badNumber()
	}
	if s.pos < len(s.src) && s.src[s.pos] == '.' {
		s.pos++
		if !s.digits() {
			return nil, s.badNumber()
		}
	}
	if s.pos < len(s.src) && (s.src[s.pos] == 'e' || s.src[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.src) && (s.src[s.pos] == '+' || s.src[s.pos] == '-') {
			s.pos++
		}
		if !s.digits() {
			return nil, s.badNumber()
		}
	}
	return &value{kind: kindNumber, start: start, end: s.pos, text: string(s.src[start:s.pos])}, nil
}

func (s *scanner) badNumber() error {
	if s.pos >= len(s.src) {
		return s.errorf(s.pos, "unexpected end of input inside a number")
	}
	return s.unexpected("a digit")
}

// digits consumes one or more ASCII digits and reports whether there was one.
func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

// str scans a string literal starting at the opening quote and returns it
// decoded. Like encoding/json, an unpaired surrogate escape becomes U+FFFD.
func (s *scanner) str() (string, error) {
	s.pos++
	var b []byte
	runStart := s.pos
	for {
		if s.pos >= len(s.src) {
			return "", s.errorf(s.pos, "unexpected end of input inside a string")
		}
		c := s.src[s.pos]
		switch {
		case c == '"':
			out := string(s.src[runStart:s.pos])
			if b != nil {
				out = string(append(b, s.src[runStart:s.pos]...))
			}
			s.pos++
			return out, nil
		case c == '\\':
			b = append(b, s.src[runStart:s.pos]...)
			var err error
			if b, err = s.escape(b); err != nil {
				return "", err
			}
			runStart = s.pos
		case c < 0x20:
			return "", s.errorf(s.pos, "control character 0x%02x inside a string; escape it", c)
		case c < utf8.RuneSelf:
			s.pos++
		default:
			r, size := utf8.DecodeRune(s.src[s.pos:])
			if r == utf8.RuneError && size <= 1 {
				e := s.errorf(s.pos, "invalid UTF-8 byte 0x%02x inside a string", c)
				e.Err = ast.ErrInvalidUTF8
				return "", e
			}
			s.pos += size
		}
	}
}

// escape decodes the escape sequence at the backslash under the cursor and
// appends it to b.
func (s *scanner) escape(b []byte) ([]byte, error) {
	start := s.pos
	s.pos++
	if s.pos >= len(s.src) {
		return nil, s.errorf(s.pos, "unexpected end of input inside a string")
	}
	c := s.src[s.pos]
	s.pos++
	switch c {
	case '"', '\\', '/':
		return append(b, c), nil
	case 'b':
		return append(b, '\b'), nil
	case 'f':
		return append(b, '\f'), nil
	case 'n':
		return append(b, '\n'), nil
	case 'r':
		return append(b, '\r'), nil
	case 't':
		return append(b, '\t'), nil
	case 'u':
		r, err := s.hex4(start)
		if err != nil {
			return nil, err
		}
		if utf16.IsSurrogate(r) {
			r = s.lowSurrogate(r)
		}
		return utf8.AppendRune(b, r), nil
	}
	s.pos--
	return nil, s.errorf(start, "invalid escape sequence \\%s inside a string", s.describe())
}

// hex4 reads the four hex digits of a \u escape that began at start.
func (s *scanner) hex4(start int) (rune, error) {
	if s.pos+4 > len(s.src) {
		return 0, s.errorf(start, "truncated \\u escape inside a string")
	}
	n, err := strconv.ParseUint(string(s.src[s.pos:s.pos+4]), 16, 16)
	if err != nil {
		return 0, s.errorf(start, "invalid \\u escape %q inside a string", s.src[start:s.pos+4])
	}
	s.pos += 4
	return rune(n), nil
}

// lowSurrogate combines a high surrogate with a following \uDC00-\uDFFF
// escape, or returns U+FFFD and leaves the input alone.
func (s *scanner) lowSurrogate(high rune) rune {
	rest := s.src[s.pos:]
	if len(rest) < 6 || rest[0] != '\\' || rest[1] != 'u' {
		return utf8.RuneError
	}
	n, err := strconv.ParseUint(string(rest[2:6]), 16, 16)
	if err != nil {
		return utf8.RuneError
	}
	r := utf16.DecodeRune(high, rune(n))
	if r == utf8.RuneError {
		return utf8.RuneError
	}
	s.pos += 6
	return r
}

// appendKey appends one object key to a JSON path: `.key`, or `["key"]`
// when the key holds characters that would make the path ambiguous.
func appendKey(b *strings.Builder, key string) {
	plain := key != ""
	for _, r := range key {
		if r == '[' || r == ']' || r == '"' || r == ' ' || r < 0x20 {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		b.WriteString("[" + strconv.Quote(key) + "]")
	case b.Len() == 0:
		b.WriteString(key)
	default:
		b.WriteString("." + key)
	}
}

// joinKey returns path extended by an object key.
func joinKey(path, key string) string {
	var b strings.Builder
	b.WriteString(path)
	appendKey(&b, key)
	return b.String()
}

// joinIndex returns path extended by an array index.
func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
