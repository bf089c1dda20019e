package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Field is one leaf of the mappings of a pattern's indices, with object
// paths joined by dots.
type Field struct {
	Path string
	// Type is the mapped type in most indices (the alphabetically first on
	// a tie). Nested objects appear with type "nested", and an object
	// without sub-fields (enabled: false, for example) with type "object".
	Type string
	// Indices are the indices that map the field, sorted.
	Indices []string
	// Conflicts are the other types the field has in other indices,
	// sorted. IndicesByType then lists the indices of every type.
	Conflicts     []string
	IndicesByType map[string][]string
	// MultiFieldOf is the parent of a multi-field: "message" for
	// "message.keyword".
	MultiFieldOf string
	// Runtime is true when the field is a runtime field of the mappings in
	// at least one index.
	Runtime bool
	// AliasOf is the target path of a field of type alias.
	AliasOf string
}

// Fields returns the fields of the mappings of the indices that pattern
// matches (GET /{pattern}/_mapping), flattened to dotted paths and sorted by
// path. Objects and nested objects are walked into, multi-fields and
// runtime fields are included, and types that differ across indices are
// reported in Conflicts.
func (c *Client) Fields(ctx context.Context, pattern string) ([]Field, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	op := "GET /" + pattern + "/_mapping"
	body, err := c.do(ctx, op, esapi.IndicesGetMappingRequest{Index: names})
	if err != nil {
		return nil, err
	}
	fields, err := flattenMappings(body)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %s: %w", op, err)
	}
	return fields, nil
}

// propertyMapping is one entry of "properties" or "fields" in a mapping.
type propertyMapping struct {
	Type       string                     `json:"type"`
	Properties map[string]propertyMapping `json:"properties"`
	Fields     map[string]propertyMapping `json:"fields"`
	Path       string                     `json:"path"`
}

type typeMapping struct {
	Properties map[string]propertyMapping `json:"properties"`
	Runtime    map[string]struct {
		Type string `json:"type"`
	} `json:"runtime"`
}

// leaf is one field of one index's mapping.
type leaf struct {
	typ, multiFieldOf, aliasOf string
	runtime                    bool
}

// flattenMappings reads a GET _mapping body ({index: {"mappings": ...}})
// and merges the fields of every index.
func flattenMappings(body []byte) ([]Field, error) {
	var byIndex map[string]struct {
		Mappings json.RawMessage `json:"mappings"`
	}
	if err := json.Unmarshal(body, &byIndex); err != nil {
		return nil, fmt.Errorf("decoding the mappings: %w", err)
	}
	merged := map[string]*fieldAccumulator{}
	for _, index := range slices.Sorted(maps.Keys(byIndex)) {
		leaves, err := indexLeaves(byIndex[index].Mappings)
		if err != nil {
			return nil, fmt.Errorf("decoding the mappings of index %s: %w", index, err)
		}
		for path, l := range leaves {
			acc := merged[path]
			if acc == nil {
				acc = &fieldAccumulator{byType: map[string][]string{}}
				merged[path] = acc
			}
			acc.add(index, l)
		}
	}
	out := make([]Field, 0, len(merged))
	for path, acc := range merged {
		out = append(out, acc.field(path))
	}
	slices.SortFunc(out, func(a, b Field) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// indexLeaves flattens one index's "mappings" object. A runtime field
// shadows a mapped field of the same path, as it does in searches.
func indexLeaves(raw json.RawMessage) (map[string]leaf, error) {
	leaves := map[string]leaf{}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return leaves, nil
	}
	m, err := decodeTypeMapping(raw)
	if err != nil {
		return nil, err
	}
	walkProperties("", m.Properties, leaves)
	for path, rt := range m.Runtime {
		leaves[path] = leaf{typ: rt.Type, runtime: true}
	}
	return leaves, nil
}

// decodeTypeMapping decodes a mappings object. A 7.x request with
// include_type_name=true wraps it in the type name ({"_doc": {...}}); that
// wrapper is removed.
func decodeTypeMapping(raw json.RawMessage) (typeMapping, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return typeMapping{}, err
	}
	_, hasProperties := top["properties"]
	_, hasRuntime := top["runtime"]
	if !hasProperties && !hasRuntime && len(top) == 1 {
		for _, inner := range top {
			var wrapped map[string]json.RawMessage
			if json.Unmarshal(inner, &wrapped) == nil {
				if _, ok := wrapped["properties"]; ok {
					raw = inner
				}
			}
		}
	}
	var m typeMapping
	err := json.Unmarshal(raw, &m)
	return m, err
}

func walkProperties(prefix string, props map[string]propertyMapping, leaves map[string]leaf) {
	for name, p := range props {
		path := prefix + name
		switch {
		case p.Type == "nested":
			leaves[path] = leaf{typ: "nested"}
			walkProperties(path+".", p.Properties, leaves)
		case p.Type == "" || p.Type == "object":
			if len(p.Properties) == 0 {
				leaves[path] = leaf{typ: "object"}
			}
			walkProperties(path+".", p.Properties, leaves)
		default:
			leaves[path] = leaf{typ: p.Type, aliasOf: p.Path}
			walkMultiFields(path, p.Fields, leaves)
		}
	}
}

func walkMultiFields(parent string, fields map[string]propertyMapping, leaves map[string]leaf) {
	for name, p := range fields {
		path := parent + "." + name
		if _, exists := leaves[path]; exists {
			// An object sub-field of the same path takes precedence; a
			// mapping cannot define both.
			continue
		}
		typ := p.Type
		if typ == "" {
			typ = "object"
		}
		leaves[path] = leaf{typ: typ, multiFieldOf: parent}
		walkMultiFields(path, p.Fields, leaves)
	}
}

type fieldAccumulator struct {
	byType                map[string][]string
	multiFieldOf, aliasOf string
	runtime               bool
}

func (a *fieldAccumulator) add(index string, l leaf) {
	a.byType[l.typ] = append(a.byType[l.typ], index)
	if a.multiFieldOf == "" {
		a.multiFieldOf = l.multiFieldOf
	}
	if a.aliasOf == "" {
		a.aliasOf = l.aliasOf
	}
	a.runtime = a.runtime || l.runtime
}

func (a *fieldAccumulator) field(path string) Field {
	f := Field{Path: path, MultiFieldOf: a.multiFieldOf, Runtime: a.runtime, AliasOf: a.aliasOf}
	types := slices.Sorted(maps.Keys(a.byType))
	for _, t := range types {
		if f.Type == "" || len(a.byType[t]) > len(a.byType[f.Type]) {
			f.Type = t
		}
		f.Indices = append(f.Indices, a.byType[t]...)
	}
	slices.Sort(f.Indices)
	f.Indices = slices.Compact(f.Indices)
	for _, t := range types {
		if t != f.Type {
			f.Conflicts = append(f.Conflicts, t)
		}
	}
	if len(f.Conflicts) > 0 {
		f.IndicesByType = map[string][]string{}
		for t, indices := range a.byType {
			f.IndicesByType[t] = slices.Clone(indices)
		}
	}
	return f
}

// isDateType reports whether t is a date type the reader can sort on.
func isDateType(t string) bool { return t == "date" || t == "date_nanos" }

// defaultTimeField is the ECS and data stream timestamp field.
const defaultTimeField = "@timestamp"

// DetectTimeField returns the time field of the indices that pattern
// matches: the timestamp field of the matching data streams, else
// "@timestamp" when it is a date, else the only date or date_nanos field.
// It returns an error that lists the candidates when it cannot choose.
func (c *Client) DetectTimeField(ctx context.Context, pattern string) (string, error) {
	streams, err := c.DataStreams(ctx, pattern)
	var esErr *Error
	if err != nil && !(errors.As(err, &esErr) && esErr.Status == http.StatusNotFound) {
		return "", err
	}
	var streamFields []string
	for _, ds := range streams {
		if ds.TimestampField != "" && !slices.Contains(streamFields, ds.TimestampField) {
			streamFields = append(streamFields, ds.TimestampField)
		}
	}
	switch len(streamFields) {
	case 0:
	case 1:
		return streamFields[0], nil
	default:
		slices.Sort(streamFields)
		return "", fmt.Errorf("elasticsearch: the data streams of %s use different timestamp fields (%s): read them with separate patterns", pattern, strings.Join(streamFields, ", "))
	}

	fields, err := c.Fields(ctx, pattern)
	if err != nil {
		return "", err
	}
	return chooseTimeField(pattern, fields)
}

// chooseTimeField picks the time field from a pattern's fields, as
// DetectTimeField documents.
func chooseTimeField(pattern string, fields []Field) (string, error) {
	var candidates, mixed []string
	for _, f := range fields {
		if f.MultiFieldOf != "" || !isDateType(f.Type) {
			continue
		}
		allDates := true
		for _, t := range f.Conflicts {
			allDates = allDates && isDateType(t)
		}
		if !allDates {
			mixed = append(mixed, fmt.Sprintf("%s (%s and %s)", f.Path, f.Type, strings.Join(f.Conflicts, ", ")))
			continue
		}
		if f.Path == defaultTimeField {
			return f.Path, nil
		}
		candidates = append(candidates, f.Path)
	}
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case len(candidates) > 1:
		return "", fmt.Errorf("elasticsearch: %s has several date fields (%s) and no @timestamp: set the time field in the plan", pattern, strings.Join(candidates, ", "))
	case len(mixed) > 0:
		return "", fmt.Errorf("elasticsearch: %s has no date field mapped as a date in every index; these differ across indices: %s: set the time field in the plan after fixing the mappings", pattern, strings.Join(mixed, "; "))
	}
	return "", fmt.Errorf("elasticsearch: %s has no date or date_nanos field: check the index pattern, or set the time field in the plan", pattern)
}
