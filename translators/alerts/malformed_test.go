package alerts_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/alerts"
)

// goodRule is a valid rule that every malformed file carries on its first
// line, to show that the batch goes on.
func goodRule(t *testing.T) string {
	t.Helper()
	rule := apiRule(".es-query", esQueryParams(nil))
	rule["id"] = "good-1"
	data, err := json.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// ruleWith returns a rule with id bad-2 whose params are changed by edit.
func ruleWith(t *testing.T, typeID string, params map[string]any, edit func(rule, params map[string]any)) string {
	t.Helper()
	rule := apiRule(typeID, params)
	rule["id"], rule["name"] = "bad-2", "Broken rule"
	if edit != nil {
		edit(rule, params)
	}
	data, err := json.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func without(keys ...string) func(rule, params map[string]any) {
	return func(_, params map[string]any) {
		for _, k := range keys {
			delete(params, k)
		}
	}
}

func set(key string, value any) func(rule, params map[string]any) {
	return func(_, params map[string]any) { params[key] = value }
}

// TestMalformedInput checks that each kind of bad input gets an error that
// names its file, line and object, and that the rest of the batch converts.
func TestMalformedInput(t *testing.T) {
	good := goodRule(t)
	esq := func(edit func(rule, params map[string]any)) string {
		return ruleWith(t, ".es-query", esQueryParams(nil), edit)
	}
	logs := func(edit func(rule, params map[string]any)) string {
		params := logThresholdParams(map[string]any{"comparator": "more than", "value": 1},
			[]any{criterion("log.level", "equals", "error")})
		return ruleWith(t, "logs.alert.document.count", params, edit)
	}
	cases := []struct {
		name string
		file string
		data string
		// want are substrings of the failed item's error.
		want []string
		// sentinel, when set, must be wrapped by the item's error.
		sentinel error
	}{
		{
			name: "truncated ndjson", file: "cut.ndjson",
			data: good + "\n" + esq(nil)[:120],
			want: []string{"cut.ndjson:2", "bad-2", "invalid JSON", "truncated"},
		},
		{
			name: "missing threshold", file: "threshold.ndjson",
			data:     good + "\n" + esq(without("threshold")),
			want:     []string{"threshold.ndjson:2", ".es-query bad-2", `"Broken rule"`, "missing setting params.threshold"},
			sentinel: alerts.ErrMissingParam,
		},
		{
			name: "missing params", file: "params.ndjson",
			data:     good + "\n" + esq(func(rule, _ map[string]any) { delete(rule, "params") }),
			want:     []string{"params.ndjson:2", "bad-2", "missing setting params"},
			sentinel: alerts.ErrMissingParam,
		},
		{
			name: "bad JSON in esQuery", file: "esquery.ndjson",
			data:     good + "\n" + esq(set("esQuery", `{"query": {"term": {"log.level": "error"}`)),
			want:     []string{"esquery.ndjson:2", ".es-query bad-2", "params.esQuery"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "unknown comparator", file: "comparator.ndjson",
			data:     good + "\n" + esq(set("thresholdComparator", "above")),
			want:     []string{"comparator.ndjson:2", "bad-2", `params.thresholdComparator "above"`, "use one of"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "unknown aggregation", file: "agg-type.ndjson",
			data:     good + "\n" + esq(set("aggType", "median")),
			want:     []string{"agg-type.ndjson:2", "bad-2", `params.aggType "median"`},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "between with one threshold", file: "between.ndjson",
			data: good + "\n" + esq(set("thresholdComparator", "between")),
			want: []string{"between.ndjson:2", "bad-2", "params.threshold", "needs 2 threshold value(s)"},
		},
		{
			name: "missing window unit", file: "window.ndjson",
			data: good + "\n" + esq(without("timeWindowUnit")),
			want: []string{"window.ndjson:2", "bad-2", "params.timeWindowUnit"},
		},
		{
			name: "missing indices", file: "index.ndjson",
			data: good + "\n" + esq(without("index")),
			want: []string{"index.ndjson:2", "bad-2", "params.index"},
		},
		{
			name: "bad schedule", file: "schedule.ndjson",
			data: good + "\n" + esq(func(rule, _ map[string]any) { rule["schedule"] = map[string]any{"interval": "often"} }),
			want: []string{"schedule.ndjson:2", "bad-2", `schedule.interval "often"`},
		},
		{
			name: "unparsable KQL", file: "kql.ndjson",
			data: good + "\n" + ruleWith(t, ".index-threshold", map[string]any{
				"index": "app-*", "timeWindowSize": 5, "timeWindowUnit": "m", "thresholdComparator": ">",
				"threshold": []any{1}, "filterKuery": "status:(",
			}, nil),
			want: []string{"kql.ndjson:2", ".index-threshold bad-2", "params.filterKuery"},
		},
		{
			name: "criterion without field", file: "criteria.ndjson",
			data: good + "\n" + logs(set("criteria", []any{map[string]any{"comparator": "equals", "value": "x"}})),
			want: []string{"criteria.ndjson:2", "bad-2", "params.criteria[0].field"},
		},
		{
			name: "count without comparator", file: "count.ndjson",
			data: good + "\n" + logs(set("count", map[string]any{"value": 3})),
			want: []string{"count.ndjson:2", "bad-2", "params.count.comparator"},
		},
		{
			name: "invalid utf-8", file: "latin1.ndjson",
			data: good + "\n" + `{"id":"enc-3","rule_type_id":".es-query","name":"Caf` + "\xe9" + `","params":{}}`,
			want: []string{"latin1.ndjson:2", "enc-3", "invalid UTF-8"},
		},
		{
			name: "not a rule", file: "other.ndjson",
			data: good + "\n" + `{"id":"odd-4","colour":"blue"}`,
			want: []string{"other.ndjson:2", "odd-4", "not a Kibana rule or a watch"},
		},
		{
			name: "bad element in a json array", file: "array.json",
			data: "[\n" + good + ",\n" + esq(without("thresholdComparator")) + "\n]",
			want: []string{"array.json:3", "bad-2", "params.thresholdComparator"},
		},
		{
			name: "watch without condition", file: "watches.ndjson",
			data: good + "\n" + `{"_id":"w-5","watch":{"trigger":{"schedule":{"interval":"1m"}},"input":{"search":{"request":{"indices":["app-*"]}}}}}`,
			want: []string{"watches.ndjson:2", "watch w-5", "missing setting condition"},
		},
		{
			name: "watch with a bad interval", file: "interval.ndjson",
			data: good + "\n" + `{"_id":"w-6","watch":{"trigger":{"schedule":{"interval":"soon"}},"input":{"search":{"request":{"indices":["app-*"]}}},"condition":{"compare":{"ctx.payload.hits.total":{"gt":1}}}}}`,
			want: []string{"interval.ndjson:2", "watch w-6", "trigger.schedule.interval"},
		},
		{
			name: "watch comparing a missing aggregation", file: "agg.ndjson",
			data: good + "\n" + `{"_id":"w-7","watch":{"trigger":{"schedule":{"interval":"1m"}},"input":{"search":{"request":{"indices":["app-*"],"body":{"query":{"match_all":{}}}}}},"condition":{"compare":{"ctx.payload.aggregations.avg_x.value":{"gt":1}}}}}`,
			want: []string{"agg.ndjson:2", "watch w-7", `no aggregation "avg_x"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := alerts.Convert([]alerts.Input{{File: tc.file, Data: []byte(tc.data)}}, kindsOptions(t))
			failed := failedItems(res.Report)
			if len(failed) != 1 {
				t.Fatalf("%d failed items, want 1: %+v", len(failed), failed)
			}
			for _, w := range tc.want {
				if !strings.Contains(failed[0].Error, w) {
					t.Errorf("error %q lacks %q", failed[0].Error, w)
				}
			}
			if tc.sentinel != nil && !errors.Is(failed[0].Err(), tc.sentinel) {
				t.Errorf("error %v does not wrap %v", failed[0].Err(), tc.sentinel)
			}
			if good := itemByID(t, res.Report, "good-1"); good.Status != "exact" || good.Output == "" {
				t.Errorf("the good rule is %s with output %q; it should convert alongside the bad object", good.Status, good.Output)
			}
			if res.Report.Summary.Failed != 1 {
				t.Errorf("summary counts %d failed, want 1", res.Report.Summary.Failed)
			}
		})
	}
}

func TestUnreadableFiles(t *testing.T) {
	cases := []struct {
		name, file, data string
		want             []string
	}{
		{"empty", "empty.json", "  \n", []string{"empty.json", "empty"}},
		{"not json", "plain.json", "groups: []", []string{"plain.json", "invalid JSON"}},
		{"truncated json", "cut.json", `{"trigger": {"schedule": {"interval": "1m"}`, []string{"cut.json", "truncated"}},
		{"two values", "two.json", `{"a":1} {"b":2}`, []string{"two.json", "after the top-level value"}},
		{"a number", "number.json", `42`, []string{"number.json", "expected a JSON object or array"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := alerts.Convert([]alerts.Input{{File: tc.file, Data: []byte(tc.data)}}, alerts.Options{})
			failed := failedItems(res.Report)
			if len(failed) != 1 {
				t.Fatalf("%d failed items, want 1", len(failed))
			}
			for _, w := range tc.want {
				if !strings.Contains(failed[0].Error, w) {
					t.Errorf("error %q lacks %q", failed[0].Error, w)
				}
			}
			if res.Report.Summary.Objects != 0 {
				t.Errorf("%d objects read from an unreadable file", res.Report.Summary.Objects)
			}
		})
	}
}

func failedItems(r *alerts.Report) []*alerts.Item {
	var out []*alerts.Item
	for _, it := range r.Items {
		if it.Status == alerts.StatusFailed {
			out = append(out, it)
		}
	}
	return out
}
