package logql

import (
	"regexp"
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
// unless the value holds a backtick or a control character other than tab
// and newline (Loki's scanner rejects NUL in a query); then a double-quoted
// Go string with escapes.
func Quote(s string) string {
	if strings.Contains(s, "`") || hasControl(s) {
		return strconv.Quote(s)
	}
	return "`" + s + "`"
}

func hasControl(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return true
		}
	}
	return false
}

// templateSyntax finds what Grafana replaces in a query before it runs:
// $name, ${name} and [[name]].
var templateSyntax = regexp.MustCompile(`\$(?:\w|\{)|\[\[`)

// quote renders a value from the source query. A literal dollar or double
// bracket would be replaced by Grafana as a template variable, so unless
// the schema keeps variables (a Grafana dashboard's own), it is written as an
// escape Grafana leaves alone: \x24 in a regular expression, \u0024 in a
// plain string.
func (r *renderer) quote(s string, isRegex bool) string {
	if r.schema.keepVariables || !templateSyntax.MatchString(s) {
		return Quote(s)
	}
	if isRegex {
		return Quote(strings.ReplaceAll(s, `\$`, `\x24`))
	}
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "$", `\u0024`)
	return strings.ReplaceAll(q, "[[", `\u005b\u005b`)
}

// formatNumber renders a number for a numeric label filter.
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// percentToQuantile writes a percent as a quantile by moving the decimal
// point of its shortest decimal form, so 99.9 becomes 0.999 and not the
// binary quotient 0.9990000000000001.
func percentToQuantile(p float64) string {
	s := strconv.FormatFloat(p, 'f', -1, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	point := strings.IndexByte(s, '.')
	if point < 0 {
		point = len(s)
	}
	digits := strings.Replace(s, ".", "", 1)
	point -= 2
	for point < 1 {
		digits = "0" + digits
		point++
	}
	out := strings.TrimLeft(digits[:point], "0")
	if out == "" {
		out = "0"
	}
	if frac := strings.TrimRight(digits[point:], "0"); frac != "" {
		out += "." + frac
	}
	return sign + out
}
