package parity

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/plans"
)

func checkNamed(t testing.TB, r *Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("report has no check %q", name)
	return Check{}
}

// fullPlan returns a plan that every check applies to.
func fullPlan(t testing.TB) *plans.Plan {
	p := queryPlan(t)
	p.Traces = &plans.Traces{Services: []string{"*"}}
	return p
}

// With no source configured, every check that needs one is INCONCLUSIVE,
// never PASS.
func TestRunNilSourcesInconclusive(t *testing.T) {
	p := fullPlan(t)
	writeTranslateReports(t, p)
	rep, err := Run(t.Context(), Options{Plan: p, Window: testWindow})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != Inconclusive {
		t.Errorf("report verdict %s, want INCONCLUSIVE", rep.Verdict)
	}
	names := []string{CheckLogCompleteness, CheckTraceCompleteness, CheckQueryResults, CheckLatency, CheckStorage}
	if len(rep.Checks) != len(names) {
		t.Fatalf("%d checks, want %d", len(rep.Checks), len(names))
	}
	for i, name := range names {
		c := rep.Checks[i]
		if c.Name != name {
			t.Errorf("check %d is %q, want %q", i, c.Name, name)
		}
		if c.Verdict != Inconclusive {
			t.Errorf("%s: verdict %s, want INCONCLUSIVE", name, c.Verdict)
		}
		if !strings.Contains(c.Reason, "configured") {
			t.Errorf("%s: reason %q does not say what is not configured", name, c.Reason)
		}
	}
	if rep.Schema != SchemaVersion || rep.Plan != "test-plan" || !rep.Window.From.Equal(testWindow.From) {
		t.Errorf("report header %q %q %v", rep.Schema, rep.Plan, rep.Window)
	}
}

// Only one stack configured is just as INCONCLUSIVE.
func TestRunOneStackInconclusive(t *testing.T) {
	f := newLogFixture(t, 10, testWindow)
	opts := f.options(t, fullPlan(t))
	opts.Sources.Loki = nil
	rep, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CheckLogCompleteness, CheckLatency, CheckStorage} {
		if c := checkNamed(t, rep, name); c.Verdict != Inconclusive || !strings.Contains(c.Reason, "Loki is not configured") {
			t.Errorf("%s: verdict %s reason %q, want INCONCLUSIVE because Loki is not configured", name, c.Verdict, c.Reason)
		}
	}
}

// Backends that do not respond within the client timeout make the checks
// INCONCLUSIVE with a timeout reason, not PASS.
func TestRunBackendTimeoutInconclusive(t *testing.T) {
	f := newLogFixture(t, 100, testWindow)
	f.es.delay = 2 * time.Second
	f.loki.delay = 2 * time.Second
	p := fullPlan(t)
	writeTranslateReports(t, p)
	j, err := jaeger.New(jaeger.Config{GRPC: "127.0.0.1:1", Timeout: 200 * time.Millisecond, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	opts := Options{
		Plan: p, Window: testWindow, LatencyRuns: 2,
		Sources: Sources{
			Elasticsearch: f.es.client(t, 150*time.Millisecond),
			Loki:          f.loki.client(t, 150*time.Millisecond),
			Jaeger:        j,
			Tempo:         newTempoStandIn(t).client(t),
		},
	}
	start := time.Now()
	rep, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run took %s with timing-out backends, want it to give up quickly", took)
	}
	if rep.Verdict != Inconclusive {
		t.Errorf("report verdict %s, want INCONCLUSIVE", rep.Verdict)
	}
	for _, c := range rep.Checks {
		if c.Verdict != Inconclusive {
			t.Errorf("%s: verdict %s, want INCONCLUSIVE; summary %q", c.Name, c.Verdict, c.Summary)
		}
	}
	for _, name := range []string{CheckLogCompleteness, CheckStorage} {
		if c := checkNamed(t, rep, name); !strings.Contains(c.Reason, "timed out") {
			t.Errorf("%s: reason %q does not say the backend timed out", name, c.Reason)
		}
	}
}

// A healthy pair of stacks passes every check.
func TestRunPasses(t *testing.T) {
	f := newLogFixture(t, 2000, testWindow)
	p := queryPlan(t)
	p.Phases.ParallelRun.Parity.LatencyP95MaxRatio = 1000 // the stand-ins' timings are noise
	writeTranslateReports(t, p)
	rep, err := Run(t.Context(), f.options(t, p))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Verdict != Pass {
			t.Errorf("%s: verdict %s, want PASS; summary %q reason %q", c.Name, c.Verdict, c.Summary, c.Reason)
		}
		if c.Summary == "" {
			t.Errorf("%s: empty summary", c.Name)
		}
	}
	if rep.Verdict != Pass {
		t.Errorf("report verdict %s, want PASS", rep.Verdict)
	}
	if c := checkNamed(t, rep, CheckTraceCompleteness); !strings.HasPrefix(c.Summary, "nothing to compare") {
		t.Errorf("trace check summary %q, want nothing to compare for a plan without traces", c.Summary)
	}
}

// The same seed samples the same documents.
func TestRunDeterministicSample(t *testing.T) {
	f := newLogFixture(t, 5000, testWindow)
	sample := func() []string {
		opts := f.options(t, testPlan(1))
		opts.SampleIDs = 10
		opts.Rand = rand.New(rand.NewPCG(7, 7))
		f.loki.mu.Lock()
		f.loki.queries = nil
		f.loki.mu.Unlock()
		runLogCheck(t, opts)
		var ids []string
		for _, q := range f.loki.received() {
			if strings.Contains(q, "es_id=~") {
				ids = append(ids, q)
			}
		}
		// The lookups run concurrently, so they arrive in any order.
		slices.Sort(ids)
		return ids
	}
	first, second := sample(), sample()
	if len(first) == 0 || strings.Join(first, "\n") != strings.Join(second, "\n") {
		t.Errorf("two runs with one seed looked up different ids:\n%q\n%q", first, second)
	}
}

func TestRunOptions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 34, 56, 789123456, time.UTC)
	tests := []struct {
		name string
		opts Options
		err  string
	}{
		{name: "no plan", opts: Options{}, err: "no plan"},
		{name: "open end", opts: Options{Plan: testPlan(1), Window: Window{From: now}}, err: "one open end"},
		{name: "empty", opts: Options{Plan: testPlan(1), Window: Window{From: now, To: now.Add(time.Microsecond)}}, err: "empty after truncation"},
		{name: "tiny bucket", opts: Options{Plan: testPlan(1), Window: testWindow, Bucket: time.Millisecond}, err: "under one second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(t.Context(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
		})
	}

	r, _, err := newRun(Options{Plan: testPlan(1), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	wantTo := now.Truncate(time.Millisecond)
	if !r.window.To.Equal(wantTo) || !r.window.From.Equal(wantTo.Add(-time.Hour)) {
		t.Errorf("default window %v, want the plan's 1h window ending at %s", r.window, wantTo)
	}
	if r.bucket != 150*time.Second || r.sampleIDs != DefaultSampleIDs || r.latencyRuns != DefaultLatencyRuns {
		t.Errorf("defaults: bucket %s sample %d runs %d", r.bucket, r.sampleIDs, r.latencyRuns)
	}
}

func TestPlanThresholdsDefaults(t *testing.T) {
	p := testPlan(1)
	p.Phases.ParallelRun.Parity = plans.ParityConfig{}
	th := planThresholds(p)
	if th.completenessMin != 0.999 || th.resultTolerance != 0 || th.latencyP95MaxRatio != 1.5 {
		t.Errorf("thresholds %+v, want completeness 0.999, tolerance 0 (a valid value), ratio 1.5", th)
	}
	if len(th.defaulted) != 2 {
		t.Errorf("defaulted %q, want completeness_min and latency_p95_max_ratio", th.defaulted)
	}
}

func TestGuardTurnsPanicInconclusive(t *testing.T) {
	c := guard(t.Context(), "x", func(context.Context) Check { panic("boom") })
	if c.Verdict != Inconclusive || !strings.Contains(c.Reason, "boom") {
		t.Errorf("check %+v, want INCONCLUSIVE with the panic", c)
	}
	c = guard(t.Context(), "y", func(context.Context) Check { return Check{} })
	if c.Verdict != Inconclusive || c.Name != "y" {
		t.Errorf("check %+v, want a check without verdict to become INCONCLUSIVE", c)
	}
}

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []Verdict
		want Verdict
	}{
		{nil, Inconclusive},
		{[]Verdict{Pass, Pass}, Pass},
		{[]Verdict{Pass, Inconclusive}, Inconclusive},
		{[]Verdict{Inconclusive, Fail}, Fail},
		{[]Verdict{Pass, "bogus"}, Inconclusive},
	}
	for _, tt := range tests {
		if got := worst(tt.in...); got != tt.want {
			t.Errorf("worst(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	tests := map[int64]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", -1234567: "-1,234,567"}
	for in, want := range tests {
		if got := formatCount(in); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestRunNothingToCompareInconclusive(t *testing.T) {
	p := plans.Default()
	p.Metadata.Name = "empty"
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	rep, err := Run(t.Context(), Options{
		Plan: &p, Window: Window{From: now.Add(-time.Hour), To: now},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict == Pass {
		t.Errorf("a plan with nothing to compare passed: %+v", rep.Checks)
	}
}
