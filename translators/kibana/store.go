package kibana

import (
	"encoding/json"
	"sort"
	"strings"
)

// store indexes every object of a batch so references resolve across files:
// a dashboard, its visualizations and their saved search may come from
// different exports.
type store struct {
	byKey   map[string]*Object
	byTitle map[string]*Object // index patterns by title
	// patterns caches parsed index patterns by object key.
	patterns map[string]*indexPattern
}

// parsePatterns parses every index pattern of the batch ahead of the
// conversion, so later lookups only read the cache.
func (s *store) parsePatterns() {
	var keys []string
	for key, o := range s.byKey {
		if isIndexPatternType(o.Type) {
			keys = append(keys, key)
		}
	}
	parsed := make([]*indexPattern, len(keys))
	parallel(len(keys), func(i int) { parsed[i] = parseIndexPattern(s.byKey[keys[i]]) })
	for i, key := range keys {
		s.patterns[key] = parsed[i]
	}
}

func newStore(objs []*Object) *store {
	s := &store{
		byKey:    make(map[string]*Object, len(objs)),
		byTitle:  make(map[string]*Object),
		patterns: make(map[string]*indexPattern),
	}
	for _, o := range objs {
		if _, dup := s.byKey[o.Key()]; !dup {
			s.byKey[o.Key()] = o
		}
		if isIndexPatternType(o.Type) {
			if t := o.Title(); t != "" {
				if _, dup := s.byTitle[t]; !dup {
					s.byTitle[t] = o
				}
			}
		}
	}
	return s
}

func isIndexPatternType(t string) bool { return t == "index-pattern" || t == "data-view" }

func (s *store) get(typ, id string) *Object {
	if id == "" {
		return nil
	}
	if o := s.byKey[typ+"/"+id]; o != nil {
		return o
	}
	if typ == "index-pattern" {
		return s.byKey["data-view/"+id]
	}
	return nil
}

// ref returns the reference with the given name.
func (o *Object) ref(name string) (Reference, bool) {
	for _, r := range o.References {
		if r.Name == name {
			return r, true
		}
	}
	return Reference{}, false
}

// refsOfType lists references of one type, in order.
func (o *Object) refsOfType(typ string) []Reference {
	var out []Reference
	for _, r := range o.References {
		if r.Type == typ || (typ == "index-pattern" && r.Type == "data-view") {
			out = append(out, r)
		}
	}
	return out
}

// indexPattern is what a converter needs from a Kibana index pattern.
type indexPattern struct {
	ID        string
	Title     string
	TimeField string
	// Types maps field names to Elasticsearch types.
	Types map[string]string
	// Found is false when the pattern is only known by name: the export
	// did not include it, so field types are unknown.
	Found bool
}

// indexPattern resolves an index pattern by id, falling back to a title:
// Kibana 5 used the title as the id, and TSVB and Timelion name patterns by
// title.
func (s *store) indexPattern(idOrTitle string) *indexPattern {
	if idOrTitle == "" {
		return nil
	}
	o := s.get("index-pattern", idOrTitle)
	if o == nil {
		o = s.byTitle[idOrTitle]
	}
	if o == nil {
		return &indexPattern{ID: idOrTitle, Title: idOrTitle}
	}
	if p, ok := s.patterns[o.Key()]; ok {
		return p
	}
	return parseIndexPattern(o)
}

func parseIndexPattern(o *Object) *indexPattern {
	p := &indexPattern{
		ID:        o.ID,
		Title:     o.Title(),
		TimeField: str(o.Attrs, "timeFieldName"),
		Types:     make(map[string]string),
		Found:     true,
	}
	if p.Title == "" {
		p.Title = o.ID
	}
	for _, f := range patternFields(o.Attrs) {
		if f.Name != "" && !f.Scripted {
			if t := f.esType(); t != "" {
				p.Types[f.Name] = t
			}
		}
	}
	return p
}

// patternField is one entry of an index pattern's field list.
type patternField struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	ESTypes      []string `json:"esTypes"`
	Aggregatable *bool    `json:"aggregatable"`
	Analyzed     *bool    `json:"analyzed"`
	Scripted     bool     `json:"scripted"`
}

// patternFields decodes the field list, which Kibana stores as JSON text.
// It is decoded into structs, not maps: index patterns list thousands of
// fields and this is the largest decode of a batch.
func patternFields(attrs map[string]any) []patternField {
	var fields []patternField
	switch v := attrs["fields"].(type) {
	case string:
		if decodeJSON([]byte(v), &fields) != nil {
			return nil
		}
	case []any:
		raw, err := json.Marshal(v)
		if err != nil || decodeJSON(raw, &fields) != nil {
			return nil
		}
	}
	return fields
}

// esType finds the Elasticsearch type of an index-pattern field. Kibana 7+
// lists esTypes; Kibana 5 has a Kibana type with an analyzed flag, and 6
// has aggregatable, which is false for text fields.
func (f patternField) esType() string {
	if len(f.ESTypes) > 0 {
		// A field with several types across indices: prefer text, whose
		// matching is the loosest.
		names := append([]string(nil), f.ESTypes...)
		sort.Strings(names)
		for _, n := range names {
			if n == "text" {
				return n
			}
		}
		return names[0]
	}
	switch f.Type {
	case "string":
		if f.Analyzed != nil {
			if *f.Analyzed {
				return "text"
			}
			return "keyword"
		}
		if f.Aggregatable != nil && !*f.Aggregatable {
			return "text"
		}
		return "keyword"
	case "number":
		return "double"
	case "date", "boolean", "ip", "geo_point", "geo_shape", "murmur3", "_source", "attachment", "conflict":
		return f.Type
	}
	return ""
}

// sourceMeta returns the decoded searchSourceJSON of an object.
func sourceMeta(attrs map[string]any) (map[string]any, error) {
	meta := obj(attrs, "kibanaSavedObjectMeta")
	if meta == nil {
		return nil, nil
	}
	return embeddedObject(meta, "searchSourceJSON")
}

// indexOf finds the index pattern an object's search source points at: by
// reference (Kibana 7+) or inline id (Kibana 5 and 6).
func (s *store) indexOf(o *Object, source map[string]any) *indexPattern {
	if source != nil {
		if name := str(source, "indexRefName"); name != "" {
			if r, ok := o.ref(name); ok {
				return s.indexPattern(r.ID)
			}
		}
		if id := str(source, "index"); id != "" {
			return s.indexPattern(id)
		}
	}
	if refs := o.refsOfType("index-pattern"); len(refs) > 0 {
		return s.indexPattern(refs[0].ID)
	}
	return nil
}

// marshalCompact renders a value as compact JSON for reports.
func marshalCompact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
