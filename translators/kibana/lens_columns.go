package kibana

import (
	"fmt"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// lensRecordsField is the sourceField of a count of all documents.
const lensRecordsField = "___records___"

// lensComputedOps are Lens operations computed from other columns rather
// than from documents.
var lensComputedOps = map[string]bool{
	"moving_average": true, "cumulative_sum": true, "differences": true, "counter_rate": true,
	"overall_sum": true, "overall_min": true, "overall_max": true, "overall_average": true,
	"normalize_by_unit": true, "math": true, "time_scale": true,
}

// lensBucketAggs maps a layer's bucket columns to legacy bucket
// aggregations, so plan reads them as it reads a visualization's. The
// second result lists the extra fields of multi-field terms columns.
func (p *panelCtx) lensBucketAggs(l *lensLayer, buckets []lensBucket, plotted map[string]bool) ([]agg, []string) {
	var (
		aggs  []agg
		extra []string
	)
	for _, b := range buckets {
		col := l.columns[b.id]
		if col == nil {
			p.reasons.Addf(fidelity.Approximate, "lens_column_missing",
				"the visualization uses column %s, which layer %s does not have; the series are not split by it", b.id, l.id)
			continue
		}
		params := obj(col, "params")
		switch op := str(col, "operationType"); op {
		case "date_histogram":
			aggs = append(aggs, agg{id: b.id, typ: op, schema: b.schema, params: map[string]any{"interval": str(params, "interval")}})
		case "terms":
			aggs = append(aggs, p.lensTerms(col, b, plotted))
			extra = append(extra, stringList(arr(params, "secondaryFields"))...)
		case "filters":
			aggs = append(aggs, agg{id: b.id, typ: op, schema: b.schema, params: map[string]any{"filters": params["filters"]}})
		case "range":
			aggs = append(aggs, lensRange(col, b))
		default:
			// plan reports the buckets with no LogQL form.
			aggs = append(aggs, agg{id: b.id, typ: op, schema: b.schema, params: params})
		}
	}
	return aggs, extra
}

// lensRange maps a range column: explicit ranges, or histogram intervals
// of a number field, which plan reports as having no LogQL form.
func lensRange(col map[string]any, b lensBucket) agg {
	params := obj(col, "params")
	field := str(col, "sourceField")
	if str(params, "type") == "histogram" {
		return agg{id: b.id, typ: "histogram", schema: b.schema, params: map[string]any{"field": field}}
	}
	return agg{id: b.id, typ: "range", schema: b.schema, params: map[string]any{"field": field, "ranges": params["ranges"]}}
}

// lensTerms maps a terms column, reporting the orderings and options topk
// does not keep.
func (p *panelCtx) lensTerms(col map[string]any, b lensBucket, plotted map[string]bool) agg {
	params := obj(col, "params")
	field := str(col, "sourceField")
	a := agg{id: b.id, typ: "terms", schema: b.schema, params: map[string]any{
		"field": field, "size": params["size"], "order": str(params, "orderDirection"),
	}}
	orderBy := obj(params, "orderBy")
	switch str(orderBy, "type") {
	case "alphabetical":
		a.params["orderBy"], a.params["order"] = "_key", "desc"
	case "rare":
		a.params["order"] = "asc"
		p.reasons.Addf(fidelity.Approximate, "terms_order_rare",
			"the terms on %s keep the rarest values; bottomk keeps the series with the smallest values at each step instead", field)
	case "significant":
		a.typ = "significant_terms"
	case "custom":
		p.reasons.Addf(fidelity.Approximate, "terms_order_metric",
			"the terms on %s are ordered by a custom metric; topk keeps the series with the largest plotted values instead", field)
	case "column":
		if !plotted[str(orderBy, "columnId")] {
			p.reasons.Addf(fidelity.Approximate, "terms_order_metric",
				"the terms on %s are ordered by a column the chart does not plot; topk keeps the series with the largest plotted values instead", field)
		}
	}
	if truthy(params["otherBucket"]) {
		p.reasons.Addf(fidelity.Approximate, "terms_other_bucket",
			"Kibana adds an \"Other\" bucket for the values of %s beyond the top ones; the panel shows only the top values", field)
	}
	if len(arr(params, "include"))+len(arr(params, "exclude")) > 0 {
		p.reasons.Addf(fidelity.Approximate, "terms_include_exclude",
			"the terms on %s include or exclude values by list or pattern; the panel does not filter them, so add a label filter by hand", field)
	}
	return a
}

// lensMetrics maps the plotted metric columns. Columns with no LogQL form
// are reported and left out.
func (p *panelCtx) lensMetrics(l *lensLayer, ids, groupBy []string) []seriesMetric {
	var out []seriesMetric
	for _, id := range ids {
		col := l.columns[id]
		if col == nil {
			p.reasons.Addf(fidelity.Approximate, "lens_column_missing",
				"the visualization plots column %s, which layer %s does not have", id, l.id)
			continue
		}
		label := orDefault(str(col, "label"), id)
		if col = p.lensFormula(l, col, label); col == nil {
			continue
		}
		if m, ok := p.lensMetric(col, id, label, groupBy); ok {
			out = append(out, m)
		}
	}
	return out
}

// lensFormula resolves a formula that is a single function call, such as
// count() or sum(bytes, kql='...'): Lens stores it as one column the
// formula references. It returns the column itself for other operations,
// and nil, with the reason, for a formula that computes.
func (p *panelCtx) lensFormula(l *lensLayer, col map[string]any, label string) map[string]any {
	if str(col, "operationType") != "formula" {
		return col
	}
	refs := stringList(arr(col, "references"))
	if len(refs) == 1 {
		ref := l.columns[refs[0]]
		if op := str(ref, "operationType"); ref != nil && op != "math" && op != "formula" && len(arr(ref, "references")) == 0 {
			return ref
		}
	}
	p.reasons.Addf(fidelity.Approximate, "lens_formula",
		"the column %q is the formula %s, which has no LogQL form; it is left out", label, str(obj(col, "params"), "formula"))
	return nil
}

// lensMetric maps one metric column: its operation, filter and time shift.
func (p *panelCtx) lensMetric(col map[string]any, id, label string, groupBy []string) (seriesMetric, bool) {
	spec, ok := p.lensSpec(col, label, groupBy)
	if !ok {
		return seriesMetric{}, false
	}
	m := seriesMetric{metricItem: metricItem{id: id, label: label, spec: spec}}
	shift := str(col, "timeShift")
	if m.offset, ok = lokiOffset(shift); !ok {
		p.reasons.Addf(fidelity.Approximate, "time_shift",
			"the column %q is shifted by %q, which a LogQL offset cannot express; it is left out", label, shift)
		return seriesMetric{}, false
	}
	if r := str(col, "reducedTimeRange"); r != "" {
		p.reasons.Addf(fidelity.Approximate, "lens_reduced_time_range",
			"the column %q covers only the last %s of the time range; the query covers all of it", label, r)
	}
	if unit := str(col, "timeScale"); unit != "" {
		p.reasons.Addf(fidelity.Approximate, "lens_time_scale",
			"the column %q is normalised per %s; the query shows the value per interval", label, unit)
	}
	if part, ok := parseQueryValue(col["filter"], fmt.Sprintf("column %q filter", label)); ok {
		m.parts = owned(p.ref.obj, []queryPart{part})
	}
	return m, true
}

// lensSpec maps a column's operation to a metric spec.
func (p *panelCtx) lensSpec(col map[string]any, label string, groupBy []string) (logql.MetricSpec, bool) {
	op, field := str(col, "operationType"), str(col, "sourceField")
	switch op {
	case "count":
		if field != "" && field != lensRecordsField && !contains(groupBy, field) {
			p.reasons.Addf(fidelity.Approximate, "lens_count_field",
				"the column %q counts only documents that have %s; the query counts every entry", label, field)
		}
		return logql.MetricSpec{Agg: logql.AggCount}, true
	case "sum", "min", "max":
		return logql.MetricSpec{Agg: logql.Aggregation(op), Field: field}, true
	case "average":
		return logql.MetricSpec{Agg: logql.AggAvg, Field: field}, true
	case "median":
		return logql.MetricSpec{Agg: logql.AggPercentile, Field: field, Percentile: 50}, true
	case "percentile":
		pct, ok := number(obj(col, "params"), "percentile")
		if !ok {
			pct = 95
		}
		return logql.MetricSpec{Agg: logql.AggPercentile, Field: field, Percentile: pct}, true
	case "unique_count":
		return logql.MetricSpec{Agg: logql.AggCardinality, Field: field}, true
	case "last_value":
		p.reasons.Addf(fidelity.Approximate, "lens_last_value",
			"the column %q shows the last value of %s, which a LogQL metric query cannot select; it is left out", label, field)
	default:
		detail := "has no LogQL form"
		if lensComputedOps[op] {
			detail = "is computed from other columns, which LogQL metric queries cannot do"
		}
		p.reasons.Addf(fidelity.Approximate, "lens_operation_unsupported",
			"the column %q uses the %s operation, which %s; it is left out", label, op, detail)
	}
	return logql.MetricSpec{}, false
}
