package parity

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/logql"
)

// Request limits of the log checks.
const (
	// esConcurrency bounds the Elasticsearch requests in flight per check.
	esConcurrency = 4
	// lokiConcurrency bounds the Loki requests in flight per check.
	lokiConcurrency = 4
	// maxSampleClusters is how many random places of a window the
	// membership sample reads from. Each costs one point in time opened,
	// one search and one close on Elasticsearch, and one Loki query.
	maxSampleClusters = 20
	// maxLookupSpan bounds the time range of one es_id lookup query, so
	// Loki reads little more than the sampled documents' chunks.
	maxLookupSpan = time.Hour
	// lokiMaxPoints is the maximum number of evaluation points Loki 3.x
	// accepts in one range query ("exceeded maximum resolution of 11,000
	// points").
	lokiMaxPoints = 11000
)

// logTarget is one Loki stream selector and the plan's log mappings whose
// entries it selects. Mappings with the same static labels write to the same
// streams, so they are compared together: the Elasticsearch counts of
// their indices are added up against one Loki count.
type logTarget struct {
	name     string
	selector string
	mappings []plans.LogMapping
	notes    []string
	// problem, when set, is why no selector isolates these mappings.
	problem string
}

// logTargets groups the plan's log mappings by the selector of their
// static labels, in plan order.
//
// Static labels are on every entry of a mapping, written by the gateway and
// the backfill alike. The backfill's own label (migrate_backfill) and the
// mapped labels are extra labels, which a selector of the static labels
// does not exclude, so live and backfilled streams both match.
//
// A mapping without static labels has no selector of its own. As the only
// mapping it is compared with every stream of the tenant
// ({service_name=~".+"}, because Loki 3 gives every stream a service_name).
// Next to other mappings it is left unmeasured.
func logTargets(p *plans.Plan) []*logTarget {
	var out []*logTarget
	bySelector := map[string]*logTarget{}
	for _, m := range p.Logs {
		m = m.WithDefaults()
		sel := staticSelector(m.StaticLabels)
		switch {
		case sel == "" && len(p.Logs) == 1:
			sel = logql.FallbackSelector
		case sel == "":
			out = append(out, &logTarget{
				name:     m.Indices,
				mappings: []plans.LogMapping{m},
				problem: fmt.Sprintf("the logs entry for %q has no static_labels, so no Loki selector selects its entries apart from the other entries' (add static_labels to it)",
					m.Indices),
			})
			continue
		}
		if t, ok := bySelector[sel]; ok {
			t.mappings = append(t.mappings, m)
			continue
		}
		if other := overlappingSelector(p, m, sel); other != "" {
			// Extra labels do not stop a matcher, so this selector also
			// counts the other entry's streams, which could hide a loss.
			out = append(out, &logTarget{
				name:     m.Indices,
				mappings: []plans.LogMapping{m},
				problem: fmt.Sprintf("the Loki selector %s of the logs entry for %q also matches the streams of the entry for %q, so its counts would include them (give each entry a static label the other lacks)",
					sel, m.Indices, other),
			})
			continue
		}
		t := &logTarget{selector: sel, mappings: []plans.LogMapping{m}}
		if sel == logql.FallbackSelector {
			t.notes = append(t.notes, "The logs entry has no static_labels, so Loki's side counts every stream of the tenant ("+
				sel+"); entries that other writers sent show as extra.")
		}
		bySelector[sel] = t
		out = append(out, t)
	}
	for _, t := range out {
		if t.problem != "" {
			continue
		}
		indices := make([]string, len(t.mappings))
		for i, m := range t.mappings {
			indices[i] = m.Indices
		}
		t.name = strings.Join(indices, ",") + " " + t.selector
		if len(t.mappings) > 1 {
			t.notes = append(t.notes, fmt.Sprintf("%d logs entries share these static labels, so their indices are counted together.", len(t.mappings)))
		}
	}
	return out
}

// staticSelector returns the stream selector of static labels, such as
// {env="prod", source="filebeat"}, or "" for none.
func staticSelector(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	parts := make([]string, 0, len(labels))
	for _, name := range sortedKeys(labels) {
		parts = append(parts, name+"="+strconv.Quote(labels[name]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// bucketRange is one completeness bucket, Start inclusive and End
// exclusive.
type bucketRange struct {
	Start, End time.Time
}

// bucketGrid cuts w at the multiples of size since the Unix epoch. Loki's
// query frontend rounds a range query's start down to a multiple of its step
// (splitMetricByTime in Loki 3.x), so only buckets on that grid can be
// counted by one range query. The first and last bucket are partial when
// w's ends are not on the grid.
func bucketGrid(w Window, size time.Duration) []bucketRange {
	var out []bucketRange
	for start := w.From; start.Before(w.To); {
		ns := start.UnixNano()
		next := time.Unix(0, (floorDiv(ns, int64(size))+1)*int64(size)).UTC()
		end := next
		if end.After(w.To) {
			end = w.To
		}
		out = append(out, bucketRange{Start: start, End: end})
		start = end
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// lokiCounter counts the entries of log queries in Loki.
//
// It counts with sum(count_over_time(QUERY [RANGE] offset 1ns)). Loki
// evaluates a range at time t over (t-RANGE, t], left end excluded (Loki
// 3.x, pkg/logql range vectors), while Elasticsearch's range filter counts
// [from, to). The 1ns offset shifts Loki's range to [t-RANGE, t) for
// nanosecond timestamps, so a document exactly on a bucket edge falls in
// the same bucket on both sides instead of showing as missing in one and
// extra in the next.
//
// Why the count of entries equals the number of distinct documents: Loki
// 3.7.6 stores an entry with the same stream, nanosecond timestamp, line and
// structured metadata once, and every entry carries the document _id as the
// structured metadata es_id. So a document pushed twice to the same stream
// (a gateway retry, a replayed backfill unit) is stored once and counted
// once. Two Elasticsearch documents with the same time and line but
// different _id values are two entries, as they are two documents. The
// same document written to two different streams, for example by the live
// gateway and by the backfill (which adds its migrate_backfill label), is
// stored twice and counted as extra.
type lokiCounter struct {
	client *loki.Client
	// maxLength is Loki's max_query_length, 0 for none.
	maxLength time.Duration
}

func newLokiCounter(c *loki.Client, l loki.Limits) lokiCounter {
	return lokiCounter{client: c, maxLength: l.MaxQueryLength}
}

// countQuery returns the metric query that counts the entries of logQuery
// in a range ending at the evaluation time.
func countQuery(logQuery string, rng time.Duration) string {
	return fmt.Sprintf("sum(count_over_time(%s [%s] offset 1ns))", logQuery, lokiDuration(rng))
}

// lokiDuration writes d, a whole number of milliseconds, in the unit form
// that Loki's LogQL parser reads (Prometheus durations such as 1h, 90s,
// 1500ms).
func lokiDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

// checkBucket reports an error when a bucket of size cannot be counted
// within Loki's max_query_length.
func (lc lokiCounter) checkBucket(size time.Duration) error {
	if lc.maxLength > 0 && size+time.Second > lc.maxLength {
		return fmt.Errorf("the bucket %s does not fit Loki's max_query_length %s: use a smaller bucket", size, lc.maxLength)
	}
	return nil
}

// countBuckets returns the entries of logQuery in each bucket of a grid
// built by bucketGrid with size. Runs of full buckets are counted by
// range queries with step size, cut so that each stays within Loki's
// max_query_length and its resolution limit. Partial buckets and single
// buckets are counted by instant queries.
func (lc lokiCounter) countBuckets(ctx context.Context, logQuery string, buckets []bucketRange, size time.Duration) ([]int64, error) {
	if err := lc.checkBucket(size); err != nil {
		return nil, err
	}
	maxPoints := lokiMaxPoints
	if lc.maxLength > 0 {
		// A range query of n points reads from n*size + 1ns before its
		// end; keep a second of slack under the limit.
		maxPoints = min(maxPoints, int((lc.maxLength-time.Second)/size))
	}
	type job struct{ first, last int }
	var jobs []job
	for i := 0; i < len(buckets); {
		j := i
		if buckets[i].End.Sub(buckets[i].Start) == size {
			for j+1 < len(buckets) && j+1-i < maxPoints && buckets[j+1].End.Sub(buckets[j+1].Start) == size {
				j++
			}
		}
		jobs = append(jobs, job{i, j})
		i = j + 1
	}

	counts := make([]int64, len(buckets))
	var mu sync.Mutex
	var firstErr error
	forEach(ctx, len(jobs), lokiConcurrency, func(ctx context.Context, k int) {
		jb := jobs[k]
		var err error
		if jb.first == jb.last {
			b := buckets[jb.first]
			var n int64
			n, err = lc.instant(ctx, logQuery, b.End, b.End.Sub(b.Start))
			counts[jb.first] = n
		} else {
			err = lc.rangeCounts(ctx, logQuery, buckets[jb.first:jb.last+1], size, counts[jb.first:jb.last+1])
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return counts, nil
}

// countTotal returns the entries of logQuery in [from, to), with instant
// queries over pieces that fit Loki's max_query_length.
func (lc lokiCounter) countTotal(ctx context.Context, logQuery string, from, to time.Time) (int64, error) {
	piece := to.Sub(from)
	if lc.maxLength > 0 {
		piece = min(piece, (lc.maxLength - time.Second).Truncate(time.Millisecond))
	}
	if piece <= 0 {
		return 0, fmt.Errorf("loki's max_query_length %s is too short to count entries: raise it above 1s", lc.maxLength)
	}
	var total int64
	for start := from; start.Before(to); start = start.Add(piece) {
		end := minTime(start.Add(piece), to)
		n, err := lc.instant(ctx, logQuery, end, end.Sub(start))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// instant counts the entries of logQuery in [at-rng, at).
func (lc lokiCounter) instant(ctx context.Context, logQuery string, at time.Time, rng time.Duration) (int64, error) {
	q := countQuery(logQuery, rng)
	res, err := lc.client.Query(ctx, q, at)
	if err != nil {
		return 0, fmt.Errorf("query %s at %s: %w", q, formatTime(at), err)
	}
	if res.ResultType != loki.ResultVector {
		return 0, fmt.Errorf("query %s: Loki returned a %s result, expected a vector", q, res.ResultType)
	}
	var total int64
	for _, s := range res.Series {
		for _, v := range s.Samples {
			n, err := sampleCount(v.Value)
			if err != nil {
				return 0, fmt.Errorf("query %s: %w", q, err)
			}
			total += n
		}
	}
	return total, nil
}

// rangeCounts fills counts with the entries of logQuery in each bucket of
// a run of full, contiguous buckets, from one range query whose evaluation
// times are the bucket ends.
func (lc lokiCounter) rangeCounts(ctx context.Context, logQuery string, buckets []bucketRange, size time.Duration, counts []int64) error {
	q := countQuery(logQuery, size)
	req := loki.QueryRangeRequest{Query: q, Start: buckets[0].End, End: buckets[len(buckets)-1].End, Step: size}
	res, err := lc.client.QueryRange(ctx, req)
	if err != nil {
		return fmt.Errorf("query_range %s from %s to %s: %w", q, formatTime(req.Start), formatTime(req.End), err)
	}
	if res.ResultType != loki.ResultMatrix && res.ResultType != loki.ResultVector {
		return fmt.Errorf("query_range %s: Loki returned a %s result, expected a matrix", q, res.ResultType)
	}
	index := make(map[int64]int, len(buckets))
	for i, b := range buckets {
		index[b.End.UnixMilli()] = i
	}
	for _, s := range res.Series {
		for _, v := range s.Samples {
			// Loki sends times as seconds with millisecond fractions.
			ms := int64(math.Round(float64(v.Timestamp.UnixNano()) / float64(time.Millisecond)))
			i, ok := index[ms]
			if !ok {
				return fmt.Errorf("query_range %s: Loki returned a sample at %s, which is not the end of a bucket: check that Loki's query frontend evaluates at multiples of the step",
					q, formatTime(v.Timestamp))
			}
			n, err := sampleCount(v.Value)
			if err != nil {
				return fmt.Errorf("query_range %s at %s: %w", q, formatTime(v.Timestamp), err)
			}
			counts[i] += n
		}
	}
	return nil
}

// sampleCount converts a count_over_time sample to an integer.
func sampleCount(v float64) (int64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v != math.Trunc(v) || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("the count %v is not a whole number of entries", v)
	}
	return int64(v), nil
}

// logBucketCounts are one target's counts per bucket.
type logBucketCounts struct {
	old, new []int64
}

// logTally sums a target's counts.
type logTally struct {
	old, new, matched, missing, extra int64
	// missingBuckets counts the buckets with fewer entries than documents.
	missingBuckets int
	firstMissing   time.Time
}

// tally compares the counts bucket by bucket. Matched takes the smaller
// side of each bucket, so extra entries in one bucket never make up for
// missing ones in another.
func tally(buckets []bucketRange, c logBucketCounts) logTally {
	var t logTally
	for i, b := range buckets {
		o, n := c.old[i], c.new[i]
		t.old += o
		t.new += n
		t.matched += min(o, n)
		if o > n {
			t.missing += o - n
			if t.missingBuckets == 0 {
				t.firstMissing = b.Start
			}
			t.missingBuckets++
		} else {
			t.extra += n - o
		}
	}
	return t
}

// overlappingSelector returns the index pattern of another logs entry
// whose static labels include all of m's with the same values, so that m's
// selector also matches that entry's streams, or "".
func overlappingSelector(p *plans.Plan, m plans.LogMapping, sel string) string {
	for _, other := range p.Logs {
		other = other.WithDefaults()
		if other.Indices == m.Indices || staticSelector(other.StaticLabels) == sel {
			continue
		}
		if len(other.StaticLabels) <= len(m.StaticLabels) {
			continue
		}
		contains := true
		for k, v := range m.StaticLabels {
			if other.StaticLabels[k] != v {
				contains = false
				break
			}
		}
		if contains {
			return other.Indices
		}
	}
	return ""
}

// completeness is the share of documents found: 1 when there are none.
func (t logTally) completeness() float64 {
	if t.old == 0 {
		return 1
	}
	return float64(t.matched) / float64(t.old)
}

// sampleResult is the outcome of the membership sample of one target.
type sampleResult struct {
	sampled, found int
	missing        []string
}

// logCompleteness is the log_completeness check.
func (r *run) logCompleteness(ctx context.Context, rng *rand.Rand) Check {
	const name = CheckLogCompleteness
	targets := logTargets(r.plan)
	switch {
	case len(targets) == 0:
		return notApplicable(name, "the plan has no logs entries")
	case r.src.Elasticsearch == nil && r.src.Loki == nil:
		return inconclusive(name, "neither Elasticsearch nor Loki is configured",
			"set sources.elasticsearch and targets.loki in the plan")
	case r.src.Elasticsearch == nil:
		return inconclusive(name, "Elasticsearch is not configured", "set sources.elasticsearch in the plan")
	case r.src.Loki == nil:
		return inconclusive(name, "Loki is not configured", "set targets.loki in the plan")
	}
	lc := newLokiCounter(r.src.Loki, r.limits)
	if err := lc.checkBucket(r.bucket); err != nil {
		return inconclusive(name, err.Error(), "pass a bucket below Loki's max_query_length")
	}

	buckets := bucketGrid(r.window, r.bucket)
	c := Check{Name: name}
	var total logTally
	var sample sampleResult
	var reasons []string
	measured := 0
	for _, t := range targets {
		g, counts, tl, sr, reason := r.compareLogTarget(ctx, lc, t, buckets, rng)
		c.Groups = append(c.Groups, g)
		if reason != "" {
			reasons = append(reasons, reason)
		}
		if counts == nil {
			continue
		}
		measured++
		for i, b := range buckets {
			c.Buckets = append(c.Buckets, Bucket{Group: g.Name, Start: b.Start, Old: counts.old[i], New: counts.new[i]})
		}
		total.old += tl.old
		total.new += tl.new
		total.matched += tl.matched
		total.missing += tl.missing
		total.extra += tl.extra
		sample.sampled += sr.sampled
		sample.found += sr.found
	}

	c.Verdict = worst(groupVerdicts(c.Groups)...)
	if measured > 0 {
		c.Metrics = append(c.Metrics, metric("completeness", total.completeness(), r.th.completenessMin, ">=", "ratio"))
		c.Metrics = append(c.Metrics,
			metric("missing_documents", float64(total.missing), allowedMissing(total.old, r.th.completenessMin), "<=", "count"))
		if sample.sampled > 0 {
			c.Metrics = append(c.Metrics, metric("sampled_ids_found", float64(sample.found)/float64(sample.sampled), r.th.completenessMin, ">=", "ratio"))
		}
	}
	c.Summary = logSummary(total, sample, measured, len(targets), r.th.completenessMin)
	c.Reason = strings.Join(reasons, " ")
	if c.Verdict != Pass && c.Reason == "" {
		c.Reason = "Some log mappings could not be measured; see their groups."
	}
	if len(r.th.defaulted) > 0 {
		c.Summary += "; thresholds not set in the plan took defaults: " + strings.Join(r.th.defaulted, ", ")
	}
	return c
}

// allowedMissing is the most documents that may be missing out of old at
// the completeness minimum.
func allowedMissing(old int64, minimum float64) float64 {
	return math.Floor(float64(old)*(1-minimum) + 1e-9)
}

func logSummary(t logTally, s sampleResult, measured, targets int, minimum float64) string {
	if measured == 0 {
		return fmt.Sprintf("no log mapping could be measured (%d in the plan)", targets)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s Elasticsearch documents found in Loki (completeness %s, minimum %s)",
		formatCount(t.matched), formatCount(t.old), formatRatio(t.completeness()), formatRatio(minimum))
	fmt.Fprintf(&b, "; %s missing, %s extra in Loki", formatCount(t.missing), formatCount(t.extra))
	if s.sampled > 0 {
		fmt.Fprintf(&b, "; %d of %d sampled _ids found by es_id", s.found, s.sampled)
	}
	if measured < targets {
		fmt.Fprintf(&b, "; %d of %d mappings not measured", targets-measured, targets)
	}
	return b.String()
}

// compareLogTarget counts one target on both stacks and samples its
// documents. counts is nil when the target could not be counted.
func (r *run) compareLogTarget(ctx context.Context, lc lokiCounter, t *logTarget, buckets []bucketRange, rng *rand.Rand) (Group, *logBucketCounts, logTally, sampleResult, string) {
	g := Group{Name: t.name, Notes: t.notes}
	fail := func(why, todo string) (Group, *logBucketCounts, logTally, sampleResult, string) {
		g.Verdict = Inconclusive
		g.Notes = append(g.Notes, sentence(why)+" "+sentence(todo))
		return g, nil, logTally{}, sampleResult{}, fmt.Sprintf("%s: %s.", t.name, why)
	}
	if t.problem != "" {
		return fail(t.problem, "then run parity again")
	}

	for _, m := range t.mappings {
		idx, err := r.src.Elasticsearch.Indices(ctx, m.Indices)
		if err != nil {
			return fail(describeError("Elasticsearch", err), "check sources.elasticsearch and the logs entry's indices")
		}
		if len(idx) == 0 {
			return fail(fmt.Sprintf("no Elasticsearch index matches %q", m.Indices), "fix the logs entry's indices")
		}
	}

	counts := &logBucketCounts{old: make([]int64, len(buckets))}
	perMapping, err := r.esBucketCounts(ctx, t.mappings, buckets)
	if err != nil {
		return fail(describeError("Elasticsearch", err), "check that Elasticsearch answers and rerun")
	}
	for _, mc := range perMapping {
		for i, n := range mc {
			counts.old[i] += n
		}
	}
	counts.new, err = lc.countBuckets(ctx, t.selector, buckets, r.bucket)
	if err != nil {
		return fail(describeError("Loki", err), "check that Loki answers and rerun")
	}

	tl := tally(buckets, *counts)
	// The check's buckets carry every count; the rows list the buckets
	// that differ, then the totals.
	g.Columns = []string{"bucket", "elasticsearch", "loki", "missing", "extra"}
	for i, b := range buckets {
		o, n := counts.old[i], counts.new[i]
		if o != n {
			g.Rows = append(g.Rows, []string{formatTime(b.Start), fmt.Sprint(o), fmt.Sprint(n), fmt.Sprint(max(o-n, 0)), fmt.Sprint(max(n-o, 0))})
		}
	}
	g.Rows = append(g.Rows, []string{"total", fmt.Sprint(tl.old), fmt.Sprint(tl.new), fmt.Sprint(tl.missing), fmt.Sprint(tl.extra)})
	g.Notes = append(g.Notes, fmt.Sprintf("Loki counts %s, entries of identical stream, timestamp, line and es_id stored once.",
		countQuery(t.selector, r.bucket)))

	g.Verdict = Pass
	var reason string
	if tl.old == 0 {
		// An empty window compares nothing, so it cannot count as a pass.
		g.Verdict = Inconclusive
		reason = fmt.Sprintf("%s: Elasticsearch holds no document in the window, so completeness was not measured: pick a window with traffic.", t.name)
	} else if tl.completeness() < r.th.completenessMin {
		g.Verdict = Fail
		reason = fmt.Sprintf("%s: Loki is missing %s of %s documents in %s, the first at %s (completeness %s, minimum %s): look for dead letters of the gateway and rerun the backfill for those buckets.",
			t.name, formatCount(tl.missing), formatCount(tl.old), plural(tl.missingBuckets, "bucket", "buckets"), formatTime(tl.firstMissing),
			formatRatio(tl.completeness()), formatRatio(r.th.completenessMin))
	}
	if tl.extra > 0 {
		g.Notes = append(g.Notes, fmt.Sprintf("Loki has %s entries more than Elasticsearch has documents in some buckets: the same document written to two streams (for example by both the gateway and the backfill), or entries from other writers.",
			formatCount(tl.extra)))
	}

	sr, err := r.sampleMembership(ctx, t, buckets, perMapping, tl.old, rng)
	switch {
	case err != nil:
		g.Notes = append(g.Notes, "The membership sample could not be read: "+err.Error())
		if g.Verdict == Pass {
			g.Verdict = Inconclusive
			reason = fmt.Sprintf("%s: the membership sample failed: %v.", t.name, err)
		}
	case sr.sampled > 0:
		g.Examples = sr.missing
		found := float64(sr.found) / float64(sr.sampled)
		g.Notes = append(g.Notes, fmt.Sprintf("%d of %d randomly sampled Elasticsearch _ids were found in Loki by es_id.", sr.found, sr.sampled))
		if found < r.th.completenessMin {
			g.Verdict = Fail
			reason = strings.TrimSpace(reason + fmt.Sprintf(" %s: %d of %d sampled documents are not in Loki (examples listed with their _id).",
				t.name, sr.sampled-sr.found, sr.sampled))
		}
	}
	return g, counts, tl, sr, reason
}

// esBucketCounts returns each mapping's document count per bucket.
func (r *run) esBucketCounts(ctx context.Context, mappings []plans.LogMapping, buckets []bucketRange) ([][]int64, error) {
	out := make([][]int64, len(mappings))
	for i := range out {
		out[i] = make([]int64, len(buckets))
	}
	var mu sync.Mutex
	var firstErr error
	forEach(ctx, len(mappings)*len(buckets), esConcurrency, func(ctx context.Context, k int) {
		m, b := mappings[k/len(buckets)], buckets[k%len(buckets)]
		n, err := r.src.Elasticsearch.Count(ctx, m.Indices, nil, m.Timestamp, b.Start, b.End)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("counting %s from %s to %s: %w", m.Indices, formatTime(b.Start), formatTime(b.End), err)
			}
			return
		}
		out[k/len(buckets)][k%len(buckets)] = n
	})
	return out, firstErr
}

// sampledDoc is one document of the membership sample.
type sampledDoc struct {
	id, index string
	at        time.Time
}

// sampleMembership reads random Elasticsearch documents of the target and
// looks each up in Loki by its es_id structured metadata.
//
// The sample is cut into clusters of consecutive documents, each starting
// at a random time drawn in proportion to the bucket counts, so it costs a
// few requests per cluster rather than one per document. Documents next to
// each other in time are not independent, so the sample is not uniform. It
// is a spot check that complements the counts, which cover every document.
func (r *run) sampleMembership(ctx context.Context, t *logTarget, buckets []bucketRange, perMapping [][]int64, total int64, rng *rand.Rand) (sampleResult, error) {
	if total == 0 || r.sampleIDs <= 0 {
		return sampleResult{}, nil
	}
	want := min(int64(r.sampleIDs), total)
	clusters := int(min(want, maxSampleClusters))
	size := int((want + int64(clusters) - 1) / int64(clusters))

	type start struct {
		mapping plans.LogMapping
		at      time.Time
	}
	starts := make([]start, clusters)
	for i := range starts {
		mi, bi := pickBucket(perMapping, rng)
		b := buckets[bi]
		offset := time.Duration(rng.Int64N(int64(b.End.Sub(b.Start))))
		starts[i] = start{mapping: t.mappings[mi], at: b.Start.Add(offset)}
	}

	results := make([][]sampledDoc, clusters)
	errs := make([]error, clusters)
	forEach(ctx, clusters, esConcurrency, func(ctx context.Context, i int) {
		results[i], errs[i] = r.readCluster(ctx, starts[i].mapping, starts[i].at, size)
	})
	var docs []sampledDoc
	seen := map[string]bool{}
	for i, batch := range results {
		if errs[i] != nil {
			return sampleResult{}, errs[i]
		}
		for _, d := range batch {
			if key := d.index + "\x00" + d.id; !seen[key] {
				seen[key] = true
				docs = append(docs, d)
			}
		}
	}
	if len(docs) == 0 {
		return sampleResult{}, nil
	}
	found, err := r.lookupIDs(ctx, t.selector, docs, size)
	if err != nil {
		return sampleResult{}, err
	}
	res := sampleResult{sampled: len(docs)}
	for _, d := range docs {
		if found[d.id] {
			res.found++
			continue
		}
		res.missing = append(res.missing, fmt.Sprintf("%s (index %s, %s)", d.id, d.index, formatTime(d.at)))
	}
	return res, nil
}

// pickBucket draws a mapping and a bucket with probability proportional
// to their document counts.
func pickBucket(perMapping [][]int64, rng *rand.Rand) (int, int) {
	var total int64
	for _, counts := range perMapping {
		for _, n := range counts {
			total += n
		}
	}
	x := rng.Int64N(total)
	for mi, counts := range perMapping {
		for bi, n := range counts {
			if x < n {
				return mi, bi
			}
			x -= n
		}
	}
	return len(perMapping) - 1, len(perMapping[len(perMapping)-1]) - 1
}

// readCluster reads up to size documents of m from at to the end of the
// window, in time order.
func (r *run) readCluster(ctx context.Context, m plans.LogMapping, at time.Time, size int) ([]sampledDoc, error) {
	rd := r.src.Elasticsearch.NewReader(elasticsearch.ReadRequest{
		Index:        m.Indices,
		TimeField:    m.Timestamp,
		From:         at,
		To:           r.window.To,
		PageSize:     min(size, elasticsearch.MaxPageSize),
		SourceFields: []string{m.Timestamp},
	}, nil)
	hits, err := rd.Next(ctx)
	closeErr := rd.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", m.Indices, formatTime(at), err)
	}
	if closeErr != nil {
		return nil, fmt.Errorf("closing the point in time on %s: %w", m.Indices, closeErr)
	}
	docs := make([]sampledDoc, 0, len(hits))
	for _, h := range hits {
		if len(h.Sort) == 0 {
			return nil, fmt.Errorf("reading %s: hit %s has no sort value", m.Indices, h.ID)
		}
		var s string
		if err := json.Unmarshal(h.Sort[0], &s); err != nil {
			return nil, fmt.Errorf("reading %s: hit %s: time sort value %s: %w", m.Indices, h.ID, h.Sort[0], err)
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("reading %s: hit %s: time sort value %q: %w", m.Indices, h.ID, s, err)
		}
		docs = append(docs, sampledDoc{id: h.ID, index: h.Index, at: ts})
	}
	return docs, nil
}

// lookupIDs returns which of docs' _ids Loki has under selector, from one
// query per group of up to batch documents:
// {SELECTOR} | es_id=~"id1|id2|..." over their time span. A group spans at
// most maxLookupSpan, and less than Loki's max_query_length.
func (r *run) lookupIDs(ctx context.Context, selector string, docs []sampledDoc, batch int) (map[string]bool, error) {
	slices.SortFunc(docs, func(a, b sampledDoc) int { return a.at.Compare(b.at) })
	span := maxLookupSpan
	if r.limits.MaxQueryLength > 0 {
		span = min(span, r.limits.MaxQueryLength-time.Second)
	}
	var groups [][]sampledDoc
	for _, d := range docs {
		last := len(groups) - 1
		if last < 0 || len(groups[last]) >= batch || d.at.Sub(groups[last][0].at) > span {
			groups = append(groups, nil)
			last++
		}
		groups[last] = append(groups[last], d)
	}
	found := map[string]bool{}
	var mu sync.Mutex
	errs := make([]error, len(groups))
	forEach(ctx, len(groups), lokiConcurrency, func(ctx context.Context, i int) {
		got, err := r.lookupGroup(ctx, selector, groups[i])
		mu.Lock()
		defer mu.Unlock()
		errs[i] = err
		for id := range got {
			found[id] = true
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// lookupGroup looks up a few documents close in time. When Loki returns
// as many entries as the limit allows while some ids are still missing,
// those ids are looked up one by one, so a limit never hides an entry.
func (r *run) lookupGroup(ctx context.Context, selector string, docs []sampledDoc) (map[string]bool, error) {
	limit := max(4*len(docs), 100)
	if l := r.limits.MaxEntriesLimitPerQuery; l > 0 {
		limit = min(limit, l)
	}
	found, full, err := r.queryIDs(ctx, selector, docs, limit)
	if err != nil || !full {
		return found, err
	}
	for _, d := range docs {
		if found[d.id] {
			continue
		}
		one, _, err := r.queryIDs(ctx, selector, []sampledDoc{d}, min(limit, 100))
		if err != nil {
			return nil, err
		}
		if one[d.id] {
			found[d.id] = true
		}
	}
	return found, nil
}

// queryIDs runs one es_id lookup. full reports that Loki returned limit
// entries, so more may exist.
func (r *run) queryIDs(ctx context.Context, selector string, docs []sampledDoc, limit int) (map[string]bool, bool, error) {
	ids := make([]string, len(docs))
	from, to := docs[0].at, docs[0].at
	for i, d := range docs {
		ids[i] = regexp.QuoteMeta(d.id)
		from, to = minTime(from, d.at), maxTime(to, d.at)
	}
	q := selector + " | " + logql.DocumentIDMetadata + "=~" + logql.Quote(strings.Join(ids, "|"))
	res, err := r.src.Loki.QueryRange(ctx, loki.QueryRangeRequest{
		Query:            q,
		Start:            from.Add(-time.Millisecond),
		End:              to.Add(time.Millisecond),
		Limit:            limit,
		Direction:        loki.Forward,
		CategorizeLabels: true,
	})
	if err != nil {
		return nil, false, fmt.Errorf("query_range %s: %w", q, err)
	}
	if res.ResultType != loki.ResultStreams {
		return nil, false, fmt.Errorf("query_range %s: Loki returned a %s result, expected streams", q, res.ResultType)
	}
	found := map[string]bool{}
	entries := 0
	for _, s := range res.Streams {
		for _, e := range s.Entries {
			entries++
			id := s.Labels[logql.DocumentIDMetadata]
			for _, md := range e.StructuredMetadata {
				if md.Name == logql.DocumentIDMetadata {
					id = md.Value
				}
			}
			if id != "" {
				found[id] = true
			}
		}
	}
	return found, entries >= limit, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
