package parity

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// maxLatencyQueries bounds the translated queries the latency check runs,
// after the count query of each log mapping.
const maxLatencyQueries = 10

// latencyQuery is one query timed on both stacks: old counts on
// Elasticsearch, new counts on Loki.
type latencyQuery struct {
	name string
	old  func(context.Context) error
	new  func(context.Context) error
}

// latencyQueries returns the queries to time: each log target's document
// count over the window, then up to maxLatencyQueries translated queries,
// exact translations first. notes explain what was left out.
func (r *run) latencyQueries() ([]latencyQuery, []string) {
	var out []latencyQuery
	var notes []string
	lc := newLokiCounter(r.src.Loki, r.limits)
	for _, t := range logTargets(r.plan) {
		if t.problem != "" {
			continue
		}
		out = append(out, latencyQuery{
			name: "count " + t.name,
			old: func(ctx context.Context) error {
				for _, m := range t.mappings {
					if _, err := r.src.Elasticsearch.Count(ctx, m.Indices, nil, m.Timestamp, r.window.From, r.window.To); err != nil {
						return err
					}
				}
				return nil
			},
			new: func(ctx context.Context) error {
				_, err := lc.countTotal(ctx, t.selector, r.window.From, r.window.To)
				return err
			},
		})
	}

	queries, _, err := translateReports(r.plan)
	if err != nil {
		notes = append(notes, "Translated queries are not timed: "+err.Error())
		return out, notes
	}
	comparisons, _ := prepareComparisons(r.plan, queries)
	slices.SortStableFunc(comparisons, func(a, b comparison) int {
		return fidelityRank(a.fidelity) - fidelityRank(b.fidelity)
	})
	if len(comparisons) > maxLatencyQueries {
		notes = append(notes, fmt.Sprintf("%d translated queries are timed of %d that can run on both stacks.", maxLatencyQueries, len(comparisons)))
		comparisons = comparisons[:maxLatencyQueries]
	}
	for _, c := range comparisons {
		out = append(out, latencyQuery{
			name: c.name,
			old: func(ctx context.Context) error {
				_, err := r.src.Elasticsearch.Count(ctx, c.mapping.Indices, c.esQuery, c.mapping.Timestamp, r.window.From, r.window.To)
				return err
			},
			new: func(ctx context.Context) error {
				_, err := lc.countTotal(ctx, c.logql, r.window.From, r.window.To)
				return err
			},
		})
	}
	return out, notes
}

func fidelityRank(f string) int {
	if f == fidelityExact {
		return 0
	}
	return 1
}

// latency is the latency check: each query runs LatencyRuns times on each
// stack, one after the other, alternating stacks so that a change of load
// during the check affects both. The first run of each is reported as cold
// and the others as warm. Caches are not bypassed, because the connectors
// send no cache-control options: "cold" is the first run of this check,
// with whatever the servers cached before.
//
// The check fails when, for any query, the new stack's p95 over the warm
// runs (the cold run when there is only one) is more than
// latency_p95_max_ratio times the old stack's.
func (r *run) latency(ctx context.Context) Check {
	const name = CheckLatency
	if len(r.plan.Logs) == 0 {
		if qs, _, err := translateReports(r.plan); err == nil && len(qs) == 0 {
			return notApplicable(name, "the plan has no logs entries and no translated queries")
		}
	}
	switch {
	case r.src.Elasticsearch == nil && r.src.Loki == nil:
		return inconclusive(name, "neither Elasticsearch nor Loki is configured", "set sources.elasticsearch and targets.loki in the plan")
	case r.src.Elasticsearch == nil:
		return inconclusive(name, "Elasticsearch is not configured", "set sources.elasticsearch in the plan")
	case r.src.Loki == nil:
		return inconclusive(name, "Loki is not configured", "set targets.loki in the plan")
	}
	queries, notes := r.latencyQueries()
	if len(queries) == 0 {
		c := inconclusive(name, "no query can run on both stacks", "add static_labels to the logs entries or run the translate phase")
		c.Groups = []Group{{Name: "not timed", Verdict: Inconclusive, Notes: notes}}
		return c
	}

	c := Check{Name: name}
	g := Group{Name: "p95 per query", Columns: []string{"query", "elasticsearch p95 ms", "loki p95 ms", "ratio"}, Notes: notes}
	var failures, untimed []string
	worstRatio := 0.0
	for _, q := range queries {
		old, new, err := r.timeQuery(ctx, q)
		if err != nil {
			untimed = append(untimed, fmt.Sprintf("%s: %v", q.name, err))
			continue
		}
		c.Latencies = append(c.Latencies, latencies(q.name, "old", old)...)
		c.Latencies = append(c.Latencies, latencies(q.name, "new", new)...)
		oldP95, newP95 := comparedP95(old), comparedP95(new)
		ratio := float64(newP95) / float64(max(oldP95, time.Microsecond))
		worstRatio = math.Max(worstRatio, ratio)
		g.Rows = append(g.Rows, []string{q.name, formatMillis(oldP95), formatMillis(newP95), formatFactor(ratio)})
		if ratio > r.th.latencyP95MaxRatio {
			failures = append(failures, fmt.Sprintf("%s (%s ms on Loki, %s ms on Elasticsearch)", q.name, formatMillis(newP95), formatMillis(oldP95)))
		}
	}
	for _, e := range untimed {
		g.Notes = append(g.Notes, "Not timed: "+e)
	}
	measured := len(queries) - len(untimed)
	if measured > 0 {
		c.Metrics = append(c.Metrics, metric("p95_ratio_max", worstRatio, r.th.latencyP95MaxRatio, "<=", "ratio"))
	}
	switch {
	case len(failures) > 0:
		g.Verdict = Fail
		c.Reason = fmt.Sprintf("Loki's p95 is more than %s times Elasticsearch's for %s: %s. Check Loki's query frontend caching and split settings, or raise latency_p95_max_ratio if this is expected.",
			formatFactor(r.th.latencyP95MaxRatio), plural(len(failures), "query", "queries"), strings.Join(failures, "; "))
	case len(untimed) > 0:
		g.Verdict = Inconclusive
		c.Reason = fmt.Sprintf("%d of %d queries could not be timed: %s.", len(untimed), len(queries), strings.Join(untimed, "; "))
	default:
		g.Verdict = Pass
	}
	c.Groups = []Group{g}
	c.Verdict = g.Verdict
	c.Summary = fmt.Sprintf("%s timed %d times on each stack; worst p95 ratio Loki/Elasticsearch %s (maximum %s)",
		plural(measured, "query", "queries"), r.latencyRuns, formatFactor(worstRatio), formatFactor(r.th.latencyP95MaxRatio))
	if measured == 0 {
		c.Summary = "no query could be timed"
	}
	return c
}

// timeQuery runs q LatencyRuns times on each stack and returns the
// durations in run order.
func (r *run) timeQuery(ctx context.Context, q latencyQuery) (old, new []time.Duration, err error) {
	for i := range r.latencyRuns {
		d, err := timed(ctx, q.old)
		if err != nil {
			return nil, nil, fmt.Errorf("run %d: %s", i+1, describeError("Elasticsearch", err))
		}
		old = append(old, d)
		d, err = timed(ctx, q.new)
		if err != nil {
			return nil, nil, fmt.Errorf("run %d: %s", i+1, describeError("Loki", err))
		}
		new = append(new, d)
	}
	return old, new, nil
}

func timed(ctx context.Context, fn func(context.Context) error) (time.Duration, error) {
	start := time.Now()
	err := fn(ctx)
	return time.Since(start), err
}

// latencies returns the cold entry (the first run) and, with more runs,
// the warm entry of one query on one stack.
func latencies(query, stack string, runs []time.Duration) []Latency {
	out := []Latency{{Query: query, Stack: stack, Cold: true, P50: runs[0], P95: runs[0], P99: runs[0], Runs: 1}}
	if warm := runs[1:]; len(warm) > 0 {
		out = append(out, Latency{
			Query: query, Stack: stack,
			P50: percentile(warm, 0.50), P95: percentile(warm, 0.95), P99: percentile(warm, 0.99),
			Runs: len(warm),
		})
	}
	return out
}

// comparedP95 is the p95 the verdict compares: over the warm runs, or the
// cold run when it is the only one.
func comparedP95(runs []time.Duration) time.Duration {
	if len(runs) == 1 {
		return runs[0]
	}
	return percentile(runs[1:], 0.95)
}

// percentile returns the nearest-rank percentile p (0 < p <= 1) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))
}
