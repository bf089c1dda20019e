package logmap

import (
	"fmt"
)

// maxDepth bounds the nesting of objects and arrays in a document, so a
// hostile document cannot exhaust the stack.
const maxDepth = 1000

// kind is the JSON type of a captured value.
type kind uint8

const (
	kindNone kind = iota // field not present
	kindString
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

// span is a captured value: source[start:end] is its JSON text, quotes
// included for a string.
type span struct {
	start, end int
	kind       kind
	// escaped is true for a string that contains backslash escapes.
	escaped bool
}

// pathNode is the scanner's entry for a dotted path: the slot of a wanted
// field (or -1), and whether some wanted field lies below it.
type pathNode struct {
	slot   int
	prefix bool
}

// scanner walks one document once. It validates the JSON, records the
// values of the wanted fields, and descends only into objects that lie on
// the path of a wanted field. A field path "a.b.c" matches nested objects,
// literal dotted keys, and any mix of both, as Elasticsearch accepts all of
// them. The first occurrence of a field wins.
type scanner struct {
	src   []byte
	paths map[string]pathNode
	vals  []span
	path  []byte
	key   []byte
	// spaced is true when the document has whitespace outside strings, so
	// it is not in compact form.
	spaced bool
}

// syntaxError is an invalid document: what is wrong and at which byte.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.offset, e.msg)
}

func (s *scanner) fail(i int, format string, args ...any) error {
	return &syntaxError{offset: i, msg: fmt.Sprintf(format, args...)}
}

// scan checks that src is one JSON object and fills s.vals.
func (s *scanner) scan() error {
	i := s.ws(0)
	if i >= len(s.src) {
		return s.fail(i, "the document is empty")
	}
	if s.src[i] != '{' {
		return s.fail(i, "a document must be a JSON object, found %q", s.src[i])
	}
	if i > 0 {
		s.spaced = true
	}
	end, err := s.object(i, 0, 1)
	if err != nil {
		return err
	}
	if j := s.ws(end); j != len(s.src) {
		return s.fail(j, "unexpected data after the document")
	}
	return nil
}

// ws skips whitespace and records that the document has some.
func (s *scanner) ws(i int) int {
	start := i
	for i < len(s.src) {
		switch s.src[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	if i != start {
		s.spaced = true
	}
	return i
}

// object scans the object at src[i] == '{' whose path is s.path[:prefix].
// It returns the index after the closing brace.
func (s *scanner) object(i, prefix, depth int) (int, error) {
	if depth > maxDepth {
		return 0, s.fail(i, "nesting deeper than %d levels", maxDepth)
	}
	i = s.ws(i + 1)
	if i < len(s.src) && s.src[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s.src) || s.src[i] != '"' {
			return 0, s.fail(i, "expected a quoted object key")
		}
		keyEnd, escaped, err := s.str(i)
		if err != nil {
			return 0, err
		}
		node, known := s.lookup(i, keyEnd, prefix, escaped)
		i = s.ws(keyEnd)
		if i >= len(s.src) || s.src[i] != ':' {
			return 0, s.fail(i, "expected ':' after an object key")
		}
		i = s.ws(i + 1)
		if i >= len(s.src) {
			return 0, s.fail(i, "missing value after an object key")
		}
		start := i
		if known && node.prefix && s.src[i] == '{' {
			i, err = s.object(i, len(s.path), depth+1)
		} else {
			i, err = s.value(i, depth)
		}
		if err != nil {
			return 0, err
		}
		if known && node.slot >= 0 && s.vals[node.slot].kind == kindNone {
			s.vals[node.slot] = s.capture(start, i)
		}
		// s.path may have grown while descending; restore this level.
		s.path = s.path[:prefix]
		i = s.ws(i)
		if i >= len(s.src) {
			return 0, s.fail(i, "unterminated object")
		}
		switch s.src[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return 0, s.fail(i, "expected ',' or '}' in an object, found %q", s.src[i])
		}
	}
}

// lookup appends the key src[keyStart+1:keyEnd-1] to the path and returns
// what the resulting path is.
func (s *scanner) lookup(keyStart, keyEnd, prefix int, escaped bool) (pathNode, bool) {
	raw := s.src[keyStart+1 : keyEnd-1]
	if escaped {
		s.key = appendUnescaped(s.key[:0], raw)
		raw = s.key
	}
	s.path = s.path[:prefix]
	if prefix > 0 {
		s.path = append(s.path, '.')
	}
	s.path = append(s.path, raw...)
	node, ok := s.paths[string(s.path)]
	return node, ok
}

func (s *scanner) capture(start, end int) span {
	sp := span{start: start, end: end}
	switch c := s.src[start]; {
	case c == '"':
		sp.kind = kindString
		for _, b := range s.src[start+1 : end-1] {
			if b == '\\' {
				sp.escaped = true
				break
			}
		}
	case c == '{':
		sp.kind = kindObject
	case c == '[':
		sp.kind = kindArray
	case c == 't' || c == 'f':
		sp.kind = kindBool
	case c == 'n':
		sp.kind = kindNull
	default:
		sp.kind = kindNumber
	}
	return sp
}

// value skips the value at src[i] and returns the index after it.
func (s *scanner) value(i, depth int) (int, error) {
	switch c := s.src[i]; {
	case c == '"':
		end, _, err := s.str(i)
		return end, err
	case c == '{':
		return s.skipObject(i, depth+1)
	case c == '[':
		return s.array(i, depth+1)
	case c == 't':
		return s.literal(i, "true")
	case c == 'f':
		return s.literal(i, "false")
	case c == 'n':
		return s.literal(i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(i)
	default:
		return 0, s.fail(i, "unexpected character %q where a value should start", c)
	}
}

// skipObject checks an object that holds no wanted field.
func (s *scanner) skipObject(i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, s.fail(i, "nesting deeper than %d levels", maxDepth)
	}
	i = s.ws(i + 1)
	if i < len(s.src) && s.src[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s.src) || s.src[i] != '"' {
			return 0, s.fail(i, "expected a quoted object key")
		}
		end, _, err := s.str(i)
		if err != nil {
			return 0, err
		}
		i = s.ws(end)
		if i >= len(s.src) || s.src[i] != ':' {
			return 0, s.fail(i, "expected ':' after an object key")
		}
		i = s.ws(i + 1)
		if i >= len(s.src) {
			return 0, s.fail(i, "missing value after an object key")
		}
		if i, err = s.value(i, depth); err != nil {
			return 0, err
		}
		i = s.ws(i)
		if i >= len(s.src) {
			return 0, s.fail(i, "unterminated object")
		}
		switch s.src[i] {
		case ',':
			i = s.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return 0, s.fail(i, "expected ',' or '}' in an object, found %q", s.src[i])
		}
	}
}

func (s *scanner) array(i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, s.fail(i, "nesting deeper than %d levels", maxDepth)
	}
	i = s.ws(i + 1)
	if i < len(s.src) && s.src[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(s.src) {
			return 0, s.fail(i, "unterminated array")
		}
		var err error
		if i, err = s.value(i, depth); err != nil {
			return 0, err
		}
		i = s.ws(i)
		if i >= len(s.src) {
			return 0, s.fail(i, "unterminated array")
		}
		switch s.src[i] {
		case ',':
			i = s.ws(i + 1)
		case ']':
			return i + 1, nil
		default:
			return 0, s.fail(i, "expected ',' or ']' in an array, found %q", s.src[i])
		}
	}
}

func (s *scanner) literal(i int, word string) (int, error) {
	if len(s.src)-i < len(word) || string(s.src[i:i+len(word)]) != word {
		return 0, s.fail(i, "invalid literal, expected %s", word)
	}
	return i + len(word), nil
}

// number checks a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number(i int) (int, error) {
	start := i
	if s.src[i] == '-' {
		i++
	}
	switch {
	case i < len(s.src) && s.src[i] == '0':
		i++
	case i < len(s.src) && s.src[i] >= '1' && s.src[i] <= '9':
		i = digits(s.src, i)
	default:
		return 0, s.fail(start, "invalid number")
	}
	if i < len(s.src) && s.src[i] == '.' {
		j := digits(s.src, i+1)
		if j == i+1 {
			return 0, s.fail(start, "invalid number: no digits after the decimal point")
		}
		i = j
	}
	if i < len(s.src) && (s.src[i] == 'e' || s.src[i] == 'E') {
		i++
		if i < len(s.src) && (s.src[i] == '+' || s.src[i] == '-') {
			i++
		}
		j := digits(s.src, i)
		if j == i {
			return 0, s.fail(start, "invalid number: no digits in the exponent")
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// strStop marks the bytes that end the fast loop of str: the quote, the
// backslash and control characters.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// str checks the string at src[i] == '"' and returns the index after its
// closing quote, and whether it has escapes.
func (s *scanner) str(i int) (int, bool, error) {
	b := s.src
	escaped := false
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		if !strStop[c] {
			continue
		}
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(b) {
				return 0, false, s.fail(j, "unterminated escape")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+5 >= len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return 0, false, s.fail(j, "invalid \\u escape")
				}
				j += 5
			default:
				return 0, false, s.fail(j, "invalid escape \\%c", b[j+1])
			}
		default:
			return 0, false, s.fail(j, "control character 0x%02x in a string", c)
		}
	}
	return 0, false, s.fail(i, "unterminated string")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
