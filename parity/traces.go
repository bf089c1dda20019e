package parity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/tempo"
)

const (
	// maxTraceSlices is how many parts of the window each service's
	// Jaeger search is spread over. Jaeger returns the traces it finds
	// first, not a random set, so searching several parts spreads the
	// sample over the window.
	maxTraceSlices = 8
	// tempoConcurrency bounds the Tempo requests in flight.
	tempoConcurrency = 8
	// searchChecksPerService is how many complete traces per service are
	// also searched for in Tempo.
	searchChecksPerService = 5
	// maxListedSpans bounds the span ids an example lists.
	maxListedSpans = 5
)

// spanInfo is what the trace check compares of one span.
type spanInfo struct {
	parent  string
	service string
	isError bool
}

func (s spanInfo) String() string {
	status := "ok"
	if s.isError {
		status = "error"
	}
	return fmt.Sprintf("parent=%s service=%s status=%s", orNone(s.parent), orNone(s.service), status)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// spansOf indexes a trace's spans by span id (16 hex digits). Status
// Error is the only status the check compares, because Jaeger keeps an
// error as the tag error=true and has no place for OK versus Unset.
func spansOf(td ptrace.Traces) map[string]spanInfo {
	out := map[string]spanInfo{}
	for _, rs := range td.ResourceSpans().All() {
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				parent := ""
				if !sp.ParentSpanID().IsEmpty() {
					parent = sp.ParentSpanID().String()
				}
				out[sp.SpanID().String()] = spanInfo{
					parent:  parent,
					service: service,
					isError: sp.Status().Code() == ptrace.StatusCodeError,
				}
			}
		}
	}
	return out
}

// traceIDOf returns the id of the first span of td.
func traceIDOf(td ptrace.Traces) (pcommon.TraceID, bool) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				return sp.TraceID(), true
			}
		}
	}
	return pcommon.TraceID{}, false
}

// traceDiff is the comparison of one trace.
type traceDiff struct {
	id                     string
	service                string
	old, new               int
	missing, extra, differ []string
	// problem is set when the trace could not be compared.
	problem string
}

func (d traceDiff) complete() bool {
	return d.problem == "" && len(d.missing) == 0 && len(d.differ) == 0
}

// compareTrace compares Jaeger's spans of a trace with Tempo's.
func compareTrace(old, new map[string]spanInfo) (missing, extra, differ []string) {
	for _, id := range sortedKeys(old) {
		n, ok := new[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case n != old[id]:
			differ = append(differ, fmt.Sprintf("%s (Jaeger %s, Tempo %s)", id, old[id], n))
		}
	}
	for _, id := range sortedKeys(new) {
		if _, ok := old[id]; !ok {
			extra = append(extra, id)
		}
	}
	return missing, extra, differ
}

// sampledTrace is one trace read from Jaeger.
type sampledTrace struct {
	id      pcommon.TraceID
	service string
	spans   map[string]spanInfo
}

// traceCompleteness is the trace_completeness check: traces sampled from
// Jaeger over the window are read from Tempo by id and compared span by
// span.
func (r *run) traceCompleteness(ctx context.Context, rng *rand.Rand) Check {
	const name = CheckTraceCompleteness
	if r.plan.Traces == nil || len(r.plan.Traces.Services) == 0 {
		return notApplicable(name, "the plan lists no traced services")
	}
	switch {
	case r.src.Jaeger == nil && r.src.Tempo == nil:
		return inconclusive(name, "neither Jaeger nor Tempo is configured", "set sources.jaeger and targets.tempo in the plan")
	case r.src.Jaeger == nil:
		return inconclusive(name, "Jaeger is not configured", "set sources.jaeger in the plan")
	case r.src.Tempo == nil:
		return inconclusive(name, "Tempo is not configured", "set targets.tempo in the plan")
	}
	known, err := r.src.Jaeger.Services(ctx)
	if err != nil {
		return inconclusive(name, describeError("Jaeger", err), "check sources.jaeger and rerun")
	}
	services, unknown := resolveServices(r.plan.Traces.Services, known)
	if len(services) == 0 && len(unknown) == 0 {
		return inconclusive(name, "Jaeger lists no service, so no trace could be sampled",
			"check that sources.jaeger points at the query service that holds the traces")
	}

	c := Check{Name: name}
	for _, s := range unknown {
		c.Groups = append(c.Groups, Group{
			Name:    s,
			Verdict: Inconclusive,
			Notes:   []string{fmt.Sprintf("Jaeger lists no service %q: fix traces.services in the plan, or check that Jaeger keeps spans that old.", s)},
		})
	}

	sampled, errs := r.sampleTraces(ctx, services, rng)
	diffs := r.compareWithTempo(ctx, sampled)
	byService := map[string][]traceDiff{}
	for _, d := range diffs {
		byService[d.service] = append(byService[d.service], d)
	}
	searchNotes := r.searchTempo(ctx, byService)

	var reasons []string
	var complete, total, spansOld, spansFound int
	for _, s := range services {
		g, rs := traceGroup(s, byService[s], errs[s], searchNotes[s])
		c.Groups = append(c.Groups, g)
		reasons = append(reasons, rs...)
		for _, d := range byService[s] {
			if d.problem != "" {
				continue
			}
			total++
			if d.complete() {
				complete++
			}
			spansOld += d.old
			spansFound += d.old - len(d.missing)
		}
	}
	if len(unknown) > 0 {
		reasons = append(reasons, fmt.Sprintf("Jaeger lists no service %s: fix traces.services.", strings.Join(quoteAll(unknown), ", ")))
	}

	c.Verdict = worst(groupVerdicts(c.Groups)...)
	if total > 0 {
		c.Metrics = append(c.Metrics,
			metric("traces_complete", float64(complete)/float64(total), 1, ">=", "ratio"),
			metric("spans_found", ratioOrOne(spansFound, spansOld), 1, ">=", "ratio"))
	}
	c.Summary = fmt.Sprintf("%d of %d sampled Jaeger traces complete in Tempo by id; %d of %d spans found", complete, total, spansFound, spansOld)
	if total == 0 {
		c.Summary = "no Jaeger trace in the window to compare"
	}
	c.Reason = strings.Join(reasons, " ")
	if c.Verdict != Pass && c.Reason == "" {
		c.Reason = "Some services could not be compared; see their groups."
	}
	return c
}

func ratioOrOne(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// resolveServices expands "*" to every service Jaeger lists and splits
// the plan's names into those Jaeger lists and those it does not.
func resolveServices(want, known []string) (services, unknown []string) {
	if slices.Contains(want, "*") {
		return slices.Sorted(slices.Values(known)), nil
	}
	for _, s := range want {
		if slices.Contains(known, s) {
			services = append(services, s)
		} else {
			unknown = append(unknown, s)
		}
	}
	slices.Sort(services)
	slices.Sort(unknown)
	return slices.Compact(services), slices.Compact(unknown)
}

// sampleTraces reads up to about SampleIDs traces in all from Jaeger,
// spread over the services and over parts of the window, and picks each
// service's share at random. A trace that several services take part in is
// kept once, under the first service that found it. errs holds each
// service's Jaeger error.
func (r *run) sampleTraces(ctx context.Context, services []string, rng *rand.Rand) ([]sampledTrace, map[string]error) {
	perService := max(1, (r.sampleIDs+len(services)-1)/len(services))
	slicesN := min(perService, maxTraceSlices)
	perSlice := (perService + slicesN - 1) / slicesN
	span := r.window.To.Sub(r.window.From) / time.Duration(slicesN)

	found := make([][]ptrace.Traces, len(services)*slicesN)
	errs := make([]error, len(services)*slicesN)
	forEach(ctx, len(found), esConcurrency, func(ctx context.Context, k int) {
		s, part := services[k/slicesN], k%slicesN
		from := r.window.From.Add(time.Duration(part) * span)
		to := from.Add(span)
		if part == slicesN-1 {
			to = r.window.To
		}
		found[k], errs[k] = r.src.Jaeger.FindTraces(ctx, jaeger.TraceQuery{
			Service: s, StartMin: from, StartMax: to, NumTraces: perSlice,
		})
	})

	serviceErrs := map[string]error{}
	seen := map[pcommon.TraceID]bool{}
	var out []sampledTrace
	for si, s := range services {
		var candidates []sampledTrace
		for part := range slicesN {
			k := si*slicesN + part
			if errs[k] != nil {
				if serviceErrs[s] == nil {
					serviceErrs[s] = errs[k]
				}
				continue
			}
			for _, td := range found[k] {
				id, ok := traceIDOf(td)
				if !ok || seen[id] {
					continue
				}
				seen[id] = true
				candidates = append(candidates, sampledTrace{id: id, service: s, spans: spansOf(td)})
			}
		}
		rng.Shuffle(len(candidates), func(a, b int) { candidates[a], candidates[b] = candidates[b], candidates[a] })
		out = append(out, candidates[:min(len(candidates), perService)]...)
	}
	return out, serviceErrs
}

// compareWithTempo reads each sampled trace from Tempo by id. The by-id
// read has no time range, because Tempo stores a backfilled trace in
// blocks whose time range is its ingestion time (within
// ingestion_time_range_slack), not the spans' own time.
func (r *run) compareWithTempo(ctx context.Context, sampled []sampledTrace) []traceDiff {
	out := make([]traceDiff, len(sampled))
	forEach(ctx, len(sampled), tempoConcurrency, func(ctx context.Context, i int) {
		st := sampled[i]
		d := traceDiff{id: st.id.String(), service: st.service, old: len(st.spans)}
		res, err := r.src.Tempo.TraceByIDResult(ctx, st.id, time.Time{}, time.Time{})
		switch {
		case err != nil:
			d.problem = describeError("Tempo", err)
		case !res.Found:
			d.missing = sortedKeys(st.spans)
		default:
			got := spansOf(res.Traces)
			d.new = len(got)
			d.missing, d.extra, d.differ = compareTrace(st.spans, got)
			if res.Partial && len(d.missing) > 0 {
				d.problem = "Tempo returned only part of the trace: " + res.Message
			}
		}
		out[i] = d
	})
	return out
}

// searchTempo searches Tempo over the window for a few complete traces of
// each service and returns a note per service. A trace that Tempo finds by
// id but not by search is not lost. Tempo 3.0.3 indexes a block by its
// ingestion time, so a search of the spans' own time misses traces that
// were backfilled more than ingestion_time_range_slack after they happened.
func (r *run) searchTempo(ctx context.Context, byService map[string][]traceDiff) map[string]string {
	services := sortedKeys(byService)
	notes := make([]string, len(services))
	forEach(ctx, len(services), tempoConcurrency, func(ctx context.Context, i int) {
		var ids []string
		for _, d := range byService[services[i]] {
			if d.complete() && len(ids) < searchChecksPerService {
				ids = append(ids, d.id)
			}
		}
		if len(ids) == 0 {
			return
		}
		conds := make([]string, len(ids))
		for k, id := range ids {
			conds[k] = `trace:id = "` + id + `"`
		}
		q := "{ " + strings.Join(conds, " || ") + " }"
		got, err := r.src.Tempo.Search(ctx, tempo.SearchRequest{Query: q, Start: r.window.From, End: r.window.To, Limit: len(ids)})
		if err != nil {
			notes[i] = fmt.Sprintf("The Tempo search for %d traces failed, which does not affect the verdict: %v", len(ids), err)
			return
		}
		have := map[string]bool{}
		for _, t := range got {
			have[strings.ToLower(t.TraceID)] = true
		}
		var missing []string
		for _, id := range ids {
			if !have[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			notes[i] = fmt.Sprintf("A Tempo search over the window found all %d traces it looked for.", len(ids))
			return
		}
		notes[i] = fmt.Sprintf("Not found by search: %d of %d traces that Tempo returns by id (%s). Tempo finds traces backfilled later than ingestion_time_range_slack after their time by id only, so this is not a loss.",
			len(missing), len(ids), strings.Join(missing, ", "))
	})
	out := map[string]string{}
	for i, s := range services {
		if notes[i] != "" {
			out[s] = notes[i]
		}
	}
	return out
}

// traceGroup summarizes one service's traces.
func traceGroup(service string, diffs []traceDiff, jaegerErr error, searchNote string) (Group, []string) {
	g := Group{Name: service, Columns: []string{"trace", "jaeger spans", "tempo spans", "missing", "different", "extra"}}
	var reasons []string
	var failed, unmeasured int
	for _, d := range diffs {
		if d.problem != "" {
			unmeasured++
			g.Notes = append(g.Notes, fmt.Sprintf("Trace %s could not be compared: %s", d.id, d.problem))
			continue
		}
		if len(d.missing)+len(d.differ)+len(d.extra) > 0 {
			g.Rows = append(g.Rows, []string{
				d.id, fmt.Sprint(d.old), fmt.Sprint(d.new),
				fmt.Sprint(len(d.missing)), fmt.Sprint(len(d.differ)), fmt.Sprint(len(d.extra)),
			})
		}
		if !d.complete() {
			failed++
			g.Examples = append(g.Examples, describeDiff(d))
		}
		if len(d.extra) > 0 {
			g.Notes = append(g.Notes, fmt.Sprintf("Trace %s has %d spans in Tempo that Jaeger did not return: %s.",
				d.id, len(d.extra), listSome(d.extra, maxListedSpans)))
		}
	}
	if jaegerErr != nil {
		unmeasured++
		g.Notes = append(g.Notes, "Jaeger's search failed: "+describeError("Jaeger", jaegerErr))
	}
	if searchNote != "" {
		g.Notes = append(g.Notes, searchNote)
	}
	if len(diffs) == 0 && jaegerErr == nil {
		g.Notes = append(g.Notes, "Jaeger has no trace of this service in the window.")
	}
	switch {
	case failed > 0:
		g.Verdict = Fail
		reasons = append(reasons, fmt.Sprintf("%s: %d of %d sampled traces are incomplete or different in Tempo (examples list the span ids): check Tempo's discarded spans (tempo_discarded_spans_total) and the gateway's trace queue.",
			service, failed, len(diffs)))
	case unmeasured > 0:
		g.Verdict = Inconclusive
		reasons = append(reasons, fmt.Sprintf("%s: %d traces or searches could not be read; see the group's notes.", service, unmeasured))
	case len(diffs) == 0:
		// No trace was compared, which proves nothing.
		g.Verdict = Inconclusive
		reasons = append(reasons, fmt.Sprintf("%s: Jaeger has no trace of this service in the window, so nothing was compared: pick a window with traffic.", service))
	default:
		g.Verdict = Pass
	}
	return g, reasons
}

func describeDiff(d traceDiff) string {
	var parts []string
	if len(d.missing) > 0 {
		if d.new == 0 {
			parts = append(parts, "not found in Tempo")
		} else {
			parts = append(parts, fmt.Sprintf("%d spans missing in Tempo: %s", len(d.missing), listSome(d.missing, maxListedSpans)))
		}
	}
	if len(d.differ) > 0 {
		parts = append(parts, fmt.Sprintf("%d spans differ: %s", len(d.differ), listSome(d.differ, maxListedSpans)))
	}
	return d.id + ": " + strings.Join(parts, "; ")
}

// listSome joins the first n items and counts the rest.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
