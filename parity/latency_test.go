package parity

import (
	"strings"
	"testing"
	"time"
)

func runLatencyCheck(t testing.TB, opts Options) Check {
	t.Helper()
	r, _, err := newRun(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r.latency(t.Context())
}

// A Loki that responds 40 ms slower than Elasticsearch fails a 1.5 ratio.
func TestLatencySlowLokiFails(t *testing.T) {
	f := newLogFixture(t, 100, testWindow)
	f.loki.delay = 40 * time.Millisecond
	opts := f.options(t, testPlan(1))
	opts.LatencyRuns = 3
	c := runLatencyCheck(t, opts)
	if c.Verdict != Fail {
		t.Fatalf("verdict %s, want FAIL; summary %q reason %q", c.Verdict, c.Summary, c.Reason)
	}
	m, ok := metricNamed(c, "p95_ratio_max")
	if !ok || m.Pass || m.Value <= 1.5 || m.Threshold != 1.5 {
		t.Errorf("p95_ratio_max %+v, want above the 1.5 threshold", m)
	}
	if len(c.Latencies) != 4 {
		t.Fatalf("%d latency entries, want cold and warm on each stack: %+v", len(c.Latencies), c.Latencies)
	}
	for _, l := range c.Latencies {
		wantRuns := 2
		if l.Cold {
			wantRuns = 1
		}
		if l.Runs != wantRuns {
			t.Errorf("%+v: %d runs, want %d", l, l.Runs, wantRuns)
		}
		if l.Stack == "new" && l.P50 < 40*time.Millisecond {
			t.Errorf("Loki p50 %s, below the stand-in's 40ms delay", l.P50)
		}
	}
	if !strings.Contains(c.Reason, "count filebeat-*") {
		t.Errorf("reason %q does not name the slow query", c.Reason)
	}
}

// A slower Elasticsearch passes: only Loki being slower fails.
func TestLatencyFasterLokiPasses(t *testing.T) {
	f := newLogFixture(t, 100, testWindow)
	f.es.delay = 20 * time.Millisecond
	opts := f.options(t, testPlan(1))
	opts.LatencyRuns = 2
	c := runLatencyCheck(t, opts)
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q reason %q", c.Verdict, c.Summary, c.Reason)
	}
}

func TestLatencyErrorInconclusive(t *testing.T) {
	f := newLogFixture(t, 10, testWindow)
	opts := f.options(t, testPlan(1))
	f.loki.Close()
	c := runLatencyCheck(t, opts)
	if c.Verdict != Inconclusive || !strings.Contains(c.Reason, "could not be timed") {
		t.Errorf("verdict %s reason %q, want INCONCLUSIVE naming the untimed query", c.Verdict, c.Reason)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		runs []time.Duration
		p    float64
		want time.Duration
	}{
		{ms(5), 0.95, 5 * time.Millisecond},
		{ms(4, 1, 3, 2), 0.5, 2 * time.Millisecond},
		{ms(4, 1, 3, 2), 0.95, 4 * time.Millisecond},
		{ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 0.9, 90 * time.Millisecond},
		{ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), 0.99, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.runs, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %s, want %s", tt.runs, tt.p, got, tt.want)
		}
	}
}

func TestComparedP95(t *testing.T) {
	cold := 100 * time.Millisecond
	if got := comparedP95([]time.Duration{cold}); got != cold {
		t.Errorf("one run: %s, want the cold run", got)
	}
	if got := comparedP95([]time.Duration{cold, time.Millisecond, 2 * time.Millisecond}); got != 2*time.Millisecond {
		t.Errorf("three runs: %s, want the warm p95 2ms, without the cold run", got)
	}
}
