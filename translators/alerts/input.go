package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Input is one file of the batch.
type Input struct {
	File string
	Data []byte
}

// element is one JSON object of an input file, not yet decoded.
type element struct {
	origin Origin
	raw    []byte
	// single is set when the object is the whole file, so the file name
	// can stand in for a missing id, as for a watch stored on its own.
	single bool
}

// containerKeys are the lists that API responses wrap objects in: the
// Kibana rule _find API (data), the Watcher query API (watches) and the
// legacy Kibana export (objects).
var containerKeys = []string{"data", "watches", "objects"}

// splitFile returns the objects of one input: the lines of NDJSON, the
// elements of a JSON array or of a container list, or the one JSON object.
// An error is returned when the file as a whole cannot be read.
func splitFile(file string, data []byte) ([]element, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%s: the file is empty", file)
	}
	if isNDJSON(file, trimmed) {
		return ndjsonElements(file, data), nil
	}
	return jsonElements(file, data)
}

// isNDJSON distinguishes NDJSON from JSON: by the extension, or by a first line
// that is a complete object followed by more lines.
func isNDJSON(file string, data []byte) bool {
	if strings.EqualFold(filepath.Ext(file), ".ndjson") {
		return true
	}
	if data[0] != '{' {
		return false
	}
	first, rest, found := bytes.Cut(data, []byte("\n"))
	return found && json.Valid(bytes.TrimSpace(first)) && len(bytes.TrimSpace(rest)) > 0
}

func ndjsonElements(file string, data []byte) []element {
	var out []element
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		out = append(out, element{origin: Origin{File: file, Line: i + 1}, raw: line})
	}
	return out
}

func jsonElements(file string, data []byte) ([]element, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", file, describeJSONError(data, err, "file"))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: invalid JSON: unexpected data after the top-level value at line %d; "+
			"put one object per line in a .ndjson file, or wrap the objects in an array",
			file, lineAt(data, int(dec.InputOffset())))
	}
	start := bytes.Index(data, top)
	switch top[0] {
	case '[':
		return arrayElements(file, data, top, start)
	case '{':
		if list, offset, ok := containerList(top); ok {
			return arrayElements(file, data, list, start+offset)
		}
		return []element{{origin: Origin{File: file, Line: lineAt(data, start)}, raw: top, single: true}}, nil
	}
	return nil, fmt.Errorf("%s: expected a JSON object or array, found %s", file, firstToken(top))
}

// containerList returns the list an API response wraps its objects in, and
// its offset in top.
func containerList(top []byte) ([]byte, int, bool) {
	var wrapper map[string]json.RawMessage
	if json.Unmarshal(top, &wrapper) != nil {
		return nil, 0, false
	}
	for _, key := range containerKeys {
		list, ok := wrapper[key]
		if !ok || len(list) == 0 || list[0] != '[' {
			continue
		}
		// A rule or watch never has these keys next to its own fields,
		// so a list under one of them is a wrapper.
		return list, bytes.Index(top, list), true
	}
	return nil, 0, false
}

func arrayElements(file string, data, list []byte, base int) ([]element, error) {
	dec := json.NewDecoder(bytes.NewReader(list))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", file, err)
	}
	var out []element
	for dec.More() {
		off := int(dec.InputOffset())
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return nil, fmt.Errorf("%s: invalid JSON: %w", file, err)
		}
		// InputOffset is before the separator and any whitespace.
		at := base + off + bytes.Index(list[off:], el)
		out = append(out, element{origin: Origin{File: file, Line: lineAt(data, at)}, raw: el})
	}
	return out, nil
}

func lineAt(data []byte, offset int) int {
	offset = min(max(offset, 0), len(data))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

func firstToken(b []byte) string {
	if len(b) > 20 {
		b = b[:20]
	}
	return fmt.Sprintf("%q", b)
}

// decodeElement decodes one object. Invalid UTF-8 and invalid JSON are
// errors that carry the id when it can be found in the raw text.
func decodeElement(el element) (map[string]any, *ObjectError) {
	if !utf8.Valid(el.raw) {
		e := &ObjectError{
			Origin: el.origin,
			Err: fmt.Errorf("%w at byte %d of the object; re-export it or convert the file to UTF-8",
				ErrInvalidUTF8, invalidUTF8Offset(el.raw)),
		}
		e.ID, e.Kind = peekIdentity(el.raw)
		return nil, e
	}
	var v any
	if err := json.Unmarshal(el.raw, &v); err != nil {
		e := &ObjectError{Origin: el.origin, Err: fmt.Errorf("invalid JSON: %w", describeJSONError(el.raw, err, "object"))}
		e.ID, e.Kind = peekIdentity(el.raw)
		return nil, e
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, &ObjectError{Origin: el.origin, Err: fmt.Errorf("expected a JSON object, found a JSON %s", jsonKind(v))}
	}
	return doc, nil
}

// describeJSONError adds the line and column to a syntax error, and
// reports an object that ends early, as a truncated export line does.
func describeJSONError(data []byte, err error, within string) error {
	var se *json.SyntaxError
	if errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &se) && int(se.Offset) >= len(bytes.TrimSpace(data))) {
		return fmt.Errorf("the %s ends early, after %d bytes, so it may be truncated; export it again", within, len(data))
	}
	if se == nil {
		return err
	}
	line, col := position(data, int(se.Offset))
	return fmt.Errorf("%w (line %d, column %d of the %s)", err, line, col, within)
}

func position(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = offset - bytes.LastIndexByte(before, '\n')
	return line, col
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// idPattern finds the first "id", "_id" or "rule_id" key of an object that
// does not decode.
var idPattern = regexp.MustCompile(`"(?:id|_id|rule_id)"\s*:\s*"([^"\\]{1,200})"`)

// typePattern finds the rule type or saved-object type of an object that
// does not decode.
var typePattern = regexp.MustCompile(`"(?:rule_type_id|alertTypeId|ruleTypeId|type)"\s*:\s*"([^"\\]{1,100})"`)

// peekIdentity finds the id and kind in an object that does not decode,
// for error messages.
func peekIdentity(raw []byte) (id, kind string) {
	raw = bytes.ToValidUTF8(raw, []byte("?"))
	if m := idPattern.FindSubmatch(raw); m != nil {
		id = string(m[1])
	}
	for _, m := range typePattern.FindAllSubmatch(raw, -1) {
		// A rule type id names the rule better than the saved-object
		// type "alert".
		if kind == "" || kind == "alert" {
			kind = string(m[1])
		}
	}
	return id, kind
}
