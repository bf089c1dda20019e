package plans

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Loki limits a mapping must stay within. The values are Loki's defaults,
// checked on Loki 3.7.6: 15 labels plus the service_name label Loki adds
// were accepted, and 16 labels were rejected.
//
// NOTE: a Loki configured with other limits is unknown here, so a plan that
// passes these checks can still be rejected by it.
const (
	// lokiMaxLabelNames is max_label_names_per_series.
	lokiMaxLabelNames = 15
	// lokiMaxLabelValueLength is max_label_value_length.
	lokiMaxLabelValueLength = 2048
	// lokiMaxStructuredMetadata is max_structured_metadata_entries_count.
	lokiMaxStructuredMetadata = 128
)

// Values of LogMapping.OversizeLines.
const (
	OversizeDeadLetter = "dead_letter"
	OversizeTruncate   = "truncate"
)

var lokiLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// validLabelName reports whether name is a valid Loki label name that is not
// reserved, as names starting with __ are.
func validLabelName(name string) bool {
	return lokiLabelName.MatchString(name) && !strings.HasPrefix(name, "__")
}

func (v *validator) logs() {
	firstWith := make(map[string]int)
	for i, m := range v.p.Logs {
		path := fmt.Sprintf("logs[%d]", i)
		v.logMapping(path, m)

		key := indicesKey(m.Indices)
		if key == "" {
			continue
		}
		if j, dup := firstWith[key]; dup {
			v.add(path+".indices", "indices %q are the same as in logs[%d], which matches "+
				"first, so this entry is never used: merge the two entries", m.Indices, j)
			continue
		}
		firstWith[key] = i
	}
}

// indicesKey normalises an index pattern list for comparison: parts trimmed
// and sorted.
func indicesKey(indices string) string {
	parts := splitPatterns(indices)
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (v *validator) logMapping(path string, m LogMapping) {
	if indicesKey(m.Indices) == "" {
		v.add(path+".indices", "missing indices: add the index pattern this entry maps, "+
			"such as \"filebeat-*\"")
	}
	if m.Timestamp == "" {
		v.add(path+".timestamp", "missing timestamp field: set timestamp to the field that "+
			"holds the entry time, such as %s", DefaultTimestampField)
	}
	v.labels(path, m)
	v.staticLabels(path, m)
	v.labelCount(path, m)
	v.fieldUses(path, m)
	v.lineAndParser(path, m)
}

func (v *validator) labels(path string, m LogMapping) {
	for _, name := range sortedKeys(m.Labels) {
		labelPath := path + ".labels." + name
		if !validLabelName(name) {
			v.add(labelPath, "invalid label name %q: use letters, digits and underscores, "+
				"not starting with a digit or __", name)
		}
		if strings.TrimSpace(m.Labels[name]) == "" {
			v.add(labelPath, "missing field: name the Elasticsearch field that fills label %q", name)
		}
	}
}

func (v *validator) staticLabels(path string, m LogMapping) {
	for _, name := range sortedKeys(m.StaticLabels) {
		labelPath := path + ".static_labels." + name
		value := m.StaticLabels[name]
		if !validLabelName(name) {
			v.add(labelPath, "invalid label name %q: use letters, digits and underscores, "+
				"not starting with a digit or __", name)
		}
		if _, both := m.Labels[name]; both {
			v.add(labelPath, "label %q is also in labels: keep it in one of them", name)
		}
		switch {
		case value == "":
			v.add(labelPath, "empty value: give static label %q a value, or remove it", name)
		case len(value) > lokiMaxLabelValueLength:
			v.add(labelPath, "value of static label %q is %d bytes long: Loki rejects values "+
				"over %d bytes", name, len(value), lokiMaxLabelValueLength)
		}
	}
}

// labelCount checks the labels of one stream against Loki's limit. Loki's
// own service_name label does not count toward it.
func (v *validator) labelCount(path string, m LogMapping) {
	names := make(map[string]bool, len(m.Labels)+len(m.StaticLabels))
	for name := range m.Labels {
		names[name] = true
	}
	for name := range m.StaticLabels {
		names[name] = true
	}
	if len(names) <= lokiMaxLabelNames {
		return
	}
	at := path + ".labels"
	if len(m.Labels) == 0 {
		at = path + ".static_labels"
	}
	v.add(at, "%d labels per stream (%d in labels, %d in static_labels): Loki accepts at most %d "+
		"by default (max_label_names_per_series), so move fields to structured_metadata",
		len(names), len(m.Labels), len(m.StaticLabels), lokiMaxLabelNames)
}

// fieldUses rejects a field mapped twice: by two labels, as a label and
// structured metadata, or as the line and something else.
func (v *validator) fieldUses(path string, m LogMapping) {
	usedAs := make(map[string]string)
	use := func(field, as, at string) {
		if field == "" {
			return
		}
		if first, dup := usedAs[field]; dup {
			v.add(at, "field %q is already mapped as %s: map each field once", field, first)
			return
		}
		usedAs[field] = as
	}
	if m.Line != "" && m.Line != LineWholeDocument {
		use(m.Line, "the line", path+".line")
	}
	for _, name := range sortedKeys(m.Labels) {
		use(m.Labels[name], fmt.Sprintf("label %q", name), path+".labels."+name)
	}
	for i, field := range m.StructuredMetadata {
		at := fmt.Sprintf("%s.structured_metadata[%d]", path, i)
		if strings.TrimSpace(field) == "" {
			v.add(at, "empty field name: name an Elasticsearch field, or remove the entry")
			continue
		}
		use(field, "structured metadata", at)
	}
	// The document _id is always kept as es_id, so it takes one entry.
	if n := len(m.StructuredMetadata) + 1; n > lokiMaxStructuredMetadata {
		v.add(path+".structured_metadata", "%d structured metadata entries with es_id: Loki "+
			"accepts at most %d by default", n, lokiMaxStructuredMetadata)
	}
}

func (v *validator) lineAndParser(path string, m LogMapping) {
	if m.Line == "" {
		v.add(path+".line", "missing line: set line to the field that becomes the log line, "+
			"or %q for the whole document", LineWholeDocument)
	}
	switch m.Parser {
	case ParserJSON, ParserLogfmt, ParserNone:
		if m.Line == LineWholeDocument && m.Parser != ParserJSON {
			v.add(path+".parser", "parser %q cannot read line %q, which is the whole document "+
				"as JSON: use parser %s", m.Parser, LineWholeDocument, ParserJSON)
		}
	default:
		v.add(path+".parser", "invalid parser %q: use %s, %s or %s", m.Parser,
			ParserJSON, ParserLogfmt, ParserNone)
	}
	switch m.OversizeLines {
	case OversizeDeadLetter, OversizeTruncate:
	default:
		v.add(path+".oversize_lines", "invalid oversize_lines %q: use %s or %s", m.OversizeLines,
			OversizeDeadLetter, OversizeTruncate)
	}
}
