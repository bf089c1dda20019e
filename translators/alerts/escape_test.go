package alerts_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/alerts"
)

// TestSourceTextEscaped converts rules whose ids, file names and field
// names hold "{{", which Loki's ruler would read as template actions. Every
// label and annotation value must parse as a template, the rule id label
// must expand back to the source id, and the summary must expand to the
// source text.
func TestSourceTextEscaped(t *testing.T) {
	ruleWithID := apiRule(".es-query", esQueryParams(nil))
	ruleWithID["id"] = "{{id}}"
	bareWatch := testWatch(compare("ctx.payload.hits.total", "gt", 5), nil)["watch"]
	cases := []struct {
		name   string
		file   string
		object any
		// wantID is the expanded migrate_rule_id label.
		wantID string
		// wantSummary is a part of the expanded summary annotation.
		wantSummary string
	}{
		{"rule id", "rule.json", ruleWithID, "{{id}}", "Test rule: "},
		{"watch file name", "bare watch {{x}}.json", bareWatch, "bare watch {{x}}", "bare watch {{x}}: "},
		{
			"aggregated field", "rule.json",
			apiRule(".es-query", esQueryParams(map[string]any{"aggType": "sum", "aggField": "a{{b}}"})),
			"rule-1", "the sum of a{{b}} in matching log lines",
		},
		{
			"group field", "rule.json",
			apiRule(".es-query", esQueryParams(map[string]any{"groupBy": "top", "termField": []any{"{{x}}"}})),
			"rule-1", "({{x}} )",
		},
		{
			"watch aggregation field", "watch.json",
			testWatch(compare("ctx.payload.aggregations.s.value", "gt", 1),
				map[string]any{"s": map[string]any{"sum": map[string]any{"field": "{{f}}"}}}),
			"watch-1", "the sum of {{f}} in matching log lines",
		},
		{
			"field ending in a brace", "rule.json",
			apiRule(".es-query", esQueryParams(map[string]any{"groupBy": "top", "termField": []any{"host{"}})),
			"rule-1", "(host{ )",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.object)
			if err != nil {
				t.Fatal(err)
			}
			res := alerts.Convert([]alerts.Input{{File: tc.file, Data: data}}, alerts.Options{})
			if len(res.Files) != 1 {
				t.Fatalf("%d rule files, want 1; items: %+v", len(res.Files), res.Report.Items)
			}
			requireSoundRuleFiles(t, res)

			f, err := alerts.DecodeRuleFile(res.Files[0].YAML)
			if err != nil {
				t.Fatal(err)
			}
			r := f.Groups[0].Rules[0]
			if got, err := expandRuleTemplate(r.Alert, r.Labels["migrate_rule_id"]); err != nil || got != tc.wantID {
				t.Errorf("migrate_rule_id expands to %q (error %v), want %q", got, err, tc.wantID)
			}
			got, err := expandRuleTemplate(r.Alert, r.Annotations["summary"])
			if err != nil {
				t.Fatalf("the summary does not expand: %v", err)
			}
			if !strings.Contains(got, tc.wantSummary) {
				t.Errorf("the summary expands to %q, which lacks %q", got, tc.wantSummary)
			}
		})
	}
}
