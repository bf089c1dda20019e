package kibana

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

var idPattern = regexp.MustCompile(`(?:^|[^\\])"(?:id|_id)"\s*:\s*"([^"\\]{1,200})"`)

// Object is one Kibana saved object, normalised across export formats.
type Object struct {
	ID         string
	Type       string
	Attrs      map[string]any
	References []Reference
	Origin     Origin

	uniq string
}

// Title returns the object's title attribute.
func (o *Object) Title() string { return str(o.Attrs, "title") }

// Key identifies an object within a batch: type/id, with the file added
// for a later object that reuses an id another file already used.
func (o *Object) Key() string {
	if o.uniq != "" {
		return o.uniq
	}
	return o.plainKey()
}

func (o *Object) plainKey() string { return o.Type + "/" + o.ID }

// Reference is an entry of a saved object's references list (Kibana 7+).
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Origin is the file and line an object was read from.
type Origin struct {
	File string
	// Line is the NDJSON line or the line where a JSON array element
	// starts, 1-based.
	Line int
}

func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return o.File
}

// ObjectError is a saved object, or a part of a file, that could not be read.
type ObjectError struct {
	Origin Origin
	// ID and Type are set when they could be read.
	ID, Type string
	Err      error
}

func (e *ObjectError) Error() string {
	what := "object"
	if e.Type != "" {
		what = e.Type
	}
	if e.ID != "" {
		what += " " + e.ID
	}
	return fmt.Sprintf("%s: %s: %v", e.Origin, what, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// ErrInvalidUTF8 is wrapped by an ObjectError for input that is not UTF-8.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// ReadObjects parses one export file. It returns every object it could read
// and an error for each part it could not; a bad object never hides the
// others. fatal is set when the file as a whole cannot be read: it is empty,
// or it is not JSON at all.
func ReadObjects(file string, data []byte) (objs []*Object, errs []*ObjectError, fatal error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil, fmt.Errorf("%s: the file is empty", file)
	}
	if isNDJSON(file, trimmed) {
		objs, errs = readNDJSON(file, data)
	} else {
		objs, errs, fatal = readJSON(file, data)
	}
	return objs, errs, fatal
}

// isNDJSON distinguishes NDJSON from JSON: by extension, or by a first line that is
// a complete object followed by another line.
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

func readNDJSON(file string, data []byte) ([]*Object, []*ObjectError) {
	var (
		objs []*Object
		errs []*ObjectError
	)
	for lineNo, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		origin := Origin{File: file, Line: lineNo + 1}
		o, err := parseObject(origin, line, "")
		switch {
		case err != nil:
			errs = append(errs, err)
		case o != nil:
			objs = append(objs, o)
		}
	}
	return objs, errs
}

func readJSON(file string, data []byte) ([]*Object, []*ObjectError, error) {
	// Invalid UTF-8 passes through splitElements and is reported for the
	// object that holds it.
	elems, ok := splitFast(data)
	if !ok {
		var err error
		if elems, err = splitElements(data); err != nil {
			return nil, nil, fmt.Errorf("%s: invalid JSON: %w", file, err)
		}
	}
	stem := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var (
		objs []*Object
		errs []*ObjectError
	)
	line, counted := 1, 0
	for _, el := range elems {
		line += bytes.Count(data[counted:el.offset], []byte("\n"))
		counted = el.offset
		origin := Origin{File: file, Line: line}
		fallbackID := ""
		if len(elems) == 1 {
			fallbackID = stem
		}
		o, oerr := parseObject(origin, el.raw, fallbackID)
		switch {
		case oerr != nil:
			errs = append(errs, oerr)
		case o != nil:
			objs = append(objs, o)
		}
	}
	return objs, errs, nil
}

type element struct {
	raw    []byte
	offset int
}

// splitElements returns the saved objects of a JSON export: the items of a
// top-level array or of an "objects" list, or the document itself.
func splitElements(data []byte) ([]element, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the top-level value at byte %d", dec.InputOffset())
	}
	start := bytes.Index(data, []byte(top))
	switch top[0] {
	case '[':
		return arrayElements(top, start)
	case '{':
		var wrapper struct {
			Objects json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(top, &wrapper); err == nil && len(wrapper.Objects) > 0 && wrapper.Objects[0] == '[' {
			return arrayElements(wrapper.Objects, start+bytes.Index(top, []byte(wrapper.Objects)))
		}
		return []element{{raw: top, offset: start}}, nil
	}
	return nil, fmt.Errorf("expected a JSON object or array, found %s", firstToken(top))
}

func arrayElements(raw []byte, base int) ([]element, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []element
	for dec.More() {
		off := int(dec.InputOffset())
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return nil, err
		}
		// InputOffset is before any separator and whitespace.
		rel := bytes.Index(raw[off:], el)
		out = append(out, element{raw: el, offset: base + off + rel})
	}
	return out, nil
}

func firstToken(b []byte) string {
	if len(b) > 20 {
		b = b[:20]
	}
	return fmt.Sprintf("%q", b)
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

// parseObject decodes one saved object in any of the export shapes. It
// returns nil, nil for entries that are not saved objects (the export
// summary line of Kibana 7+).
func parseObject(origin Origin, raw []byte, fallbackID string) (*Object, *ObjectError) {
	if !utf8.Valid(raw) {
		oerr := &ObjectError{
			Origin: origin,
			Err:    fmt.Errorf("%w at byte %d of the object; re-export it or fix the encoding", ErrInvalidUTF8, invalidUTF8Offset(raw)),
		}
		oerr.ID, oerr.Type = peekIdentity(raw)
		return nil, oerr
	}
	var doc map[string]any
	if err := decodeJSON(raw, &doc); err != nil {
		oerr := &ObjectError{Origin: origin, Err: fmt.Errorf("invalid JSON: %w", clearJSONError(raw, err))}
		oerr.ID, oerr.Type = peekIdentity(raw)
		return nil, oerr
	}
	if _, ok := doc["exportedCount"]; ok {
		return nil, nil
	}
	for _, key := range []string{"attributes", "_source"} {
		if v, present := doc[key]; present {
			if _, isObject := v.(map[string]any); !isObject {
				id, typ := peekIdentity(raw)
				return nil, &ObjectError{
					Origin: origin, ID: id, Type: typ,
					Err: fmt.Errorf("%s is a JSON %s, expected an object; re-export the object", key, jsonKind(v)),
				}
			}
		}
	}
	o := normalize(doc, fallbackID)
	o.Origin = origin
	if o.Type == "" {
		return nil, &ObjectError{
			Origin: origin, ID: o.ID,
			Err: errors.New("not a saved object: it has no type and no attribute that tells one (visState, panelsJSON, columns, timeFieldName)"),
		}
	}
	return o, nil
}

// normalize reads the identity and attributes of each export shape:
//   - Kibana 7+: {id, type, attributes, references}
//   - Kibana 5/6 management export: {_id, _type, _source}
//   - the .kibana index document of 6.x: {_source: {type, <type>: {...}}}
//   - bare attributes, as some repositories store them: {title, visState, ...}
func normalize(doc map[string]any, fallbackID string) *Object {
	o := &Object{ID: str(doc, "id"), Type: str(doc, "type")}
	switch {
	case obj(doc, "attributes") != nil:
		o.Attrs = obj(doc, "attributes")
	case obj(doc, "_source") != nil:
		src := obj(doc, "_source")
		o.ID, o.Type = str(doc, "_id"), str(doc, "_type")
		if t := str(src, "type"); t != "" && obj(src, t) != nil {
			o.Type, o.Attrs = t, obj(src, t)
			o.ID = strings.TrimPrefix(o.ID, t+":")
		} else {
			o.Attrs = src
		}
	default:
		o.Attrs = doc
	}
	if o.Type == "" || o.Type == "doc" {
		o.Type = inferType(o.Attrs)
	}
	if o.ID == "" {
		o.ID = fallbackID
	}
	for _, r := range arr(doc, "references") {
		if m, ok := r.(map[string]any); ok {
			o.References = append(o.References, Reference{Name: str(m, "name"), Type: str(m, "type"), ID: str(m, "id")})
		}
	}
	return o
}

func inferType(attrs map[string]any) string {
	switch {
	case attrs["panelsJSON"] != nil:
		return "dashboard"
	case attrs["visState"] != nil:
		return "visualization"
	case attrs["columns"] != nil && attrs["kibanaSavedObjectMeta"] != nil:
		return "search"
	case attrs["timeFieldName"] != nil || (attrs["fields"] != nil && attrs["title"] != nil):
		return "index-pattern"
	case attrs["visualizationType"] != nil && attrs["state"] != nil:
		return "lens"
	}
	return ""
}

// peekIdentity finds id and type in an object that does not decode, for
// error messages.
func peekIdentity(raw []byte) (id, typ string) {
	var probe struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		UID   string `json:"_id"`
		UType string `json:"_type"`
	}
	if err := json.Unmarshal(bytes.ToValidUTF8(raw, []byte("?")), &probe); err != nil {
		// A truncated object: take the first unescaped "id" key.
		if m := idPattern.FindSubmatch(raw); m != nil {
			probe.ID = string(m[1])
		}
	}
	if probe.ID == "" {
		probe.ID = probe.UID
	}
	if probe.Type == "" {
		probe.Type = probe.UType
	}
	return probe.ID, probe.Type
}

// clearJSONError returns encoding/json's error for data, which names the
// offset and the unexpected character, when it finds one; goccy/go-json's
// messages are terser.
func clearJSONError(data []byte, fallback error) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w (at byte %d)", err, se.Offset)
		}
		return err
	}
	return fallback
}
