package alerts

import (
	"errors"
	"fmt"
)

// ErrInvalidUTF8 is wrapped by the error of an object that is not UTF-8.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// ErrMissingParam is wrapped by the error of a rule that lacks a setting
// its rule type requires.
var ErrMissingParam = errors.New("missing setting")

// ErrInvalidParam is wrapped by the error of a rule whose setting has a
// value of the wrong type or outside the values its rule type accepts.
var ErrInvalidParam = errors.New("invalid setting")

// Origin is the file and line an object was read from.
type Origin struct {
	File string
	// Line is the NDJSON line, or the line where a JSON array element
	// starts, 1-based; 0 when the object is the whole file.
	Line int
}

// String returns file:line, or the file alone.
func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}

// ObjectError is an object that could not be read or converted.
type ObjectError struct {
	Origin Origin
	// Kind is the rule type id, "watch", or the saved object type, when
	// known.
	Kind string
	// ID is the object's id, when it could be read.
	ID  string
	Err error
}

func (e *ObjectError) Error() string {
	subject := "object"
	if e.Kind != "" {
		subject = e.Kind
	}
	if e.ID != "" {
		subject += " " + e.ID
	}
	return fmt.Sprintf("%s: %s: %v", e.Origin, subject, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// missing returns an error for a required setting that is absent.
func missing(path, fix string) error {
	return fmt.Errorf("%w %s: %s", ErrMissingParam, path, fix)
}

// invalid returns an error for a setting with a value the rule type rejects.
func invalid(path string, value any, fix string) error {
	return fmt.Errorf("%w %s %s: %s", ErrInvalidParam, path, describeValue(value), fix)
}

func describeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("%q", v)
	case float64, bool:
		return fmt.Sprint(v)
	}
	return "(a JSON " + jsonKind(v) + ")"
}
