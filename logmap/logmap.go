// Package logmap turns Elasticsearch documents into Loki entries as a plan's
// log mapping describes: the timestamp, stream labels, structured metadata
// and log line of each entry. The gateway and the backfill share it.
//
// Every entry carries the document _id as the structured metadata es_id,
// first. Loki 3.7.6 stores an entry with the same stream, timestamp, line
// and structured metadata once. So a push that is sent again is stored
// once, and two Elasticsearch documents with the same time and line but
// different _id values are both kept.
package logmap

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/logql"
)

// Reasons of a Skip.
const (
	ReasonMissingTimestamp = "missing_timestamp"
	ReasonInvalidTimestamp = "invalid_timestamp"
	ReasonMissingLine      = "missing_line"
	ReasonLineTooLong      = "line_too_long"
	ReasonInvalidDocument  = "invalid_document"
	ReasonMissingID        = "missing_id"
	// ReasonNoLabels is a document that yields no stream label: its
	// mapping has no static labels and every label field is missing or
	// empty. Loki requires at least one label per stream.
	ReasonNoLabels = "no_labels"
)

// DocumentIDKey is the structured metadata name of the document _id.
const DocumentIDKey = logql.DocumentIDMetadata

// DefaultMaxLabelValueLength is Loki 3.x's default max_label_value_length.
const DefaultMaxLabelValueLength = 2048

// Entry is one Loki entry with its stream.
type Entry struct {
	// Stream is the canonical label set, as loki.LabelString returns it:
	// {a="1", b="2"}.
	Stream string
	// Labels is the same label set as a map. Entries with the same labels
	// share one map, so it must not be changed.
	Labels map[string]string
	// Entry holds the timestamp (nanoseconds kept), the line and the
	// structured metadata, which always starts with es_id.
	Entry push.Entry
	// Truncated is true when the line was cut to Options.MaxLineSize
	// because the mapping's oversize_lines is truncate.
	Truncated bool
}

// Options are the settings a mapping does not carry.
type Options struct {
	// MaxLineSize is Loki's max_line_size in bytes; 0 means no limit.
	MaxLineSize int64
	// MaxLabelValueLength is Loki's max_label_value_length: longer label
	// values are cut at a UTF-8 boundary. 0 means
	// DefaultMaxLabelValueLength, and a negative value means no limit.
	MaxLabelValueLength int
	// ExtraLabels are added to every stream, such as the backfill's
	// stream-separation label. They replace a mapped label of the same name.
	ExtraLabels map[string]string
}

// Skip is a document that cannot become a Loki entry.
type Skip struct {
	// Reason is one of the Reason constants.
	Reason string
	// Detail describes what was found, for the dead letter and the report.
	Detail string
}

func (s *Skip) Error() string {
	if s.Detail == "" {
		return "logmap: document skipped: " + s.Reason
	}
	return "logmap: document skipped: " + s.Reason + ": " + s.Detail
}

// labelField is a label filled from a document field.
type labelField struct {
	name string
	slot int
}

// metadataField is a structured metadata entry filled from a field.
type metadataField struct {
	name string
	slot int
}

// Special slots for the Elasticsearch metadata fields, which are not in
// _source.
const (
	slotID    = -2
	slotIndex = -3
)

// maxCachedStreams bounds the cache of label sets. A mapping whose label
// values have more combinations recomputes the rest.
const maxCachedStreams = 1 << 14

// Mapper maps the documents of one log mapping. It is safe for concurrent
// use.
type Mapper struct {
	mapping  plans.LogMapping
	opts     Options
	truncate bool

	paths     map[string]pathNode
	slots     int
	timestamp int // slot of the timestamp field
	line      int // slot of the line field, or -1 for the whole document
	labels    []labelField
	metadata  []metadataField
	// constant holds the static labels and ExtraLabels.
	constant map[string]string

	pool sync.Pool // *scanner

	mu      sync.RWMutex
	streams map[string]stream
}

// stream is a cached label set.
type stream struct {
	key    string
	labels map[string]string
}

var labelNamePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New returns a Mapper for m, with m.WithDefaults() applied.
func New(m plans.LogMapping, opts Options) (*Mapper, error) {
	m = m.WithDefaults()
	if opts.MaxLabelValueLength == 0 {
		opts.MaxLabelValueLength = DefaultMaxLabelValueLength
	}
	if opts.MaxLineSize < 0 {
		return nil, fmt.Errorf("logmap: invalid MaxLineSize %d: use 0 for no limit or Loki's max_line_size in bytes", opts.MaxLineSize)
	}
	switch m.OversizeLines {
	case plans.OversizeDeadLetter, plans.OversizeTruncate:
	default:
		return nil, fmt.Errorf("logmap: mapping for %q: invalid oversize_lines %q: use %s or %s",
			m.Indices, m.OversizeLines, plans.OversizeDeadLetter, plans.OversizeTruncate)
	}
	mp := &Mapper{
		mapping:  m,
		opts:     opts,
		truncate: m.OversizeLines == plans.OversizeTruncate,
		paths:    map[string]pathNode{},
		constant: map[string]string{},
		streams:  map[string]stream{},
	}
	if err := mp.compile(); err != nil {
		return nil, err
	}
	mp.pool.New = func() any {
		return &scanner{paths: mp.paths, vals: make([]span, mp.slots)}
	}
	return mp, nil
}

// compile assigns a slot to every field the mapping reads and builds the
// scanner's path table.
func (mp *Mapper) compile() error {
	m := mp.mapping
	slotOf := map[string]int{}
	field := func(name string) (int, error) {
		switch name {
		case "_id":
			return slotID, nil
		case "_index":
			return slotIndex, nil
		}
		if strings.TrimSpace(name) == "" {
			return 0, fmt.Errorf("logmap: mapping for %q names an empty field", m.Indices)
		}
		if s, ok := slotOf[name]; ok {
			return s, nil
		}
		s := mp.slots
		mp.slots++
		slotOf[name] = s
		mp.addPath(name, s)
		return s, nil
	}

	var err error
	if mp.timestamp, err = field(m.Timestamp); err != nil {
		return err
	}
	mp.line = -1
	if m.Line != plans.LineWholeDocument {
		if mp.line, err = field(m.Line); err != nil {
			return err
		}
	}

	names := make([]string, 0, len(m.Labels))
	for name := range m.Labels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !validLabelName(name) {
			return fmt.Errorf("logmap: mapping for %q: invalid label name %q: use letters, digits and underscores, not starting with a digit or __", m.Indices, name)
		}
		if _, extra := mp.opts.ExtraLabels[name]; extra {
			continue
		}
		s, err := field(m.Labels[name])
		if err != nil {
			return err
		}
		mp.labels = append(mp.labels, labelField{name: name, slot: s})
	}
	for name, value := range m.StaticLabels {
		if !validLabelName(name) {
			return fmt.Errorf("logmap: mapping for %q: invalid static label name %q: use letters, digits and underscores, not starting with a digit or __", m.Indices, name)
		}
		mp.setConstant(name, value)
	}
	for name, value := range mp.opts.ExtraLabels {
		if !validLabelName(name) {
			return fmt.Errorf("logmap: invalid extra label name %q: use letters, digits and underscores, not starting with a digit or __", name)
		}
		mp.setConstant(name, value)
	}

	seen := map[string]string{DocumentIDKey: "_id"}
	for _, f := range m.StructuredMetadata {
		name := logql.SanitizeLabelName(f)
		if first, dup := seen[name]; dup {
			if first == f {
				continue
			}
			return fmt.Errorf("logmap: mapping for %q: structured metadata fields %q and %q both become %q in Loki: keep one of them", m.Indices, first, f, name)
		}
		seen[name] = f
		s, err := field(f)
		if err != nil {
			return err
		}
		mp.metadata = append(mp.metadata, metadataField{name: name, slot: s})
	}
	return nil
}

func (mp *Mapper) setConstant(name, value string) {
	value = mp.cleanLabelValue(strings.ToValidUTF8(value, "\uFFFD"))
	if value == "" {
		delete(mp.constant, name)
		return
	}
	mp.constant[name] = value
}

func validLabelName(name string) bool {
	return labelNamePattern.MatchString(name) && !strings.HasPrefix(name, "__")
}

// addPath registers field and every dotted prefix of it.
func (mp *Mapper) addPath(field string, slot int) {
	for i := 0; i < len(field); i++ {
		if field[i] != '.' {
			continue
		}
		n, ok := mp.paths[field[:i]]
		if !ok {
			n.slot = -1
		}
		n.prefix = true
		mp.paths[field[:i]] = n
	}
	n := mp.paths[field]
	n.slot = slot
	mp.paths[field] = n
}

// Mapping returns the mapping with defaults applied.
func (mp *Mapper) Mapping() plans.LogMapping { return mp.mapping }

// Map turns one document into an entry. id is the document _id, index its
// index, and source its _source. A document that cannot become an entry
// returns a *Skip.
func (mp *Mapper) Map(id, index string, source []byte) (Entry, error) {
	if id == "" {
		return Entry{}, &Skip{Reason: ReasonMissingID, Detail: "the document has no _id, which every entry carries as es_id"}
	}
	s := mp.pool.Get().(*scanner)
	defer mp.release(s)
	s.src = source
	if err := s.scan(); err != nil {
		return Entry{}, &Skip{Reason: ReasonInvalidDocument, Detail: fmt.Sprintf("document %s: %v", id, err)}
	}

	ns, terr := mp.timestampOf(s, id, index)
	if terr != nil {
		detail := fmt.Sprintf("document %s: field %s", id, mp.mapping.Timestamp)
		if terr.detail != "" {
			detail += ": " + terr.detail
		} else {
			detail += " is missing"
		}
		return Entry{}, &Skip{Reason: terr.reason, Detail: detail}
	}

	line, err := mp.lineOf(s, id, index)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{}
	if mp.opts.MaxLineSize > 0 && int64(len(line)) > mp.opts.MaxLineSize {
		if !mp.truncate {
			return Entry{}, &Skip{Reason: ReasonLineTooLong, Detail: fmt.Sprintf(
				"document %s: the line is %d bytes, more than max_line_size %d; set oversize_lines: truncate to keep its start",
				id, len(line), mp.opts.MaxLineSize)}
		}
		line = cutUTF8(line, int(mp.opts.MaxLineSize))
		e.Truncated = true
	}

	st, ok := mp.streamOf(s, index)
	if !ok {
		return Entry{}, &Skip{Reason: ReasonNoLabels, Detail: fmt.Sprintf(
			"document %s: every label field of the mapping for %q is missing or empty; add a static label so Loki can store it",
			id, mp.mapping.Indices)}
	}
	e.Stream, e.Labels = st.key, st.labels
	e.Entry = push.Entry{
		Timestamp:          time.Unix(0, ns).UTC(),
		Line:               line,
		StructuredMetadata: mp.metadataOf(s, id, index),
	}
	return e, nil
}

func (mp *Mapper) release(s *scanner) {
	s.src = nil
	clear(s.vals)
	s.path = s.path[:0]
	s.spaced = false
	mp.pool.Put(s)
}

// special returns the value of _id or _index as a captured string.
func special(slot int, id, index string) string {
	if slot == slotID {
		return id
	}
	return index
}

func (mp *Mapper) timestampOf(s *scanner, id, index string) (int64, *timestampError) {
	if mp.timestamp < 0 {
		v := special(mp.timestamp, id, index)
		quoted := []byte(`"` + v + `"`)
		return parseTimestamp(quoted, span{start: 0, end: len(quoted), kind: kindString})
	}
	return parseTimestamp(s.src, s.vals[mp.timestamp])
}

func (mp *Mapper) lineOf(s *scanner, id, index string) (string, error) {
	if mp.line == -1 {
		return wholeDocument(s), nil
	}
	if mp.line < -1 {
		return special(mp.line, id, index), nil
	}
	sp := s.vals[mp.line]
	if sp.kind == kindNone || sp.kind == kindNull {
		return "", &Skip{Reason: ReasonMissingLine, Detail: fmt.Sprintf("document %s has no field %s for the line", id, mp.mapping.Line)}
	}
	return stringValue(s.src, sp, &s.key), nil
}

// wholeDocument returns the scanned document as compact JSON.
func wholeDocument(s *scanner) string {
	if !s.spaced {
		if !utf8.Valid(s.src) {
			return strings.ToValidUTF8(string(s.src), "\uFFFD")
		}
		return string(s.src)
	}
	return compactJSON(s.src)
}

// streamOf returns the entry's label set, from the cache when the same
// label values were seen before.
func (mp *Mapper) streamOf(s *scanner, index string) (stream, bool) {
	key := s.key[:0]
	for _, l := range mp.labels {
		if l.slot < 0 {
			v := special(l.slot, "", index)
			key = appendLen(append(key, byte(kindString)), len(v))
			key = append(key, v...)
			continue
		}
		sp := s.vals[l.slot]
		key = appendLen(append(key, byte(sp.kind)), sp.end-sp.start)
		key = append(key, s.src[sp.start:sp.end]...)
	}
	s.key = key

	mp.mu.RLock()
	st, ok := mp.streams[string(key)]
	mp.mu.RUnlock()
	if ok {
		return st, st.labels != nil
	}

	labels := make(map[string]string, len(mp.labels)+len(mp.constant))
	var scratch []byte
	for _, l := range mp.labels {
		var v string
		if l.slot < 0 {
			v = special(l.slot, "", index)
		} else {
			sp := s.vals[l.slot]
			if sp.kind == kindNone || sp.kind == kindNull {
				continue
			}
			v = stringValue(s.src, sp, &scratch)
		}
		if v = mp.cleanLabelValue(v); v != "" {
			labels[l.name] = v
		}
	}
	for name, v := range mp.constant {
		labels[name] = v
	}
	st = stream{key: loki.LabelString(labels), labels: labels}
	if len(labels) == 0 {
		st = stream{}
	}

	mp.mu.Lock()
	if len(mp.streams) >= maxCachedStreams {
		clear(mp.streams)
	}
	mp.streams[string(key)] = st
	mp.mu.Unlock()
	return st, st.labels != nil
}

func appendLen(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// cleanLabelValue cuts v to the maximum label value length. v is valid
// UTF-8.
func (mp *Mapper) cleanLabelValue(v string) string {
	if n := mp.opts.MaxLabelValueLength; n > 0 {
		v = cutUTF8(v, n)
	}
	return v
}

// metadataOf returns es_id followed by the mapped fields that are present
// and not empty.
func (mp *Mapper) metadataOf(s *scanner, id, index string) push.LabelsAdapter {
	md := make(push.LabelsAdapter, 1, 1+len(mp.metadata))
	md[0] = push.LabelAdapter{Name: DocumentIDKey, Value: strings.ToValidUTF8(id, "\uFFFD")}
	for _, f := range mp.metadata {
		var v string
		if f.slot < 0 {
			v = special(f.slot, id, index)
		} else {
			sp := s.vals[f.slot]
			if sp.kind == kindNone || sp.kind == kindNull {
				continue
			}
			v = stringValue(s.src, sp, &s.key)
		}
		if v != "" {
			md = append(md, push.LabelAdapter{Name: f.name, Value: v})
		}
	}
	return md
}

// Set holds the mappers of a plan's logs entries.
type Set struct {
	mappers []*Mapper
	byIndex sync.Map // index name -> *Mapper, nil when none matches
}

// NewSet returns a Set with one Mapper per mapping, in plan order.
func NewSet(mappings []plans.LogMapping, opts Options) (*Set, error) {
	s := &Set{}
	for i, m := range mappings {
		mp, err := New(m, opts)
		if err != nil {
			return nil, fmt.Errorf("logs[%d]: %w", i, err)
		}
		s.mappers = append(s.mappers, mp)
	}
	return s, nil
}

// For returns the mapper of the first mapping whose indices match index,
// as plans.LogMapping.MatchesIndex decides, or nil when none matches.
func (s *Set) For(index string) *Mapper {
	if v, ok := s.byIndex.Load(index); ok {
		return v.(*Mapper)
	}
	var found *Mapper
	for _, mp := range s.mappers {
		if mp.mapping.MatchesIndex(index) {
			found = mp
			break
		}
	}
	s.byIndex.Store(index, found)
	return found
}
