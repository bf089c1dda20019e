package alerts

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// Sources, as the source label of every generated rule names them.
const (
	SourceKibana  = "kibana"
	SourceWatcher = "watcher"
)

// ruleSpec is what a source rule measures and when it fires, read from any
// of the source formats. The builder renders it as a Loki rule.
type ruleSpec struct {
	source   string
	kind     string
	id       string
	name     string
	origin   Origin
	interval time.Duration
	tags     []string
	// disabled marks a Kibana rule that is disabled or a watch that is
	// deactivated: its Loki rule goes to the input's .disabled.yaml file.
	disabled bool

	// index selects the mapping entry; timeField is the field the source
	// measures its window on, or "".
	index     string
	timeField string
	// query selects the documents; denominator is set for a ratio.
	query       *ast.Query
	denominator *ast.Query
	original    string

	agg     logql.Aggregation
	field   string
	groupBy []string
	// topN keeps the first n groups (bottomN the last), 0 for all.
	topN   int
	bottom bool

	window time.Duration
	// windowFromQuery takes the window from the query's condition on the
	// time field, as a watch's search sets it.
	windowFromQuery bool
	cond            condition

	reasons fidelity.Reasons
	// notes are annotations for what a Loki rule cannot hold: actions,
	// notification settings, tags, metadata.
	notes map[string]string
}

func (s *ruleSpec) note(key, text string) {
	if text == "" {
		return
	}
	if s.notes == nil {
		s.notes = make(map[string]string)
	}
	s.notes[key] = text
}

// unsupported marks the rule as having no Loki form.
func (s *ruleSpec) unsupported(code, format string, args ...any) *ruleSpec {
	s.reasons.Addf(fidelity.Unsupported, code, format, args...)
	return s
}

// displayName is the alert name: the rule's name, or its id.
func (s *ruleSpec) displayName() string {
	if n := strings.TrimSpace(s.name); n != "" {
		return n
	}
	return s.id
}

// measure describes the value the rule compares, for annotations.
func (s *ruleSpec) measure() string {
	switch {
	case s.denominator != nil:
		return "the ratio of lines that match the first criteria to lines that match the second"
	case s.agg == logql.AggCount:
		return "the number of matching log lines"
	case s.agg == logql.AggCardinality:
		return fmt.Sprintf("the number of distinct values of %s in matching log lines", s.field)
	}
	return fmt.Sprintf("the %s of %s in matching log lines", s.agg, s.field)
}

// windowText is the window as Prometheus writes durations.
func (s *ruleSpec) windowText() string { return formatDuration(s.window) }

// formatDuration writes a duration as Prometheus and LogQL read it: whole
// days, hours, minutes and seconds, largest first, such as 1d, 1h30m or 45s.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}}
	for _, u := range units {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "1ms"
	}
	return b.String()
}

// Bounds of rule windows and evaluation intervals.
const (
	// maxWindow is the longest window a rule gets: 721h (30d1h), the
	// default of Loki's max_query_length since Loki 2.4. The ruler queries
	// the whole window at every evaluation, and Loki's querier rejects a
	// query whose time range is longer than max_query_length, so with the
	// default limits a longer rule would fail at every evaluation.
	// NOTE: a Loki with a raised max_query_length can run longer windows,
	// but such rules are reported unsupported and need writing by hand.
	maxWindow = 721 * time.Hour

	// minInterval is the shortest evaluation interval. The ruler runs each
	// evaluation as a Loki query, and no log alert needs more than one a
	// second, so a shorter interval is a mistake in the source, such as
	// 1e-9 read as seconds.
	minInterval = time.Second
)

// kibanaWindow reads a window given as a size and a unit (s, m, h or d), as
// Kibana rules store timeWindowSize and timeWindowUnit. The size must be at
// least 1, as the parameter schema of Kibana's Elasticsearch query and index
// threshold rules requires, so a window is at least 1s. A window longer than
// maxWindow is returned, and the builder reports it unsupported.
func kibanaWindow(params map[string]any, sizeKey, unitKey string) (time.Duration, error) {
	rawSize, ok := params[sizeKey]
	if !ok {
		return 0, missing("params."+sizeKey, "give the time window size, such as 5")
	}
	size, ok := number(rawSize)
	if !ok || size < 1 {
		return 0, invalid("params."+sizeKey, rawSize, "the time window size must be a finite number of at least 1, such as 5")
	}
	unit := str(params, unitKey)
	scale, ok := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if !ok {
		if _, present := params[unitKey]; !present {
			return 0, missing("params."+unitKey, "give the time window unit: s, m, h or d")
		}
		return 0, invalid("params."+unitKey, params[unitKey], "the time window unit must be s, m, h or d")
	}
	// A float64 at or above 2^63 does not convert to a time.Duration.
	if window := size * float64(scale); window < float64(math.MaxInt64) {
		return time.Duration(window), nil
	}
	return 0, invalid("params."+sizeKey, rawSize, fmt.Sprintf(
		"a window of %s%s is longer than 292 years, the longest duration this converter can hold; give a window of at most %s, the longest that Loki queries by default",
		formatNumber(size), unit, formatDuration(maxWindow)))
}
