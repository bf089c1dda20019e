package kibana

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/piechart"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// instantRange makes a metric query cover the whole dashboard time range,
// as Kibana's metric, pie and table visualizations do.
const instantRange = "$__range"

// maxSeries caps topk for nested terms buckets: Loki's default
// max_query_series is 500.
const maxSeries = 500

// bucketPlan is how a panel's bucket aggregations shape its queries.
type bucketPlan struct {
	timeSeries    bool
	panelInterval string // the date_histogram's fixed interval, if any
	groupBy       []string
	topN          int
	bottom        bool
	filters       []filterEntry
	fatal         string
}

type filterEntry struct {
	part  queryPart
	label string
}

// plan reads the bucket aggregations. Kibana's schemas are segment (x-axis
// or slices), group (split series), split (split charts) and bucket (table
// rows).
func (p *panelCtx) plan(aggs []agg) bucketPlan {
	var bp bucketPlan
	sizes := 1
	for _, a := range aggs {
		if a.schema == "metric" || a.schema == "radius" {
			continue
		}
		switch a.typ {
		case "date_histogram":
			bp.timeSeries = true
			bp.panelInterval = histogramInterval(a.params)
		case "terms", "significant_terms":
			field := str(a.params, "field")
			if field == "" {
				continue
			}
			bp.groupBy = append(bp.groupBy, field)
			size := 5
			if n, ok := number(a.params, "size"); ok && n > 0 {
				size = int(n)
			}
			sizes *= size
			bp.bottom = str(a.params, "order") == "asc"
			if ob := str(a.params, "orderBy"); ob == "_key" || ob == "alphabetical" {
				p.reasons.Addf(fidelity.Approximate, "terms_order_key",
					"the terms on %s are ordered by value name; topk keeps the series with the largest values instead", field)
			}
			if a.typ == "significant_terms" {
				p.reasons.Addf(fidelity.Approximate, "significant_terms",
					"significant terms on %s are scored against the background set; the panel shows the most frequent terms instead", field)
			}
			if a.schema == "split" {
				p.reasons.Addf(fidelity.Approximate, "split_chart",
					"Kibana drew one chart per %s; the panel shows one series per value instead", field)
			}
		case "range":
			bp.filters = append(bp.filters, rangeFilters(a.params)...)
		case "filters":
			for i, f := range arr(a.params, "filters") {
				if m, ok := f.(map[string]any); ok {
					part, label := filterPart(m, i)
					bp.filters = append(bp.filters, filterEntry{part: part, label: label})
				}
			}
		default:
			why := fmt.Sprintf("the %s bucket aggregation has no LogQL form", a.typ)
			if a.schema == "segment" || a.schema == "bucket" {
				bp.fatal = why + "; it defines the panel's axis or rows"
				return bp
			}
			p.reasons.Addf(fidelity.Approximate, "bucket_dropped", "%s, so the series are not split by it", why)
		}
	}
	if len(bp.groupBy) > 0 {
		bp.topN = min(sizes, maxSeries)
		if len(bp.groupBy) > 1 {
			p.reasons.Addf(fidelity.Approximate, "nested_terms",
				"nested terms buckets (%s) become one topk(%d) over their combinations; Kibana picks the top values of each level in turn",
				strings.Join(bp.groupBy, ", "), bp.topN)
		}
	}
	return bp
}

// histogramInterval reads a date_histogram interval as a Grafana minimum
// interval; "" means auto.
func histogramInterval(params map[string]any) string {
	iv := str(params, "interval")
	if iv == "" {
		iv = str(params, "fixed_interval")
	}
	if iv == "" {
		iv = str(params, "calendar_interval")
	}
	if iv == "custom" {
		iv = str(params, "customInterval")
	}
	switch iv {
	case "", "auto":
		return ""
	case "ms", "s", "m", "h", "d", "w":
		return "1" + iv
	case "M":
		return "30d"
	case "y":
		return "365d"
	}
	return iv
}

// aggPanel converts the aggregation-based visualizations: line, area, bar,
// metric, gauge, pie, tag cloud, table and heatmap.
func (p *panelCtx) aggPanel(typ string, vis map[string]any) convertedPanel {
	parts, ip, err := p.visSource()
	if err != nil {
		return p.failed(typ, err)
	}
	schema := p.schemaFor(ip)
	aggs := parseAggs(vis)
	schema = numericBucketFields(schema, aggs)
	metrics := p.metricItems(aggs)
	bp := p.plan(aggs)
	if bp.fatal != "" {
		return p.unsupported(typ, "bucket_unsupported", bp.fatal)
	}
	instant := !bp.timeSeries
	if typ == "heatmap" {
		p.reasons.Addf(fidelity.Approximate, "heatmap_series",
			"the heatmap's cells become one series per bucket value over time")
	}
	targets := p.metricTargets(schema, parts, metrics, bp, instant)
	if len(targets) == 0 {
		return p.unsupported(typ, "no_query", "none of the panel's queries could be built; the other reasons say why")
	}
	return p.build(typ, p.aggBuilder(typ, vis, bp, targets))
}

// metricTargets builds one query per filters bucket and metric.
func (p *panelCtx) metricTargets(schema *logql.Schema, parts []ownedPart, metrics []metricItem, bp bucketPlan, instant bool) []cog.Builder[variants.Dataquery] {
	filters := bp.filters
	if len(filters) == 0 {
		filters = []filterEntry{{}}
	}
	interval := ""
	if instant {
		interval = instantRange
	}
	var targets []cog.Builder[variants.Dataquery]
	for _, f := range filters {
		own := parts
		if f.part.Where != "" {
			own = append(append([]ownedPart(nil), parts...), ownedPart{owner: p.ref.obj, part: f.part})
		}
		q := p.logQuery(schema, own)
		if q == nil {
			continue
		}
		for _, m := range metrics {
			spec := m.spec
			spec.GroupBy, spec.TopN, spec.Bottom, spec.Interval = bp.groupBy, bp.topN, bp.bottom, interval
			expr, reasons, err := schema.Metric(q, spec)
			if err != nil {
				p.reasons.Addf(fidelity.Approximate, "metric_field", "the metric %q is left out: %v", m.label, err)
				continue
			}
			p.reasons.Merge(reasons)
			targets = append(targets, p.target(expr, legend(schema, m, f, bp, len(metrics) > 1), instant))
		}
	}
	return targets
}

// legend names a series: the split values, the filter label, and the metric
// when a panel has several.
func legend(schema *logql.Schema, m metricItem, f filterEntry, bp bucketPlan, manyMetrics bool) string {
	var parts []string
	if f.label != "" {
		parts = append(parts, f.label)
	}
	for _, field := range bp.groupBy {
		parts = append(parts, "{{"+schema.LabelName(field)+"}}")
	}
	if manyMetrics || len(parts) == 0 {
		parts = append(parts, m.label)
	}
	return strings.Join(parts, " ")
}

// aggBuilder picks the Grafana panel for a visualization type.
func (p *panelCtx) aggBuilder(typ string, vis map[string]any, bp bucketPlan, targets []cog.Builder[variants.Dataquery]) cog.Builder[dashboard.Panel] {
	ds := p.c.lokiRef()
	reduce := common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
	switch {
	case typ == "metric":
		return stat.NewPanelBuilder().Datasource(ds).Targets(targets).ReduceOptions(reduce)
	case typ == "gauge" || typ == "goal":
		return gauge.NewPanelBuilder().Datasource(ds).Targets(targets).ReduceOptions(reduce)
	case typ == "pie":
		b := piechart.NewPanelBuilder().Datasource(ds).Targets(targets).ReduceOptions(reduce)
		if boolean(obj(vis, "params"), "isDonut") {
			b.PieType(piechart.PieChartTypeDonut)
		} else {
			b.PieType(piechart.PieChartTypePie)
		}
		return b
	case typ == "table":
		b := tablePanel().Datasource(ds).Targets(targets)
		if len(targets) > 1 {
			b.WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}})
		}
		return b
	case typ == "heatmap" && bp.timeSeries:
		return heatmap.NewPanelBuilder().Datasource(ds).Targets(targets).Interval(bp.panelInterval)
	case !bp.timeSeries:
		// A bar or line chart over terms, or a tag cloud: one bar per
		// value.
		orient := common.VizOrientationVertical
		if typ == "horizontal_bar" || typ == "tagcloud" {
			orient = common.VizOrientationHorizontal
		}
		return bargauge.NewPanelBuilder().Datasource(ds).Targets(targets).ReduceOptions(reduce).Orientation(orient)
	}
	b := timeseries.NewPanelBuilder().Datasource(ds).Targets(targets)
	if bp.panelInterval != "" {
		b.Interval(bp.panelInterval)
	}
	switch typ {
	case "area":
		b.FillOpacity(30)
	case "histogram", "horizontal_bar":
		b.DrawStyle(common.GraphDrawStyleBars).FillOpacity(80)
	}
	if stacked(vis) {
		b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
	}
	return b
}

// stacked reads whether a point-series chart stacks its series.
func stacked(vis map[string]any) bool {
	params := obj(vis, "params")
	for _, sp := range arr(params, "seriesParams") {
		if m, ok := sp.(map[string]any); ok && str(m, "mode") == "stacked" {
			return true
		}
	}
	return str(params, "mode") == "stacked"
}

// tablePanel starts a table panel. Grafana's schema requires the footer's
// reducer list, which the builder leaves null.
func tablePanel() *table.PanelBuilder {
	return table.NewPanelBuilder().Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{}))
}

// rangeFilters turns a range bucket aggregation into one filter per range.
// Elasticsearch's ranges include from and exclude to.
func rangeFilters(params map[string]any) []filterEntry {
	field := str(params, "field")
	var out []filterEntry
	for i, r := range arr(params, "ranges") {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		rg := ast.Range{Field: field, IncludeFrom: true}
		rg.From, rg.HasFrom = numberText(m, "from")
		rg.To, rg.HasTo = numberText(m, "to")
		label := str(m, "label")
		if label == "" {
			label = orDefault(rg.From, "-∞") + " to " + orDefault(rg.To, "+∞")
		}
		q := &ast.Query{Root: rg, Language: ast.ESDSL, Source: ast.Format(rg)}
		part := queryPart{Where: fmt.Sprintf("range bucket %d", i+1), Lang: ast.ESDSL, Text: ast.Format(rg), Parsed: q, bucket: true}
		out = append(out, filterEntry{part: part, label: label})
	}
	return out
}

func numberText(m map[string]any, key string) (string, bool) {
	v, ok := number(m, key)
	if !ok {
		return "", false
	}
	return strconv.FormatFloat(v, 'f', -1, 64), true
}

// numericBucketFields types the fields of range and histogram buckets as
// numbers when the index pattern does not: those aggregations only run on
// numeric fields.
func numericBucketFields(s *logql.Schema, aggs []agg) *logql.Schema {
	extra := map[string]string{}
	for _, a := range aggs {
		if field := str(a.params, "field"); (a.typ == "range" || a.typ == "histogram") && field != "" && !s.HasType(field) {
			extra[field] = "double"
		}
	}
	if len(extra) == 0 {
		return s
	}
	return s.WithTypes(extra)
}
