package kibana

import (
	"encoding/json"
	"fmt"
	"strconv"

	gojson "github.com/goccy/go-json"
)

// Saved-object attributes vary between Kibana versions, so they are decoded
// into generic maps and read through these helpers. Several attributes
// (visState, panelsJSON, searchSourceJSON, ...) are JSON text inside a JSON
// string in real exports but already decoded in some repositories; the
// helpers accept both.

func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func boolean(m map[string]any, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func number(m map[string]any, key string) (float64, bool) {
	switch v := m[key].(type) {
	case float64:
		return v, true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func arr(m map[string]any, key string) []any {
	a, _ := m[key].([]any)
	return a
}

// embedded returns an attribute that may be JSON text or already decoded.
// It returns nil with no error when the attribute is absent or empty. The
// decoded value replaces the text in m, so each attribute is decoded once
// however many panels read it.
func embedded(m map[string]any, key string) (any, error) {
	switch v := m[key].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		var out any
		if err := decodeJSON([]byte(v), &out); err != nil {
			return nil, fmt.Errorf("%s is not valid JSON: %w", key, err)
		}
		m[key] = out
		return out, nil
	default:
		return v, nil
	}
}

// embeddedObject is embedded for attributes that must be objects.
func embeddedObject(m map[string]any, key string) (map[string]any, error) {
	v, err := embedded(m, key)
	if err != nil || v == nil {
		return nil, err
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is a JSON %s, expected an object", key, jsonKind(v))
	}
	return o, nil
}

// embeddedArray is embedded for attributes that must be arrays.
func embeddedArray(m map[string]any, key string) ([]any, error) {
	v, err := embedded(m, key)
	if err != nil || v == nil {
		return nil, err
	}
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is a JSON %s, expected an array", key, jsonKind(v))
	}
	return a, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// decodeJSON decodes saved-object JSON with goccy/go-json, which decodes
// into generic maps several times faster than encoding/json; the batch
// spends most of its time there.
func decodeJSON(data []byte, out any) error {
	return gojson.Unmarshal(data, out)
}

// encodeJSON renders a generated dashboard with two-space indentation.
// goccy/go-json gives the same bytes as encoding/json here (a test compares
// them on the corpus) in less time.
func encodeJSON(v any) ([]byte, error) {
	return gojson.MarshalIndent(v, "", "  ")
}
