package ast

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrTooDeep is wrapped by a SyntaxError when the input nests deeper than
// MaxDepth.
var ErrTooDeep = errors.New("query nested too deeply")

// ErrInvalidUTF8 is wrapped by a SyntaxError when the input is not valid
// UTF-8.
var ErrInvalidUTF8 = errors.New("query is not valid UTF-8")

// SyntaxError is a parse failure at a position in the source text.
type SyntaxError struct {
	Language Language
	// Source is the whole input; Offset is the byte offset of the problem.
	Source string
	Offset int
	Msg    string
	// Err is an optional sentinel such as ErrTooDeep.
	Err error
}

// NewSyntaxError builds a SyntaxError at a byte offset.
func NewSyntaxError(lang Language, src string, offset int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Language: lang, Source: src, Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// Line returns the 1-based line of the offset.
func (e *SyntaxError) Line() int {
	return 1 + strings.Count(e.Source[:e.clamped()], "\n")
}

// Column returns the 1-based column of the offset, counted in characters.
func (e *SyntaxError) Column() int {
	prefix := e.Source[:e.clamped()]
	if i := strings.LastIndexByte(prefix, '\n'); i >= 0 {
		prefix = prefix[i+1:]
	}
	return 1 + utf8.RuneCountInString(prefix)
}

func (e *SyntaxError) clamped() int {
	if e.Offset < 0 {
		return 0
	}
	if e.Offset > len(e.Source) {
		return len(e.Source)
	}
	return e.Offset
}

// Error reports the dialect, the position and a short excerpt around it.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid %s query at line %d, column %d: %s (near %s)",
		e.Language, e.Line(), e.Column(), e.Msg, e.excerpt())
}

// Unwrap returns the sentinel, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// excerpt quotes up to 20 characters on either side of the offset and marks
// the offset with ⟨here⟩, so a long query still shows where it broke.
func (e *SyntaxError) excerpt() string {
	const span = 20
	off := e.clamped()
	start := off
	for n := 0; start > 0 && n < span; n++ {
		_, size := utf8.DecodeLastRuneInString(e.Source[:start])
		start -= size
	}
	end := off
	for n := 0; end < len(e.Source) && n < span; n++ {
		_, size := utf8.DecodeRuneInString(e.Source[end:])
		end += size
	}
	before, after := e.Source[start:off], e.Source[off:end]
	if start > 0 {
		before = "…" + before
	}
	if end < len(e.Source) {
		after += "…"
	}
	return fmt.Sprintf("%q", before+"⟨here⟩"+after)
}

// CheckUTF8 returns a SyntaxError at the first invalid byte, or nil.
func CheckUTF8(lang Language, src string) error {
	if utf8.ValidString(src) {
		return nil
	}
	for i, r := range src {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(src[i:]); size <= 1 {
				e := NewSyntaxError(lang, src, i, "invalid UTF-8 byte 0x%02x", src[i])
				e.Err = ErrInvalidUTF8
				return e
			}
		}
	}
	return nil
}
