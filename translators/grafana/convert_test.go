package grafana_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/grafana"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// testMapping turns service.name and host.name into stream labels and
// types the numeric fields, as a plan's logs section would.
var testMapping = []plans.LogMapping{{
	Indices:   "logs-*",
	Timestamp: "@timestamp",
	Labels:    map[string]string{"service_name": "service.name", "host": "host.name"},
	Line:      "json",
	Parser:    "json",
	Fields: map[string]string{
		"bytes": "long", "latency_ms": "double", "user.id": "keyword",
		"status": "keyword", "level": "keyword", "service.name": "keyword", "host.name": "keyword",
	},
}}

// esPanel is a dashboard with one panel of the given type whose only
// target is on Elasticsearch.
func esPanel(panelType, target string) string {
	return `{"uid":"u1","title":"T","panels":[{"id":1,"type":"` + panelType + `",
		"datasource":{"type":"elasticsearch","uid":"es1"},
		"targets":[` + target + `]}]}`
}

type converted struct {
	dash   map[string]any
	item   *grafana.Item
	panels []map[string]any
}

func convertOne(t *testing.T, doc string, opts grafana.Options) converted {
	t.Helper()
	res := grafana.Convert([]grafana.Input{{File: "d.json", Data: []byte(doc)}}, opts)
	item := res.Report.Items[0]
	if item.Status == grafana.StatusFailed {
		t.Fatalf("conversion failed: %s", item.Error)
	}
	var dash map[string]any
	if err := json.Unmarshal(res.Dashboards[0].JSON, &dash); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if inner, ok := dash["dashboard"].(map[string]any); ok {
		dash = inner
	}
	var panels []map[string]any
	for _, p := range asList(dash["panels"]) {
		panels = append(panels, p.(map[string]any))
	}
	requireValidQueries(t, item)
	return converted{dash: dash, item: item, panels: panels}
}

// requireValidQueries checks every query of the report with Grafana's
// grammars.
func requireValidQueries(t *testing.T, item *grafana.Item) {
	t.Helper()
	var qs []grammar.Query
	for _, tr := range item.Targets {
		for _, q := range tr.Queries {
			qs = append(qs, grammar.Query{ID: tr.RefID, Lang: tr.Language, Text: q})
		}
	}
	for _, a := range item.Annotations {
		if a.Converted != "" {
			qs = append(qs, grammar.Query{ID: a.Name, Lang: grammar.LangLogQL, Text: a.Converted})
		}
	}
	for _, v := range item.Variables {
		if strings.HasPrefix(v.Converted, "{") {
			qs = append(qs, grammar.Query{ID: v.Name, Lang: grammar.LangLogQL, Text: v.Converted})
		}
	}
	if len(qs) > 0 {
		grammartest.RequireValid(t, qs)
	}
}

func exprs(panel map[string]any) []string {
	var out []string
	for _, tg := range asList(panel["targets"]) {
		if e, ok := tg.(map[string]any)["expr"].(string); ok {
			out = append(out, e)
		}
	}
	return out
}

func reasonCodes(item *grafana.Item) map[string]bool {
	codes := map[string]bool{}
	for _, tr := range item.Targets {
		for _, r := range tr.Reasons {
			codes[r.Code] = true
		}
	}
	for _, v := range item.Variables {
		for _, r := range v.Reasons {
			codes[r.Code] = true
		}
	}
	return codes
}

func TestMetricAndBucketMappings(t *testing.T) {
	const histogram = `{"id":"2","type":"date_histogram","field":"@timestamp","settings":{"interval":"auto"}}`
	tests := []struct {
		name      string
		panelType string
		target    string
		want      []string // the panel's exprs, in order
		fidelity  string
		reason    string // a reason code the target must carry
		logsPanel bool
	}{{
		name:   "count over a date histogram",
		target: `{"refId":"A","query":"status:500","metrics":[{"id":"1","type":"count"}],"bucketAggs":[` + histogram + `],"timeField":"@timestamp"}`,
		want:   []string{"sum (count_over_time({host=~\".+\"} |= `500` | json | status=`500` | __error__=\"\" [$__auto]))"},
		reason: "bucket_alignment",
	}, {
		name:   "avg unwraps the field",
		target: `{"refId":"A","query":"","metrics":[{"id":"1","type":"avg","field":"latency_ms"}],"bucketAggs":[` + histogram + `]}`,
		want:   []string{`avg_over_time({host=~".+"} | json | __error__="" | unwrap latency_ms | __error__="" [$__auto]) by ()`},
	}, {
		name:   "sum, min and max each get a target",
		target: `{"refId":"A","metrics":[{"id":"1","type":"sum","field":"bytes"},{"id":"3","type":"min","field":"bytes"},{"id":"4","type":"max","field":"bytes"}],"bucketAggs":[` + histogram + `]}`,
		want: []string{
			`sum_over_time({host=~".+"} | json | __error__="" | unwrap bytes | __error__="" [$__auto]) by ()`,
			`min_over_time({host=~".+"} | json | __error__="" | unwrap bytes | __error__="" [$__auto]) by ()`,
			`max_over_time({host=~".+"} | json | __error__="" | unwrap bytes | __error__="" [$__auto]) by ()`,
		},
	}, {
		name:   "percentiles become one quantile per percent",
		target: `{"refId":"A","metrics":[{"id":"1","type":"percentiles","field":"latency_ms","settings":{"percents":["50","99.9"]}}],"bucketAggs":[` + histogram + `]}`,
		want: []string{
			`quantile_over_time(0.5, {host=~".+"} | json | __error__="" | unwrap latency_ms | __error__="" [$__auto]) by ()`,
			`quantile_over_time(0.999, {host=~".+"} | json | __error__="" | unwrap latency_ms | __error__="" [$__auto]) by ()`,
		},
		reason: "percentile_method",
	}, {
		name:     "cardinality is approximate",
		target:   `{"refId":"A","metrics":[{"id":"1","type":"cardinality","field":"user.id"}],"bucketAggs":[` + histogram + `]}`,
		want:     []string{`count (sum by (user_id) (count_over_time({host=~".+"} | json | user_id!="" | __error__="" [$__auto])))`},
		fidelity: "approximate",
		reason:   "cardinality_per_step",
	}, {
		name:      "raw_data becomes a logs panel",
		panelType: "table",
		target:    `{"refId":"A","query":"service.name:api","metrics":[{"id":"1","type":"raw_data","settings":{"size":"500"}}],"bucketAggs":[]}`,
		want:      []string{`{service_name="api"}`},
		logsPanel: true,
	}, {
		name:      "raw_document becomes a logs panel",
		panelType: "table",
		target:    `{"refId":"A","query":"","metrics":[{"id":"1","type":"raw_document"}],"bucketAggs":[]}`,
		want:      []string{`{host=~".+"}`},
		logsPanel: true,
	}, {
		name:      "logs becomes a logs panel",
		target:    `{"refId":"A","query":"level:error","metrics":[{"id":"1","type":"logs"}],"bucketAggs":[]}`,
		want:      []string{"{host=~\".+\"} |= `error` | json | level=`error`"},
		logsPanel: true,
	}, {
		name:   "a fixed date_histogram interval becomes the step",
		target: `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram","field":"@timestamp","settings":{"interval":"5m"}}]}`,
		want:   []string{`sum (count_over_time({host=~".+"} [$__auto]))`},
	}, {
		name:   "terms with size and descending order become topk",
		target: `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"3","type":"terms","field":"host.name","settings":{"size":"5","order":"desc","orderBy":"_count"}},` + histogram + `]}`,
		want:   []string{`topk(5, sum by (host) (count_over_time({host=~".+"} | host!="" [$__auto])))`},
		reason: "topk_per_step",
	}, {
		name:   "terms with ascending order become bottomk",
		target: `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"3","type":"terms","field":"status","settings":{"size":"3","order":"asc","orderBy":"_count"}},` + histogram + `]}`,
		want:   []string{`bottomk(3, sum by (status) (count_over_time({host=~".+"} | json | status!="" | __error__="" [$__auto])))`},
	}, {
		name:   "filters become one query per filter",
		target: `{"refId":"A","query":"service.name:api","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"3","type":"filters","settings":{"filters":[{"query":"status:500","label":"errors"},{"query":"status:200","label":""}]}},` + histogram + `]}`,
		want: []string{
			"sum (count_over_time({service_name=\"api\"} |= `500` | json | status=`500` | __error__=\"\" [$__auto]))",
			"sum (count_over_time({service_name=\"api\"} |= `200` | json | status=`200` | __error__=\"\" [$__auto]))",
		},
	}, {
		name:      "a stat panel covers the whole range",
		panelType: "stat",
		target:    `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`,
		want:      []string{`sum (count_over_time({host=~".+"} [$__range]))`},
	}, {
		name:     "histogram buckets are unsupported",
		target:   `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"histogram","field":"bytes","settings":{"interval":"100"}}]}`,
		fidelity: "unsupported",
		reason:   "bucket_unsupported",
	}, {
		name:     "geohash buckets are unsupported",
		target:   `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"geohash_grid","field":"geo","settings":{"precision":"3"}}]}`,
		fidelity: "unsupported",
		reason:   "bucket_unsupported",
	}, {
		name:     "a metric without a LogQL form is unsupported",
		target:   `{"refId":"A","metrics":[{"id":"1","type":"extended_stats","field":"bytes"}],"bucketAggs":[` + histogram + `]}`,
		fidelity: "unsupported",
		reason:   "no_metric",
	}, {
		name:     "PPL is unsupported",
		target:   `{"refId":"A","queryType":"PPL","query":"source=logs | stats count()","metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`,
		fidelity: "unsupported",
		reason:   "ppl_unsupported",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt := tc.panelType
			if pt == "" {
				pt = "timeseries"
			}
			got := convertOne(t, esPanel(pt, tc.target), grafana.Options{Mappings: testMapping})
			if len(got.item.Targets) != 1 {
				t.Fatalf("the report lists %d targets, want 1", len(got.item.Targets))
			}
			tr := got.item.Targets[0]
			if tc.fidelity != "" && tr.Fidelity.String() != tc.fidelity {
				t.Errorf("fidelity %s, want %s (reasons %v)", tr.Fidelity, tc.fidelity, tr.Reasons)
			}
			if tc.reason != "" && !reasonCodes(got.item)[tc.reason] {
				t.Errorf("no %s reason among %v", tc.reason, tr.Reasons)
			}
			panel := got.panels[0]
			if tc.want == nil {
				// The target stays on Elasticsearch and the panel is untouched.
				if ds := panel["datasource"].(map[string]any); ds["type"] != "elasticsearch" {
					t.Errorf("an unconverted panel moved to %v", ds)
				}
				return
			}
			if diff := cmpStrings(exprs(panel), tc.want); diff != "" {
				t.Errorf("exprs differ:\n%s", diff)
			}
			if ds := panel["datasource"].(map[string]any); ds["type"] != "loki" || ds["uid"] != grafana.DefaultLokiUID {
				t.Errorf("panel data source %v, want Loki", ds)
			}
			if isLogs := panel["type"] == "logs"; isLogs != tc.logsPanel {
				t.Errorf("panel type %v, logs panel wanted: %v", panel["type"], tc.logsPanel)
			}
		})
	}
}

func cmpStrings(got, want []string) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			b.WriteString("  got:  " + g + "\n  want: " + w + "\n")
		}
	}
	return b.String()
}

func TestTargetDetails(t *testing.T) {
	target := `{"refId":"B","hide":true,"alias":"{{term host.name}} hits","query":"","metrics":[{"id":"1","type":"count"}],
		"bucketAggs":[{"id":"3","type":"terms","field":"host.name","settings":{"size":"0","order":"desc","orderBy":"_count"}},
		{"id":"2","type":"date_histogram","field":"@timestamp","settings":{"interval":"1m"}}]}`
	got := convertOne(t, esPanel("timeseries", target), grafana.Options{Mappings: testMapping, LokiUID: "loki-prod"})
	tg := got.panels[0]["targets"].([]any)[0].(map[string]any)
	want := map[string]any{
		"refId": "B", "hide": true, "legendFormat": "{{host}} hits", "step": "1m",
		"queryType": "range", "editorMode": "code",
		"expr": `topk(500, sum by (host) (count_over_time({host=~".+"} | host!="" [$__auto])))`,
	}
	for k, v := range want {
		if tg[k] != v {
			t.Errorf("%s = %v, want %v", k, tg[k], v)
		}
	}
	if ds := got.panels[0]["datasource"].(map[string]any); ds["uid"] != "loki-prod" {
		t.Errorf("--loki-uid not used: %v", ds)
	}
}

func TestFiltersGetDistinctRefIDsAndLegends(t *testing.T) {
	target := `{"refId":"A","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"3","type":"filters","settings":{"filters":[{"query":"status:500","label":"errors"},{"query":"status:200"}]}},{"id":"2","type":"date_histogram"}]}`
	got := convertOne(t, esPanel("timeseries", target), grafana.Options{Mappings: testMapping})
	var ids, legends []string
	for _, tg := range asList(got.panels[0]["targets"]) {
		m := tg.(map[string]any)
		ids = append(ids, m["refId"].(string))
		legends = append(legends, m["legendFormat"].(string))
	}
	if strings.Join(ids, ",") != "A,A2" || strings.Join(legends, ",") != "errors,status:200" {
		t.Errorf("refIds %v, legends %v", ids, legends)
	}
}

func TestVariables(t *testing.T) {
	doc := `{"uid":"v","title":"V","panels":[],"templating":{"list":[
		{"name":"ds","type":"datasource","query":"elasticsearch","current":{"text":"es","value":"es"},"options":[]},
		{"name":"traces","type":"datasource","query":"jaeger","current":{}},
		{"name":"prom","type":"datasource","query":"prometheus","current":{"text":"p","value":"p"}},
		{"name":"Filters","type":"adhoc","datasource":{"type":"elasticsearch","uid":"es1"}},
		{"name":"service","type":"query","datasource":{"type":"elasticsearch","uid":"es1"},"query":"{\"find\":\"terms\",\"field\":\"service.name\",\"query\":\"host.name:web*\"}","refresh":1},
		{"name":"user","type":"query","datasource":"$ds","query":"{\"find\":\"terms\",\"field\":\"user.id\"}","current":{"text":"u1","value":["u1","u2"]},"refresh":1},
		{"name":"fields","type":"query","datasource":{"type":"elasticsearch","uid":"es1"},"query":"{\"find\":\"fields\",\"type\":\"keyword\"}"},
		{"name":"job","type":"query","datasource":{"type":"prometheus","uid":"p"},"query":"label_values(job)"}
	]}}`
	got := convertOne(t, doc, grafana.Options{Mappings: testMapping})
	vars := map[string]map[string]any{}
	for _, v := range asList(got.dash["templating"].(map[string]any)["list"]) {
		m := v.(map[string]any)
		vars[m["name"].(string)] = m
	}
	checks := []struct {
		name, key string
		want      any
	}{
		{"ds", "query", "loki"},
		{"traces", "query", "tempo"},
		{"prom", "query", "prometheus"},
		{"service", "query", `label_values({host=~"(?s)^(?:web.*)$"}, service_name)`},
		{"user", "type", "textbox"},
		{"user", "query", "u1"},
		{"fields", "type", "query"},
		{"job", "query", "label_values(job)"},
	}
	for _, c := range checks {
		if got := vars[c.name][c.key]; got != c.want {
			t.Errorf("variable %s: %s = %v, want %v", c.name, c.key, got, c.want)
		}
	}
	if ds := vars["Filters"]["datasource"].(map[string]any); ds["type"] != "loki" {
		t.Errorf("ad hoc filter stays on %v", ds)
	}
	if ds := vars["service"]["datasource"].(map[string]any); ds["type"] != "loki" {
		t.Errorf("label_values variable on %v", ds)
	}
	if _, has := vars["ds"]["options"]; has {
		t.Error("the data source variable keeps its Elasticsearch options")
	}
	kinds := map[string]string{}
	for _, v := range got.item.Variables {
		kinds[v.Name] = v.Kind + "/" + v.Fidelity.String()
	}
	wantKinds := map[string]string{
		"ds": "datasource/exact", "traces": "datasource/exact", "Filters": "adhoc/approximate",
		"service": "query/exact", "user": "query/approximate", "fields": "query/unsupported",
	}
	for name, want := range wantKinds {
		if kinds[name] != want {
			t.Errorf("variable %s reported as %q, want %q", name, kinds[name], want)
		}
	}
	if len(kinds) != len(wantKinds) {
		t.Errorf("variables reported: %v", kinds)
	}
	if !reasonCodes(got.item)["variable_not_listable"] {
		t.Error("the text box variable is not reported as a gap")
	}
}

func TestAnnotations(t *testing.T) {
	doc := `{"uid":"a","title":"A","panels":[],"annotations":{"list":[
		{"name":"Deploys","enable":true,"iconColor":"red","datasource":{"type":"elasticsearch","uid":"es1"},
		 "query":"service.name:deployer AND status:done","textField":"message","tagsField":"host.name","timeField":"@timestamp"},
		{"name":"Annotations & Alerts","builtIn":1,"datasource":{"type":"grafana","uid":"-- Grafana --"},"enable":true}
	]}}`
	got := convertOne(t, doc, grafana.Options{Mappings: testMapping})
	list := asList(got.dash["annotations"].(map[string]any)["list"])
	a := list[0].(map[string]any)
	want := map[string]any{
		"expr":       "{service_name=\"deployer\"} |= `done` | json | status=`done`",
		"textFormat": "{{message}}", "tagKeys": "host", "iconColor": "red", "enable": true,
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("%s = %v, want %v", k, a[k], v)
		}
	}
	for _, gone := range []string{"query", "textField", "tagsField", "timeField"} {
		if _, has := a[gone]; has {
			t.Errorf("the Loki annotation keeps the Elasticsearch field %s", gone)
		}
	}
	if ds := a["datasource"].(map[string]any); ds["type"] != "loki" {
		t.Errorf("annotation on %v", ds)
	}
	if b := list[1].(map[string]any); b["datasource"].(map[string]any)["type"] != "grafana" {
		t.Error("the built-in annotation changed")
	}
	if len(got.item.Annotations) != 1 {
		t.Errorf("%d annotations reported, want 1", len(got.item.Annotations))
	}
}

func TestDataSourceResolution(t *testing.T) {
	target := `{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}],"timeField":"@timestamp"}`
	tests := []struct {
		name     string
		doc      string
		sources  map[string]string
		panelDS  string // the panel's data source type after conversion
		reported int
	}{{
		name:     "a string name recognised by the target's shape",
		doc:      `{"uid":"s","title":"S","panels":[{"type":"graph","datasource":"logs-es","targets":[` + target + `]}]}`,
		panelDS:  "loki",
		reported: 1,
	}, {
		name:     "a string name settled by --datasource",
		doc:      `{"uid":"s","title":"S","panels":[{"type":"graph","datasource":"my-traces","targets":[{"refId":"A","queryType":"search","service":"api"}]}]}`,
		sources:  map[string]string{"my-traces": "jaeger"},
		panelDS:  "tempo",
		reported: 1,
	}, {
		name:     "--datasource says a name is Loki, whatever the shape",
		doc:      `{"uid":"s","title":"S","panels":[{"type":"graph","datasource":"logs-es","targets":[` + target + `]}]}`,
		sources:  map[string]string{"logs-es": "loki"},
		reported: 0,
	}, {
		name:     "an exported dashboard's input",
		doc:      `{"__inputs":[{"name":"DS_ES","type":"datasource","pluginId":"elasticsearch","pluginName":"Elasticsearch"}],"uid":"s","title":"S","panels":[{"type":"graph","datasource":"${DS_ES}","targets":[{"refId":"A","query":"x:1"}]}]}`,
		panelDS:  "loki",
		reported: 1,
	}, {
		name:     "a data source variable",
		doc:      `{"uid":"s","title":"S","templating":{"list":[{"name":"es","type":"datasource","query":"elasticsearch"}]},"panels":[{"type":"graph","datasource":{"uid":"$es"},"targets":[{"refId":"A","query":"x:1"}]}]}`,
		panelDS:  "loki",
		reported: 1,
	}, {
		name:     "an OpenSearch panel",
		doc:      `{"uid":"s","title":"S","panels":[{"type":"graph","datasource":{"type":"grafana-opensearch-datasource","uid":"os"},"targets":[` + target + `]}]}`,
		panelDS:  "loki",
		reported: 1,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := convertOne(t, tc.doc, grafana.Options{DataSources: tc.sources})
			if len(got.item.Targets) != tc.reported {
				t.Fatalf("%d targets reported, want %d", len(got.item.Targets), tc.reported)
			}
			if tc.panelDS == "" {
				return
			}
			ds, _ := got.panels[0]["datasource"].(map[string]any)
			if ds["type"] != tc.panelDS {
				t.Errorf("panel data source %v, want type %s", got.panels[0]["datasource"], tc.panelDS)
			}
		})
	}
}

func TestMixedPanelsConvertTargetByTarget(t *testing.T) {
	doc := `{"uid":"m","title":"M","panels":[{"type":"timeseries","datasource":{"type":"datasource","uid":"-- Mixed --"},"targets":[
		{"refId":"A","datasource":{"type":"prometheus","uid":"prom"},"expr":"rate(http_requests_total[5m])"},
		{"refId":"B","datasource":{"type":"elasticsearch","uid":"es1"},"query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}]},
		{"refId":"C","datasource":{"type":"elasticsearch","uid":"es1"},"metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"histogram","field":"bytes"}]}
	]}]}`
	got := convertOne(t, doc, grafana.Options{})
	targets := asList(got.panels[0]["targets"])
	if len(targets) != 3 {
		t.Fatalf("%d targets, want 3", len(targets))
	}
	types := []string{}
	for _, tg := range targets {
		types = append(types, tg.(map[string]any)["datasource"].(map[string]any)["type"].(string))
	}
	if strings.Join(types, ",") != "prometheus,loki,elasticsearch" {
		t.Errorf("target data sources %v", types)
	}
	if targets[0].(map[string]any)["expr"] != "rate(http_requests_total[5m])" {
		t.Error("the Prometheus target changed")
	}
	if ds := got.panels[0]["datasource"].(map[string]any); ds["uid"] != "-- Mixed --" {
		t.Errorf("panel data source %v, want Mixed", ds)
	}
}

func TestUnconvertibleTargetKeepsItsDataSource(t *testing.T) {
	doc := `{"uid":"k","title":"K","panels":[{"type":"timeseries","datasource":{"type":"elasticsearch","uid":"es1"},"targets":[
		{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}]},
		{"refId":"B","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"geohash_grid","field":"geo"}]}
	]}]}`
	got := convertOne(t, doc, grafana.Options{})
	panel := got.panels[0]
	if ds := panel["datasource"].(map[string]any); ds["uid"] != "-- Mixed --" {
		t.Errorf("panel data source %v, want Mixed", ds)
	}
	kept := asList(panel["targets"])[1].(map[string]any)
	if ds := kept["datasource"].(map[string]any); ds["type"] != "elasticsearch" || ds["uid"] != "es1" {
		t.Errorf("the kept target names %v, want the panel's old data source", ds)
	}
}

func TestLokiAndTempoDashboardsPassThrough(t *testing.T) {
	doc := []byte(`{"uid":"lt","title":"Already migrated","tags":["x"],"panels":[
	  {"type":"logs","datasource":{"type":"loki","uid":"l"},"targets":[{"refId":"A","expr":"{app=\"a\"}"}]},
	  {"type":"traces","datasource":{"type":"tempo","uid":"t"},"targets":[{"refId":"A","query":"{ .a = 1 }","queryType":"traceql"}]},
	  {"type":"timeseries","datasource":{"type":"prometheus","uid":"p"},"targets":[{"refId":"A","expr":"up"}]}
	], "weird": 1.50, "nested": {"z": 1, "a": [1e3, "\u00e9"]}}`)
	res := grafana.Convert([]grafana.Input{{File: "lt.json", Data: doc}}, grafana.Options{})
	if st := res.Report.Items[0].Status; st != grafana.StatusUnchanged {
		t.Fatalf("status %s, want unchanged", st)
	}
	v, err := ojson.Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ojson.Encode(v)
	if !bytes.Equal(res.Dashboards[0].JSON, want) {
		t.Errorf("an unchanged dashboard was rewritten:\n%s", res.Dashboards[0].JSON)
	}
	if !bytes.Contains(res.Dashboards[0].JSON, []byte(`"weird": 1.50`)) {
		t.Error("the number's text changed")
	}
}

func TestMigratedDashboardRecordsItsSource(t *testing.T) {
	doc := `{"dashboard":{"id":42,"uid":"old-uid","title":"Web","tags":["team-a"],"links":[{"title":"runbook","url":"https://example.invalid/r"}],
		"panels":[{"type":"row","title":"R","collapsed":true,"panels":[{"type":"timeseries","description":"d","gridPos":{"h":8,"w":12,"x":0,"y":1},"repeat":"host",
		"datasource":{"type":"elasticsearch","uid":"es1"},"targets":[{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}]}]}]}]},
		"meta":{"folderUid":"f"}}`
	res := grafana.Convert([]grafana.Input{{File: "web.json", Data: []byte(doc)}}, grafana.Options{})
	var out map[string]any
	if err := json.Unmarshal(res.Dashboards[0].JSON, &out); err != nil {
		t.Fatal(err)
	}
	if out["meta"] == nil {
		t.Error("the API wrapper's meta is lost")
	}
	dash := out["dashboard"].(map[string]any)
	if dash["id"] != nil {
		t.Errorf("id %v kept; a new dashboard must not reuse the old instance id", dash["id"])
	}
	uid, _ := dash["uid"].(string)
	if uid == "old-uid" || !strings.HasPrefix(uid, "mg-") || len(uid) > 40 {
		t.Errorf("uid %q: want a new uid of at most 40 characters", uid)
	}
	tags := strings.Join(toStrings(asList(dash["tags"])), ",")
	if tags != "team-a,"+grafana.MigrationTag+",migrated-from-uid:old-uid" {
		t.Errorf("tags %s", tags)
	}
	inner := asList(asList(dash["panels"])[0].(map[string]any)["panels"])[0].(map[string]any)
	if inner["repeat"] != "host" || inner["description"] != "d" || inner["gridPos"] == nil {
		t.Errorf("panel layout or repeat lost: %v", inner)
	}
	if len(exprs(inner)) != 1 {
		t.Error("the target inside a collapsed row was not converted")
	}
}

func toStrings(l []any) []string {
	var out []string
	for _, v := range l {
		out = append(out, v.(string))
	}
	return out
}

func TestBadInputIsReportedAndTheBatchGoesOn(t *testing.T) {
	inputs := []grafana.Input{
		{File: "broken.json", Data: []byte(`{"panels": [`)},
		{File: "array.json", Data: []byte(`[1,2]`)},
		{File: "not-a-dashboard.json", Data: []byte(`{"kind":"Deployment"}`)},
		{File: "good.json", Data: []byte(esPanel("timeseries", `{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`))},
	}
	res := grafana.Convert(inputs, grafana.Options{})
	s := res.Report.Summary
	if s.Failed != 3 || s.Converted != 1 || len(res.Dashboards) != 1 {
		t.Fatalf("summary %+v, dashboards %d", s, len(res.Dashboards))
	}
	for _, it := range res.Report.Items[:3] {
		if !strings.Contains(it.Error, it.Source) {
			t.Errorf("error %q does not name the file", it.Error)
		}
	}
}

func TestJaegerTargets(t *testing.T) {
	tests := []struct {
		name      string
		target    string
		opts      grafana.Options
		queryType string
		query     string
		fidelity  string
		reason    string
	}{{
		name:      "a search keeps every condition in one spanset",
		target:    `{"refId":"A","queryType":"search","service":"frontend","operation":"HTTP GET","tags":"error=true http.status_code=500","minDuration":"1s","limit":20}`,
		queryType: "traceql",
		query:     `{ resource.service.name = "frontend" && name = "HTTP GET" && status = error && (.http.status_code = 500 || .http.status_code = "500") && duration >= 1s } with (most_recent=true)`,
	}, {
		name:      "the All operation means any operation",
		target:    `{"refId":"A","queryType":"search","service":"$svc","operation":"All"}`,
		queryType: "traceql",
		query:     `{ resource.service.name = "$svc" } with (most_recent=true)`,
	}, {
		name:      "span scope on request",
		target:    `{"refId":"A","queryType":"search","service":"api","tags":"db.system=redis"}`,
		opts:      grafana.Options{Traces: traceql.Options{Scope: traceql.ScopeSpan}},
		queryType: "traceql",
		query:     `{ resource.service.name = "api" && span.db.system = "redis" } with (most_recent=true)`,
	}, {
		name:      "a string error also matches the attribute on request",
		target:    `{"refId":"A","queryType":"search","service":"api","tags":"error=true"}`,
		opts:      grafana.Options{Traces: traceql.Options{ErrorAttribute: true}},
		queryType: "traceql",
		query:     `{ resource.service.name = "api" && (status = error || .error = true || .error = "true") } with (most_recent=true)`,
		fidelity:  "approximate",
	}, {
		name:      "a trace ID lookup",
		target:    `{"refId":"A","query":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
		queryType: "traceql",
		query:     `{ trace:id = "4bf92f3577b34da6a3ce929d0e0e4736" }`,
	}, {
		name:      "the dependency graph becomes the service graph",
		target:    `{"refId":"A","queryType":"dependencyGraph"}`,
		queryType: "serviceMap",
		fidelity:  "approximate",
		reason:    "service_map",
	}, {
		name:     "an uploaded trace is not kept",
		target:   `{"refId":"A","queryType":"upload"}`,
		fidelity: "unsupported",
		reason:   "upload",
	}, {
		name:     "unreadable tags",
		target:   `{"refId":"A","queryType":"search","service":"api","tags":"a=\"unclosed"}`,
		fidelity: "unsupported",
		reason:   "invalid_tags",
	}, {
		name:     "a search without a service",
		target:   `{"refId":"A","queryType":"search","tags":"error=true"}`,
		fidelity: "unsupported",
		reason:   "missing_service",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := `{"uid":"j","title":"J","panels":[{"type":"table","datasource":{"type":"jaeger","uid":"jg"},"targets":[` + tc.target + `]}]}`
			got := convertOne(t, doc, tc.opts)
			if len(got.item.Targets) != 1 {
				t.Fatalf("%d targets reported", len(got.item.Targets))
			}
			tr := got.item.Targets[0]
			if tc.fidelity != "" && tr.Fidelity.String() != tc.fidelity {
				t.Errorf("fidelity %s, want %s (%v)", tr.Fidelity, tc.fidelity, tr.Reasons)
			}
			if tc.reason != "" && !reasonCodes(got.item)[tc.reason] {
				t.Errorf("no %s reason among %v", tc.reason, tr.Reasons)
			}
			panel := got.panels[0]
			tg := asList(panel["targets"])[0].(map[string]any)
			ds := panel["datasource"].(map[string]any)
			if tc.queryType == "" {
				if ds["type"] != "jaeger" {
					t.Errorf("an unconverted panel moved to %v", ds)
				}
				return
			}
			if ds["type"] != "tempo" || ds["uid"] != grafana.DefaultTempoUID {
				t.Errorf("panel data source %v, want Tempo", ds)
			}
			if tg["queryType"] != tc.queryType {
				t.Errorf("queryType %v, want %s", tg["queryType"], tc.queryType)
			}
			if tc.query != "" && tg["query"] != tc.query {
				t.Errorf("query\n got: %v\nwant: %s", tg["query"], tc.query)
			}
		})
	}
}

func TestDashboardWithOnlyUnsupportedTargetsIsWrittenAsItWas(t *testing.T) {
	doc := []byte(esPanel("geomap", `{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"geohash_grid","field":"geo"}]}`))
	res := grafana.Convert([]grafana.Input{{File: "geo.json", Data: doc}}, grafana.Options{})
	item := res.Report.Items[0]
	if item.Status != grafana.StatusNotConverted {
		t.Errorf("status %s, want %s", item.Status, grafana.StatusNotConverted)
	}
	if s := res.Report.Summary; s.NotConverted != 1 || s.Unchanged != 0 || s.Converted != 0 {
		t.Errorf("summary %+v", s)
	}
	v, _ := ojson.Decode(doc)
	want, _ := ojson.Encode(v)
	if !bytes.Equal(res.Dashboards[0].JSON, want) {
		t.Error("a dashboard with nothing converted was rewritten")
	}
	if !res.Report.HasUnsupported() {
		t.Error("the unsupported target is not counted")
	}
}

func TestHostileUIDCannotNameAPath(t *testing.T) {
	for _, uid := range []string{"/../../../../tmp/x/PWNED", strings.Repeat("a", 300), "a\\b:c*d"} {
		doc := `{"uid":` + strconvQuote(uid) + `,"title":"T","panels":[]}`
		res := grafana.Convert([]grafana.Input{{File: "u.json", Data: []byte(doc)}}, grafana.Options{})
		name := res.Dashboards[0].File
		if strings.ContainsAny(name, `/\:*`) || len(name) > 100 {
			t.Errorf("uid %.40q gives the file name %q", uid, name)
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestVariableStillUsedByOldTargetsKeepsListingThem(t *testing.T) {
	doc := `{"uid":"v","title":"V","templating":{"list":[{"name":"ds","type":"datasource","query":"elasticsearch","current":{"text":"es","value":"es"}}]},
	"panels":[{"type":"timeseries","datasource":"$ds","targets":[
		{"refId":"A","query":"a:1","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}]},
		{"refId":"B","queryType":"PPL","query":"source=logs"}]}]}`
	got := convertOne(t, doc, grafana.Options{LokiUID: "lk"})
	v := asList(got.dash["templating"].(map[string]any)["list"])[0].(map[string]any)
	if v["query"] != "elasticsearch" {
		t.Errorf("the variable lists %v, want elasticsearch while the PPL target uses it", v["query"])
	}
	targets := asList(got.panels[0]["targets"])
	if ds := targets[0].(map[string]any)["datasource"].(map[string]any); ds["type"] != "loki" || ds["uid"] != "lk" {
		t.Errorf("the converted target names %v, want the Loki uid itself", ds)
	}
	if ds := targets[1].(map[string]any)["datasource"]; ds != "$ds" {
		t.Errorf("the PPL target names %v, want $ds", ds)
	}
	if len(got.item.Notes) == 0 {
		t.Error("no note says why the variable still lists Elasticsearch")
	}
}

func TestInputStillUsedByOldTargetsIsKept(t *testing.T) {
	doc := `{"__inputs":[{"name":"DS_ES","type":"datasource","pluginId":"elasticsearch","pluginName":"Elasticsearch"}],
	"__requires":[{"type":"datasource","id":"elasticsearch","name":"Elasticsearch"}],"uid":"i","title":"I","panels":[
		{"type":"graph","datasource":"${DS_ES}","targets":[{"refId":"A","query":"x:1"}]},
		{"type":"table","datasource":"${DS_ES}","targets":[{"refId":"A","queryType":"PPL","query":"source=x"}]}]}`
	got := convertOne(t, doc, grafana.Options{})
	in := asList(got.dash["__inputs"])[0].(map[string]any)
	if in["pluginId"] != "elasticsearch" {
		t.Errorf("input plugin %v, want elasticsearch while a PPL panel uses it", in["pluginId"])
	}
	if req := asList(got.dash["__requires"])[0].(map[string]any); req["id"] != "elasticsearch" {
		t.Errorf("requires %v, want elasticsearch kept", req["id"])
	}
	if ds := got.panels[0]["datasource"].(map[string]any); ds["uid"] != grafana.DefaultLokiUID {
		t.Errorf("the converted panel names %v, want the Loki uid", ds)
	}
}

func TestConvertedTargetsNameLokiInMixedPanels(t *testing.T) {
	doc := `{"uid":"m","title":"M","panels":[{"type":"timeseries","datasource":{"type":"elasticsearch","uid":"es"},"targets":[
		{"refId":"A","query":"level:error","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}]},
		{"refId":"B","queryType":"PPL","query":"source=x"}]}]}`
	got := convertOne(t, doc, grafana.Options{})
	a := asList(got.panels[0]["targets"])[0].(map[string]any)
	ds, _ := a["datasource"].(map[string]any)
	if ds["type"] != "loki" {
		t.Errorf("the Loki target in a Mixed panel names %v", a["datasource"])
	}
}

func TestUntouchedRefIDsAreKept(t *testing.T) {
	doc := `{"uid":"r","title":"R","panels":[{"type":"timeseries","datasource":{"type":"datasource","uid":"-- Mixed --"},"targets":[
		{"refId":"A","datasource":{"type":"elasticsearch","uid":"es"},"metrics":[{"id":"1","type":"percentiles","field":"d","settings":{"percents":["50","99"]}}],"bucketAggs":[{"id":"2","type":"date_histogram"}]},
		{"refId":"A2","datasource":{"type":"prometheus","uid":"p"},"expr":"up"},
		{"refId":"B","datasource":{"type":"__expr__","uid":"__expr__"},"expression":"$A2 * 2","type":"math"}]}]}`
	got := convertOne(t, doc, grafana.Options{})
	var ids []string
	for _, tg := range asList(got.panels[0]["targets"]) {
		m := tg.(map[string]any)
		ids = append(ids, m["refId"].(string))
		if m["expr"] == "up" && m["refId"] != "A2" {
			t.Errorf("the Prometheus target was renamed %v", m["refId"])
		}
	}
	if strings.Join(ids, ",") != "A,A3,A2,B" {
		t.Errorf("refIds %v, want A,A3,A2,B", ids)
	}
}

func TestBadPercentsAndSizes(t *testing.T) {
	target := `{"refId":"A","metrics":[{"id":"1","type":"percentiles","field":"d","settings":{"percents":["-5","NaN","Inf","101","abc","99"]}}],
		"bucketAggs":[{"id":"3","type":"terms","field":"h","settings":{"size":"9223372036854775807"}},{"id":"4","type":"terms","field":"g","settings":{"size":"10"}},{"id":"2","type":"date_histogram"}]}`
	got := convertOne(t, esPanel("timeseries", target), grafana.Options{})
	qs := exprs(got.panels[0])
	if len(qs) != 1 || !strings.HasPrefix(qs[0], "topk(500, quantile_over_time(0.99,") {
		t.Errorf("queries %q: want one topk(500) over p99", qs)
	}
	if !reasonCodes(got.item)["percentile_invalid"] {
		t.Error("the invalid percents are not reported")
	}
}

func TestTermsVariableFilters(t *testing.T) {
	doc := `{"uid":"t","title":"T","panels":[],"templating":{"list":[
		{"name":"h","type":"query","datasource":{"type":"elasticsearch","uid":"es"},"query":"{\"find\":\"terms\",\"field\":\"host.name\",\"query\":\"log.level:error AND status:500\"}"},
		{"name":"bad","type":"query","datasource":{"type":"elasticsearch","uid":"es"},"query":"{\"find\":\"terms\",\"field\":\"host.name\",\"query\":\"a:(\"}"},
		{"name":"all","type":"query","datasource":{"type":"elasticsearch","uid":"es"},"query":"{\"find\":\"terms\",\"field\":\"user.id.keyword\"}","current":{"text":"All","value":["$__all"]}}]}}`
	m := testMapping[0]
	m.Labels = map[string]string{"host": "host.name", "level": "log.level"}
	got := convertOne(t, doc, grafana.Options{Mappings: []plans.LogMapping{m}})
	byName := map[string]grafana.VariableReport{}
	for _, v := range got.item.Variables {
		byName[v.Name] = v
	}
	if v := byName["h"]; v.Fidelity.String() != "approximate" || !hasCode(v.Reasons, "variable_filter_dropped") {
		t.Errorf("h: %s %v, want approximate with variable_filter_dropped", v.Fidelity, v.Reasons)
	}
	if v := byName["bad"]; v.Fidelity.String() != "unsupported" {
		t.Errorf("bad: %s, want unsupported", v.Fidelity)
	}
	list := asList(got.dash["templating"].(map[string]any)["list"])
	if bad := list[1].(map[string]any); bad["type"] != "query" || bad["datasource"].(map[string]any)["type"] != "elasticsearch" {
		t.Errorf("the untranslatable variable changed: %v", bad)
	}
	if all := list[2].(map[string]any); all["type"] != "textbox" || all["query"] != ".*" {
		t.Errorf("the All variable became %v %v, want a text box at .*", all["type"], all["query"])
	}
	for _, r := range byName["all"].Reasons {
		if strings.Contains(r.Message, ".keyword") {
			t.Errorf("advice names the keyword subfield: %s", r.Message)
		}
	}
}

func hasCode(rs []fidelity.Reason, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

func TestQueryThatIsNotText(t *testing.T) {
	for _, q := range []string{`12345`, `{"a":1}`, `["x"]`} {
		got := convertOne(t, esPanel("timeseries", `{"refId":"A","query":`+q+`,"metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`), grafana.Options{})
		if tr := got.item.Targets[0]; tr.Fidelity.String() != "unsupported" || !hasCode(tr.Reasons, "query_not_text") {
			t.Errorf("query %s: %s %v", q, tr.Fidelity, tr.Reasons)
		}
	}
}

func TestUnknownAndUnusedDataSources(t *testing.T) {
	doc := `{"uid":"u","title":"U","panels":[
		{"type":"graph","datasource":"Elastic Logs","targets":[{"refId":"A","query":"level:error"}]},
		{"type":"graph","datasource":"Prom","targets":[{"refId":"A","expr":"up"}]}]}`
	res := grafana.Convert([]grafana.Input{{File: "u.json", Data: []byte(doc)}}, grafana.Options{DataSources: map[string]string{"Nope": "elasticsearch"}})
	it := res.Report.Items[0]
	if strings.Join(it.UnknownDataSources, ",") != "Elastic Logs" {
		t.Errorf("unknown data sources %v, want [Elastic Logs]", it.UnknownDataSources)
	}
	if strings.Join(res.UnusedDataSources, ",") != "Nope" {
		t.Errorf("unused --datasource names %v, want [Nope]", res.UnusedDataSources)
	}
}

func TestNamesRecognisedByShapeCarryToVariables(t *testing.T) {
	doc := `{"uid":"s","title":"S","templating":{"list":[{"name":"Filters","type":"adhoc","datasource":"logs-es"},
		{"name":"host","type":"query","datasource":null,"query":"{\"find\":\"terms\",\"field\":\"host\"}"}]},
	"annotations":{"list":[{"name":"n","datasource":"logs-es","query":"x:1","textField":"message"}]},
	"panels":[{"type":"graph","datasource":"logs-es","targets":[{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[{"id":"2","type":"date_histogram"}]}]}]}`
	got := convertOne(t, doc, grafana.Options{})
	if len(got.item.Variables) != 2 || len(got.item.Annotations) != 1 {
		t.Errorf("%d variables and %d annotations converted, want 2 and 1", len(got.item.Variables), len(got.item.Annotations))
	}
}

func TestCopiesGetDistinctUIDs(t *testing.T) {
	doc := []byte(esPanel("timeseries", `{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`))
	res := grafana.Convert([]grafana.Input{{File: "a/d.json", Data: doc}, {File: "b/d.json", Data: doc}}, grafana.Options{})
	if a, b := res.Dashboards[0].UID, res.Dashboards[1].UID; a == b {
		t.Errorf("two copies share uid %s", a)
	}
	if res.Dashboards[0].File == res.Dashboards[1].File {
		t.Error("two copies share a file name")
	}
	var second map[string]any
	if err := json.Unmarshal(res.Dashboards[1].JSON, &second); err != nil || second["uid"] != res.Dashboards[1].UID {
		t.Errorf("the second copy's JSON has uid %v, want %s", second["uid"], res.Dashboards[1].UID)
	}
}

func TestRepeatedPanelCopiesAreReportedOnce(t *testing.T) {
	target := `{"refId":"A","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`
	doc := `{"uid":"r","title":"R","panels":[
		{"id":1,"type":"graph","repeat":"host","datasource":{"type":"elasticsearch","uid":"es"},"targets":[` + target + `]},
		{"id":2,"type":"graph","repeatPanelId":1,"datasource":{"type":"elasticsearch","uid":"es"},"targets":[` + target + `]}]}`
	got := convertOne(t, doc, grafana.Options{})
	if len(got.item.Targets) != 1 {
		t.Errorf("%d targets reported, want the source panel's only", len(got.item.Targets))
	}
	if len(exprs(got.panels[1])) != 1 {
		t.Error("the copy was not converted")
	}
}

func TestMarkdownEscapesSourceText(t *testing.T) {
	target := `{"refId":"A|B\n## injected","query":"","metrics":[{"id":"1","type":"count"}],"bucketAggs":[]}`
	doc := `{"uid":"x","title":"<b>T</b>","panels":[{"type":"graph","title":"p\n# h","datasource":{"type":"elasticsearch","uid":"es"},"targets":[` + target + `]}]}`
	res := grafana.Convert([]grafana.Input{{File: "x.json", Data: []byte(doc)}}, grafana.Options{})
	for _, line := range strings.Split(string(res.Report.Markdown()), "\n") {
		if strings.HasPrefix(line, "## injected") || strings.HasPrefix(line, "# h") || strings.Contains(line, "<b>") {
			t.Errorf("source text escaped the report's markup: %q", line)
		}
	}
}

func TestTagsThatAreNotAListAreKept(t *testing.T) {
	doc := `{"uid":"x","title":"T","tags":"notalist","panels":[{"type":"graph","datasource":{"type":"elasticsearch","uid":"es"},"targets":[{"refId":"A","query":""}]}]}`
	got := convertOne(t, doc, grafana.Options{})
	if got.dash["tags"] != "notalist" {
		t.Errorf("tags became %v", got.dash["tags"])
	}
}

func TestJaegerLimitAsFloat(t *testing.T) {
	doc := `{"uid":"j","title":"J","panels":[{"type":"table","datasource":{"type":"jaeger","uid":"jg"},"targets":[{"refId":"A","queryType":"search","service":"api","limit":20.0}]}]}`
	got := convertOne(t, doc, grafana.Options{})
	tg := asList(got.panels[0]["targets"])[0].(map[string]any)
	if tg["limit"] != float64(20) {
		t.Errorf("limit %v, want 20", tg["limit"])
	}
}
