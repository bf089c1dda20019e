package parity

import (
	"bytes"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reportTestTime parses an RFC 3339 time for the hand-built reports.
func reportTestTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parsing test time %q: %v", s, err)
	}
	return v
}

// reportPassFixture is a run where every check passes.
func reportPassFixture(t testing.TB) *Report {
	at := func(s string) time.Time { return reportTestTime(t, s) }
	return &Report{
		Schema:  SchemaVersion,
		Plan:    "payments",
		Window:  Window{From: at("2025-03-01T00:00:00Z"), To: at("2025-03-01T04:00:00Z")},
		Verdict: Pass,
		Checks: []Check{
			{
				Name:    "storage",
				Verdict: Pass,
				Summary: "Loki stores the window in 38% of the bytes Elasticsearch uses.",
				Metrics: []Metric{
					{Name: "new bytes", Value: 412 << 20, Threshold: 1 << 30, Comparison: "<=", Unit: "bytes", Pass: true},
				},
			},
			{
				Name:    "log_completeness",
				Verdict: Pass,
				Summary: "All 4 buckets of 1 mapping have at least 99.90% of the documents in Loki.",
				Metrics: []Metric{
					{Name: "completeness", Value: 1, Threshold: 0.999, Comparison: ">=", Unit: "ratio", Pass: true},
					{Name: "missing entries", Value: 0, Threshold: 0, Comparison: "<=", Unit: "count", Pass: true},
				},
				Groups: []Group{{
					Name:    "logs-app-*",
					Verdict: Pass,
					Columns: []string{"bucket", "old", "new"},
					Rows: [][]string{
						{"2025-03-01T01:00:00Z", "1180", "1180"},
						{"2025-03-01T00:00:00Z", "1200", "1200"},
					},
				}},
				Buckets: []Bucket{
					{Group: "logs-app-*", Start: at("2025-03-01T03:00:00Z"), Old: 1310, New: 1310},
					{Group: "logs-app-*", Start: at("2025-03-01T00:00:00Z"), Old: 1200, New: 1200},
					{Group: "logs-app-*", Start: at("2025-03-01T01:00:00Z"), Old: 1180, New: 1180},
					{Group: "logs-app-*", Start: at("2025-03-01T02:00:00Z"), Old: 990, New: 990},
				},
			},
			{
				Name:    "trace_completeness",
				Verdict: Pass,
				Summary: "All sampled traces of 2 services are in Tempo with every span.",
				Metrics: []Metric{
					{Name: "completeness", Value: 0.9995, Threshold: 0.999, Comparison: ">=", Unit: "ratio", Pass: true},
				},
				Buckets: []Bucket{
					{Group: "checkout", Start: at("2025-03-01T00:00:00Z"), Old: 50, New: 50},
					{Group: "cart", Start: at("2025-03-01T00:00:00Z"), Old: 20, New: 20},
					{Group: "checkout", Start: at("2025-03-01T02:00:00Z"), Old: 60, New: 59},
				},
			},
			{
				Name:    "query_results",
				Verdict: Pass,
				Summary: "3 converted queries return the same results within 1%.",
				Metrics: []Metric{
					{Name: "worst difference", Value: 0.004, Threshold: 0.01, Comparison: "<=", Unit: "ratio", Pass: true},
				},
			},
			{
				Name:    "latency",
				Verdict: Pass,
				Summary: "Loki and Tempo answer within 1.5 times Elasticsearch's p95.",
				Metrics: []Metric{
					{Name: "worst p95 ratio", Value: 0.82, Threshold: 1.5, Comparison: "<=", Unit: "ratio", Pass: true},
					{Name: "worst new p95", Value: 231.25, Threshold: 2000, Comparison: "<=", Unit: "ms", Pass: true},
				},
				Latencies: []Latency{
					{Query: "errors by host", Stack: "new", P50: 80 * time.Millisecond, P95: 120 * time.Millisecond, P99: 150 * time.Millisecond, Runs: 5},
					{Query: "errors by host", Stack: "old", P50: 100 * time.Millisecond, P95: 140 * time.Millisecond, P99: 190 * time.Millisecond, Runs: 5},
					{Query: "slow traces", Stack: "old", P50: 200 * time.Millisecond, P95: 282 * time.Millisecond, P99: 300 * time.Millisecond, Runs: 5},
					{Query: "slow traces", Stack: "new", P50: 150 * time.Millisecond, P95: 231250 * time.Microsecond, P99: 260 * time.Millisecond, Runs: 5},
				},
			},
		},
	}
}

// reportHostile is text that breaks Markdown tables, code spans, HTML,
// Mermaid strings and XML unless the writers escape it.
const reportHostile = "a|b `c` <d> & \"e\"\nf %%g"

// reportFailFixture is a run with a failing and an inconclusive check,
// buckets over several days, cold and warm latencies and hostile text in
// every text field. The window is in UTC+2 to show that writers print UTC.
func reportFailFixture(t testing.TB) *Report {
	at := func(s string) time.Time { return reportTestTime(t, s) }
	return &Report{
		Schema:  SchemaVersion,
		Plan:    "ops|team \"blue\" <prod>",
		Window:  Window{From: at("2025-03-01T02:00:00+02:00"), To: at("2025-03-03T14:00:00+02:00")},
		Verdict: Inconclusive,
		Checks: []Check{
			{
				Name:    "latency",
				Verdict: Fail,
				Summary: "1 of 3 queries is slower than 1.5 times Elasticsearch's p95.",
				Reason:  "query " + reportHostile + " has a p95 ratio of 2.1: add a label matcher or raise latency_p95_max_ratio",
				Metrics: []Metric{
					{Name: "worst p95 ratio", Value: 2.1, Threshold: 1.5, Comparison: "<=", Unit: "ratio", Pass: false},
					{Name: "runs", Value: 5, Threshold: 3, Comparison: ">=", Unit: "count", Pass: true},
				},
				Latencies: []Latency{
					{Query: `{app="x"} |= "a|b"`, Stack: "old", P50: 90 * time.Millisecond, P95: 100 * time.Millisecond, P99: 110 * time.Millisecond, Runs: 5},
					{Query: `{app="x"} |= "a|b"`, Stack: "new", P50: 150 * time.Millisecond, P95: 210 * time.Millisecond, P99: 250 * time.Millisecond, Runs: 5},
					{Query: `{app="x"} |= "a|b"`, Stack: "new", Cold: true, P50: 900 * time.Millisecond, P95: 1200*time.Millisecond + 450*time.Microsecond, P99: 1300 * time.Millisecond, Runs: 1},
					{Query: `{app="x"} |= "a|b"`, Stack: "old", Cold: true, P50: 400 * time.Millisecond, P95: 500 * time.Millisecond, P99: 600 * time.Millisecond, Runs: 1},
					{Query: "a very long query name that does not fit on a chart axis", Stack: "old", P95: 10 * time.Millisecond, Runs: 5},
					{Query: "a very long query name that does not fit on a chart axis", Stack: "new", P95: 12 * time.Millisecond, Runs: 5},
					{Query: reportHostile, Stack: "new", P50: time.Millisecond, P95: 2 * time.Millisecond, P99: 3 * time.Millisecond, Runs: 5},
				},
			},
			{
				Name:    "trace_completeness",
				Verdict: Inconclusive,
				Summary: "Jaeger is not configured.",
				Reason:  "sources.jaeger is missing in the plan: set targets.jaeger.url to compare traces",
				Metrics: []Metric{
					{Name: "completeness", Value: math.NaN(), Threshold: 0.999, Comparison: ">=", Unit: "ratio", Pass: false},
				},
			},
			{
				Name:    "log_completeness",
				Verdict: Fail,
				Summary: "Mapping " + reportHostile + " misses 12 documents in 1 of 3 buckets.",
				Reason:  "12 documents are in Elasticsearch but not in Loki: look up the example es_ids in the gateway's delivery log",
				Metrics: []Metric{
					{Name: "completeness", Value: 0.99625, Threshold: 0.999, Comparison: ">=", Unit: "ratio", Pass: false},
					{Name: "missing entries", Value: 12, Threshold: 0, Comparison: "<=", Unit: "count", Pass: false},
				},
				Groups: []Group{
					{
						Name:    reportHostile,
						Verdict: Fail,
						Columns: []string{"bucket", "old", "new", "note"},
						Rows: [][]string{
							{"2025-03-02T00:00:00Z", "1200", "1188", reportHostile},
							{"2025-03-01T00:00:00Z", "1000", "1000"},
							{"2025-03-03T00:00:00Z", "1000", "1000", "", "extra cell"},
						},
						Notes:    []string{"- looks like a list item", "    looks like code", "1. looks like an ordered list", reportHostile},
						Examples: []string{"id-3", "id|1", "`id`2"},
					},
					{
						Name:    "audit-*",
						Verdict: Pass,
						Columns: []string{"bucket", "old", "new"},
					},
				},
				Buckets: []Bucket{
					{Group: reportHostile, Start: at("2025-03-02T00:00:00Z"), Old: 1200, New: 1188},
					{Group: reportHostile, Start: at("2025-03-01T00:00:00Z"), Old: 1000, New: 1000},
					{Group: "audit-*", Start: at("2025-03-01T00:00:00Z"), Old: 5, New: 5},
					{Group: reportHostile, Start: at("2025-03-03T12:00:00+02:00"), Old: 1000, New: 1000},
				},
			},
			{
				Name:    "storage",
				Verdict: Pass,
				Summary: "Loki uses less than Elasticsearch.",
				Metrics: []Metric{
					{Name: "new/old bytes", Value: 0.41, Threshold: 1, Comparison: "<=", Unit: "ratio", Pass: true},
					{Name: "new bytes", Value: 3.5 * (1 << 40), Threshold: 5 << 40, Comparison: "<=", Unit: "bytes", Pass: true},
					{Name: "headroom", Value: 900, Threshold: 1024, Comparison: ">=", Unit: "bytes", Pass: false},
				},
			},
			{
				Name:    "query_results",
				Verdict: Fail,
				Summary: "2 of 4 queries differ by more than 1%.",
				Reason:  "results differ: compare the queries in the groups below and fix the translation",
				Metrics: []Metric{
					{Name: "worst difference", Value: 0.25, Threshold: 0.01, Comparison: "<=", Unit: "ratio", Pass: false},
				},
				Groups: []Group{
					{Name: "errors by host", Verdict: Fail, Columns: []string{"series", "old", "new"}, Rows: [][]string{{"host=a", "10", "8"}}},
					{Name: "5xx rate", Verdict: Fail, Notes: []string{"Loki returned no series."}},
				},
			},
		},
	}
}

func TestOverall(t *testing.T) {
	tests := []struct {
		name     string
		verdicts []Verdict
		want     Verdict
	}{
		{"no checks", nil, Inconclusive},
		{"all pass", []Verdict{Pass, Pass}, Pass},
		{"one fail", []Verdict{Pass, Fail, Pass}, Fail},
		{"inconclusive beats fail", []Verdict{Fail, Inconclusive, Pass}, Inconclusive},
		{"inconclusive first", []Verdict{Inconclusive, Fail}, Inconclusive},
		{"unknown verdict counts as inconclusive", []Verdict{Pass, "SKIPPED"}, Inconclusive},
		{"empty verdict counts as inconclusive", []Verdict{Pass, ""}, Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{}
			for i, v := range tt.verdicts {
				r.Checks = append(r.Checks, Check{Name: string(rune('a' + i)), Verdict: v})
			}
			if got := r.Overall(); got != tt.want {
				t.Errorf("Overall() of %v = %s, want %s", tt.verdicts, got, tt.want)
			}
		})
	}
	var nilReport *Report
	if got := nilReport.Overall(); got != Inconclusive {
		t.Errorf("Overall() of a nil report = %s, want %s", got, Inconclusive)
	}
}

func TestMetricMargin(t *testing.T) {
	tests := []struct {
		m    Metric
		want float64
	}{
		{Metric{Value: 0.9995, Threshold: 0.999, Comparison: ">="}, 0.0005},
		{Metric{Value: 0.99, Threshold: 0.999, Comparison: ">="}, -0.009},
		{Metric{Value: 1.2, Threshold: 1.5, Comparison: "<="}, 0.3},
		{Metric{Value: 2, Threshold: 1.5, Comparison: "<="}, -0.5},
		{Metric{Value: 7, Threshold: 5, Comparison: ""}, 2},
	}
	for _, tt := range tests {
		if got := tt.m.Margin(); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Margin() of %s %v %s %v = %v, want %v", tt.m.Name, tt.m.Value, tt.m.Comparison, tt.m.Threshold, got, tt.want)
		}
	}
}

func TestReportNormalize(t *testing.T) {
	r := reportFailFixture(t)
	before := reportFailFixture(t)
	n := reportNormalize(r)

	// The input is left as it was.
	if diff := cmp.Diff(before, r, cmp.Comparer(func(a, b float64) bool {
		return a == b || (math.IsNaN(a) && math.IsNaN(b))
	})); diff != "" {
		t.Errorf("reportNormalize changed its input (-before +after):\n%s", diff)
	}

	var names []string
	for _, c := range n.Checks {
		names = append(names, c.Name)
	}
	want := []string{"log_completeness", "trace_completeness", "query_results", "latency", "storage"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("check order (-want +got):\n%s", diff)
	}
	if n.Window.From.Location() != time.UTC || !n.Window.From.Equal(r.Window.From) {
		t.Errorf("window start = %v, want %v in UTC", n.Window.From, r.Window.From)
	}

	logs := n.Checks[0]
	if logs.Groups[0].Name != "audit-*" || logs.Groups[1].Name != reportHostile {
		t.Fatalf("groups not sorted by name: %q, %q", logs.Groups[0].Name, logs.Groups[1].Name)
	}
	if got := logs.Groups[1].Rows[0][0]; got != "2025-03-01T00:00:00Z" {
		t.Errorf("first row starts with %q, want the earliest bucket", got)
	}
	if diff := cmp.Diff([]string{"`id`2", "id-3", "id|1"}, logs.Groups[1].Examples); diff != "" {
		t.Errorf("examples not sorted (-want +got):\n%s", diff)
	}
	for i := 1; i < len(logs.Buckets); i++ {
		a, b := logs.Buckets[i-1], logs.Buckets[i]
		if a.Start.After(b.Start) || (a.Start.Equal(b.Start) && a.Group > b.Group) {
			t.Errorf("buckets %d and %d out of order: %v %q, %v %q", i-1, i, a.Start, a.Group, b.Start, b.Group)
		}
	}
	var order []string
	for _, l := range n.Checks[3].Latencies {
		cold := "warm"
		if l.Cold {
			cold = "cold"
		}
		order = append(order, l.Query[:2]+" "+cold+" "+l.Stack)
	}
	wantOrder := []string{"a  warm old", "a  warm new", "a| warm new", "{a warm old", "{a warm new", "{a cold old", "{a cold new"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("latency order (-want +got):\n%s", diff)
	}

	empty := reportNormalize(&Report{Plan: "p"})
	if empty.Schema != SchemaVersion || empty.Verdict != Inconclusive {
		t.Errorf("empty report normalized to schema %q verdict %q, want %q and %q", empty.Schema, empty.Verdict, SchemaVersion, Inconclusive)
	}
	kept := reportNormalize(&Report{Plan: "p", Verdict: Fail, Schema: "other"})
	if kept.Schema != "other" || kept.Verdict != Fail {
		t.Errorf("set schema and verdict changed to %q and %q", kept.Schema, kept.Verdict)
	}
}

var reportUpdateGolden = flag.Bool("update", false, "rewrite the golden files in parity/testdata")

// The writers' output for the two hand-built reports matches the files in
// testdata; go test ./parity -run Golden -update rewrites them.
func TestWritersGolden(t *testing.T) {
	writers := []struct {
		ext   string
		write func(io.Writer, *Report) error
	}{
		{"md", WriteMarkdown},
		{"json", WriteJSON},
		{"xml", WriteJUnit},
	}
	reports := []struct {
		name string
		r    *Report
	}{
		{"report-pass", reportPassFixture(t)},
		{"report-fail", reportFailFixture(t)},
	}
	for _, rep := range reports {
		for _, w := range writers {
			path := filepath.Join("testdata", rep.name+"."+w.ext)
			t.Run(path, func(t *testing.T) {
				var buf bytes.Buffer
				if err := w.write(&buf, rep.r); err != nil {
					t.Fatalf("writing %s: %v", path, err)
				}
				// A second run gives the same bytes.
				var again bytes.Buffer
				if err := w.write(&again, rep.r); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
					t.Fatalf("writing %s twice gave different output (error %v)", path, err)
				}
				if *reportUpdateGolden {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("reading the golden file: %v; run go test ./parity -run Golden -update to create it", err)
				}
				if diff := cmp.Diff(string(want), buf.String()); diff != "" {
					t.Errorf("%s differs (-golden +written); if the change is intended, run go test ./parity -run Golden -update:\n%s", path, diff)
				}
			})
		}
	}
}
