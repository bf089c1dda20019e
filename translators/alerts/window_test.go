package alerts_test

import (
	"strings"
	"testing"
)

// TestWindowTooLong checks the longest window a rule gets, 30d1h (Loki's
// default max_query_length): a longer Kibana window or watch range is
// unsupported, with no rule written, and 30d1h itself converts.
func TestWindowTooLong(t *testing.T) {
	kibana := func(size any, unit string) map[string]any {
		return apiRule(".es-query", esQueryParams(map[string]any{
			"timeWindowSize": size, "timeWindowUnit": unit, "excludeHitsFromPreviousRun": false,
		}))
	}
	watchRange := func(gte string) map[string]any {
		w := testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)
		body := w["watch"].(map[string]any)["input"].(map[string]any)["search"].(map[string]any)["request"].(map[string]any)["body"].(map[string]any)
		body["query"] = map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": gte}}},
			map[string]any{"term": map[string]any{"log.level": "error"}},
		}}}
		return w
	}
	watchInterval := func(interval string) map[string]any {
		w := testWatch(compare("ctx.payload.hits.total", "gt", 1), nil)
		body := w["watch"].(map[string]any)
		body["trigger"] = map[string]any{"schedule": map[string]any{"interval": interval}}
		body["input"].(map[string]any)["search"].(map[string]any)["request"].(map[string]any)["body"] = map[string]any{}
		return w
	}
	cases := []struct {
		name   string
		object map[string]any
		// window is the range of the written rule, or "" when the rule is
		// unsupported for its window.
		window string
	}{
		{"kibana 31 days", kibana(31, "d"), ""},
		{"kibana 722 hours", kibana(722, "h"), ""},
		{"kibana 721 hours", kibana(721, "h"), "[30d1h]"},
		{"kibana 30 days", kibana("30", "d"), "[30d]"},
		{"watch range of 60 days", watchRange("now-60d"), ""},
		{"watch range of 30 days", watchRange("now-30d"), "[30d]"},
		{"watch interval of 40 days without a range", watchInterval("40d"), ""},
	}
	opts := kindsOptions(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, res := convertOne(t, opts, tc.object)
			if tc.window == "" {
				if it.Status != "unsupported" || !hasReason(it, "window_too_long") {
					t.Errorf("status %s with reasons %s, want unsupported with window_too_long", it.Status, reasonCodes(it))
				}
				if len(res.Files) != 0 {
					t.Errorf("a rule with a window that is too long wrote %d rule files", len(res.Files))
				}
				return
			}
			want := `sum (count_over_time({source="app", level="error"} ` + tc.window + `)) > `
			if it.Status == "unsupported" || !strings.HasPrefix(it.Expr, want) {
				t.Errorf("status %s, expr %s; want a rule that starts %s", it.Status, it.Expr, want)
			}
			requireSoundRuleFiles(t, res)
		})
	}
}
