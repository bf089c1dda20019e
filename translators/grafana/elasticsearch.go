package grafana

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// instantRange makes a metric query cover the dashboard's time range, for
// panels that show one value per series.
const instantRange = "$__range"

// maxSeries caps topk for terms buckets of size 0 ("all") and nested terms:
// Loki's default max_query_series is 500.
const maxSeries = 500

// esMetric is one enabled metric of an Elasticsearch target.
type esMetric struct {
	id, typ, field string
	settings       *ojson.Object
}

// esBucket is one bucket aggregation of an Elasticsearch target.
type esBucket struct {
	id, typ, field string
	settings       *ojson.Object
}

// Grafana fills a new Elasticsearch target with a count metric over a
// date histogram and saves targets without the fields it defaulted, so an
// absent list means that default.
func esMetrics(t *ojson.Object) []esMetric {
	if _, ok := t.Get("metrics"); !ok {
		return []esMetric{{id: "1", typ: "count"}}
	}
	var out []esMetric
	for _, m := range t.Array("metrics") {
		o, ok := m.(*ojson.Object)
		if !ok || truthy(o, "hide") {
			continue
		}
		out = append(out, esMetric{id: text(o, "id"), typ: o.String("type"), field: o.String("field"), settings: o.Object("settings")})
	}
	return out
}

func esBuckets(t *ojson.Object) []esBucket {
	if _, ok := t.Get("bucketAggs"); !ok {
		return []esBucket{{id: "2", typ: "date_histogram"}}
	}
	var out []esBucket
	for _, b := range t.Array("bucketAggs") {
		if o, ok := b.(*ojson.Object); ok {
			out = append(out, esBucket{id: text(o, "id"), typ: o.String("type"), field: o.String("field"), settings: o.Object("settings")})
		}
	}
	return out
}

// esResult is the conversion of one Elasticsearch target.
type esResult struct {
	targets []*ojson.Object
	logs    bool // the target shows documents: the panel becomes a logs panel
	reasons fidelity.Reasons
	queries []string
}

// convertES turns an Elasticsearch or OpenSearch target into Loki targets.
// It returns no targets when the target cannot be converted, and the
// reasons give the cause.
func (c *dashConv) convertES(t *ojson.Object, panelType string) esResult {
	var res esResult
	if qt := strings.ToLower(t.String("queryType")); qt == "ppl" {
		res.reasons.Addf(fidelity.Unsupported, "ppl_unsupported",
			"the target is a PPL query; only Lucene queries are translated")
		return res
	}
	if lt := t.String("luceneQueryType"); lt != "" && !strings.EqualFold(lt, "Metric") && !strings.EqualFold(lt, "Logs") {
		res.reasons.Addf(fidelity.Unsupported, "lucene_query_type", "the OpenSearch %s query type has no Loki equivalent", lt)
		return res
	}
	schema := c.schema
	text, err := queryString(t)
	if err != nil {
		res.reasons.Addf(fidelity.Unsupported, "query_not_text", "%v", err)
		return res
	}
	q, err := parseLucene(text)
	if err != nil {
		res.reasons.Addf(fidelity.Unsupported, "syntax_error", "%v", err)
		return res
	}
	rendered := translators.TranslateParsed(q, schema)
	res.reasons.Merge(rendered.Reasons)
	if rendered.Range != nil {
		res.reasons.Addf(fidelity.Approximate, "panel_time_range",
			"the query limits time (%s to %s); Grafana panels follow the dashboard time", rendered.Range.Start, rendered.Range.End)
	}
	if rendered.Log == nil {
		return res
	}
	metrics := esMetrics(t)
	for _, m := range metrics {
		if m.typ == "raw_data" || m.typ == "raw_document" || m.typ == "logs" {
			res.logs = true
			res.targets = []*ojson.Object{c.lokiTarget(t, rendered.Log.String(), "", false, "")}
			res.queries = []string{rendered.Log.String()}
			return res
		}
	}
	buckets := esBuckets(t)
	plan := c.planBuckets(buckets, &res.reasons)
	if plan.fatal != "" {
		res.reasons.Addf(fidelity.Unsupported, "bucket_unsupported", "%s", plan.fatal)
		return res
	}
	instant := !plan.timeSeries && showsOneValue(panelType)
	specs := c.metricSpecs(metrics, &res.reasons)
	if len(specs) == 0 {
		res.reasons.Addf(fidelity.Unsupported, "no_metric", "no metric of the target has a LogQL form")
		return res
	}
	filters := plan.filters
	if len(filters) == 0 {
		filters = []filterQuery{{}}
	}
	for _, f := range filters {
		base := rendered.Log
		if f.node != nil {
			combined := &ast.Query{Root: ast.And{Children: []ast.Node{q.Root, f.node}}, Language: ast.Lucene, Source: q.Source}
			r := translators.TranslateParsed(combined, schema)
			res.reasons.Merge(r.Reasons)
			if r.Log == nil {
				continue
			}
			base = r.Log
		}
		for _, spec := range specs {
			ms := spec.spec
			ms.GroupBy, ms.TopN, ms.Bottom = plan.groupBy, plan.topN, plan.bottom
			if instant {
				ms.Interval = instantRange
			}
			expr, reasons, err := schema.Metric(base, ms)
			if err != nil {
				res.reasons.Addf(fidelity.Approximate, "metric_field", "the metric %s is left out: %v", spec.label, err)
				continue
			}
			res.reasons.Merge(reasons)
			legend := c.legend(t.String("alias"), spec, f, plan, len(specs) > 1)
			res.targets = append(res.targets, c.lokiTarget(t, expr, legend, instant, plan.step))
			res.queries = append(res.queries, expr)
		}
	}
	if len(res.targets) == 0 {
		res.reasons.Addf(fidelity.Unsupported, "no_query", "none of the target's queries could be built; the other reasons say why")
	}
	return res
}

// queryString returns the query field as text. Grafana saves a missing or
// null query as every document; any other non-string value is an error.
func queryString(o *ojson.Object) (string, error) {
	switch q, _ := o.Get("query"); q := q.(type) {
	case nil:
		return "", nil
	case string:
		return q, nil
	default:
		return "", fmt.Errorf("the query is %s, not text; fix it in Grafana and convert again", ojsonKind(q))
	}
}

// ojsonKind names the JSON type of a decoded value.
func ojsonKind(v any) string {
	switch v.(type) {
	case *ojson.Object:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	}
	return "not text"
}

// parseLucene parses a target's Lucene query; empty means everything.
func parseLucene(text string) (*ast.Query, error) {
	if strings.TrimSpace(text) == "" {
		return &ast.Query{Root: ast.MatchAll{}, Language: ast.Lucene}, nil
	}
	return translators.Parse(ast.Lucene, text)
}

// showsOneValue reports whether a panel type shows one value per series,
// so its queries cover the whole time range.
func showsOneValue(panelType string) bool {
	switch panelType {
	case "stat", "singlestat", "gauge", "bargauge", "piechart", "grafana-piechart-panel", "table", "table-old", "text":
		return true
	}
	return false
}

// metricSpec is a metric of a target as a LogQL metric query.
type metricSpec struct {
	id, label string
	spec      logql.MetricSpec
}

func (c *dashConv) metricSpecs(metrics []esMetric, reasons *fidelity.Reasons) []metricSpec {
	var out []metricSpec
	for _, m := range metrics {
		switch m.typ {
		case "count":
			out = append(out, metricSpec{m.id, "Count", logql.MetricSpec{Agg: logql.AggCount}})
		case "avg", "sum", "min", "max":
			out = append(out, metricSpec{m.id, m.typ + " " + m.field, logql.MetricSpec{Agg: logql.Aggregation(m.typ), Field: m.field}})
		case "percentiles":
			for _, p := range percents(m.settings, reasons) {
				out = append(out, metricSpec{
					m.id, fmt.Sprintf("p%g %s", p, m.field),
					logql.MetricSpec{Agg: logql.AggPercentile, Field: m.field, Percentile: p},
				})
			}
		case "cardinality":
			out = append(out, metricSpec{m.id, "unique " + m.field, logql.MetricSpec{Agg: logql.AggCardinality, Field: m.field}})
		default:
			reasons.Addf(fidelity.Approximate, "metric_unsupported", "the %s metric has no LogQL form and is left out", m.typ)
		}
	}
	return out
}

// percents reads a percentiles metric's percents, with Elasticsearch's
// default list. Elasticsearch takes percents from 0 to 100; others are
// left out with a reason.
func percents(settings *ojson.Object, reasons *fidelity.Reasons) []float64 {
	var out []float64
	if settings != nil {
		for _, v := range settings.Array("percents") {
			text := fmt.Sprint(plain(v))
			f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
			if err != nil || math.IsNaN(f) || f < 0 || f > 100 {
				reasons.Addf(fidelity.Approximate, "percentile_invalid",
					"the percent %q is not a number from 0 to 100, which Elasticsearch requires; it is left out", text)
				continue
			}
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []float64{25, 50, 75, 95, 99}
	}
	return out
}

// bucketPlan is the shape the bucket aggregations give the queries.
type bucketPlan struct {
	timeSeries bool
	step       string
	groupBy    []string
	labels     []string
	topN       int
	bottom     bool
	filters    []filterQuery
	fatal      string
}

type filterQuery struct {
	node  ast.Node
	label string
}

func (c *dashConv) planBuckets(buckets []esBucket, reasons *fidelity.Reasons) bucketPlan {
	var bp bucketPlan
	sizes := 1
	for _, b := range buckets {
		switch b.typ {
		case "date_histogram":
			bp.timeSeries = true
			if iv := text(b.settings, "interval"); iv != "" && iv != "auto" {
				bp.step = iv
			}
		case "terms":
			if b.field == "" {
				continue
			}
			bp.groupBy = append(bp.groupBy, b.field)
			bp.labels = append(bp.labels, c.schema.LabelName(b.field))
			size := 10
			if s, err := strconv.Atoi(text(b.settings, "size")); err == nil {
				size = s
			}
			if size <= 0 || size > maxSeries {
				size = maxSeries
			}
			// Capped at every step, so the product cannot overflow.
			sizes = min(sizes*size, maxSeries)
			bp.bottom = text(b.settings, "order") == "asc"
			if ob := text(b.settings, "orderBy"); ob == "_term" || ob == "_key" {
				fn, which := "topk", "largest"
				if bp.bottom {
					fn, which = "bottomk", "smallest"
				}
				reasons.Addf(fidelity.Approximate, "terms_order_key",
					"the terms on %s are ordered by value name; %s keeps the series with the %s values instead", b.field, fn, which)
			}
		case "filters":
			for i, f := range arrayOf(b.settings, "filters") {
				o, ok := f.(*ojson.Object)
				if !ok {
					continue
				}
				q, err := parseLucene(o.String("query"))
				if err != nil {
					reasons.Addf(fidelity.Approximate, "filter_unparsable", "filter %d is left out: %v", i+1, err)
					continue
				}
				label := o.String("label")
				if label == "" {
					label = orDefault(o.String("query"), "*")
				}
				bp.filters = append(bp.filters, filterQuery{node: q.Root, label: label})
			}
		default:
			why := fmt.Sprintf("the %s bucket aggregation has no LogQL form", b.typ)
			if !bp.timeSeries && len(bp.groupBy) == 0 {
				bp.fatal = why + "; it defines the panel's axis"
				return bp
			}
			reasons.Addf(fidelity.Approximate, "bucket_dropped", "%s, so the series are not split by it", why)
		}
	}
	if len(bp.groupBy) > 0 {
		bp.topN = min(sizes, maxSeries)
		if len(bp.groupBy) > 1 {
			reasons.Addf(fidelity.Approximate, "nested_terms",
				"nested terms buckets (%s) become one topk(%d) over their combinations", strings.Join(bp.groupBy, ", "), bp.topN)
		}
	}
	return bp
}

// esAlias matches the placeholders of an Elasticsearch target's alias.
var esAlias = regexp.MustCompile(`\{\{\s*(term\s+)?([^}\s]+)\s*\}\}`)

// legend converts the target's alias, or builds one from the split labels.
func (c *dashConv) legend(alias string, m metricSpec, f filterQuery, bp bucketPlan, manyMetrics bool) string {
	if alias != "" {
		return esAlias.ReplaceAllStringFunc(alias, func(s string) string {
			sub := esAlias.FindStringSubmatch(s)
			switch {
			case sub[1] != "":
				return "{{" + c.schema.LabelName(sub[2]) + "}}"
			case sub[2] == "metric":
				return m.label
			case sub[2] == "field":
				return m.spec.Field
			}
			return "{{" + c.schema.LabelName(sub[2]) + "}}"
		})
	}
	var parts []string
	if f.label != "" {
		parts = append(parts, f.label)
	}
	for _, l := range bp.labels {
		parts = append(parts, "{{"+l+"}}")
	}
	if manyMetrics || len(parts) == 0 {
		parts = append(parts, m.label)
	}
	return strings.Join(parts, " ")
}

// lokiTarget builds a Loki target in place of an Elasticsearch one, keeping
// its refId and hide setting.
func (c *dashConv) lokiTarget(from *ojson.Object, expr, legend string, instant bool, step string) *ojson.Object {
	t := ojson.NewObject()
	if ds, ok := from.Get("datasource"); ok && ds != nil {
		t.Set("datasource", c.lokiRef(ds))
	}
	t.Set("editorMode", "code")
	t.Set("expr", expr)
	if legend != "" {
		t.Set("legendFormat", legend)
	}
	if instant {
		t.Set("queryType", "instant")
		t.Set("instant", true)
		t.Set("range", false)
	} else {
		t.Set("queryType", "range")
		t.Set("range", true)
	}
	if step != "" {
		t.Set("step", step)
	}
	if h, ok := from.Get("hide"); ok {
		t.Set("hide", h)
	}
	t.Set("refId", from.String("refId"))
	return t
}

func truthy(o *ojson.Object, key string) bool {
	v, _ := o.Get(key)
	b, _ := v.(bool)
	return b
}

// text returns a field as text whether it is a string or a number.
func text(o *ojson.Object, key string) string {
	if o == nil {
		return ""
	}
	v, _ := o.Get(key)
	return fmt.Sprint(plain(v))
}

// plain turns json.Number into its text and leaves other values.
func plain(v any) any {
	switch t := v.(type) {
	case json.Number:
		return t.String()
	case nil:
		return ""
	}
	return v
}

func arrayOf(o *ojson.Object, key string) []any {
	if o == nil {
		return nil
	}
	return o.Array(key)
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
