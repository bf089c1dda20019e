package kibana

import (
	"encoding/json"
	"sort"
	"strings"
)

// store indexes every object of a batch so references resolve across files:
// a dashboard, its visualizations and their saved search may come from
// different exports. Exports of different spaces often reuse ids, so an id
// resolves to the object of the referring object's own file first.
type store struct {
	byKey   map[string]*Object            // first object of each type/id
	byFile  map[string]map[string]*Object // file, then type/id
	byTitle map[string]*Object            // index patterns by title
	// titlesByFile holds index patterns by file, then title.
	titlesByFile map[string]map[string]*Object
	// patterns caches parsed index patterns by object key.
	patterns map[string]*indexPattern
}

// parsePatterns parses every index pattern of the batch ahead of the
// conversion, so later lookups only read the cache.
func (s *store) parsePatterns() {
	var objs []*Object
	for _, files := range s.byFile {
		for _, o := range files {
			if isIndexPatternType(o.Type) {
				objs = append(objs, o)
			}
		}
	}
	parsed := make([]*indexPattern, len(objs))
	parallel(len(objs), func(i int) { parsed[i] = parseIndexPattern(objs[i]) })
	for i, o := range objs {
		s.patterns[o.Key()] = parsed[i]
	}
}

// newStore indexes the objects. When a type/id repeats, the first object
// keeps the plain key and the later ones get keys of their own, and are
// returned so the report can name them.
func newStore(objs []*Object) (*store, []*Object) {
	s := &store{
		byKey:        make(map[string]*Object, len(objs)),
		byFile:       make(map[string]map[string]*Object),
		byTitle:      make(map[string]*Object),
		titlesByFile: make(map[string]map[string]*Object),
		patterns:     make(map[string]*indexPattern),
	}
	var dups []*Object
	for _, o := range objs {
		key := o.plainKey()
		if _, dup := s.byKey[key]; dup {
			o.uniq = key + "@" + o.Origin.String()
			dups = append(dups, o)
		} else {
			s.byKey[key] = o
		}
		file := s.byFile[o.Origin.File]
		if file == nil {
			file = make(map[string]*Object)
			s.byFile[o.Origin.File] = file
		}
		if _, dup := file[key]; !dup {
			file[key] = o
		}
		if isIndexPatternType(o.Type) {
			if t := o.Title(); t != "" {
				if _, dup := s.byTitle[t]; !dup {
					s.byTitle[t] = o
				}
				titles := s.titlesByFile[o.Origin.File]
				if titles == nil {
					titles = make(map[string]*Object)
					s.titlesByFile[o.Origin.File] = titles
				}
				if _, dup := titles[t]; !dup {
					titles[t] = o
				}
			}
		}
	}
	return s, dups
}

// view is the store as one conversion unit sees it: ids resolve in the
// unit's own file first.
type view struct {
	*store
	file string
}

func (s *store) view(file string) *view { return &view{store: s, file: file} }

func isIndexPatternType(t string) bool { return t == "index-pattern" || t == "data-view" }

func (s *store) get(typ, id string) *Object {
	return s.view("").get(typ, id)
}

func (v *view) get(typ, id string) *Object {
	if id == "" {
		return nil
	}
	for _, t := range []string{typ, aliasType(typ)} {
		if t == "" {
			continue
		}
		if o := v.byFile[v.file][t+"/"+id]; o != nil {
			return o
		}
	}
	for _, t := range []string{typ, aliasType(typ)} {
		if o := v.byKey[t+"/"+id]; t != "" && o != nil {
			return o
		}
	}
	return nil
}

// aliasType is the other name of an index pattern type: data views are
// index patterns renamed in Kibana 8.
func aliasType(typ string) string {
	if typ == "index-pattern" {
		return "data-view"
	}
	return ""
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
func (v *view) indexPattern(idOrTitle string) *indexPattern {
	if idOrTitle == "" {
		return nil
	}
	o := v.get("index-pattern", idOrTitle)
	if o == nil {
		o = v.titlesByFile[v.file][idOrTitle]
	}
	if o == nil {
		o = v.byTitle[idOrTitle]
	}
	if o == nil {
		return &indexPattern{ID: idOrTitle, Title: idOrTitle}
	}
	if p, ok := v.patterns[o.Key()]; ok {
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
func (v *view) indexOf(o *Object, source map[string]any) *indexPattern {
	if source != nil {
		if name := str(source, "indexRefName"); name != "" {
			if r, ok := o.ref(name); ok {
				return v.indexPattern(r.ID)
			}
		}
		if id := str(source, "index"); id != "" {
			return v.indexPattern(id)
		}
	}
	if refs := o.refsOfType("index-pattern"); len(refs) > 0 {
		return v.indexPattern(refs[0].ID)
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
