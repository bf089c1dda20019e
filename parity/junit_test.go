package parity

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func TestWriteJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, reportFailFixture(t)); err != nil {
		t.Fatalf("WriteJUnit: %v", err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("reading WriteJUnit's output: %v\n%s", err, buf.String())
	}
	if doc.Tests != 5 || doc.Failures != 3 || doc.Errors != 1 {
		t.Errorf("testsuites counts tests=%d failures=%d errors=%d, want 5, 3 and 1", doc.Tests, doc.Failures, doc.Errors)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}

	s := doc.Suites[0]
	if s.Name != "parity" || s.Tests != 5 || s.Failures != 3 || s.Errors != 1 {
		t.Errorf("testsuite %q counts tests=%d failures=%d errors=%d, want parity, 5, 3 and 1", s.Name, s.Tests, s.Failures, s.Errors)
	}

	want := []struct {
		name    string
		outcome string // "pass", "failure" or "error"
		message string
	}{
		{"log_completeness", "failure", "12 documents are in Elasticsearch but not in Loki: look up the example es_ids in the gateway's delivery log"},
		{"trace_completeness", "error", "sources.jaeger is missing in the plan: set targets.jaeger.url to compare traces"},
		{"query_results", "failure", "results differ: compare the queries in the groups below and fix the translation"},
		{"latency", "failure", "query " + reportHostile + " has a p95 ratio of 2.1: add a label matcher or raise latency_p95_max_ratio"},
		{"storage", "pass", ""},
	}
	if len(s.Cases) != len(want) {
		t.Fatalf("%d testcases, want %d", len(s.Cases), len(want))
	}
	for i, w := range want {
		c := s.Cases[i]
		if c.Name != w.name || c.Classname != "parity.ops|team \"blue\" <prod>" {
			t.Errorf("testcase %d is %q in %q, want %q in the plan's class", i, c.Name, c.Classname, w.name)
		}
		outcome, message := "pass", ""
		switch {
		case c.Failure != nil && c.Error != nil:
			outcome = "both"
		case c.Failure != nil:
			outcome, message = "failure", c.Failure.Message
		case c.Error != nil:
			outcome, message = "error", c.Error.Message
		}
		if outcome != w.outcome || message != w.message {
			t.Errorf("testcase %s: %s %q, want %s %q", c.Name, outcome, message, w.outcome, w.message)
		}
	}
	if got := s.Cases[0].Failure.Text; !strings.Contains(got, "completeness: 0.9962 >= 0.9990 (margin -0.0028, FAIL)") {
		t.Errorf("the failure text does not list the failing metric:\n%s", got)
	}
	if got := s.Cases[4].SystemOut; !strings.Contains(got, "new bytes: 3.5 TiB <= 5.0 TiB (margin +1.5 TiB, pass)") {
		t.Errorf("the passing check's output does not list its metric:\n%s", got)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["verdict"] != "INCONCLUSIVE" || props["window.from"] != "2025-03-01T00:00:00Z" || props["schema"] != SchemaVersion {
		t.Errorf("properties %v lack the verdict, window or schema", props)
	}
}

func TestWriteJUnitVerdicts(t *testing.T) {
	tests := []struct {
		verdict  Verdict
		failures int
		errors   int
		message  string
	}{
		{Pass, 0, 0, ""},
		{Fail, 1, 0, "the summary"},
		{Inconclusive, 0, 1, "the summary"},
		{"", 0, 1, "the summary"},
		{"SKIPPED", 0, 1, "the summary"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		r := &Report{Plan: "p", Checks: []Check{{Name: "storage", Verdict: tt.verdict, Summary: "the summary"}}}
		if err := WriteJUnit(&buf, r); err != nil {
			t.Fatalf("WriteJUnit: %v", err)
		}
		var doc junitSuites
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("reading WriteJUnit's output: %v", err)
		}
		c := doc.Suites[0].Cases[0]
		var message string
		if c.Failure != nil {
			message = c.Failure.Message
		}
		if c.Error != nil {
			message = c.Error.Message
			if c.Error.Type == "" {
				t.Errorf("verdict %q: the error has no type", tt.verdict)
			}
		}
		if doc.Failures != tt.failures || doc.Errors != tt.errors || message != tt.message {
			t.Errorf("verdict %q: failures=%d errors=%d message %q, want %d, %d and %q",
				tt.verdict, doc.Failures, doc.Errors, message, tt.failures, tt.errors, tt.message)
		}
	}
}
