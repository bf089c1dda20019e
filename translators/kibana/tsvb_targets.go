package kibana

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// Queries of TSVB series and Lens layers: like metricTargets, with a
// filter, a time shift or a ratio per metric.

// seriesMetric is a metric with the settings that apply to it alone: a
// Lens column's filter, a time shift, or a TSVB filter ratio.
type seriesMetric struct {
	metricItem
	parts []ownedPart
	// offset is a LogQL offset duration, or empty for none.
	offset string
	// ratio, when set, makes the metric the ratio of the metric over two
	// sets of parts, as TSVB's filter ratio.
	ratio *ratioParts
}

// ratioParts are the numerator and denominator filters of a ratio.
type ratioParts struct{ num, den []ownedPart }

// seriesTargets builds one query per filters bucket and metric, as
// metricTargets does, for metrics with their own parts and offsets. When
// many is true, the panel plots several metrics, so legends name them.
func (p *panelCtx) seriesTargets(
	schema *logql.Schema,
	base []ownedPart,
	metrics []seriesMetric,
	bp bucketPlan,
	instant, many bool,
) []cog.Builder[variants.Dataquery] {
	filters := bp.filters
	if len(filters) == 0 {
		filters = []filterEntry{{}}
	}
	var targets []cog.Builder[variants.Dataquery]
	for _, f := range filters {
		for _, m := range metrics {
			own := append(append([]ownedPart(nil), base...), m.parts...)
			if f.part.Where != "" {
				own = append(own, ownedPart{owner: p.ref.obj, part: f.part})
			}
			if expr, ok := p.seriesQuery(schema, own, m, bp, instant); ok {
				targets = append(targets, p.target(expr, legend(schema, m.metricItem, f, bp, many), instant))
			}
		}
	}
	return targets
}

// seriesQuery renders one metric over the parts.
func (p *panelCtx) seriesQuery(schema *logql.Schema, own []ownedPart, m seriesMetric, bp bucketPlan, instant bool) (string, bool) {
	if m.ratio != nil {
		return p.ratioQuery(schema, own, m, bp, instant)
	}
	q := p.logQuery(schema, own)
	if q == nil {
		return "", false
	}
	return p.seriesExpr(schema, q, m, bp, instant)
}

// ratioQuery divides the metric over the numerator by the metric over the
// denominator. Both sides group by the same labels, so their series match,
// and topk then keeps the largest ratios.
func (p *panelCtx) ratioQuery(schema *logql.Schema, own []ownedPart, m seriesMetric, bp bucketPlan, instant bool) (string, bool) {
	inner := bp
	inner.topN = 0
	var sides [2]string
	for i, extra := range [][]ownedPart{m.ratio.num, m.ratio.den} {
		q := p.logQuery(schema, append(append([]ownedPart(nil), own...), extra...))
		if q == nil {
			return "", false
		}
		expr, ok := p.seriesExpr(schema, q, m, inner, instant)
		if !ok {
			return "", false
		}
		sides[i] = expr
	}
	p.reasons.Addf(fidelity.Approximate, "tsvb_filter_ratio",
		"the ratio %q has no value where its denominator matches nothing; Kibana shows 0 there", m.label)
	expr := sides[0] + " / " + sides[1]
	if bp.topN == 0 {
		return expr, true
	}
	fn := "topk"
	if bp.bottom {
		fn = "bottomk"
	}
	p.reasons.Addf(fidelity.Approximate, "topk_per_step",
		"%s keeps the %d series with the largest ratios at each step; Elasticsearch's terms aggregation picks the top %d over the whole range", fn, bp.topN, bp.topN)
	return fmt.Sprintf("%s(%d, %s)", fn, bp.topN, expr), true
}

// seriesExpr renders one metric query, shifted by the metric's offset.
func (p *panelCtx) seriesExpr(schema *logql.Schema, q *logql.LogQuery, m seriesMetric, bp bucketPlan, instant bool) (string, bool) {
	spec := m.spec
	spec.GroupBy, spec.TopN, spec.Bottom = bp.groupBy, bp.topN, bp.bottom
	if instant {
		spec.Interval = instantRange
	}
	expr, reasons, err := schema.Metric(q, spec)
	if err != nil {
		p.reasons.Addf(fidelity.Approximate, "metric_field", "the metric %q is left out: %v", m.label, err)
		return "", false
	}
	p.reasons.Merge(reasons)
	if m.offset == "" {
		return expr, true
	}
	shifted, ok := withOffset(expr, q.SelectorString(), orDefault(spec.Interval, logql.DefaultInterval), m.offset)
	if !ok {
		p.reasons.Addf(fidelity.Approximate, "time_shift",
			"the metric %q is shifted back by %s, but its query could not be shifted; it is left out", m.label, m.offset)
	}
	return shifted, ok
}

// withOffset shifts a range aggregation back in time. It moves the range
// next to the stream selector and adds the offset there:
// {sel} [range] offset X | pipeline | unwrap f. Loki accepts the offset
// after the pipeline too, but Grafana's grammar does not when the query
// unwraps a field. The selector is the first brace of the expression and
// the range its last bracketed interval.
//
// NOTE: this edits the text logql.Schema.Metric renders. An offset field in
// logql.MetricSpec would remove the dependency on that layout; until then a
// layout this does not recognise leaves the metric out, with a reason.
func withOffset(expr, selector, interval, offset string) (string, bool) {
	rng := " [" + interval + "]"
	start := strings.Index(expr, "{")
	end := strings.LastIndex(expr, rng)
	if start < 0 || end < 0 || !strings.HasPrefix(expr[start:], selector) || start+len(selector) > end {
		return "", false
	}
	sel := start + len(selector)
	return expr[:sel] + rng + " offset " + offset + expr[sel:end] + expr[end+len(rng):], true
}

var offsetPattern = regexp.MustCompile(`^[0-9]+(ms|s|m|h|d|w|y)$`)

// lokiOffset reads a TSVB offset or Lens time shift as a LogQL offset:
// "previous" shifts by the dashboard's time range. It returns false for a
// shift LogQL cannot express.
func lokiOffset(shift string) (string, bool) {
	shift = strings.TrimSpace(shift)
	switch {
	case shift == "" || shift == "0":
		return "", true
	case shift == "previous":
		return "$__range", true
	case offsetPattern.MatchString(shift):
		return shift, true
	}
	return "", false
}
