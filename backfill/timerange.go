package backfill

import (
	"fmt"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

// Where Range.To came from.
const (
	toFromExpression  = "expression"
	toFromParallelRun = "parallel_run entered"
	toFromFirstRun    = "first run"
)

// Range is the backfill's time range, work-unit size and shard count. The
// first run pins it in the plan state, so that relative times such as
// now-30d mean the same instant in every later run and in every shard.
type Range struct {
	From  time.Time     `json:"from"`
	To    time.Time     `json:"to"`
	Slice time.Duration `json:"slice"`
	// Shards is N of --shard I/N. Every run must use the same N, because a
	// shard's block of slices depends on it.
	Shards int `json:"shards"`
	// FromExpr and ToExpr are the bounds as the plan or the flags wrote
	// them. An empty ToExpr is the default: the time parallel_run was
	// entered, or the first run's clock.
	FromExpr string `json:"from_expr"`
	ToExpr   string `json:"to_expr,omitempty"`
	// ToSource names where To came from: "expression", "parallel_run
	// entered" or "first run".
	ToSource string    `json:"to_source"`
	PinnedAt time.Time `json:"pinned_at"`
}

// rangeRequest is the range a run requests: the plan's values, or the
// flags'.
type rangeRequest struct {
	fromExpr, toExpr string
	slice            time.Duration
	shards           int
}

// resolveRange computes the range of req at now. With no ToExpr, the range
// ends when the plan entered parallel_run, the moment dual writes began, so
// that history and live data do not overlap. Before that phase it ends at
// now.
func resolveRange(req rangeRequest, st phases.State, now time.Time) (Range, error) {
	r := Range{Slice: req.slice, Shards: req.shards, FromExpr: req.fromExpr, ToExpr: req.toExpr, PinnedAt: now.UTC()}
	if req.slice <= 0 {
		return Range{}, fmt.Errorf("backfill slice is %s: set phases.parallel_run.backfill.slice to a duration from 1m to 24h", req.slice)
	}
	from, err := plans.ParseTime(req.fromExpr, now)
	if err != nil {
		return Range{}, fmt.Errorf("backfill from: %w", err)
	}
	r.From = from.UTC()
	switch {
	case req.toExpr != "":
		to, err := plans.ParseTime(req.toExpr, now)
		if err != nil {
			return Range{}, fmt.Errorf("backfill to: %w", err)
		}
		r.To, r.ToSource = to.UTC(), toFromExpression
	case st.Phase == phases.ParallelRun && st.Entered && !st.EnteredAt.IsZero():
		r.To, r.ToSource = st.EnteredAt.UTC(), toFromParallelRun
	default:
		r.To, r.ToSource = now.UTC(), toFromFirstRun
	}
	if !r.From.Before(r.To) {
		return Range{}, fmt.Errorf("backfill range is empty: from %s (%q) is not before to %s (%s): move from earlier with --from or phases.parallel_run.backfill.from",
			r.From.Format(time.RFC3339), req.fromExpr, r.To.Format(time.RFC3339), r.describeTo())
	}
	return r, nil
}

// matches reports whether req requests the range r pinned.
func (r Range) matches(req rangeRequest) bool {
	return r.FromExpr == req.fromExpr && r.ToExpr == req.toExpr && r.Slice == req.slice && r.Shards == req.shards
}

// changedError explains why a run that requests another range than the
// pinned one cannot go on.
func (r Range) changedError(req rangeRequest) error {
	var diffs []string
	if r.FromExpr != req.fromExpr {
		diffs = append(diffs, fmt.Sprintf("from %q (pinned %q)", req.fromExpr, r.FromExpr))
	}
	if r.ToExpr != req.toExpr {
		diffs = append(diffs, fmt.Sprintf("to %q (pinned %q)", req.toExpr, r.ToExpr))
	}
	if r.Slice != req.slice {
		diffs = append(diffs, fmt.Sprintf("slice %s (pinned %s)", plans.Duration{Duration: req.slice}, plans.Duration{Duration: r.Slice}))
	}
	if r.Shards != req.shards {
		diffs = append(diffs, fmt.Sprintf("%d shards (pinned %d)", req.shards, r.Shards))
	}
	return fmt.Errorf("the plan state pins a backfill from %s to %s in slices of %s over %d shards, pinned at %s, but this run asks for %s. "+
		"Changing them would write some slices twice, or into Loki streams out of time order. "+
		"Run with the pinned settings (%s), or start another backfill with its own --state",
		r.From.Format(time.RFC3339Nano), r.To.Format(time.RFC3339Nano), plans.Duration{Duration: r.Slice}, r.Shards,
		r.PinnedAt.Format(time.RFC3339), strings.Join(diffs, ", "), r.flags())
}

// flags returns the command-line flags that repeat the pinned request.
func (r Range) flags() string {
	parts := []string{"--from " + r.FromExpr}
	if r.ToExpr != "" {
		parts = append(parts, "--to "+r.ToExpr)
	}
	parts = append(parts, fmt.Sprintf("--shard I/%d", r.Shards))
	return strings.Join(parts, " ")
}

func (r Range) describeTo() string {
	switch r.ToSource {
	case toFromParallelRun:
		return "the time parallel_run was entered"
	case toFromFirstRun:
		return "now"
	}
	return fmt.Sprintf("%q", r.ToExpr)
}

// window is one time slice [From, To).
type window struct {
	From, To time.Time
}

// slices cuts the range into slices of r.Slice from r.From. The last slice
// ends at r.To and may be shorter.
func (r Range) slices() []window {
	var out []window
	for start := r.From; start.Before(r.To); start = start.Add(r.Slice) {
		end := start.Add(r.Slice)
		if end.After(r.To) {
			end = r.To
		}
		out = append(out, window{From: start, To: end})
	}
	return out
}
