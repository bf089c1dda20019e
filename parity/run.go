package parity

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/plans"
)

// Names of the checks Run performs, in report order.
const (
	CheckLogCompleteness   = "log_completeness"
	CheckTraceCompleteness = "trace_completeness"
	CheckQueryResults      = "query_results"
	CheckLatency           = "latency"
	CheckStorage           = "storage"
)

// Defaults of Options fields left zero.
const (
	DefaultSampleIDs   = 200
	DefaultLatencyRuns = 5
	// DefaultBuckets is the number of buckets a window is cut into when
	// Options.Bucket is zero.
	DefaultBuckets = 24
	// MinBucket is the smallest default bucket.
	MinBucket = time.Minute
)

// Sources are the clients of both stacks. A nil field means the plan does
// not configure that system, and every check that needs it is INCONCLUSIVE
// with a reason, never PASS.
type Sources struct {
	Elasticsearch *elasticsearch.Client
	Loki          *loki.Client
	Jaeger        *jaeger.Client
	Tempo         *tempo.Client
}

// Options configure Run.
type Options struct {
	// Plan supplies the log mappings, the traced services, the translate
	// phase's output folder and the pass thresholds
	// (phases.parallel_run.parity).
	Plan *plans.Plan
	// Window is the compared range, From inclusive and To exclusive. Both
	// ends are truncated to whole milliseconds, the resolution of Loki's
	// query evaluation times. A zero Window is the plan's parity window
	// ending now.
	Window  Window
	Sources Sources
	// Bucket is the width of the completeness buckets: Window/24 when zero,
	// but at least one minute. Buckets start at multiples of Bucket since
	// the Unix epoch, because Loki's query frontend aligns range queries to
	// multiples of their step, so the first and last buckets may be
	// partial. It is rounded down to whole seconds.
	Bucket time.Duration
	// SampleIDs is how many Elasticsearch documents per log mapping, and how
	// many Jaeger traces in all, are looked up one by one on the new stack.
	// Zero means DefaultSampleIDs.
	SampleIDs int
	// LatencyRuns is how many times each latency query runs on each stack.
	// The first run counts as cold. Zero means DefaultLatencyRuns.
	LatencyRuns int
	// Now returns the current time, for a zero Window. Nil means time.Now.
	Now func() time.Time
	// Rand drives the sampling. Nil means a generator seeded from the
	// clock. Tests pass a seeded one to make the samples repeatable.
	Rand *rand.Rand
}

// thresholds are the pass criteria of one run.
type thresholds struct {
	completenessMin    float64
	resultTolerance    float64
	latencyP95MaxRatio float64
	// defaulted names the thresholds the plan left unset, which took
	// plans.Default's values.
	defaulted []string
}

// run is the normalized state one Run shares with its checks.
type run struct {
	plan        *plans.Plan
	window      Window
	src         Sources
	bucket      time.Duration
	sampleIDs   int
	latencyRuns int
	limits      loki.Limits
	th          thresholds
}

// Run compares the old and new stacks over the window and returns the
// report of the five checks: log_completeness, trace_completeness,
// query_results, latency and storage.
//
// A check whose backend is not configured, returns an error or times out
// is INCONCLUSIVE with the reason, never PASS. Run returns an error only
// for invalid options (no plan, an empty window).
//
// The latency check runs last and alone, so the other checks do not load
// the backends while it measures; the other four run at the same time.
func Run(ctx context.Context, opts Options) (*Report, error) {
	r, rng, err := newRun(opts)
	if err != nil {
		return nil, err
	}
	// *rand.Rand is not safe for concurrent use, so each check gets a
	// generator of its own, seeded from the caller's in a fixed order.
	logRand := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
	traceRand := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))

	checks := make([]Check, 5)
	var wg sync.WaitGroup
	parallel := []struct {
		slot int
		name string
		fn   func(context.Context) Check
	}{
		{0, CheckLogCompleteness, func(ctx context.Context) Check { return r.logCompleteness(ctx, logRand) }},
		{1, CheckTraceCompleteness, func(ctx context.Context) Check { return r.traceCompleteness(ctx, traceRand) }},
		{2, CheckQueryResults, r.queryResults},
		{4, CheckStorage, r.storage},
	}
	for _, p := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checks[p.slot] = guard(ctx, p.name, p.fn)
		}()
	}
	wg.Wait()
	checks[3] = guard(ctx, CheckLatency, r.latency)

	rep := &Report{
		Schema: SchemaVersion,
		Plan:   r.plan.Metadata.Name,
		Window: r.window,
		Checks: checks,
	}
	rep.Verdict = rep.Overall()
	if rep.Verdict == Pass && nothingCompared(rep.Checks) {
		// A plan with no logs entries, services or translated queries has
		// no evidence of parity, which must never read as a pass.
		rep.Verdict = Inconclusive
	}
	return rep, nil
}

// guard runs one check and turns a panic, or a check that returns no
// verdict, into INCONCLUSIVE, so a bug cannot yield a PASS.
func guard(ctx context.Context, name string, fn func(context.Context) Check) (c Check) {
	defer func() {
		if p := recover(); p != nil {
			c = inconclusive(name, fmt.Sprintf("the check stopped on an internal error: %v", p),
				"report this as a bug with the plan and the window")
		}
	}()
	c = fn(ctx)
	c.Name = name
	switch c.Verdict {
	case Pass, Fail, Inconclusive:
	default:
		c.Verdict = Inconclusive
		c.Reason = strings.TrimSpace(c.Reason + " The check returned no verdict.")
	}
	if c.Metrics == nil {
		c.Metrics = []Metric{}
	}
	return c
}

func newRun(opts Options) (*run, *rand.Rand, error) {
	if opts.Plan == nil {
		return nil, nil, errors.New("parity: no plan: load one with plans.Load")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	w := opts.Window
	if w.From.IsZero() && w.To.IsZero() {
		length := opts.Plan.Phases.ParallelRun.Parity.Window.Duration
		if length <= 0 {
			length = plans.Default().Phases.ParallelRun.Parity.Window.Duration
		}
		w.To = now()
		w.From = w.To.Add(-length)
	}
	if w.From.IsZero() || w.To.IsZero() {
		return nil, nil, fmt.Errorf("parity: the window %s to %s has one open end: set both From and To, or neither", w.From, w.To)
	}
	w.From, w.To = w.From.UTC().Truncate(time.Millisecond), w.To.UTC().Truncate(time.Millisecond)
	if !w.From.Before(w.To) {
		return nil, nil, fmt.Errorf("parity: the window %s to %s is empty after truncation to milliseconds: set From before To",
			w.From.Format(time.RFC3339Nano), w.To.Format(time.RFC3339Nano))
	}

	bucket := opts.Bucket
	if bucket <= 0 {
		bucket = max(w.To.Sub(w.From)/DefaultBuckets, MinBucket)
	}
	bucket = bucket.Truncate(time.Second)
	if bucket < time.Second {
		return nil, nil, fmt.Errorf("parity: bucket %s is under one second: use a bucket of at least 1s", opts.Bucket)
	}

	rng := opts.Rand
	if rng == nil {
		seed := uint64(time.Now().UnixNano())
		rng = rand.New(rand.NewPCG(seed, seed>>1|1))
	}
	r := &run{
		plan:        opts.Plan,
		window:      w,
		src:         opts.Sources,
		bucket:      bucket,
		sampleIDs:   positiveOr(opts.SampleIDs, DefaultSampleIDs),
		latencyRuns: positiveOr(opts.LatencyRuns, DefaultLatencyRuns),
		th:          planThresholds(opts.Plan),
		limits:      loki.DefaultLimits(),
	}
	if r.src.Loki != nil {
		if l, ok := r.src.Loki.KnownLimits(); ok {
			r.limits = l
		}
	}
	return r, rng, nil
}

// planThresholds reads phases.parallel_run.parity. A threshold outside its
// valid range (a plan built in code without defaults has zeros) takes
// plans.Default's value, so a zero completeness_min cannot pass everything.
func planThresholds(p *plans.Plan) thresholds {
	cfg := p.Phases.ParallelRun.Parity
	def := plans.Default().Phases.ParallelRun.Parity
	th := thresholds{
		completenessMin:    cfg.CompletenessMin,
		resultTolerance:    cfg.ResultTolerance,
		latencyP95MaxRatio: cfg.LatencyP95MaxRatio,
	}
	if !(th.completenessMin > 0 && th.completenessMin <= 1) {
		th.completenessMin = def.CompletenessMin
		th.defaulted = append(th.defaulted, fmt.Sprintf("completeness_min %g", def.CompletenessMin))
	}
	if !(th.resultTolerance >= 0 && th.resultTolerance <= 1) {
		th.resultTolerance = def.ResultTolerance
		th.defaulted = append(th.defaulted, fmt.Sprintf("result_tolerance %g", def.ResultTolerance))
	}
	if !(th.latencyP95MaxRatio >= 1) {
		th.latencyP95MaxRatio = def.LatencyP95MaxRatio
		th.defaulted = append(th.defaulted, fmt.Sprintf("latency_p95_max_ratio %g", def.LatencyP95MaxRatio))
	}
	return th
}

func positiveOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// inconclusive returns a check that could not measure, with why and what
// to do.
func inconclusive(name, why, todo string) Check {
	return Check{
		Name:    name,
		Verdict: Inconclusive,
		Summary: "not measured: " + why,
		Reason:  sentence(why) + " " + sentence(todo),
		Metrics: []Metric{},
	}
}

// notApplicable returns a passing check for a plan that migrates nothing
// this check compares.
func notApplicable(name, why string) Check {
	return Check{Name: name, Verdict: Pass, Summary: "nothing to compare: " + why, Metrics: []Metric{}}
}

// nothingCompared reports whether every check only found nothing to
// compare.
func nothingCompared(checks []Check) bool {
	for _, c := range checks {
		if !strings.HasPrefix(c.Summary, "nothing to compare") {
			return false
		}
	}
	return true
}

// sentence capitalizes s and ends it with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// worst combines group verdicts into a check verdict. A measured failure
// makes the check FAIL even when other groups could not be measured,
// because it is a definite finding. Otherwise any unmeasured group, or no
// group at all, makes the check INCONCLUSIVE.
func worst(verdicts ...Verdict) Verdict {
	if len(verdicts) == 0 {
		return Inconclusive
	}
	out := Pass
	for _, v := range verdicts {
		switch v {
		case Fail:
			return Fail
		case Pass:
		default:
			out = Inconclusive
		}
	}
	return out
}

// groupVerdicts lists the verdicts of groups.
func groupVerdicts(groups []Group) []Verdict {
	out := make([]Verdict, len(groups))
	for i, g := range groups {
		out[i] = g.Verdict
	}
	return out
}

// metric builds a Metric and sets Pass from the comparison.
func metric(name string, value, threshold float64, comparison, unit string) Metric {
	m := Metric{Name: name, Value: value, Threshold: threshold, Comparison: comparison, Unit: unit}
	if comparison == "<=" {
		m.Pass = value <= threshold
	} else {
		m.Pass = value >= threshold
	}
	return m
}

// forEach runs fn for i in [0, n) on at most limit goroutines and returns
// when all calls have returned. fn must record its own results and errors.
func forEach(ctx context.Context, n, limit int, fn func(ctx context.Context, i int)) {
	if n == 0 {
		return
	}
	limit = max(1, min(limit, n))
	next := make(chan int)
	var wg sync.WaitGroup
	for range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(ctx, i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// describeError turns a backend error into a reason that names a timeout
// or a canceled context. It keeps the connector's message, which the
// connectors redact of credentials.
func describeError(system string, err error) string {
	switch {
	case httpx.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s timed out: %v", system, err)
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("the request to %s was canceled: %v", system, err)
	}
	return fmt.Sprintf("%s returned an error: %v", system, err)
}

// formatCount writes n with thousands separators, as 100,000.
func formatCount(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatRatio writes a ratio with up to six decimals and no trailing zeros.
func formatRatio(v float64) string {
	s := fmt.Sprintf("%.6f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// formatFactor writes a ratio of durations with two decimals.
func formatFactor(v float64) string { return fmt.Sprintf("%.2f", v) }

// plural writes n with the singular or plural noun.
func plural(n int, singular, pluralForm string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %s", n, pluralForm)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
