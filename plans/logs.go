package plans

import (
	"path"
	"sort"
	"strings"
)

// Parser values for LogMapping.Parser: how LogQL reaches fields inside the
// log line.
const (
	ParserJSON   = "json"
	ParserLogfmt = "logfmt"
	ParserNone   = "none"
)

// LineWholeDocument is the LogMapping.Line value that makes the whole
// Elasticsearch document, as JSON, the log line.
const LineWholeDocument = "json"

// DefaultTimestampField is the timestamp field when a mapping names none.
const DefaultTimestampField = "@timestamp"

// LogMapping says how the documents of some Elasticsearch indices become Loki
// entries. The translators, the gateway and the backfill share it.
type LogMapping struct {
	// Indices is an Elasticsearch index pattern, comma-separated with `*`
	// wildcards, that selects the documents this mapping applies to.
	Indices string `yaml:"indices" json:"indices"`
	// Timestamp is the field that holds the entry time.
	Timestamp string `yaml:"timestamp" json:"timestamp"`
	// Labels maps a Loki label name to the Elasticsearch field that fills it.
	Labels map[string]string `yaml:"labels" json:"labels,omitempty"`
	// StaticLabels are fixed labels on every entry of this mapping.
	StaticLabels map[string]string `yaml:"static_labels" json:"static_labels,omitempty"`
	// StructuredMetadata lists fields kept as structured metadata. The
	// document _id is always kept as es_id.
	StructuredMetadata []string `yaml:"structured_metadata" json:"structured_metadata,omitempty"`
	// Line is the field that becomes the log line, or "json" for the whole
	// document.
	Line string `yaml:"line" json:"line"`
	// Parser is json, logfmt or none.
	Parser string `yaml:"parser" json:"parser"`
	// Fields carries Elasticsearch field types (keyword, text, long, ...).
	Fields map[string]string `yaml:"fields" json:"fields,omitempty"`
	// DefaultField is what unfielded KQL and Lucene terms search. Empty means
	// Elasticsearch's default of every field.
	DefaultField string `yaml:"default_field" json:"default_field,omitempty"`
	// OversizeLines is what the writers do with lines over Loki's
	// max_line_size: dead_letter or truncate.
	OversizeLines string `yaml:"oversize_lines" json:"oversize_lines,omitempty"`
}

// DefaultLogMapping returns the mapping used when a plan gives none: the
// whole document is the line, parsed with | json, with no labels.
func DefaultLogMapping() LogMapping {
	return LogMapping{
		Indices:   "*",
		Timestamp: DefaultTimestampField,
		Line:      LineWholeDocument,
		Parser:    ParserJSON,
	}
}

// WithDefaults returns a copy with empty optional settings filled in.
func (m LogMapping) WithDefaults() LogMapping {
	if m.Timestamp == "" {
		m.Timestamp = DefaultTimestampField
	}
	if m.Line == "" {
		m.Line = LineWholeDocument
	}
	if m.Parser == "" {
		if m.Line == LineWholeDocument {
			m.Parser = ParserJSON
		} else {
			m.Parser = ParserNone
		}
	}
	if m.OversizeLines == "" {
		m.OversizeLines = "dead_letter"
	}
	return m
}

// LabelFor returns the Loki label filled from field, if any.
func (m LogMapping) LabelFor(field string) (string, bool) {
	for _, name := range sortedKeys(m.Labels) {
		if m.Labels[name] == field {
			return name, true
		}
	}
	return "", false
}

// IsStructuredMetadata reports whether field is kept as structured metadata.
func (m LogMapping) IsStructuredMetadata(field string) bool {
	for _, f := range m.StructuredMetadata {
		if f == field {
			return true
		}
	}
	return false
}

// MatchesIndex reports whether an index pattern, such as a Kibana index
// pattern title, selects the same indices as this mapping. Both sides may be
// comma-separated lists with wildcards; one matching part is enough.
func (m LogMapping) MatchesIndex(pattern string) bool {
	for _, want := range splitPatterns(pattern) {
		for _, have := range splitPatterns(m.Indices) {
			if want == have || globMatch(have, want) || globMatch(want, have) {
				return true
			}
		}
	}
	return false
}

// SelectMapping picks the mapping entry for an index pattern: the first entry
// whose indices match, or the only entry when there is one. It returns false
// when no entry applies.
func SelectMapping(mappings []LogMapping, index string) (LogMapping, bool) {
	if index != "" {
		for _, m := range mappings {
			if m.MatchesIndex(index) {
				return m, true
			}
		}
	}
	if len(mappings) == 1 {
		return mappings[0], true
	}
	return LogMapping{}, false
}

func splitPatterns(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// globMatch matches an Elasticsearch index wildcard, where only `*` is
// special. path.Match also treats `?` and `[` as special, so they are escaped.
func globMatch(pattern, name string) bool {
	escaped := strings.NewReplacer(`\`, `\\`, `?`, `\?`, `[`, `\[`).Replace(pattern)
	ok, err := path.Match(escaped, name)
	return err == nil && ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
