package alerts_test

import (
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/alerts"
)

// TestReportCountsAddUp checks the summary of several batches: every object
// is counted once, as a rule, a failure or a skipped object, and every
// failed item is a failed object or a failed file.
func TestReportCountsAddUp(t *testing.T) {
	good := goodRule(t)
	badThreshold := ruleWith(t, ".es-query", esQueryParams(nil), set("threshold", []any{"NaN"}))
	cases := []struct {
		name   string
		inputs []alerts.Input
		want   alerts.Summary
		// header are lines of the Markdown report.
		header []string
	}{
		{
			name: "truncated file and bad threshold",
			inputs: []alerts.Input{
				{File: "cut.json", Data: []byte(`{"id":"r1","rule_type_id":".es-query","params":{"thresh`)},
				{File: "bad.json", Data: []byte(badThreshold)},
			},
			want: alerts.Summary{Files: 2, FailedFiles: 1, Objects: 1, Failed: 1},
			header: []string{
				"- Input: 2 files, 1 of them failed as a whole (listed under Failed).",
				"- Objects read: 1 = 0 converted (0 exact, 0 approximate) + 0 unsupported + 1 failed + 0 skipped",
				"- Written: 0 Loki rules in 0 rule files.",
			},
		},
		{
			name: "truncated line and bad threshold",
			inputs: []alerts.Input{
				{File: "rules.ndjson", Data: []byte(good + "\n" + good[:40] + "\n" + badThreshold)},
			},
			want: alerts.Summary{
				Files: 1, Objects: 3, Failed: 2, Rules: alerts.Counts{Approximate: 1},
				RulesWritten: 1, RuleFiles: 1,
			},
			header: []string{
				"- Input: 1 file, all read.",
				"- Objects read: 3 = 1 converted (0 exact, 1 approximate) + 0 unsupported + 2 failed + 0 skipped",
				"- Written: 1 Loki rule in 1 rule file.",
			},
		},
		{
			name:   "golden inputs",
			inputs: readInputs(t, inputsDir),
			want: alerts.Summary{
				Files: 7, Objects: 15, Skipped: 4, Rules: alerts.Counts{Approximate: 8, Unsupported: 3},
				RulesWritten: 8, RuleFiles: 7, DisabledRulesWritten: 1,
			},
			header: []string{
				"- Objects read: 15 = 8 converted (0 exact, 8 approximate) + 3 unsupported + 0 failed + 4 skipped",
				"Of these, 1 rule is disabled in the source and is in a .disabled.yaml file",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := alerts.Convert(tc.inputs, alerts.Options{}).Report
			s := r.Summary
			if s != tc.want {
				t.Errorf("summary\n got %+v\nwant %+v", s, tc.want)
			}
			if s.Objects != s.Rules.Total()+s.Failed+s.Skipped {
				t.Errorf("%d objects, but %d rules + %d failed + %d skipped", s.Objects, s.Rules.Total(), s.Failed, s.Skipped)
			}
			if n := len(failedItems(r)); n != s.Failed+s.FailedFiles {
				t.Errorf("%d failed items, but %d failed objects + %d failed files", n, s.Failed, s.FailedFiles)
			}
			md := string(r.Markdown())
			for _, line := range tc.header {
				if !strings.Contains(md, line) {
					t.Errorf("the report lacks %q:\n%s", line, md[:min(len(md), 600)])
				}
			}
		})
	}
}

// TestNothingRead distinguishes a batch with no readable object from one
// whose objects were read but failed to convert.
func TestNothingRead(t *testing.T) {
	cases := []struct {
		name string
		data string
		want bool
	}{
		{"truncated line", `{"id":"r1","rule_type_id":".es-query","params":{"thresh` + "\n" + `{"id":"r2"`, true},
		{"not a rule", `{"colour":"blue"}` + "\n" + `{"size":2}`, true},
		{"bad threshold", ruleWith(t, ".es-query", esQueryParams(nil), set("threshold", []any{"NaN"})), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := alerts.Convert([]alerts.Input{{File: "in.ndjson", Data: []byte(tc.data)}}, alerts.Options{}).Report
			if got := r.NothingRead(); got != tc.want {
				t.Errorf("NothingRead() = %v, want %v", got, tc.want)
			}
		})
	}
}
