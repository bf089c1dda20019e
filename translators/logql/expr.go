package logql

import (
	"strconv"
	"strings"
)

// Matcher is one label matcher of a stream selector.
type Matcher struct {
	Name  string
	Op    string // =, !=, =~ or !~
	Value string
}

// String renders the matcher with a double-quoted value.
func (m Matcher) String() string {
	return m.Name + m.Op + strconv.Quote(m.Value)
}

// LogQuery is a LogQL log query: a stream selector and a pipeline. Stages are
// rendered text, each starting with its operator (`|=`, `!~`, `|`).
type LogQuery struct {
	Selector []Matcher
	// Pre holds the stages that need no parser: structured-metadata and
	// stream-label filters, then line filters.
	Pre []string
	// Parser is "json", "logfmt" or "" for none.
	Parser string
	// Post holds the stages after the parser.
	Post []string
	// ErrorFilter appends `| __error__=""`, which drops lines where a
	// numeric comparison or the parser failed.
	ErrorFilter bool
}

// String renders the query.
func (q *LogQuery) String() string {
	var b strings.Builder
	b.WriteString(q.SelectorString())
	for _, s := range q.Pipeline() {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	return b.String()
}

// SelectorString renders only the stream selector.
func (q *LogQuery) SelectorString() string {
	parts := make([]string, len(q.Selector))
	for i, m := range q.Selector {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Pipeline returns the stages in order, the parser and error filter included.
func (q *LogQuery) Pipeline() []string {
	stages := append([]string(nil), q.Pre...)
	if q.Parser != "" {
		stages = append(stages, "| "+q.Parser)
	}
	stages = append(stages, q.Post...)
	if q.ErrorFilter {
		stages = append(stages, `| __error__=""`)
	}
	return stages
}

// Clone returns a deep copy, so a caller can add stages without changing q.
func (q *LogQuery) Clone() *LogQuery {
	c := *q
	c.Selector = append([]Matcher(nil), q.Selector...)
	c.Pre = append([]string(nil), q.Pre...)
	c.Post = append([]string(nil), q.Post...)
	return &c
}

// Quote renders a LogQL string literal: backticks, which need no escaping,
// unless the value holds a backtick; then a double-quoted Go string.
func Quote(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// formatNumber renders a number for a numeric label filter.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
