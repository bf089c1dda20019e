package kibana

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// The TSVB and Lens tests convert small exports through Convert and look
// at one panel of the output: its Grafana type, queries, legends, fidelity
// and reason codes.

// vizMappings select two kinds of streams by static label, so queries are
// exact unless the conversion itself loses something.
var vizMappings = []plans.LogMapping{
	{Indices: "logs-*", StaticLabels: map[string]string{"job": "logs"}, Labels: map[string]string{"service_name": "service.name"}},
	{Indices: "k8s-*", StaticLabels: map[string]string{"job": "k8s"}},
}

// vizIndexPatterns are the index patterns the fixtures use, with field
// types, as a real export carries them.
var vizIndexPatterns = []map[string]any{
	vizIndexPattern("ip-logs", "logs-*", `[
		{"name":"@timestamp","esTypes":["date"]},
		{"name":"service.name","esTypes":["keyword"]},
		{"name":"host.name","esTypes":["keyword"]},
		{"name":"url.path","esTypes":["keyword"]},
		{"name":"http.response.status_code","esTypes":["long"]},
		{"name":"bytes","esTypes":["long"]},
		{"name":"event.duration","esTypes":["long"]}]`),
	vizIndexPattern("ip-k8s", "k8s-*", `[
		{"name":"@timestamp","esTypes":["date"]},
		{"name":"kubernetes.node.name","esTypes":["keyword"]},
		{"name":"kubernetes.deployment.name","esTypes":["keyword"]},
		{"name":"kubernetes.pod.network.rx.bytes","esTypes":["long"]},
		{"name":"event.dataset","esTypes":["keyword"]}]`),
}

func vizIndexPattern(id, title, fields string) map[string]any {
	return map[string]any{"type": "index-pattern", "id": id, "attributes": map[string]any{
		"title": title, "timeFieldName": "@timestamp", "fields": fields,
	}}
}

// vizPanel is a converted panel as the tests see it.
type vizPanel struct {
	Type     string
	Exprs    []string
	Legends  []string
	Instant  []bool
	Fidelity fidelity.Level
	Codes    []string
	// Raw is the panel's JSON, for the checks of single cases.
	Raw map[string]any
	// Report is the report item of the object the panel came from.
	Report *Item
}

// convertViz converts the objects, with the test index patterns, and
// returns the panels by title.
func convertViz(t *testing.T, objects ...map[string]any) map[string]vizPanel {
	t.Helper()
	var lines []string
	for _, o := range append(append([]map[string]any(nil), vizIndexPatterns...), objects...) {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("encoding fixture: %v", err)
		}
		lines = append(lines, string(b))
	}
	res := Convert([]Input{{File: "viz.ndjson", Data: []byte(strings.Join(lines, "\n"))}}, Options{Mappings: vizMappings})
	panels := make(map[string]vizPanel)
	for _, d := range res.Dashboards {
		var dash struct{ Panels []map[string]any }
		if err := json.Unmarshal(d.JSON, &dash); err != nil {
			t.Fatalf("decoding dashboard %s: %v", d.File, err)
		}
		for _, raw := range dash.Panels {
			panels[str(raw, "title")] = vizPanelOf(raw)
		}
	}
	for _, it := range res.Report.Items {
		for _, pr := range it.Panels {
			vp, ok := panels[pr.Title]
			if !ok {
				t.Fatalf("the report names panel %q, which no dashboard has", pr.Title)
			}
			vp.Fidelity, vp.Codes = pr.Fidelity, reasonCodes(pr.Reasons)
			vp.Report = reportItem(res.Report, pr.Source)
			panels[pr.Title] = vp
		}
	}
	requireQueriesParse(t, panels)
	return panels
}

// requireQueriesParse checks every query of the panels with Grafana's
// LogQL grammar.
func requireQueriesParse(t *testing.T, panels map[string]vizPanel) {
	t.Helper()
	var queries []grammar.Query
	for title, vp := range panels {
		for i, e := range vp.Exprs {
			queries = append(queries, grammar.Query{ID: fmt.Sprintf("%s/%d", title, i+1), Lang: grammar.LangLogQL, Text: e})
		}
	}
	if len(queries) > 0 {
		grammartest.RequireValid(t, queries)
	}
}

func vizPanelOf(raw map[string]any) vizPanel {
	vp := vizPanel{Type: str(raw, "type"), Raw: raw}
	for _, t := range arr(raw, "targets") {
		m, _ := t.(map[string]any)
		vp.Exprs = append(vp.Exprs, str(m, "expr"))
		vp.Legends = append(vp.Legends, str(m, "legendFormat"))
		vp.Instant = append(vp.Instant, boolean(m, "instant"))
	}
	return vp
}

func reportItem(r *Report, key string) *Item {
	for _, it := range r.Items {
		if it.Type+"/"+it.ID == key {
			return it
		}
	}
	return nil
}

// reasonCodes lists the distinct codes, sorted.
func reasonCodes(rs fidelity.Reasons) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rs {
		if !seen[r.Code] {
			seen[r.Code] = true
			out = append(out, r.Code)
		}
	}
	sort.Strings(out)
	return out
}

// vizWant is what a test expects of a panel. Nil lists are not checked,
// except Codes, which is always compared in full.
type vizWant struct {
	typ      string
	exprs    []string
	legends  []string
	instant  bool
	fidelity fidelity.Level
	codes    []string
}

func checkViz(t *testing.T, got vizPanel, want vizWant) {
	t.Helper()
	if got.Type != want.typ {
		t.Errorf("panel type = %q, want %q", got.Type, want.typ)
	}
	if want.exprs != nil {
		if diff := cmp.Diff(want.exprs, got.Exprs); diff != "" {
			t.Errorf("queries (-want +got):\n%s", diff)
		}
	}
	if want.legends != nil {
		if diff := cmp.Diff(want.legends, got.Legends); diff != "" {
			t.Errorf("legends (-want +got):\n%s", diff)
		}
	}
	for i, inst := range got.Instant {
		if inst != want.instant {
			t.Errorf("query %d: instant = %v, want %v", i+1, inst, want.instant)
		}
	}
	if got.Fidelity != want.fidelity {
		t.Errorf("fidelity = %s, want %s", got.Fidelity, want.fidelity)
	}
	if diff := cmp.Diff(want.codes, got.Codes); diff != "" {
		t.Errorf("reason codes (-want +got):\n%s", diff)
	}
}

// tsvb builds a TSVB visualization saved object from its params.
func tsvb(id, title string, params map[string]any, refs ...Reference) map[string]any {
	vis, err := json.Marshal(map[string]any{"title": title, "type": "metrics", "aggs": []any{}, "params": params})
	if err != nil {
		panic(err)
	}
	o := map[string]any{"type": "visualization", "id": id, "attributes": map[string]any{
		"title":                 title,
		"visState":              string(vis),
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": `{"query":{"query":"","language":"kuery"},"filter":[]}`},
	}}
	if len(refs) > 0 {
		o["references"] = refs
	}
	return o
}

// tsvbParams returns panel params of the given type over logs-*, with the
// series given, merged with extra settings.
func tsvbParams(typ string, extra map[string]any, series ...map[string]any) map[string]any {
	list := make([]any, len(series))
	for i, s := range series {
		list[i] = s
	}
	params := map[string]any{
		"id": "61ca57f0-469d-11e7-af02-69e470af7417", "type": typ, "index_pattern": "logs-*",
		"time_field": "@timestamp", "interval": "", "axis_position": "left", "show_legend": 1,
		"series": list,
	}
	for k, v := range extra {
		params[k] = v
	}
	return params
}

// tsvbSeriesOf returns a series with the given metrics, merged with extra
// settings.
func tsvbSeriesOf(label string, extra map[string]any, metrics ...map[string]any) map[string]any {
	list := make([]any, len(metrics))
	for i, m := range metrics {
		list[i] = m
	}
	s := map[string]any{
		"id": "61ca57f1-469d-11e7-af02-69e470af7417", "label": label, "split_mode": "everything",
		"chart_type": "line", "fill": "0", "stacked": "none", "color": "#68BC00", "metrics": list,
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

func kql(q string) map[string]any { return map[string]any{"query": q, "language": "kuery"} }

func metric(typ, field string) map[string]any {
	m := map[string]any{"id": "m-" + typ, "type": typ}
	if field != "" {
		m["field"] = field
	}
	return m
}

func TestTSVBPanelTypes(t *testing.T) {
	count := metric("count", "")
	tests := []struct {
		name   string
		params map[string]any
		want   vizWant
	}{{
		name:   "timeseries with labelled series and filters",
		params: tsvbParams("timeseries", map[string]any{"filter": kql("service.name:api"), "interval": ">=1m"}, tsvbSeriesOf("Errors", map[string]any{"filter": kql("http.response.status_code >= 500")}, count), tsvbSeriesOf("All", nil, count)),
		want: vizWant{
			typ: "timeseries",
			exprs: []string{
				`sum (count_over_time({job="logs", service_name="api"} | json | http_response_status_code >= 500 | __error__="" [$__auto]))`,
				`sum (count_over_time({job="logs", service_name="api"} [$__auto]))`,
			},
			legends:  []string{"Errors", "All"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment"},
		},
	}, {
		name:   "metric over the entire time range",
		params: tsvbParams("metric", map[string]any{"time_range_mode": "entire_time_range"}, tsvbSeriesOf("", nil, metric("avg", "bytes"))),
		want: vizWant{
			typ:     "stat",
			exprs:   []string{`avg_over_time({job="logs"} | json | __error__="" | unwrap bytes | __error__="" [$__range]) by ()`},
			legends: []string{"Average of bytes"},
			instant: true,
		},
	}, {
		name:   "gauge in last value mode",
		params: tsvbParams("gauge", nil, tsvbSeriesOf("Max bytes", nil, metric("max", "bytes"))),
		want: vizWant{
			typ:      "gauge",
			exprs:    []string{`max_over_time({job="logs"} | json | __error__="" | unwrap bytes | __error__="" [$__range]) by ()`},
			legends:  []string{"Max bytes"},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"tsvb_last_value"},
		},
	}, {
		name: "top_n split by terms",
		params: tsvbParams("top_n", map[string]any{"time_range_mode": "entire_time_range"}, tsvbSeriesOf("", map[string]any{
			"split_mode": "terms", "terms_field": "host.name", "terms_size": "5", "terms_order_by": "_count",
		}, count)),
		want: vizWant{
			typ:      "bargauge",
			exprs:    []string{`topk(5, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__range])))`},
			legends:  []string{"{{host_name}}"},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"topk_per_step"},
		},
	}, {
		name: "table rows by the pivot field",
		params: tsvbParams("table", map[string]any{"pivot_id": "host.name", "pivot_rows": "20", "time_range_mode": "entire_time_range"},
			tsvbSeriesOf("Requests", nil, count), tsvbSeriesOf("Bytes", nil, metric("sum", "bytes"))),
		want: vizWant{
			typ: "table",
			exprs: []string{
				`topk(20, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__range])))`,
				`topk(20, sum_over_time({job="logs"} | json | host_name!="" | __error__="" | unwrap bytes | __error__="" [$__range]) by (host_name))`,
			},
			legends:  []string{"{{host_name}}", "{{host_name}}"},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"topk_per_step"},
		},
	}, {
		name:   "table without a pivot field",
		params: tsvbParams("table", nil, tsvbSeriesOf("Requests", nil, count)),
		want:   vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"tsvb_table_pivot"}},
	}, {
		name:   "unknown panel type",
		params: tsvbParams("vega", nil),
		want:   vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"tsvb_type"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			panels := convertViz(t, tsvb("v1", "TSVB", tt.params))
			checkViz(t, panels["TSVB"], tt.want)
		})
	}
}

func TestTSVBMarkdown(t *testing.T) {
	tests := []struct {
		name     string
		markdown string
		want     vizWant
	}{
		{"plain text", "## Cluster\nSee the runbook.", vizWant{typ: "text"}},
		{"variables", "Requests: **{{ count.last.formatted }}**", vizWant{
			typ: "text", fidelity: fidelity.Approximate, codes: []string{"tsvb_markdown_variables"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := tsvbParams("markdown", map[string]any{"markdown": tt.markdown}, tsvbSeriesOf("", map[string]any{"var_name": "count"}, metric("count", "")))
			got := convertViz(t, tsvb("v1", "Notes", params))["Notes"]
			checkViz(t, got, tt.want)
			opts := obj(got.Raw, "options")
			if str(opts, "content") != tt.markdown || str(opts, "mode") != "markdown" {
				t.Errorf("text options = %v, want the markdown %q", opts, tt.markdown)
			}
		})
	}
}

func TestTSVBSeries(t *testing.T) {
	count := metric("count", "")
	tests := []struct {
		name   string
		series []map[string]any
		extra  map[string]any
		want   vizWant
	}{{
		name: "pipeline metric in one series",
		series: []map[string]any{
			tsvbSeriesOf("Rx rate", nil, metric("sum", "bytes"), map[string]any{"id": "d", "type": "derivative", "field": "m-sum", "unit": "1s"}),
			tsvbSeriesOf("Requests", nil, count),
		},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`sum (count_over_time({job="logs"} [$__auto]))`},
			legends:  []string{"Requests"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "tsvb_metric_unsupported"},
		},
	}, {
		name: "no series with a LogQL form",
		series: []map[string]any{
			tsvbSeriesOf("Rate", nil, map[string]any{"id": "r", "type": "positive_rate", "field": "bytes", "unit": "1s"}),
			tsvbSeriesOf("Cores", nil, metric("avg", "bytes"), map[string]any{"id": "m", "type": "math", "script": "params.a * 2"}),
			tsvbSeriesOf("Spread", nil, metric("std_deviation", "bytes")),
		},
		want: vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"tsvb_metric_unsupported", "tsvb_no_series"}},
	}, {
		name: "hidden series",
		series: []map[string]any{
			tsvbSeriesOf("Shown", nil, count),
			tsvbSeriesOf("Hidden", map[string]any{"hidden": true}, metric("sum", "bytes")),
		},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`sum (count_over_time({job="logs"} [$__auto]))`},
			legends:  []string{"Shown"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "tsvb_series_hidden"},
		},
	}, {
		name: "percentiles of one series",
		series: []map[string]any{tsvbSeriesOf("Latency", nil, map[string]any{
			"id": "p", "type": "percentile", "field": "event.duration",
			"percentiles": []any{map[string]any{"id": "a", "value": "50", "mode": "line"}, map[string]any{"id": "b", "value": 99, "mode": "line"}},
		})},
		want: vizWant{
			typ: "timeseries",
			exprs: []string{
				`quantile_over_time(0.5, {job="logs"} | json | __error__="" | unwrap event_duration | __error__="" [$__auto]) by ()`,
				`quantile_over_time(0.99, {job="logs"} | json | __error__="" | unwrap event_duration | __error__="" [$__auto]) by ()`,
			},
			legends:  []string{"Latency (50)", "Latency (99)"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "percentile_method"},
		},
	}, {
		name: "split by filters",
		series: []map[string]any{tsvbSeriesOf("", map[string]any{"split_mode": "filters", "split_filters": []any{
			map[string]any{"id": "f1", "color": "#68BC00", "label": "Errors", "filter": kql("http.response.status_code >= 500")},
			map[string]any{"id": "f2", "color": "#FF0000", "filter": kql("url.path:/login")},
			map[string]any{"id": "f3", "color": "#0000FF", "filter": kql("")},
		}}, count)},
		want: vizWant{
			typ: "timeseries",
			exprs: []string{
				`sum (count_over_time({job="logs"} | json | http_response_status_code >= 500 | __error__="" [$__auto]))`,
				`sum (count_over_time({job="logs"} | json | url_path=` + "`/login`" + ` | __error__="" [$__auto]))`,
				`sum (count_over_time({job="logs"} [$__auto]))`,
			},
			legends:  []string{"Errors", "url.path:/login", "*"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment"},
		},
	}, {
		name: "terms ordered by name with include pattern",
		series: []map[string]any{tsvbSeriesOf("", map[string]any{
			"split_mode": "terms", "terms_field": "host.name", "terms_order_by": "_key", "terms_direction": "asc", "terms_include": "web-.*",
		}, count)},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`topk(10, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__auto])))`},
			legends:  []string{"{{host_name}}"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "terms_include_exclude", "terms_order_key", "topk_per_step"},
		},
	}, {
		name:   "offset series",
		series: []map[string]any{tsvbSeriesOf("Last week", map[string]any{"offset_time": "1w"}, count)},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`sum (count_over_time({job="logs"} [$__auto] offset 1w))`},
			legends:  []string{"Last week"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment"},
		},
	}, {
		name:   "offset LogQL cannot express",
		series: []map[string]any{tsvbSeriesOf("Odd", map[string]any{"offset_time": "-1h"}, count)},
		want:   vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"time_shift", "tsvb_no_series"}},
	}, {
		name: "series overriding the index pattern",
		series: []map[string]any{tsvbSeriesOf("Rx", map[string]any{
			"override_index_pattern": 1, "series_index_pattern": "k8s-*", "series_time_field": "@timestamp",
			"split_mode": "terms", "terms_field": "kubernetes.node.name", "terms_size": "3",
			"terms_order_by": "m-sum", "filter": kql("event.dataset:kubernetes.pod"),
		}, metric("sum", "kubernetes.pod.network.rx.bytes"))},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`topk(3, sum_over_time({job="k8s"} |= ` + "`kubernetes.pod`" + ` | json | event_dataset=` + "`kubernetes.pod`" + ` | kubernetes_node_name!="" | __error__="" | unwrap kubernetes_pod_network_rx_bytes | __error__="" [$__auto]) by (kubernetes_node_name))`},
			legends:  []string{"{{kubernetes_node_name}}"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "topk_per_step"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			panels := convertViz(t, tsvb("v1", "TSVB", tsvbParams("timeseries", tt.extra, tt.series...)))
			checkViz(t, panels["TSVB"], tt.want)
		})
	}
}

func TestTSVBFilterRatio(t *testing.T) {
	tests := []struct {
		name   string
		series map[string]any
		want   vizWant
	}{{
		name: "count ratio with Lucene strings",
		series: tsvbSeriesOf("Error rate", map[string]any{"filter": kql("service.name:api")}, map[string]any{
			"id": "r", "type": "filter_ratio", "numerator": "http.response.status_code:[500 TO 599]", "denominator": "*",
		}),
		want: vizWant{
			typ: "timeseries",
			exprs: []string{`sum (count_over_time({job="logs", service_name="api"} | json | (http_response_status_code >= 500 and http_response_status_code <= 599) | __error__="" [$__auto]))` +
				` / sum (count_over_time({job="logs", service_name="api"} [$__auto]))`},
			legends:  []string{"Error rate"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "tsvb_filter_ratio"},
		},
	}, {
		name: "average ratio split by terms",
		series: tsvbSeriesOf("", map[string]any{"split_mode": "terms", "terms_field": "host.name", "terms_size": "3"}, map[string]any{
			"id": "r", "type": "filter_ratio", "metric_agg": "avg", "field": "bytes",
			"numerator": kql("url.path:/api"), "denominator": kql(""),
		}),
		want: vizWant{
			typ: "timeseries",
			exprs: []string{"topk(3, avg_over_time({job=\"logs\"} | json | url_path=`/api` | host_name!=\"\" | __error__=\"\" | unwrap bytes | __error__=\"\" [$__auto]) by (host_name)" +
				` / avg_over_time({job="logs"} | json | host_name!="" | __error__="" | unwrap bytes | __error__="" [$__auto]) by (host_name))`},
			legends:  []string{"{{host_name}}"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "terms_order_metric", "topk_per_step", "tsvb_filter_ratio"},
		},
	}, {
		name:   "ratio of an aggregation with no LogQL form",
		series: tsvbSeriesOf("", nil, map[string]any{"id": "r", "type": "filter_ratio", "metric_agg": "value_count", "field": "bytes", "numerator": "*"}),
		want:   vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"tsvb_metric_unsupported", "tsvb_no_series"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViz(t, convertViz(t, tsvb("v1", "TSVB", tsvbParams("timeseries", nil, tt.series)))["TSVB"], tt.want)
		})
	}
}

func TestTSVBIndexPattern(t *testing.T) {
	count := tsvbSeriesOf("Docs", nil, metric("count", ""))
	want := vizWant{typ: "timeseries", exprs: []string{`sum (count_over_time({job="k8s"} [$__auto]))`}, legends: []string{"Docs"}, fidelity: fidelity.Approximate, codes: []string{"bucket_alignment"}}
	tests := []struct {
		name   string
		params map[string]any
		refs   []Reference
	}{
		{"title string", tsvbParams("timeseries", map[string]any{"index_pattern": "k8s-*"}, count), nil},
		{"object with id", tsvbParams("timeseries", map[string]any{"index_pattern": map[string]any{"id": "ip-k8s"}}, count), nil},
		{"default pattern", tsvbParams("timeseries", map[string]any{"index_pattern": "", "default_index_pattern": "k8s-*"}, count), nil},
		{
			"reference name",
			tsvbParams("timeseries", map[string]any{"index_pattern": nil, "index_pattern_ref_name": "metrics_0_index_pattern"}, count),
			[]Reference{{Name: "metrics_0_index_pattern", Type: "index-pattern", ID: "ip-k8s"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViz(t, convertViz(t, tsvb("v1", "TSVB", tt.params, tt.refs...))["TSVB"], want)
		})
	}
}

func TestTSVBLook(t *testing.T) {
	tests := []struct {
		name   string
		series map[string]any
		style  string
		stack  string
		codes  []string
	}{
		{"line", map[string]any{}, "line", "none", []string{"bucket_alignment"}},
		{"stacked bars", map[string]any{"chart_type": "bar", "stacked": "stacked"}, "bars", "normal", []string{"bucket_alignment"}},
		{"percent area", map[string]any{"fill": 0.5, "stacked": "percent"}, "line", "normal", []string{"bucket_alignment", "percent_stack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := tsvbParams("timeseries", map[string]any{"interval": "1h"}, tsvbSeriesOf("Docs", tt.series, metric("count", "")))
			got := convertViz(t, tsvb("v1", "TSVB", params))["TSVB"]
			custom := obj(obj(obj(got.Raw, "fieldConfig"), "defaults"), "custom")
			if style := orDefault(str(custom, "drawStyle"), "line"); style != tt.style {
				t.Errorf("draw style = %q, want %q", style, tt.style)
			}
			if stack := orDefault(str(obj(custom, "stacking"), "mode"), "none"); stack != tt.stack {
				t.Errorf("stacking = %q, want %q", stack, tt.stack)
			}
			if iv := str(got.Raw, "interval"); iv != "1h" {
				t.Errorf("interval = %q, want 1h", iv)
			}
			if diff := cmp.Diff(tt.codes, got.Codes); diff != "" {
				t.Errorf("reason codes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTSVBGlobalFilters checks that the dashboard query applies to TSVB
// series unless the panel or the series ignores it.
func TestTSVBGlobalFilters(t *testing.T) {
	withQuery := `sum (count_over_time({job="logs", service_name="web"} [$__auto]))`
	without := `sum (count_over_time({job="logs"} [$__auto]))`
	tests := []struct {
		name   string
		extra  map[string]any
		series map[string]any
		want   string
	}{
		{"applied", nil, nil, withQuery},
		{"ignored by the panel", map[string]any{"ignore_global_filter": 1}, nil, without},
		{"ignored by the series", nil, map[string]any{"ignore_global_filter": 1}, without},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vis := tsvb("v1", "TSVB", tsvbParams("timeseries", tt.extra, tsvbSeriesOf("Docs", tt.series, metric("count", ""))))
			got := convertViz(t, vizDashboard("service.name:web", "v1"), vis)["TSVB"]
			if diff := cmp.Diff([]string{tt.want}, got.Exprs); diff != "" {
				t.Errorf("queries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTSVBReportQueries checks that every query string of the panel is
// recorded once, under its own name.
func TestTSVBReportQueries(t *testing.T) {
	s1 := tsvbSeriesOf("A", map[string]any{"filter": kql("url.path:/a")}, metric("count", ""))
	s2 := tsvbSeriesOf("B", map[string]any{"split_mode": "filters", "split_filters": []any{
		map[string]any{"id": "f", "filter": kql("host.name:web-1"), "label": "web-1"},
	}}, metric("count", ""))
	params := tsvbParams("timeseries", map[string]any{"filter": "service.name:api"}, s1, s2)
	got := convertViz(t, tsvb("v1", "TSVB", params))["TSVB"]
	var where []string
	for _, q := range got.Report.Queries {
		where = append(where, q.Where+": "+q.Original)
	}
	want := []string{"panel filter: service.name:api", "series 1 filter: url.path:/a", "series 2 split filter 1: host.name:web-1"}
	if diff := cmp.Diff(want, where); diff != "" {
		t.Errorf("recorded queries (-want +got):\n%s", diff)
	}
	if n := strings.Count(str(got.Raw, "description"), "Original panel filter:"); n != 1 {
		t.Errorf("the description names the panel filter %d times, want once", n)
	}
}

// vizDashboard is a dashboard with a query that shows the visualizations
// with the given ids.
func vizDashboard(query string, ids ...string) map[string]any {
	var panels []any
	var refs []Reference
	for i, id := range ids {
		name := "panel_" + id
		panels = append(panels, map[string]any{
			"panelIndex": id, "panelRefName": name,
			"gridData": map[string]any{"x": 0, "y": i * 15, "w": 24, "h": 15, "i": id},
		})
		refs = append(refs, Reference{Name: name, Type: "visualization", ID: id})
	}
	pj, _ := json.Marshal(panels)
	source, _ := json.Marshal(map[string]any{"query": kql(query), "filter": []any{}})
	return map[string]any{"type": "dashboard", "id": "d1", "references": refs, "attributes": map[string]any{
		"title": "Dash", "panelsJSON": string(pj),
		"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": string(source)},
	}}
}

// FuzzTSVB converts arbitrary TSVB params: conversion must not panic, and
// the panel must be there, converted or not.
func FuzzTSVB(f *testing.F) {
	seeds := []map[string]any{
		tsvbParams("timeseries", map[string]any{"filter": kql("service.name:api")}, tsvbSeriesOf("A", map[string]any{
			"split_mode": "terms", "terms_field": "host.name", "offset_time": "1h", "override_index_pattern": 1, "series_index_pattern": map[string]any{"id": "ip-k8s"},
		}, metric("count", ""))),
		tsvbParams("table", map[string]any{"pivot_id": "host.name"}, tsvbSeriesOf("B", map[string]any{"split_mode": "filters", "split_filters": []any{map[string]any{"filter": kql("a:1")}}},
			map[string]any{"type": "filter_ratio", "numerator": "a:1", "metric_agg": "avg", "field": "bytes"})),
		tsvbParams("markdown", map[string]any{"markdown": "{{ a.b }}"}),
	}
	for _, s := range seeds {
		b, _ := json.Marshal(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var params any
		if json.Unmarshal(data, &params) != nil {
			return
		}
		vis, _ := json.Marshal(map[string]any{"title": "T", "type": "metrics", "params": params})
		o, _ := json.Marshal(map[string]any{"type": "visualization", "id": "v1", "attributes": map[string]any{"title": "T", "visState": string(vis)}})
		res := Convert([]Input{{File: "f.ndjson", Data: o}}, Options{Mappings: vizMappings})
		if res.Report.Summary.Panels.Total() != 1 {
			t.Fatalf("got %d panels, want 1", res.Report.Summary.Panels.Total())
		}
	})
}
