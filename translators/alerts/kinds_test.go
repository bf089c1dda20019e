package alerts_test

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/alerts"
)

// kindsMapping puts log.level in the stream selector, so the rule
// expressions of the table tests stay short.
const kindsMapping = `
logs:
  - indices: "app-*"
    labels: {level: log.level, service: service.name}
    static_labels: {source: app}
    structured_metadata: [host.name]
    line: json
    parser: json
    fields: {log.level: keyword, service.name: keyword, host.name: keyword, bytes: long, user.id: keyword, message: text}
`

// count is the count of error lines over 5m under kindsMapping, and zero
// the same count read as 0 when no line matched.
const (
	count = `sum (count_over_time({source="app", level="error"} [5m]))`
	zero  = `(` + count + ` or vector(0))`
)

func kindsOptions(t *testing.T) alerts.Options {
	t.Helper()
	m, err := plans.ParseLogMappings("kinds.yaml", []byte(kindsMapping))
	if err != nil {
		t.Fatal(err)
	}
	return alerts.Options{Mappings: m}
}

// convertOne converts one object given as a Go value and returns its report
// item.
func convertOne(t *testing.T, opts alerts.Options, v any) (*alerts.Item, *alerts.Result) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	res := alerts.Convert([]alerts.Input{{File: "rule.json", Data: data}}, opts)
	for _, it := range res.Report.Items {
		if it.Status == alerts.StatusFailed {
			t.Fatalf("the object failed: %s", it.Error)
		}
	}
	if len(res.Report.Items) != 1 {
		t.Fatalf("%d report items, want 1", len(res.Report.Items))
	}
	return res.Report.Items[0], res
}

// apiRule is a rule as the Kibana alerting API returns it.
func apiRule(typeID string, params map[string]any) map[string]any {
	return map[string]any{
		"id": "rule-1", "name": "Test rule", "rule_type_id": typeID, "enabled": true, "tags": []any{},
		"schedule": map[string]any{"interval": "5m"}, "actions": []any{}, "params": params,
	}
}

func esQueryParams(overrides map[string]any) map[string]any {
	p := map[string]any{
		"searchType": "esQuery", "esQuery": `{"query":{"term":{"log.level":"error"}}}`,
		"index": []any{"app-*"}, "timeField": "@timestamp", "timeWindowSize": 5, "timeWindowUnit": "m",
		"threshold": []any{10}, "thresholdComparator": ">", "size": 0,
	}
	maps.Copy(p, overrides)
	return p
}

// exprChecker gathers rule expressions so one grammar check covers a table.
type exprChecker struct{ queries []grammar.Query }

func (c *exprChecker) add(id, expr string) {
	if expr != "" {
		c.queries = append(c.queries, grammar.Query{ID: id, Lang: grammar.LangLogQL, Text: expr})
	}
}

func (c *exprChecker) check(t *testing.T) {
	t.Helper()
	if len(c.queries) > 0 {
		grammartest.RequireValid(t, c.queries)
	}
}

func TestESQueryComparators(t *testing.T) {
	cases := []struct {
		name       string
		comparator string
		threshold  []any
		want       string
	}{
		{"greater", ">", []any{10}, count + ` > 10`},
		{"greater or equal", ">=", []any{10}, count + ` >= 10`},
		{"less reads zero", "<", []any{10}, zero + ` < 10`},
		{"less or equal zero", "<=", []any{0}, zero + ` <= 0`},
		{"between", "between", []any{5, 10}, `(` + count + ` >= 5) and (` + count + ` <= 10)`},
		{"between from zero", "between", []any{0, 10}, `(` + zero + ` >= 0) and (` + zero + ` <= 10)`},
		{"not between", "notBetween", []any{5, 10}, `(` + zero + ` < 5) or (` + zero + ` > 10)`},
		{"not between around zero", "notBetween", []any{-1, 10}, `(` + count + ` < -1) or (` + count + ` > 10)`},
		{"fractional threshold", ">", []any{2.5}, count + ` > 2.5`},
	}
	opts := kindsOptions(t)
	var exprs exprChecker
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := esQueryParams(map[string]any{"thresholdComparator": tc.comparator, "threshold": tc.threshold})
			it, _ := convertOne(t, opts, apiRule(".es-query", params))
			if it.Expr != tc.want {
				t.Errorf("expr\n got %s\nwant %s", it.Expr, tc.want)
			}
			if it.Status != "exact" {
				t.Errorf("status %s, want exact; reasons: %s", it.Status, reasonCodes(it))
			}
			exprs.add(tc.name, it.Expr)
		})
	}
	exprs.check(t)
}

func TestESQueryAggregations(t *testing.T) {
	const unwrapped = `{source="app", level="error"} | json | __error__="" | unwrap bytes | __error__="" [5m]`
	const byHost = `{source="app", level="error"} | json | host_name!="" | __error__="" | unwrap bytes | __error__="" [5m]`
	cases := []struct {
		name    string
		params  map[string]any
		want    string
		status  string
		reasons []string
	}{
		{
			name:   "sum",
			params: map[string]any{"aggType": "sum", "aggField": "bytes", "threshold": []any{100}},
			want:   `sum_over_time(` + unwrapped + `) by () > 100`, status: "exact",
		},
		{
			name:   "sum below reads zero",
			params: map[string]any{"aggType": "sum", "aggField": "bytes", "thresholdComparator": "<", "threshold": []any{100}},
			want:   `(sum_over_time(` + unwrapped + `) by () or vector(0)) < 100`, status: "exact",
			reasons: []string{"no_lines_reads_zero"},
		},
		{
			name:   "avg below has no zero",
			params: map[string]any{"aggType": "avg", "aggField": "bytes", "thresholdComparator": "<", "threshold": []any{100}},
			want:   `avg_over_time(` + unwrapped + `) by () < 100`, status: "exact",
		},
		{
			name: "max grouped",
			params: map[string]any{
				"aggType": "max", "aggField": "bytes", "groupBy": "top", "termField": "host.name",
				"termSize": 3, "threshold": []any{100},
			},
			want:   `topk(3, max_over_time(` + byHost + `) by (host_name) > 100)`,
			status: "approximate", reasons: []string{"top_groups"},
		},
		{
			name: "min grouped ranks ascending",
			params: map[string]any{
				"aggType": "min", "aggField": "bytes", "groupBy": "top", "termField": "host.name",
				"termSize": 3, "thresholdComparator": "<", "threshold": []any{1},
			},
			want:   `bottomk(3, min_over_time(` + byHost + `) by (host_name) < 1)`,
			status: "approximate", reasons: []string{"top_groups"},
		},
		{
			name:   "count grouped below",
			params: map[string]any{"groupBy": "top", "termField": "host.name", "thresholdComparator": "<", "threshold": []any{5}},
			want:   `topk(100, sum by (host_name) (count_over_time({source="app", level="error"} | host_name!="" [5m])) < 5)`,
			status: "approximate", reasons: []string{"groups_without_lines", "top_groups"},
		},
		{
			name:   "window longer than the interval",
			params: map[string]any{"timeWindowSize": 1, "timeWindowUnit": "h"},
			want:   `sum (count_over_time({source="app", level="error"} [1h])) > 10`,
			status: "approximate", reasons: []string{"previous_hits_counted"},
		},
		{
			name:   "previous hits kept",
			params: map[string]any{"timeWindowSize": 1, "timeWindowUnit": "h", "excludeHitsFromPreviousRun": false},
			want:   `sum (count_over_time({source="app", level="error"} [1h])) > 10`, status: "exact",
		},
		{
			name:   "window in days",
			params: map[string]any{"timeWindowSize": 1, "timeWindowUnit": "d", "excludeHitsFromPreviousRun": false},
			want:   `sum (count_over_time({source="app", level="error"} [1d])) > 10`, status: "exact",
		},
		{
			name:   "field not in loki",
			params: map[string]any{"aggType": "avg", "aggField": "@timestamp"},
			status: "unsupported", reasons: []string{"field_not_in_loki"},
		},
	}
	opts := kindsOptions(t)
	var exprs exprChecker
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, _ := convertOne(t, opts, apiRule(".es-query", esQueryParams(tc.params)))
			if it.Expr != tc.want {
				t.Errorf("expr\n got %s\nwant %s", it.Expr, tc.want)
			}
			if it.Status != tc.status {
				t.Errorf("status %s, want %s; reasons: %s", it.Status, tc.status, reasonCodes(it))
			}
			for _, code := range tc.reasons {
				if !hasReason(it, code) {
					t.Errorf("no %s reason; reasons: %s", code, reasonCodes(it))
				}
			}
			exprs.add(tc.name, it.Expr)
		})
	}
	exprs.check(t)
}

func TestSearchSourceRule(t *testing.T) {
	params := esQueryParams(map[string]any{
		"searchType": "searchSource",
		"searchConfiguration": map[string]any{
			"query": map[string]any{"query": "service.name : checkout", "language": "kuery"},
			"filter": []any{
				map[string]any{
					"meta":  map[string]any{"disabled": false, "negate": true, "key": "host.name", "type": "phrase"},
					"query": map[string]any{"match_phrase": map[string]any{"host.name": "canary"}},
				},
			},
			"index": map[string]any{"title": "app-*", "timeFieldName": "@timestamp"},
		},
	})
	delete(params, "esQuery")
	it, _ := convertOne(t, kindsOptions(t), apiRule(".es-query", params))
	want := "sum (count_over_time({source=\"app\", service=\"checkout\"} | host_name!=`canary` [5m])) > 10"
	if it.Expr != want {
		t.Errorf("expr\n got %s\nwant %s", it.Expr, want)
	}
	if it.Status != "exact" {
		t.Errorf("status %s, want exact; reasons: %s", it.Status, reasonCodes(it))
	}
	var exprs exprChecker
	exprs.add("searchSource", it.Expr)
	exprs.check(t)
}

func TestIndexThresholdRule(t *testing.T) {
	params := map[string]any{
		"index": "app-*", "timeField": "@timestamp", "aggType": "count", "groupBy": "all",
		"timeWindowSize": 5, "timeWindowUnit": "m", "thresholdComparator": "gt", "threshold": []any{10},
		"filterKuery": "log.level : error",
	}
	it, _ := convertOne(t, kindsOptions(t), apiRule(".index-threshold", params))
	if want := count + ` > 10`; it.Expr != want {
		t.Errorf("expr\n got %s\nwant %s", it.Expr, want)
	}
	if it.Status != "exact" {
		t.Errorf("status %s, want exact; reasons: %s", it.Status, reasonCodes(it))
	}
}

func logThresholdParams(count map[string]any, criteria []any) map[string]any {
	return map[string]any{
		"timeSize": 5, "timeUnit": "m", "count": count, "criteria": criteria,
		"logView": map[string]any{"type": "log-view-reference", "logViewId": "default"},
	}
}

func criterion(field, comparator string, value any) map[string]any {
	return map[string]any{"field": field, "comparator": comparator, "value": value}
}

func TestLogThresholdCountComparators(t *testing.T) {
	cases := []struct {
		comparator string
		value      float64
		want       string
	}{
		{"more than", 10, count + ` > 10`},
		{"more than or equals", 10, count + ` >= 10`},
		{"less than", 10, zero + ` < 10`},
		{"less than or equals", 10, zero + ` <= 10`},
		{"equals", 0, zero + ` == 0`},
		{"equals", 3, count + ` == 3`},
		{"does not equal", 3, zero + ` != 3`},
	}
	opts := kindsOptions(t)
	var exprs exprChecker
	for _, tc := range cases {
		t.Run(tc.comparator, func(t *testing.T) {
			params := logThresholdParams(map[string]any{"comparator": tc.comparator, "value": tc.value},
				[]any{criterion("log.level", "equals", "error")})
			it, _ := convertOne(t, opts, apiRule("logs.alert.document.count", params))
			if it.Expr != tc.want {
				t.Errorf("expr\n got %s\nwant %s", it.Expr, tc.want)
			}
			exprs.add(tc.comparator, it.Expr)
		})
	}
	exprs.check(t)
}

func TestLogThresholdCriteria(t *testing.T) {
	const sel = `{source="app", level="error"}`
	cases := []struct {
		name      string
		criterion map[string]any
		want      string
	}{
		{"equals", criterion("service.name", "equals", "api"), `{source="app", level="error", service="api"}`},
		{"does not equal", criterion("service.name", "does not equal", "api"), `{source="app", level="error", service!="api"}`},
		{"matches", criterion("message", "matches", "timeout"), sel + " |~ `(?i)timeout` | json | message=~`(?is)^(?:.*(?:\\btimeout\\b).*)$` | __error__=\"\""},
		{"does not match", criterion("message", "does not match", "timeout"), sel + " | json | message!~`(?is)^(?:.*(?:\\btimeout\\b).*)$` | __error__=\"\""},
		{"matches phrase", criterion("message", "matches phrase", "read timeout"), sel + " | json | message=~`(?is)^(?:.*(?:\\bread[^\\p{L}\\p{N}_]+timeout\\b).*)$` | __error__=\"\""},
		{"more than", criterion("bytes", "more than", 1000), sel + ` | json | bytes > 1000 | __error__=""`},
		{"less than or equals", criterion("bytes", "less than or equals", 1000), sel + ` | json | bytes <= 1000 | __error__=""`},
	}
	opts := kindsOptions(t)
	var exprs exprChecker
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := logThresholdParams(map[string]any{"comparator": "more than", "value": 5},
				[]any{criterion("log.level", "equals", "error"), tc.criterion})
			it, _ := convertOne(t, opts, apiRule("logs.alert.document.count", params))
			want := `sum (count_over_time(` + tc.want + ` [5m])) > 5`
			if it.Expr != want {
				t.Errorf("expr\n got %s\nwant %s", it.Expr, want)
			}
			exprs.add(tc.name, it.Expr)
		})
	}
	exprs.check(t)
}

func TestLogThresholdRatio(t *testing.T) {
	params := logThresholdParams(map[string]any{"comparator": "more than", "value": 0.5}, []any{
		[]any{criterion("log.level", "equals", "error")},
		[]any{criterion("service.name", "equals", "api")},
	})
	params["groupBy"] = []any{"host.name"}
	it, _ := convertOne(t, kindsOptions(t), apiRule("logs.alert.document.count", params))
	want := `(sum by (host_name) (count_over_time({source="app", level="error"} | host_name!="" [5m])) / ` +
		`sum by (host_name) (count_over_time({source="app", service="api"} | host_name!="" [5m]))) > 0.5`
	if it.Expr != want {
		t.Errorf("expr\n got %s\nwant %s", it.Expr, want)
	}
	if it.Status != "approximate" || !hasReason(it, "ratio_division") {
		t.Errorf("status %s with reasons %s, want approximate with ratio_division", it.Status, reasonCodes(it))
	}
	var exprs exprChecker
	exprs.add("ratio", it.Expr)
	exprs.check(t)
}

// testWatch is a watch on app-* that counts error lines of the last 5m.
func testWatch(condition map[string]any, aggs map[string]any) map[string]any {
	body := map[string]any{
		"size": 0,
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": "now-5m"}}},
			map[string]any{"term": map[string]any{"log.level": "error"}},
		}}},
	}
	if aggs != nil {
		body["aggs"] = aggs
	}
	return map[string]any{
		"_id": "watch-1",
		"watch": map[string]any{
			"trigger":   map[string]any{"schedule": map[string]any{"interval": "5m"}},
			"input":     map[string]any{"search": map[string]any{"request": map[string]any{"indices": []any{"app-*"}, "body": body}}},
			"condition": condition,
			"actions":   map[string]any{},
			"metadata":  map[string]any{"threshold": 7},
		},
	}
}

func compare(path, op string, value any) map[string]any {
	return map[string]any{"compare": map[string]any{path: map[string]any{op: value}}}
}

func TestWatchCompare(t *testing.T) {
	const (
		bytes    = `{source="app", level="error"} | json | __error__="" | unwrap bytes | __error__="" [5m]`
		distinct = `count (sum by (user_id) (count_over_time({source="app", level="error"} | json | user_id!="" | __error__="" [5m])))`
	)
	cases := []struct {
		name      string
		condition map[string]any
		aggs      map[string]any
		want      string
	}{
		{"gt", compare("ctx.payload.hits.total", "gt", 5), nil, count + ` > 5`},
		{"gte", compare("ctx.payload.hits.total", "gte", 5), nil, count + ` >= 5`},
		{"lt", compare("ctx.payload.hits.total", "lt", 5), nil, zero + ` < 5`},
		{"lte", compare("ctx.payload.hits.total", "lte", 5), nil, zero + ` <= 5`},
		{"eq", compare("ctx.payload.hits.total", "eq", 0), nil, zero + ` == 0`},
		{"not_eq", compare("ctx.payload.hits.total", "not_eq", 0), nil, count + ` != 0`},
		{"total value", compare("ctx.payload.hits.total.value", "gt", 5), nil, count + ` > 5`},
		{"metadata threshold", compare("ctx.payload.hits.total", "gt", "{{ctx.metadata.threshold}}"), nil, count + ` > 7`},
		{
			"avg", compare("ctx.payload.aggregations.avg_bytes.value", "gt", 100),
			map[string]any{"avg_bytes": map[string]any{"avg": map[string]any{"field": "bytes"}}},
			`avg_over_time(` + bytes + `) by () > 100`,
		},
		{
			"cardinality", compare("ctx.payload.aggregations.users.value", "gte", 50),
			map[string]any{"users": map[string]any{"cardinality": map[string]any{"field": "user.id"}}},
			distinct + ` >= 50`,
		},
		{
			"value_count", compare("ctx.payload.aggregations.with_bytes.value", "gt", 5),
			map[string]any{"with_bytes": map[string]any{"value_count": map[string]any{"field": "bytes"}}},
			`sum (count_over_time({source="app", level="error"} | json | bytes!="" | __error__="" [5m])) > 5`,
		},
	}
	opts := kindsOptions(t)
	var exprs exprChecker
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, _ := convertOne(t, opts, testWatch(tc.condition, tc.aggs))
			if it.Expr != tc.want {
				t.Errorf("expr\n got %s\nwant %s", it.Expr, tc.want)
			}
			exprs.add(tc.name, it.Expr)
		})
	}
	exprs.check(t)
}

func TestWatchUnsupported(t *testing.T) {
	cases := []struct {
		name  string
		watch map[string]any
		code  string
	}{
		{"script condition", testWatch(map[string]any{"script": map[string]any{"source": "return true"}}, nil), "condition_unsupported"},
		{"array_compare", testWatch(map[string]any{"array_compare": map[string]any{}}, nil), "condition_unsupported"},
		{"hits path", testWatch(compare("ctx.payload.hits.hits.0._source.bytes", "gt", 1), nil), "compare_path_unsupported"},
		{
			"percentiles", testWatch(compare("ctx.payload.aggregations.p.value", "gt", 1),
				map[string]any{"p": map[string]any{"percentiles": map[string]any{"field": "bytes"}}}),
			"aggregation_unsupported",
		},
		{"http input", func() map[string]any {
			w := testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)
			w["watch"].(map[string]any)["input"] = map[string]any{"http": map[string]any{"request": map[string]any{"host": "example.com"}}}
			return w
		}(), "input_unsupported"},
		{"chained input", func() map[string]any {
			w := testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)
			w["watch"].(map[string]any)["input"] = map[string]any{"chain": map[string]any{"inputs": []any{}}}
			return w
		}(), "input_unsupported"},
	}
	opts := kindsOptions(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, res := convertOne(t, opts, tc.watch)
			if it.Status != "unsupported" || !hasReason(it, tc.code) {
				t.Errorf("status %s with reasons %s, want unsupported with %s", it.Status, reasonCodes(it), tc.code)
			}
			if len(res.Files) != 0 {
				t.Errorf("an unsupported watch wrote %d rule files", len(res.Files))
			}
		})
	}
}

func TestWatchWindow(t *testing.T) {
	cases := []struct {
		name  string
		gte   any
		lt    any
		want  string
		codes []string
	}{
		{"now-15m", "now-15m", nil, "[15m]", nil},
		{"rounded", "now-1h/h", "now/h", "[1h]", []string{"time_window_rounded"}},
		{"shifted end", "now-10m", "now-5m", "[5m]", []string{"time_window_shifted"}},
		{"no range", nil, nil, "[5m]", []string{"no_time_window"}},
		{"absolute start", "2024-01-01T00:00:00Z", nil, "[5m]", []string{"time_window_unsupported"}},
	}
	opts := kindsOptions(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)
			body := w["watch"].(map[string]any)["input"].(map[string]any)["search"].(map[string]any)["request"].(map[string]any)["body"].(map[string]any)
			filters := []any{map[string]any{"term": map[string]any{"log.level": "error"}}}
			if tc.gte != nil {
				bounds := map[string]any{"gte": tc.gte}
				if tc.lt != nil {
					bounds["lt"] = tc.lt
				}
				filters = append(filters, map[string]any{"range": map[string]any{"@timestamp": bounds}})
			}
			body["query"] = map[string]any{"bool": map[string]any{"filter": filters}}
			it, _ := convertOne(t, opts, w)
			if want := `sum (count_over_time({source="app", level="error"} ` + tc.want + `)) > 1`; it.Expr != want {
				t.Errorf("expr\n got %s\nwant %s", it.Expr, want)
			}
			for _, code := range tc.codes {
				if !hasReason(it, code) {
					t.Errorf("no %s reason; reasons: %s", code, reasonCodes(it))
				}
			}
		})
	}
}

func TestUnsupportedRuleTypes(t *testing.T) {
	for _, typeID := range []string{"metrics.alert.threshold", "xpack.uptime.alerts.monitorStatus", "apm.error_rate", "xpack.ml.anomaly_detection_alert", "custom.vendor.rule"} {
		t.Run(typeID, func(t *testing.T) {
			it, res := convertOne(t, alerts.Options{}, apiRule(typeID, map[string]any{"anything": true}))
			if it.Status != "unsupported" || !hasReason(it, "rule_type_unsupported") {
				t.Errorf("status %s with reasons %s, want unsupported with rule_type_unsupported", it.Status, reasonCodes(it))
			}
			if len(res.Files) != 0 {
				t.Errorf("an unsupported rule wrote %d rule files", len(res.Files))
			}
		})
	}
}

func TestRuleSettingsBecomeAnnotations(t *testing.T) {
	rule := apiRule(".es-query", esQueryParams(nil))
	rule["enabled"] = false
	rule["tags"] = []any{"team-a", "Critical"}
	rule["throttle"] = "1h"
	rule["notify_when"] = "onThrottleInterval"
	rule["mute_all"] = true
	rule["actions"] = []any{map[string]any{
		"group": "query matched", "id": "conn-1", "connector_type_id": ".webhook",
		"params": map[string]any{"body": "{{context.message}}"},
	}}

	_, res := convertOne(t, kindsOptions(t), rule)
	if len(res.Files) != 1 {
		t.Fatalf("%d rule files, want 1", len(res.Files))
	}
	f, err := alerts.DecodeRuleFile(res.Files[0].YAML)
	if err != nil {
		t.Fatal(err)
	}

	r := f.Groups[0].Rules[0]
	if r.Labels["severity"] != "critical" {
		t.Errorf("severity %q, want critical from the tag Critical", r.Labels["severity"])
	}
	wantAnnotations := map[string]string{
		"actions": `.webhook (connector conn-1) on "query matched": {"body":"{{ "{{" }}context.message}}"}`,
		"notify":  "notified at most once per throttle interval while the alert was active and throttled notifications to one per 1h",
		"tags":    "team-a, Critical",
	}
	for k, want := range wantAnnotations {
		if r.Annotations[k] != want {
			t.Errorf("annotation %s\n got %q\nwant %q", k, r.Annotations[k], want)
		}
	}

	it := res.Report.Items[0]
	for _, code := range []string{"rule_disabled", "rule_muted", "actions_not_migrated", "notify_settings"} {
		if !hasReason(it, code) {
			t.Errorf("no %s reason; reasons: %s", code, reasonCodes(it))
		}
	}
}

func TestDuplicateRules(t *testing.T) {
	rule, _ := json.Marshal(apiRule(".es-query", esQueryParams(nil)))
	changed, _ := json.Marshal(apiRule(".es-query", esQueryParams(map[string]any{"threshold": []any{20}})))
	res := alerts.Convert([]alerts.Input{
		{File: "a.json", Data: rule},
		{File: "b.json", Data: rule},
		{File: "c.json", Data: changed},
	}, kindsOptions(t))
	statuses := make([]string, len(res.Report.Items))
	for i, it := range res.Report.Items {
		statuses[i] = it.Status
	}
	if len(statuses) != 3 || statuses[1] != alerts.StatusSkipped || statuses[0] != "exact" {
		t.Fatalf("statuses %v, want the identical copy skipped", statuses)
	}
	if !hasReason(res.Report.Items[2], "id_reused") {
		t.Errorf("the changed rule with the same id has reasons %s, want id_reused", reasonCodes(res.Report.Items[2]))
	}
	if len(res.Files) != 2 {
		t.Errorf("%d rule files, want 2 (a.yaml and c.yaml)", len(res.Files))
	}
}

func TestSameFileNames(t *testing.T) {
	rule, _ := json.Marshal(apiRule(".es-query", esQueryParams(nil)))
	second := apiRule(".es-query", esQueryParams(nil))
	second["id"] = "rule-2"
	other, _ := json.Marshal(second)
	res := alerts.Convert([]alerts.Input{
		{File: "team-a/rules.json", Data: rule},
		{File: "team-b/rules.json", Data: other},
	}, kindsOptions(t))
	var names []string
	for _, f := range res.Files {
		names = append(names, f.File)
	}
	if len(names) != 2 || names[0] != "rules.yaml" || names[1] != "rules-2.yaml" {
		t.Errorf("rule files %v, want [rules.yaml rules-2.yaml]", names)
	}
}

// TestAPIListResponses reads the lists that the Kibana rule _find API and
// the Watcher query API return.
func TestAPIListResponses(t *testing.T) {
	rule := apiRule(".es-query", esQueryParams(nil))
	watch := testWatch(compare("ctx.payload.hits.total", "gt", 5), nil)
	cases := []struct {
		name string
		body map[string]any
		id   string
	}{
		{"rule find", map[string]any{"page": 1, "per_page": 10, "total": 1, "data": []any{rule}}, "rule-1"},
		{"watch query", map[string]any{"count": 1, "watches": []any{watch}}, "watch-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, res := convertOne(t, kindsOptions(t), tc.body)
			if it.ID != tc.id || it.Source != "rule.json:1" || len(res.Files) != 1 {
				t.Errorf("item %s from %s with %d rule files, want %s from rule.json:1 with 1", it.ID, it.Source, len(res.Files), tc.id)
			}
		})
	}
}
