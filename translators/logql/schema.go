package logql

import (
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/obs-migrate/migrate/plans"
)

// DocumentIDMetadata is the structured-metadata key that carries the
// Elasticsearch document _id on every entry the gateway and backfill write.
const DocumentIDMetadata = "es_id"

// ServiceNameLabel is the stream label Loki 3 adds to every stream.
const ServiceNameLabel = "service_name"

// FallbackSelector is the stream selector of a query translated without a
// mapping. Loki 3 gives every stream a service_name label.
const FallbackSelector = `{service_name=~".+"}`

// Schema describes one index's documents in Loki for the renderer: the log
// mapping, and field types learned from the mapping or elsewhere (a Kibana
// index pattern).
type Schema struct {
	mapping plans.LogMapping
	mapped  bool
	types   map[string]string
	labels  map[string]string // field -> label name
	meta    map[string]string // field -> metadata key
	taken   map[string]bool   // label and metadata names in use
	// unmatched explains, when set, why a mapping was given but not used.
	unmatched string
	// keepVariables leaves Grafana template variables in values to be
	// replaced when the query runs.
	keepVariables bool
	// sameName maps a parsed label name to the known fields that become it.
	// It is built on first use: schemas are shared by goroutines.
	sameNameOnce *sync.Once
	sameName     map[string][]string
}

// NewSchema builds a schema from a mapping. mapped is false when the user gave
// no mapping and m is plans.DefaultLogMapping. extraTypes adds field types
// (field name to Elasticsearch type) for fields the mapping does not type.
func NewSchema(m plans.LogMapping, mapped bool, extraTypes map[string]string) *Schema {
	m = m.WithDefaults()
	s := &Schema{
		mapping: m,
		mapped:  mapped,
		types:   make(map[string]string, len(m.Fields)+len(extraTypes)),
		labels:  make(map[string]string, len(m.Labels)),
		meta:    make(map[string]string, len(m.StructuredMetadata)+1),
		taken:   make(map[string]bool),

		sameNameOnce: new(sync.Once),
	}
	// Elasticsearch's metadata fields are keywords.
	s.types["_id"], s.types["_index"] = "keyword", "keyword"
	for f, t := range extraTypes {
		s.types[f] = t
	}
	for f, t := range m.Fields {
		s.types[f] = t
	}
	for _, name := range sortedKeys(m.Labels) {
		field := m.Labels[name]
		if _, dup := s.labels[field]; !dup {
			s.labels[field] = name
		}
		s.taken[name] = true
	}
	for name := range m.StaticLabels {
		s.taken[name] = true
	}
	for _, f := range m.StructuredMetadata {
		key := SanitizeLabelName(f)
		s.meta[f] = key
		s.taken[key] = true
	}
	if mapped {
		s.meta["_id"] = DocumentIDMetadata
		s.taken[DocumentIDMetadata] = true
	}
	// Loki 3 gives every stream a service_name label when it has none, so
	// a parsed service_name always collides with it.
	s.taken[ServiceNameLabel] = true

	return s
}

// Mapping returns the log mapping behind the schema, with defaults applied.
func (s *Schema) Mapping() plans.LogMapping { return s.mapping }

// Mapped reports whether the schema comes from a user's mapping.
func (s *Schema) Mapped() bool { return s.mapped }

// TimeField returns the timestamp field.
func (s *Schema) TimeField() string { return s.mapping.Timestamp }

// location is where a field's value lives in Loki.
type location int

const (
	locAbsent   location = iota // not in Loki at all
	locLabel                    // a stream label
	locMetadata                 // structured metadata
	locLine                     // the log line itself
	locParsed                   // extracted by the parser
	locTime                     // the entry timestamp
)

// typeFamily groups Elasticsearch field types by how they compare.
type typeFamily int

const (
	famText typeFamily = iota
	famKeyword
	famNumber
	famDate
	famBoolean
	famIP
	famOther
)

// fieldRef is a resolved field.
type fieldRef struct {
	field   string // Elasticsearch field name
	loc     location
	name    string // Loki label, metadata key or parsed label name
	family  typeFamily
	esType  string // the Elasticsearch type, or "" when unknown
	assumed bool   // type unknown: Elasticsearch's dynamic default assumed
	// wholeLine is set for free text searched over the whole line.
	wholeLine bool
}

// resolve locates an Elasticsearch field in Loki and finds its type.
func (s *Schema) resolve(field string) fieldRef {
	ref := fieldRef{field: field}
	base, keywordSub := field, false
	// Elasticsearch's dynamic mapping adds a .keyword subfield to text
	// fields; Logstash's templates before 5.0 named it .raw.
	for _, sub := range []string{".keyword", ".raw"} {
		if strings.HasSuffix(field, sub) {
			if _, typed := s.types[field]; !typed {
				base, keywordSub = strings.TrimSuffix(field, sub), true
			}
		}
	}
	ref.esType = s.types[base]
	switch {
	case keywordSub:
		ref.family, ref.esType = famKeyword, "keyword"
	case ref.esType == "":
		ref.family, ref.assumed = famText, true
	default:
		ref.family = familyOf(ref.esType)
	}
	ref.loc, ref.name = s.locate(base)
	return ref
}

func (s *Schema) locate(field string) (location, string) {
	if field == s.mapping.Timestamp {
		return locTime, ""
	}
	if field == "_index" || (field == "_id" && !s.mapped) {
		// Metadata fields are not in the document; the mapping's index
		// pattern selects streams, and _id is kept only by the writers.
		return locAbsent, ""
	}
	if name, ok := s.labels[field]; ok {
		return locLabel, name
	}
	if key, ok := s.meta[field]; ok {
		return locMetadata, key
	}
	if s.mapping.Line != plans.LineWholeDocument && field == s.mapping.Line {
		return locLine, ""
	}
	if s.mapping.Parser == plans.ParserNone {
		return locAbsent, ""
	}
	name := SanitizeLabelName(field)
	if s.taken[name] {
		// Loki's parsers rename an extracted key that collides with an
		// existing label or metadata key.
		name += "_extracted"
	}
	return locParsed, name
}

// wholeLineRef is the target of free text when no default field is set.
func (s *Schema) wholeLineRef() fieldRef {
	return fieldRef{loc: locLine, family: famText, wholeLine: true, esType: "text"}
}

// lineCopyLabel names the label that holds a copy of the log line when a
// condition on the line must be combined with others in a label filter.
func (s *Schema) lineCopyLabel() string {
	if s.mapping.Line == plans.LineWholeDocument {
		return "log_line"
	}
	return SanitizeLabelName(s.mapping.Line) + "_line"
}

// knownFields lists every field the schema has heard of, for expanding field
// name wildcards.
func (s *Schema) knownFields() []string {
	seen := make(map[string]bool)
	for f := range s.types {
		seen[f] = true
	}
	for f := range s.labels {
		seen[f] = true
	}
	for f := range s.meta {
		if f != "_id" {
			seen[f] = true
		}
	}
	if s.mapping.Line != plans.LineWholeDocument {
		seen[s.mapping.Line] = true
	}
	return sortedKeys(seen)
}

// expandField returns the known fields that a field name with `*` wildcards
// selects, in sorted order.
func (s *Schema) expandField(pattern string) []string {
	escaped := strings.NewReplacer(`\`, `\\`, `?`, `\?`, `[`, `\[`).Replace(pattern)
	var out []string
	for _, f := range s.knownFields() {
		if ok, err := path.Match(escaped, f); err == nil && ok {
			out = append(out, f)
		}
	}
	return out
}

func familyOf(esType string) typeFamily {
	switch esType {
	case "text", "match_only_text", "annotated_text", "search_as_you_type", "string":
		return famText
	case "keyword", "constant_keyword", "wildcard", "version", "_id", "_index", "_type", "murmur3":
		return famKeyword
	case "long", "integer", "short", "byte", "double", "float", "half_float",
		"scaled_float", "unsigned_long", "number", "token_count":
		return famNumber
	case "date", "date_nanos":
		return famDate
	case "boolean":
		return famBoolean
	case "ip":
		return famIP
	}
	return famOther
}

// SanitizeLabelName turns a field name into a valid Loki label name the way
// Loki's json and logfmt parsers do: every character other than an ASCII
// letter, digit or underscore becomes an underscore, and a leading digit gets
// an underscore in front. So `@timestamp` becomes `_timestamp` and
// `http.response.status_code` becomes `http_response_status_code`.
func SanitizeLabelName(field string) string {
	field = strings.TrimSpace(field)
	if field == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(field) + 1)
	if field[0] >= '0' && field[0] <= '9' {
		b.WriteByte('_')
	}
	for _, r := range field {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HasType reports whether the schema has a type for a field.
func (s *Schema) HasType(field string) bool {
	_, ok := s.types[field]
	return ok
}

// WithTypes returns a copy of the schema that also has the given field
// types, for fields whose type a panel implies (a range aggregation needs a
// numeric field).
func (s *Schema) WithTypes(types map[string]string) *Schema {
	merged := make(map[string]string, len(s.types)+len(types))
	for f, t := range s.types {
		merged[f] = t
	}
	for f, t := range types {
		merged[f] = t
	}
	return NewSchema(s.mapping, s.mapped, merged)
}

// Unmatched returns a copy of an unmapped schema that records why no entry
// of the user's mapping applied, so results do not claim no mapping was given.
func (s *Schema) Unmatched(reason string) *Schema {
	c := *s
	c.unmatched = reason
	return &c
}

// KeepVariables returns a copy of the schema that leaves $var, ${var} and
// [[var]] in values for Grafana to replace, as in queries taken from a
// Grafana dashboard. By default they are escaped, because a Kibana query
// means them literally.
func (s *Schema) KeepVariables() *Schema {
	c := *s
	c.keepVariables = true
	return &c
}

// fieldsNamed returns the known fields whose parsed label name is name.
func (s *Schema) fieldsNamed(name string) []string {
	s.sameNameOnce.Do(func() {
		s.sameName = make(map[string][]string)
		for _, f := range s.knownFields() {
			if f == "_id" || f == "_index" {
				continue
			}
			n := SanitizeLabelName(f)
			s.sameName[n] = append(s.sameName[n], f)
		}
	})
	return s.sameName[name]
}
