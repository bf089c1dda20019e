package logql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Aggregation is an Elasticsearch metric aggregation to express in LogQL.
type Aggregation string

// Metric aggregations that have a LogQL form.
const (
	AggCount       Aggregation = "count"
	AggSum         Aggregation = "sum"
	AggAvg         Aggregation = "avg"
	AggMin         Aggregation = "min"
	AggMax         Aggregation = "max"
	AggPercentile  Aggregation = "percentile"
	AggCardinality Aggregation = "cardinality"
)

// instantRange makes a metric query cover the dashboard's whole time range.
const instantRange = "$__range"

// DefaultInterval is the range of a metric query: Grafana sets it from the
// panel's width and time range, as a date_histogram with an auto interval.
const DefaultInterval = "$__auto"

// MetricSpec describes one metric query over a log query.
type MetricSpec struct {
	Agg Aggregation
	// Field is the Elasticsearch field aggregated; empty for count.
	Field string
	// Percentile is 0 to 100, for AggPercentile.
	Percentile float64
	// GroupBy lists Elasticsearch fields to split series by (terms buckets).
	GroupBy []string
	// TopN keeps the N largest (or smallest with Bottom) series per step,
	// for terms buckets with a size. Zero keeps all.
	TopN   int
	Bottom bool
	// Interval is the range of the range aggregation; empty means
	// DefaultInterval.
	Interval string
}

// Metric builds a metric query over base. It returns the query, the reasons
// its numbers can differ from Elasticsearch's, and an error when a field it
// needs does not exist in Loki.
func (s *Schema) Metric(base *LogQuery, spec MetricSpec) (string, fidelity.Reasons, error) {
	var reasons fidelity.Reasons
	q := base.Clone()
	interval := spec.Interval
	if interval == "" {
		interval = DefaultInterval
	}

	by := make([]string, 0, len(spec.GroupBy))
	for _, f := range spec.GroupBy {
		name, err := s.requireLabel(q, f, "split series by")
		if err != nil {
			return "", reasons, err
		}
		if slices.Contains(by, name) {
			// Two buckets on one field split nothing further.
			continue
		}
		by = append(by, name)
		// A terms aggregation leaves out documents without the field;
		// sum by would give them a series with an empty label.
		addPost(q, "| "+name+`!=""`)
	}
	if interval != instantRange {
		reasons.Addf(fidelity.Approximate, "bucket_alignment",
			"each point sums the window that ends at it, while Elasticsearch's date_histogram counts fixed calendar buckets, so values can shift between neighbouring points")
	}

	// Loki refuses a metric query whose samples carry a parser error, so
	// one malformed line would break the panel: such lines are dropped.
	// Fields are resolved first, because they can add the parser.
	logText := func() string {
		if q.Parser != "" {
			q.ErrorFilter = true
		}
		return q.String()
	}

	var expr string
	switch spec.Agg {
	case AggCount:
		expr = fmt.Sprintf("sum%s (count_over_time(%s [%s]))", byClause(by), logText(), interval)
	case AggSum, AggAvg, AggMin, AggMax, AggPercentile:
		name, err := s.requireLabel(q, spec.Field, "aggregate")
		if err != nil {
			return "", reasons, err
		}
		if ref := s.resolve(spec.Field); ref.esType != "" && ref.family != famNumber {
			reasons.Addf(fidelity.Approximate, "unwrap_not_numeric",
				"%s is a %s field: unwrap reads its values as numbers and drops the lines where they are not", spec.Field, ref.esType)
		}
		unwrapped := logText() + " | unwrap " + name + ` | __error__=""`
		fn := string(spec.Agg) + "_over_time("
		if spec.Agg == AggPercentile {
			fn = "quantile_over_time(" + percentToQuantile(spec.Percentile) + ", "
			reasons.Addf(fidelity.Approximate, "percentile_method",
				"Elasticsearch estimates percentiles of %s with TDigest; quantile_over_time computes them from the samples of each step", spec.Field)
		}
		expr = fmt.Sprintf("%s%s [%s]) by (%s)", fn, unwrapped, interval, strings.Join(by, ", "))
	case AggCardinality:
		name, err := s.requireLabel(q, spec.Field, "count distinct values of")
		if err != nil {
			return "", reasons, err
		}
		// Elasticsearch's cardinality does not count a missing value.
		addPost(q, "| "+name+`!=""`)
		reasons.Addf(fidelity.Approximate, "cardinality_per_step",
			"unique count of %s counts distinct values per step; Elasticsearch's cardinality is a HyperLogLog estimate over each bucket", spec.Field)
		inner := []string{name}
		for _, b := range by {
			if b != name {
				inner = append(inner, b)
			}
		}
		expr = fmt.Sprintf("count%s (sum by (%s) (count_over_time(%s [%s])))",
			byClause(by), strings.Join(inner, ", "), logText(), interval)
	default:
		return "", reasons, fmt.Errorf("aggregation %q has no LogQL form", spec.Agg)
	}

	if spec.TopN > 0 {
		fn := "topk"
		if spec.Bottom {
			fn = "bottomk"
		}
		expr = fn + "(" + strconv.Itoa(spec.TopN) + ", " + expr + ")"
		which := "top"
		if spec.Bottom {
			which = "bottom"
		}
		reasons.Addf(fidelity.Approximate, "topk_per_step",
			"%s keeps the %s %d series at each step; Elasticsearch's terms aggregation picks the %s %d over the whole range",
			fn, which, spec.TopN, which, spec.TopN)
	}
	return expr, reasons, nil
}

// requireLabel returns the Loki label name of a field for grouping or
// unwrapping, adding the parser to q when the field comes from the line.
func (s *Schema) requireLabel(q *LogQuery, field, purpose string) (string, error) {
	if field == "" {
		return "", fmt.Errorf("no field given to %s", purpose)
	}
	ref := s.resolve(field)
	switch ref.loc {
	case locLabel, locMetadata:
		return ref.name, nil
	case locParsed:
		if q.Parser == "" {
			q.Parser = s.mapping.Parser
		}
		return ref.name, nil
	case locTime:
		return "", fmt.Errorf("cannot %s the timestamp field %s", purpose, field)
	case locLine:
		return "", fmt.Errorf("cannot %s %s: it is the log line, not a label", purpose, field)
	}
	return "", fmt.Errorf("cannot %s %s: it is not a label or structured metadata, and the mapping's parser is none", purpose, field)
}

// addPost appends a filter after the parser unless the query has it.
func addPost(q *LogQuery, filter string) {
	if !slices.Contains(q.Post, filter) {
		q.Post = append(q.Post, filter)
	}
}

func byClause(by []string) string {
	if len(by) == 0 {
		return ""
	}
	return " by (" + strings.Join(by, ", ") + ")"
}

// VariableFilter adds a condition that a field matches a Grafana template
// variable, as a dashboard control filters every panel: a selector matcher
// for a stream label, a filter before the parser for structured metadata,
// and a label filter after it for parsed fields. With the variable's "All"
// value set to .* the condition keeps every line.
func (s *Schema) VariableFilter(q *LogQuery, field, variable string) error {
	ref := s.resolve(field)
	value := "$" + variable
	switch ref.loc {
	case locLabel:
		q.Selector = append(q.Selector, Matcher{Name: ref.name, Op: "=~", Value: value})
	case locMetadata:
		q.Pre = append([]string{"| " + ref.name + "=~" + Quote(value)}, q.Pre...)
	case locParsed:
		if q.Parser == "" {
			q.Parser = s.mapping.Parser
		}
		q.Post = append(q.Post, "| "+ref.name+"=~"+Quote(value))
	case locLine:
		q.Pre = append(q.Pre, "|~ "+Quote(value))
	case locTime:
		return fmt.Errorf("%s is the timestamp field", field)
	default:
		return fmt.Errorf("%s is not a label, structured metadata or the line, and the mapping's parser is none", field)
	}
	return nil
}

// LabelValuesQuery returns a Grafana variable query that lists a stream
// label's values, and false when the field is not a stream label.
func (s *Schema) LabelValuesQuery(field string) (string, bool) {
	ref := s.resolve(field)
	if ref.loc != locLabel {
		return "", false
	}
	r := &renderer{schema: s}
	q := &LogQuery{Selector: r.completeSelector(nil)}
	return "label_values(" + q.SelectorString() + ", " + ref.name + ")", true
}

// LabelName returns the name a field has in LogQL expressions and legends.
func (s *Schema) LabelName(field string) string {
	if ref := s.resolve(field); ref.name != "" {
		return ref.name
	}
	return SanitizeLabelName(field)
}
