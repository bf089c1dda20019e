// Package ojson decodes and encodes JSON keeping the order of object keys
// and the exact text of numbers, so a document can be edited in place and
// written back with every untouched field as it was.
package ojson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Object is a JSON object with its keys in document order. Values are
// *Object, []any, string, json.Number, bool or nil.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{vals: map[string]any{}} }

// Keys returns the keys in order.
func (o *Object) Keys() []string { return o.keys }

// Get returns a value and whether the key is present.
func (o *Object) Get(key string) (any, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Set replaces a value, or appends the key when it is new.
func (o *Object) Set(key string, v any) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// Delete removes a key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// String returns a string value or "".
func (o *Object) String(key string) string {
	s, _ := o.vals[key].(string)
	return s
}

// Object returns an object value or nil.
func (o *Object) Object(key string) *Object {
	v, _ := o.vals[key].(*Object)
	return v
}

// Array returns an array value or nil.
func (o *Object) Array(key string) []any {
	v, _ := o.vals[key].([]any)
	return v
}

// Len returns the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 512

// ErrTooDeep is returned for documents nested deeper than 512 levels.
var ErrTooDeep = errors.New("JSON nested too deeply")

// Decode parses one JSON value. Invalid UTF-8 is an error, because
// encoding/json would replace it silently.
func Decode(data []byte) (any, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("invalid UTF-8")
	}
	d := decoder{data: data}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.pos < len(d.data) {
		return nil, fmt.Errorf("unexpected data after the JSON value at byte %d", d.pos)
	}
	return v, nil
}

// decoder is a recursive-descent reader over the whole input. It follows
// RFC 8259 as encoding/json does; strings with escapes are unquoted by
// encoding/json itself.
type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, ErrTooDeep
	}
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.string()
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case d.word("true"):
		return true, nil
	case d.word("false"):
		return false, nil
	case d.word("null"):
		return nil, nil
	default:
		return nil, d.errorf("invalid character %q looking for a value", c)
	}
}

func (d *decoder) word(w string) bool {
	if bytes.HasPrefix(d.data[d.pos:], []byte(w)) {
		d.pos += len(w)
		return true
	}
	return false
}

func (d *decoder) object(depth int) (any, error) {
	o := NewObject()
	d.pos++ // {
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return o, nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("expected a string key")
		}
		key, err := d.string()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("expected ':' after the key %q", key)
		}
		d.pos++
		d.space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		o.Set(key.(string), v)
		d.space()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of input in an object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.space()
		case '}':
			d.pos++
			return o, nil
		default:
			return nil, d.errorf("expected ',' or '}' in an object")
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	arr := []any{}
	d.pos++ // [
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return arr, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		d.space()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of input in an array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.space()
		case ']':
			d.pos++
			return arr, nil
		default:
			return nil, d.errorf("expected ',' or ']' in an array")
		}
	}
}

// string reads a quoted string. One without escapes is the bytes between
// the quotes; one with escapes goes through encoding/json, which also
// settles lone surrogates the way the rest of the toolchain reads them.
func (d *decoder) string() (any, error) {
	start := d.pos
	d.pos++ // opening quote
	escaped := false
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !escaped {
				return string(d.data[start+1 : d.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.pos], &s); err != nil {
				return nil, fmt.Errorf("byte %d: %w", start, err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			if err := d.escape(); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, d.errorf("control character %q in a string", c)
		default:
			d.pos++
		}
	}
	return nil, d.errorf("unterminated string")
}

// escape checks the escape sequence at pos and moves past it.
func (d *decoder) escape() error {
	if d.pos+1 >= len(d.data) {
		return d.errorf("unterminated string")
	}
	switch d.data[d.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		d.pos += 2
		return nil
	case 'u':
		if d.pos+6 > len(d.data) {
			return d.errorf("short \\u escape")
		}
		for _, h := range d.data[d.pos+2 : d.pos+6] {
			if !isHex(h) {
				return d.errorf("invalid \\u escape")
			}
		}
		d.pos += 6
		return nil
	}
	return d.errorf("invalid escape \\%c", d.data[d.pos+1])
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number reads a number by JSON's grammar and keeps its text.
func (d *decoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.digits() == 0:
		return nil, d.errorf("invalid number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if d.digits() == 0 {
			return nil, d.errorf("invalid number: no digits after the decimal point")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return nil, d.errorf("invalid number: no digits in the exponent")
		}
	}
	return json.Number(d.data[start:d.pos]), nil
}

func (d *decoder) digits() int {
	n := 0
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
		n++
	}
	return n
}

// Encode writes a value with two-space indentation, keys in order and
// numbers as they were read. HTML characters are not escaped.
func Encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeValue(&b, v, ""); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func encodeValue(b *bytes.Buffer, v any, indent string) error {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case json.Number:
		b.WriteString(t.String())
	case float64:
		b.WriteString(strconv.FormatFloat(t, 'f', -1, 64))
	case int:
		b.WriteString(strconv.Itoa(t))
	case string:
		writeString(b, t)
	case *Object:
		if t.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		inner := indent + "  "
		b.WriteString("{\n")
		for i, k := range t.keys {
			b.WriteString(inner)
			writeString(b, k)
			b.WriteString(": ")
			if err := encodeValue(b, t.vals[k], inner); err != nil {
				return err
			}
			if i < len(t.keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "}")
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return nil
		}
		inner := indent + "  "
		b.WriteString("[\n")
		for i, e := range t {
			b.WriteString(inner)
			if err := encodeValue(b, e, inner); err != nil {
				return err
			}
			if i < len(t)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(indent + "]")
	default:
		return fmt.Errorf("cannot encode %T", v)
	}
	return nil
}

// writeString writes a JSON string with the escapes JSON requires, leaving
// other characters as they are.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20, r == 0x2028, r == 0x2029:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// Clone copies a value deeply.
func Clone(v any) any {
	switch t := v.(type) {
	case *Object:
		c := &Object{keys: append([]string(nil), t.keys...), vals: make(map[string]any, len(t.vals))}
		for k, e := range t.vals {
			c.vals[k] = Clone(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = Clone(e)
		}
		return c
	}
	return v
}

// FromStd converts a value built from plain maps (map[string]any) into this
// package's form, sorting the keys of each map.
func FromStd(v any) any {
	switch t := v.(type) {
	case map[string]any:
		o := NewObject()
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o.Set(k, FromStd(t[k]))
		}
		return o
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = FromStd(e)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = e
		}
		return out
	}
	return v
}
