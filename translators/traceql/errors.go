package traceql

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInputTooLarge is wrapped by the error ParseSearch and ParseTags return
// for input longer than MaxInputBytes.
var ErrInputTooLarge = errors.New("search too large")

// ErrTooManyTags is wrapped by the error ParseSearch and ParseTags return when
// a search has more than MaxTags tags.
var ErrTooManyTags = errors.New("too many tags")

// excerptBytes bounds how much of a value an error message quotes.
const excerptBytes = 64

// ParamError is a problem with one parameter of a search.
type ParamError struct {
	// Param names the parameter as Jaeger spells it (tags, minDuration), or
	// is empty when the problem is with the input as a whole.
	Param string
	// Value is the parameter's decoded value.
	Value string
	// Offset is the byte offset of the problem in Value, or -1 when the
	// problem is with the whole value.
	Offset int
	// Msg is the problem and, where it helps, how to write the value.
	Msg string
	// Err is an underlying error, such as ErrTooManyTags, or nil.
	Err error
}

// Error names the parameter, the offset when there is one, an excerpt of the
// value and the problem.
func (e *ParamError) Error() string {
	name := e.Param
	if name == "" {
		name = "search"
	}
	switch {
	case e.Offset >= 0:
		return fmt.Sprintf("invalid %s at offset %d (%s): %s", name, e.Offset, excerptAt(e.Value, e.Offset), e.Msg)
	case e.Value != "":
		return fmt.Sprintf("invalid %s %q: %s", name, excerpt(e.Value, 0), e.Msg)
	}
	return fmt.Sprintf("invalid %s: %s", name, e.Msg)
}

// Unwrap returns the underlying error.
func (e *ParamError) Unwrap() error { return e.Err }

func paramErrorf(param, value string, offset int, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Value: value, Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// excerpt cuts s to about excerptBytes from byte from, on rune boundaries.
func excerpt(s string, from int) string {
	if len(s)-from <= excerptBytes {
		return s[from:]
	}
	end := from + excerptBytes
	for end > from && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[from:end] + "…"
}

// excerptAt quotes the value around offset, with ⟦⟧ marking the offset.
func excerptAt(s string, offset int) string {
	offset = min(max(offset, 0), len(s))
	start := max(offset-excerptBytes/2, 0)
	for start > 0 && !utf8.RuneStart(s[start]) {
		start--
	}
	before := s[start:offset]
	if start > 0 {
		before = "…" + before
	}
	return fmt.Sprintf("%q", before+"⟦⟧"+excerpt(s, offset))
}
