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
			name: "NaN threshold", file: "nan.ndjson",
			data:     good + "\n" + esq(set("threshold", []any{"NaN"})),
			want:     []string{"nan.ndjson:2", ".es-query bad-2", `params.threshold[0] "NaN"`, "finite number"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "Infinity threshold", file: "inf.ndjson",
			data:     good + "\n" + esq(set("threshold", []any{5, "Infinity"})),
			want:     []string{"inf.ndjson:2", ".es-query bad-2", `params.threshold[1] "Infinity"`, "finite number"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "NaN count", file: "count-nan.ndjson",
			data:     good + "\n" + logs(set("count", map[string]any{"comparator": "more than", "value": "NaN"})),
			want:     []string{"count-nan.ndjson:2", "bad-2", `params.count.value "NaN"`, "finite number"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "watch NaN threshold", file: "watch-nan.ndjson",
			data:     good + "\n" + watchWith(t, compare("ctx.payload.hits.total", "gt", "NaN"), nil),
			want:     []string{"watch-nan.ndjson:2", "watch w-8", `condition.compare.ctx.payload.hits.total.gt "NaN"`, "finite number"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "watch Infinity threshold", file: "watch-inf.ndjson",
			data:     good + "\n" + watchWith(t, compare("ctx.payload.hits.total", "gte", "Infinity"), nil),
			want:     []string{"watch-inf.ndjson:2", "watch w-8", `gte "Infinity"`, "finite number"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "watch metadata NaN threshold", file: "watch-meta.ndjson",
			data: good + "\n" + watchWith(t, compare("ctx.payload.hits.total", "gt", "{{ctx.metadata.threshold}}"),
				func(w map[string]any) { w["metadata"] = map[string]any{"threshold": "NaN"} }),
			want:     []string{"watch-meta.ndjson:2", "watch w-8", "finite number"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "NaN window", file: "window-nan.ndjson",
			data:     good + "\n" + esq(set("timeWindowSize", "NaN")),
			want:     []string{"window-nan.ndjson:2", "bad-2", `params.timeWindowSize "NaN"`, "at least 1"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "Infinity window", file: "window-inf.ndjson",
			data:     good + "\n" + esq(set("timeWindowSize", "Infinity")),
			want:     []string{"window-inf.ndjson:2", "bad-2", `params.timeWindowSize "Infinity"`},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "window below one", file: "window-small.ndjson",
			data:     good + "\n" + esq(set("timeWindowSize", 0.5)),
			want:     []string{"window-small.ndjson:2", "bad-2", "params.timeWindowSize 0.5", "at least 1"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "negative window", file: "window-neg.ndjson",
			data:     good + "\n" + esq(set("timeWindowSize", -5)),
			want:     []string{"window-neg.ndjson:2", "bad-2", "params.timeWindowSize -5"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "window of 1e12 days", file: "window-1e12.ndjson",
			data:     good + "\n" + esq(func(_, p map[string]any) { p["timeWindowSize"], p["timeWindowUnit"] = 1e12, "d" }),
			want:     []string{"window-1e12.ndjson:2", "bad-2", "params.timeWindowSize 1e+12", "longer than 292 years", "at most 30d1h"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "window of 200000 days", file: "window-200000.ndjson",
			data:     good + "\n" + esq(func(_, p map[string]any) { p["timeWindowSize"], p["timeWindowUnit"] = 200000, "d" }),
			want:     []string{"window-200000.ndjson:2", "bad-2", "params.timeWindowSize 200000", "longer than 292 years"},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "NaN log threshold window", file: "timesize.ndjson",
			data:     good + "\n" + logs(set("timeSize", "NaN")),
			want:     []string{"timesize.ndjson:2", "bad-2", `params.timeSize "NaN"`},
			sentinel: alerts.ErrInvalidParam,
		},
		{
			name: "empty id and name", file: "noid.ndjson",
			data:     good + "\n" + esq(func(rule, _ map[string]any) { rule["id"], rule["name"] = "", "" }),
			want:     []string{"noid.ndjson:2", ".es-query", "missing setting id", "export the rule again"},
			sentinel: alerts.ErrMissingParam,
		},
		{
			name: "blank id", file: "blankid.ndjson",
			data:     good + "\n" + esq(func(rule, _ map[string]any) { rule["id"] = "  " }),
			want:     []string{"blankid.ndjson:2", `"Broken rule"`, "missing setting id"},
			sentinel: alerts.ErrMissingParam,
		},
		{
			name: "schedule below a second", file: "schedule-ms.ndjson",
			data: good + "\n" + esq(func(rule, _ map[string]any) { rule["schedule"] = map[string]any{"interval": "500ms"} }),
			want: []string{"schedule-ms.ndjson:2", "bad-2", `schedule.interval "500ms"`, "at least 1s"},
		},
		{
			name: "watch interval of 1e-9 seconds", file: "interval-tiny.ndjson",
			data: good + "\n" + watchWith(t, compare("ctx.payload.hits.total", "gt", 1), func(w map[string]any) {
				w["trigger"] = map[string]any{"schedule": map[string]any{"interval": 1e-9}}
			}),
			want: []string{"interval-tiny.ndjson:2", "watch w-8", "trigger.schedule.interval 1e-09", "at least 1s"},
		},
		{
			name: "watch interval below a second", file: "interval-ms.ndjson",
			data: good + "\n" + watchWith(t, compare("ctx.payload.hits.total", "gt", 1), func(w map[string]any) {
				w["trigger"] = map[string]any{"schedule": map[string]any{"interval": "500ms"}}
			}),
			want: []string{"interval-ms.ndjson:2", "watch w-8", `trigger.schedule.interval "500ms"`},
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
			if res.Report.Summary.FailedFiles != 1 || res.Report.Summary.Failed != 0 {
				t.Errorf("summary counts %d failed files and %d failed objects, want 1 and 0",
					res.Report.Summary.FailedFiles, res.Report.Summary.Failed)
			}
		})
	}
}

// watchWith returns a watch with id w-8 and the condition, changed by edit.
func watchWith(t *testing.T, condition map[string]any, edit func(watch map[string]any)) string {
	t.Helper()
	w := testWatch(condition, nil)
	w["_id"] = "w-8"
	if edit != nil {
		edit(w["watch"].(map[string]any))
	}
	data, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestWatchWithoutID reads a watch whose file name gives no id.
func TestWatchWithoutID(t *testing.T) {
	data, err := json.Marshal(testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)["watch"])
	if err != nil {
		t.Fatal(err)
	}
	res := alerts.Convert([]alerts.Input{{File: "watches/.json", Data: data}}, kindsOptions(t))
	failed := failedItems(res.Report)
	if len(failed) != 1 {
		t.Fatalf("%d failed items, want 1", len(failed))
	}
	if !errors.Is(failed[0].Err(), alerts.ErrMissingParam) || !strings.Contains(failed[0].Error, "missing setting _id") {
		t.Errorf("error %q, want a missing _id", failed[0].Error)
	}
	if len(res.Files) != 0 {
		t.Errorf("a watch without an id wrote %d rule files", len(res.Files))
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
