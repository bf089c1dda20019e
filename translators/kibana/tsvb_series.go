package kibana

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// tsvbPipelineMetrics are TSVB metrics computed from the series' other
// metrics or buckets rather than from documents.
var tsvbPipelineMetrics = map[string]bool{
	"derivative": true, "cumulative_sum": true, "moving_average": true, "serial_diff": true,
	"math": true, "calculation": true, "positive_only": true, "series_agg": true,
	"avg_bucket": true, "max_bucket": true, "min_bucket": true, "sum_bucket": true,
	"std_deviation_bucket": true, "variance_bucket": true, "sum_of_squares_bucket": true,
}

// tsvbSeries builds the queries of one series: its last metric, split by
// the series' split mode, over the panel filter and the series filter.
func (p *panelCtx) tsvbSeries(ts tsvbSettings, s map[string]any, n int) []cog.Builder[variants.Dataquery] {
	name := fmt.Sprintf("series %d", n)
	if label := str(s, "label"); label != "" {
		name += fmt.Sprintf(" (%q)", label)
	}
	if truthy(s["hidden"]) {
		p.reasons.Addf(fidelity.Exact, "tsvb_series_hidden", "%s is hidden in Kibana, so it is left out", name)
		return nil
	}
	metrics := p.tsvbShiftedMetrics(s, n, name)
	if len(metrics) == 0 {
		return nil
	}

	ip, lastValue := p.tsvbSeriesSource(ts, s, name)
	instant := ts.typ != "timeseries"
	if instant && lastValue {
		p.reasons.Addf(fidelity.Approximate, "tsvb_last_value",
			"Kibana showed the value of the last time bucket (time range mode \"last value\"); the panel shows the value over the whole dashboard time range")
	}

	schema := p.schemaFor(ip)
	parts := append([]ownedPart(nil), ts.filter...)
	if part, ok := parseQueryValue(s["filter"], fmt.Sprintf("series %d filter", n)); ok {
		parts = append(parts, ownedPart{owner: p.ref.obj, part: part})
	}
	bp := p.tsvbSplit(ts, s, n, name)

	var targets []cog.Builder[variants.Dataquery]
	build := func() { targets = p.seriesTargets(schema, parts, metrics, bp, instant, len(metrics) > 1) }
	if truthy(s["ignore_global_filter"]) {
		p.withoutGlobalFilters(name, build)
	} else {
		build()
	}
	return targets
}

// tsvbShiftedMetrics returns the series' metrics with the series' time
// offset, or nil, with the reason, when either has no LogQL form.
func (p *panelCtx) tsvbShiftedMetrics(s map[string]any, n int, name string) []seriesMetric {
	metrics := p.tsvbMetrics(s, n, name)
	if len(metrics) == 0 {
		return nil
	}
	offset, ok := lokiOffset(str(s, "offset_time"))
	if !ok {
		p.reasons.Addf(fidelity.Approximate, "time_shift",
			"%s is shifted by %q, which a LogQL offset cannot express; it is left out", name, str(s, "offset_time"))
		return nil
	}
	for i := range metrics {
		metrics[i].offset = offset
	}
	return metrics
}

// tsvbSeriesSource returns the index pattern and time range mode of a
// series: the panel's, unless the series overrides the index pattern, which
// brings its own time field, interval and time range mode.
func (p *panelCtx) tsvbSeriesSource(ts tsvbSettings, s map[string]any, name string) (*indexPattern, bool) {
	if !truthy(s["override_index_pattern"]) {
		return ts.ip, ts.lastValue
	}
	ip := ts.ip
	if sip := p.tsvbIndex(s["series_index_pattern"], str(s, "series_index_pattern_ref_name")); sip != nil {
		ip = sip
	}
	iv := tsvbInterval(str(s, "series_interval"))
	if iv != "" && iv != ts.interval && ts.typ == "timeseries" {
		p.reasons.Addf(fidelity.Approximate, "tsvb_series_interval",
			"%s has its own interval %s; the panel uses one interval for every series", name, iv)
	}
	return withTimeField(ip, str(s, "series_time_field")), str(s, "time_range_mode") != "entire_time_range"
}

// tsvbMetrics maps the series' last metric, which is the one TSVB plots,
// because the metrics before it only feed pipeline metrics. It returns nil,
// with the reason, when the metric has no LogQL form.
func (p *panelCtx) tsvbMetrics(s map[string]any, n int, name string) []seriesMetric {
	last := tsvbLastMetric(s)
	if last == nil {
		p.reasons.Addf(fidelity.Approximate, "tsvb_metric_unsupported", "%s has no metric, so it is left out", name)
		return nil
	}
	typ, label := str(last, "type"), str(s, "label")
	switch typ {
	case "percentile":
		return p.tsvbPercentiles(last, label, name)
	case "filter_ratio":
		return p.tsvbFilterRatio(last, label, n, name)
	}
	if spec, def, ok := tsvbSpec(typ, str(last, "field")); ok {
		return []seriesMetric{{metricItem: metricItem{str(last, "id"), orDefault(label, def), spec}}}
	}
	detail := "which has no LogQL form"
	if tsvbPipelineMetrics[typ] {
		detail = "which is computed from the series' other metrics and has no LogQL form"
	}
	p.reasons.Addf(fidelity.Approximate, "tsvb_metric_unsupported", "%s plots a %s metric, %s; the series is left out", name, typ, detail)
	return nil
}

// tsvbLastMetric returns the metric a series plots: its last one.
func tsvbLastMetric(s map[string]any) map[string]any {
	metrics := arr(s, "metrics")
	if len(metrics) == 0 {
		return nil
	}
	last, _ := metrics[len(metrics)-1].(map[string]any)
	return last
}

// tsvbSpec maps a TSVB metric aggregation on a field, with TSVB's default
// label for it.
func tsvbSpec(typ, field string) (logql.MetricSpec, string, bool) {
	switch typ {
	case "count":
		return logql.MetricSpec{Agg: logql.AggCount}, "Count", true
	case "avg", "sum", "min", "max", "cardinality":
		def := map[string]string{"avg": "Average", "sum": "Sum", "min": "Min", "max": "Max", "cardinality": "Cardinality"}[typ]
		return logql.MetricSpec{Agg: logql.Aggregation(typ), Field: field}, def + " of " + field, true
	}
	return logql.MetricSpec{}, "", false
}

// tsvbFilterRatio maps a filter ratio: its aggregation (count by default)
// over the numerator filter, divided by the same over the denominator
// filter. Both are queries, in Lucene syntax when they are plain strings.
func (p *panelCtx) tsvbFilterRatio(m map[string]any, label string, n int, name string) []seriesMetric {
	agg := orDefault(str(m, "metric_agg"), "count")
	spec, _, ok := tsvbSpec(agg, str(m, "field"))
	if !ok {
		p.reasons.Addf(fidelity.Approximate, "tsvb_metric_unsupported",
			"%s plots a filter ratio of %s, which has no LogQL form; the series is left out", name, agg)
		return nil
	}
	ratio := &ratioParts{}
	if part, ok := parseQueryValue(m["numerator"], fmt.Sprintf("series %d numerator", n)); ok {
		ratio.num = owned(p.ref.obj, []queryPart{part})
	}
	if part, ok := parseQueryValue(m["denominator"], fmt.Sprintf("series %d denominator", n)); ok {
		ratio.den = owned(p.ref.obj, []queryPart{part})
	}
	return []seriesMetric{{metricItem: metricItem{str(m, "id"), orDefault(label, "Filter Ratio"), spec}, ratio: ratio}}
}

// tsvbPercentiles maps a percentile metric: one query per percentile line.
func (p *panelCtx) tsvbPercentiles(m map[string]any, label, name string) []seriesMetric {
	field, id := str(m, "field"), str(m, "id")
	list := arr(m, "percentiles")
	var out []seriesMetric
	for _, v := range list {
		pm, _ := v.(map[string]any)
		pct, ok := number(pm, "value")
		if !ok {
			continue
		}
		if str(pm, "mode") == "band" {
			p.reasons.Addf(fidelity.Approximate, "tsvb_percentile_band",
				"%s draws the %gth percentile as a band up to another percentile; the panel draws only the %gth as a line", name, pct, pct)
		}
		l := fmt.Sprintf("%gth percentile of %s", pct, field)
		if label != "" {
			l = label
			if len(list) > 1 {
				l = fmt.Sprintf("%s (%g)", label, pct)
			}
		}
		spec := logql.MetricSpec{Agg: logql.AggPercentile, Field: field, Percentile: pct}
		out = append(out, seriesMetric{metricItem: metricItem{id, l, spec}})
	}
	if len(out) == 0 {
		p.reasons.Addf(fidelity.Approximate, "tsvb_metric_unsupported",
			"%s plots a percentile metric with no percentile value, so it is left out", name)
	}
	return out
}

// tsvbSplit reads how a series is split: by the values of a field (terms),
// by a list of filters, or not at all. A table's series are rows of its
// group-by field instead.
func (p *panelCtx) tsvbSplit(ts tsvbSettings, s map[string]any, n int, name string) bucketPlan {
	if ts.typ == "table" {
		return bucketPlan{groupBy: []string{ts.pivot}, topN: ts.pivotRows}
	}
	switch str(s, "split_mode") {
	case "terms":
		return p.tsvbTerms(s, name)
	case "filters":
		return bucketPlan{filters: tsvbSplitFilters(s, n)}
	}
	// "filter" splits by the series filter, which every mode applies.
	return bucketPlan{}
}

// tsvbTerms reads a terms split.
func (p *panelCtx) tsvbTerms(s map[string]any, name string) bucketPlan {
	field := str(s, "terms_field")
	if field == "" {
		// TSVB does not split without a field.
		return bucketPlan{}
	}
	size := 10
	if n, ok := number(s, "terms_size"); ok && n > 0 {
		size = int(n)
	}
	bp := bucketPlan{groupBy: []string{field}, topN: min(size, maxSeries), bottom: str(s, "terms_direction") == "asc"}
	last := tsvbLastMetric(s)
	switch orderBy := orDefault(str(s, "terms_order_by"), "_count"); {
	case orderBy == "_key":
		bp.bottom = false
		p.reasons.Addf(fidelity.Approximate, "terms_order_key",
			"the terms on %s are ordered by value name; topk keeps the series with the largest values instead", field)
	case orderBy == "_count" && str(last, "type") != "count", orderBy != "_count" && orderBy != str(last, "id"):
		p.reasons.Addf(fidelity.Approximate, "terms_order_metric",
			"%s keeps the top %d values of %s by another metric than the one it plots; topk keeps the largest plotted values instead", name, size, field)
	}
	if str(s, "terms_include") != "" || str(s, "terms_exclude") != "" {
		p.reasons.Addf(fidelity.Approximate, "terms_include_exclude",
			"%s includes or excludes values of %s by pattern; the panel does not filter them, so add a label filter by hand", name, field)
	}
	return bp
}

// tsvbSplitFilters reads a filters split: one entry per filter, labelled
// with its label or query. An empty filter matches every document.
func tsvbSplitFilters(s map[string]any, n int) []filterEntry {
	var out []filterEntry
	for i, f := range arr(s, "split_filters") {
		m, _ := f.(map[string]any)
		part, ok := parseQueryValue(m["filter"], fmt.Sprintf("series %d split filter %d", n, i+1))
		e := filterEntry{label: str(m, "label")}
		if ok {
			e.part = part
			e.label = orDefault(e.label, part.Text)
		}
		e.label = orDefault(e.label, "*")
		out = append(out, e)
	}
	return out
}
