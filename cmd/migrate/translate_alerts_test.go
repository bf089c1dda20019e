package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/alerts"
)

// alertInputs holds the hand-written rules and watches of the alerts
// package's tests.
const (
	alertInputs  = "../../translators/alerts/testdata/inputs"
	alertMapping = "../../translators/alerts/testdata/mapping.yaml"
)

func TestTranslateAlertsBatch(t *testing.T) {
	out := t.TempDir()
	report := filepath.Join(out, "report.json")
	code, _, errOut := runCLI(t, "", "translate", "alerts", alertInputs, "--out", out, "--mapping", alertMapping, "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}

	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r alerts.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("the report is not JSON: %v", err)
	}

	files, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if r.Summary.RuleFiles == 0 || len(files) != r.Summary.RuleFiles {
		t.Errorf("report says %d rule files, folder has %d", r.Summary.RuleFiles, len(files))
	}
	for _, it := range r.Items {
		if it.Output == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(out, it.Output))
		if err != nil {
			t.Errorf("report names %s, which was not written", it.Output)
			continue
		}
		if _, err := alerts.DecodeRuleFile(data); err != nil {
			t.Errorf("%s: %v", it.Output, err)
		}
		if it.Disabled != strings.HasSuffix(it.Output, ".disabled.yaml") {
			t.Errorf("%s %s is in %s, but its disabled flag is %v", it.Kind, it.ID, it.Output, it.Disabled)
		}
	}
	if r.Summary.DisabledRulesWritten == 0 {
		t.Error("no rule written to a .disabled.yaml file, but the inputs have a disabled rule")
	}
	if !strings.Contains(errOut, "alerts batch done") {
		t.Errorf("stderr lacks the summary line: %s", errOut)
	}
}

func TestTranslateAlertsMarkdownReport(t *testing.T) {
	out := t.TempDir()
	report := filepath.Join(out, "report.md")
	code, _, errOut := runCLI(t, "", "translate", "alerts", alertInputs, "--out", out, "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Alert rule conversion report", "## To review", "## Notifications to route in Alertmanager"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the Markdown report lacks %q", want)
		}
	}
}

// TestTranslateAlertsReportHeader runs a batch of a truncated file and a
// rule with a bad threshold: the report's counts must add up.
func TestTranslateAlertsReportHeader(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.json")
	if err := os.WriteFile(truncated, []byte(`{"id":"r1","rule_type_id":".es-query","params":{"thresh`), 0o644); err != nil {
		t.Fatal(err)
	}

	badThreshold := filepath.Join(dir, "threshold.json")
	if err := os.WriteFile(badThreshold, []byte(`{"id":"r2","rule_type_id":".es-query","schedule":{"interval":"1m"},"params":{"esQuery":"{\"query\":{\"match_all\":{}}}","index":["logs-*"],"timeWindowSize":5,"timeWindowUnit":"m","thresholdComparator":">","threshold":["NaN"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	report := filepath.Join(dir, "report.md")
	code, _, errOut := runCLI(t, "", "translate", "alerts", truncated, badThreshold, "--out", filepath.Join(dir, "out"), "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}

	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- Input: 2 files, 1 of them failed as a whole (listed under Failed).",
		"- Objects read: 1 = 0 converted (0 exact, 0 approximate) + 0 unsupported + 1 failed + 0 skipped",
		`params.threshold[0] "NaN"`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the report lacks %q:\n%s", want, data)
		}
	}
	if !strings.Contains(errOut, "failed_files=1") {
		t.Errorf("the summary log line lacks failed_files=1: %s", errOut)
	}
}

func TestTranslateAlertsExitCodes(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.ndjson")
	if err := os.WriteFile(truncated, []byte(`{"id":"r1","rule_type_id":".es-query","params":{"thresh`), 0o644); err != nil {
		t.Fatal(err)
	}
	missingParam := filepath.Join(dir, "missing.json")
	if err := os.WriteFile(missingParam, []byte(`{"id":"r2","rule_type_id":".es-query","schedule":{"interval":"1m"},"params":{"esQuery":"{\"query\":{\"match_all\":{}}}","index":["logs-*"],"timeWindowSize":5,"timeWindowUnit":"m","thresholdComparator":">"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cutFile := filepath.Join(dir, "cut.json")
	if err := os.WriteFile(cutFile, []byte(`{"trigger": {"schedule": {"interval": "1m"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	watch := filepath.Join(alertInputs, "checkout_errors.json")
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no input", []string{"translate", "alerts", filepath.Join(dir, "none"), "--out", dir}, exitUsage, "no input could be read"},
		{"only a truncated file", []string{"translate", "alerts", truncated, "--out", dir}, exitUsage, "no rule or watch could be read"},
		{"without out", []string{"translate", "alerts", watch}, exitUsage, "--out is required"},
		{"bad report name", []string{"translate", "alerts", watch, "--out", dir, "--report", "r.txt"}, exitUsage, ".md or .json"},
		{"bad mapping", []string{"translate", "alerts", watch, "--out", dir, "--mapping", "testdata/typo.yaml"}, exitUsage, `unknown key "lables"`},
		{"no path", []string{"translate", "alerts", "--out", dir}, exitUsage, "at least one PATH"},
		{"failed item completes", []string{"translate", "alerts", missingParam, watch, "--out", dir}, exitOK, "params.threshold"},
		{"strict with a failed item", []string{"translate", "alerts", missingParam, watch, "--out", dir, "--strict"}, exitHeld, "--strict"},
		{"strict with a failed file", []string{"translate", "alerts", cutFile, watch, "--out", dir, "--strict"}, exitHeld, "--strict"},
		{"strict with unsupported rules", []string{"translate", "alerts", alertInputs, "--out", dir, "--strict"}, exitHeld, "--strict"},
		{"strict and all converted", []string{"translate", "alerts", watch, "--out", dir, "--strict"}, exitOK, "alerts batch done"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.msg) {
				t.Errorf("stderr %q lacks %q", errOut, tc.msg)
			}
		})
	}
}
