package phases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Parity verdicts as recorded windows carry them, the same words as the
// parity report's.
const (
	ParityPass         = "PASS"
	ParityFail         = "FAIL"
	ParityInconclusive = "INCONCLUSIVE"
)

// ParityWindowPrefix starts the state artifact key of every recorded
// parity window; the rest of the key is the window's start in RFC 3339,
// UTC.
const ParityWindowPrefix = "parity.window."

// KindParityWindow is the journal kind of a recorded parity window.
const KindParityWindow = "parity_window"

// ParityWindow is the recorded result of one parity window: what
// `migrate parity PLAN --record` stores and what the parallel_run and
// cutover gates count.
type ParityWindow struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Verdict string    `json:"verdict"`
	// Checks summarises each check of the report.
	Checks     []ParityCheck `json:"checks"`
	RecordedAt time.Time     `json:"recorded_at"`
	Actor      string        `json:"actor,omitempty"`
}

// ParityCheck is one check of a recorded window.
type ParityCheck struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Summary string `json:"summary"`
	Reason  string `json:"reason,omitempty"`
}

// ParityWindowKey is the artifact key of the window that starts at from.
func ParityWindowKey(from time.Time) string {
	return ParityWindowPrefix + from.UTC().Format(time.RFC3339)
}

// String names the window and its verdict, as gate evidence lists it.
func (w ParityWindow) String() string {
	return fmt.Sprintf("%s/%s %s", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339), w.Verdict)
}

// ArtifactLister is a Store that lists artifacts by key prefix. The gates
// that count parity windows need it; SQLiteStore implements it.
type ArtifactLister interface {
	// ArtifactsWithPrefix returns every artifact whose key starts with
	// prefix, by key.
	ArtifactsWithPrefix(ctx context.Context, prefix string) (map[string][]byte, error)
}

// ArtifactsWithPrefix returns every artifact whose key starts with prefix.
func (s *SQLiteStore) ArtifactsWithPrefix(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM artifacts WHERE substr(key, 1, ?) = ? ORDER BY key`, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var (
			key   string
			value []byte
		)
		if err := rows.Scan(&key, &value); err != nil {
			return nil, err
		}
		out[key] = value
	}
	return out, rows.Err()
}

var _ ArtifactLister = (*SQLiteStore)(nil)

// RecordParityWindow stores a window's result in the plan state, replacing
// an earlier result of the same window, and journals it. It does not take
// the plan lock: a scheduler records windows while an apply may run.
func RecordParityWindow(ctx context.Context, s Store, w ParityWindow) error {
	if !w.To.After(w.From) {
		return fmt.Errorf("parity window %s to %s is empty: the end must be after the start", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339))
	}
	if !w.RecordedAt.IsZero() && w.To.After(w.RecordedAt) {
		return fmt.Errorf("parity window %s to %s has not ended yet (recorded at %s): only a window that is over can be recorded",
			w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339), w.RecordedAt.UTC().Format(time.RFC3339))
	}
	switch w.Verdict {
	case ParityPass, ParityFail, ParityInconclusive:
	default:
		return fmt.Errorf("parity window verdict %q: use %s, %s or %s", w.Verdict, ParityPass, ParityFail, ParityInconclusive)
	}

	w.From, w.To = w.From.UTC(), w.To.UTC()
	if w.RecordedAt.IsZero() {
		w.RecordedAt = time.Now().UTC()
	}
	data, err := json.Marshal(w)
	if err != nil {
		return err
	}
	st, err := s.State(ctx)
	if err != nil {
		return fmt.Errorf("reading the plan state: %w", err)
	}

	key := ParityWindowKey(w.From)
	if err := s.PutArtifact(ctx, key, st.Phase, st.Generation, data); err != nil {
		return fmt.Errorf("storing parity window %s: %w", key, err)
	}

	checks := map[string]string{}
	for _, c := range w.Checks {
		checks[c.Name] = c.Verdict
	}
	return s.Append(ctx, Entry{
		Actor: w.Actor, Kind: KindParityWindow, Phase: st.Phase, Generation: st.Generation, Status: w.Verdict,
		Message: "parity window " + w.String(),
		Data:    map[string]any{"key": key, "from": w.From.Format(time.RFC3339), "to": w.To.Format(time.RFC3339), "verdict": w.Verdict, "checks": checks},
	})
}

// errCannotList is the reason a gate gives when the store cannot list
// parity windows.
var errCannotList = errors.New("this state store cannot list artifacts, so parity windows cannot be counted")

// ParityWindows returns the recorded windows, oldest first.
func ParityWindows(ctx context.Context, s Store) ([]ParityWindow, error) {
	lister, ok := s.(ArtifactLister)
	if !ok {
		return nil, errCannotList
	}
	raw, err := lister.ArtifactsWithPrefix(ctx, ParityWindowPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing parity windows: %w", err)
	}
	out := make([]ParityWindow, 0, len(raw))
	for key, data := range raw {
		var w ParityWindow
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("decoding parity window %s: %w", key, err)
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b ParityWindow) int { return a.From.Compare(b.From) })
	return out, nil
}

// passRun is the result of counting the newest contiguous passing windows.
type passRun struct {
	// Windows are the passing windows counted, oldest first.
	Windows []ParityWindow
	// Broken names what ended the run (a gap, a failed or inconclusive
	// window, a stale newest window), or is empty when the run reached
	// the number needed.
	Broken string
	// Inconclusive is set when an INCONCLUSIVE window ended the run.
	Inconclusive bool
	// Ignored counts windows whose length is not the plan's window.
	Ignored int
}

// countPasses walks back from the newest window of length size that starts
// at or after since. It counts PASS windows until it has need of them, or
// a window that did not pass, a gap between two windows, or the start of
// the windows ends the run. The newest window must have ended less than
// two window lengths before now: a missing newest window is a gap too.
func countPasses(windows []ParityWindow, size time.Duration, need int, since, now time.Time) passRun {
	var run passRun
	var eligible []ParityWindow
	for _, w := range windows {
		if w.From.Before(since) {
			continue
		}
		// A window that had not ended when it was recorded, or that ends
		// in the future, proves nothing about the traffic it names.
		if w.To.Sub(w.From) != size || w.To.After(now) || (!w.RecordedAt.IsZero() && w.To.After(w.RecordedAt)) {
			run.Ignored++
			continue
		}
		eligible = append(eligible, w)
	}
	if len(eligible) == 0 {
		run.Broken = fmt.Sprintf("no parity window of %s has been recorded since %s", size, since.UTC().Format(time.RFC3339))
		return run
	}
	newest := eligible[len(eligible)-1]
	if now.Sub(newest.To) >= 2*size {
		run.Broken = fmt.Sprintf("the newest parity window ended at %s, more than two windows before now (%s): a window is missing; check that the scheduler runs migrate parity PLAN --record every %s",
			newest.To.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), size)
		return run
	}
	next := time.Time{}
	for i := len(eligible) - 1; i >= 0 && len(run.Windows) < need; i-- {
		w := eligible[i]
		if !next.IsZero() && !w.To.Equal(next) {
			run.Broken = fmt.Sprintf("no window was recorded from %s to %s", w.To.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339))
			break
		}
		if w.Verdict != ParityPass {
			run.Broken = "window " + w.String() + " did not pass"
			run.Inconclusive = w.Verdict != ParityFail
			break
		}
		run.Windows = append(run.Windows, w)
		next = w.From
	}
	slices.Reverse(run.Windows)
	if len(run.Windows) < need && run.Broken == "" {
		run.Broken = fmt.Sprintf("only %d windows have been recorded since %s", len(run.Windows), since.UTC().Format(time.RFC3339))
	}
	return run
}

// windowEvidence lists the windows counted, for gate evidence.
func windowEvidence(run passRun) []string {
	out := make([]string, len(run.Windows))
	for i, w := range run.Windows {
		out[i] = w.String()
	}
	return out
}

// parityWindows is the parallel_run exit gate: min_duration has passed
// since the phase was entered, and the newest consecutive_passes parity
// windows of the phase's window length passed with no gap between them.
func parityWindows(ctx context.Context, r *Run) GateResult {
	cfg := r.Plan.Phases.ParallelRun
	need := max(cfg.Parity.ConsecutivePasses, 1)
	size := cfg.Parity.Window.Duration
	st, err := r.Store.State(ctx)
	if err != nil {
		return inconclusive("reading the plan state: "+err.Error(), nil)
	}
	now := r.Now()
	elapsed := now.Sub(st.EnteredAt)
	evidence := map[string]any{
		"entered_at":         st.EnteredAt.UTC().Format(time.RFC3339),
		"elapsed":            elapsed.Round(time.Second).String(),
		"min_duration":       cfg.MinDuration.String(),
		"window":             size.String(),
		"consecutive_passes": need,
		"passing_windows":    0,
	}
	windows, err := ParityWindows(ctx, r.Store)
	if err != nil {
		return inconclusive("reading the recorded parity windows: "+err.Error(), evidence)
	}
	run := countPasses(windows, size, need, st.EnteredAt, now)
	evidence["passing_windows"] = len(run.Windows)
	evidence["windows"] = windowEvidence(run)
	if run.Broken != "" {
		evidence["broken_by"] = run.Broken
	}
	if run.Ignored > 0 {
		evidence["ignored_windows"] = fmt.Sprintf("%d windows not %s long are not counted", run.Ignored, size)
	}
	if elapsed < cfg.MinDuration.Duration {
		return fail(fmt.Sprintf("the parallel run has lasted %s of its min_duration %s (%d of %d consecutive passing parity windows so far)",
			elapsed.Round(time.Second), cfg.MinDuration, len(run.Windows), need), evidence)
	}
	if len(run.Windows) < need {
		msg := fmt.Sprintf("%d of %d consecutive passing parity windows: %s; record each window with migrate parity PLAN --record",
			len(run.Windows), need, run.Broken)
		if run.Inconclusive {
			return inconclusive(msg, evidence)
		}
		return fail(msg, evidence)
	}
	return pass(fmt.Sprintf("%d consecutive parity windows passed, from %s to %s, and the parallel run has lasted %s",
		need, run.Windows[0].From.UTC().Format(time.RFC3339), run.Windows[len(run.Windows)-1].To.UTC().Format(time.RFC3339),
		elapsed.Round(time.Second)), evidence)
}

// soakWindows is how many windows of size cover the soak.
func soakWindows(soak, size time.Duration) int {
	if size <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(float64(soak)/float64(size))))
}

// cutoverSoaked is the cutover exit gate: the soak has passed since the
// phase was entered, and the newest ceil(soak/window) parity windows,
// all recorded since then, passed with no gap.
func cutoverSoaked(ctx context.Context, r *Run) GateResult {
	soak := r.Plan.Phases.Cutover.Soak.Duration
	size := r.Plan.Phases.ParallelRun.Parity.Window.Duration
	st, err := r.Store.State(ctx)
	if err != nil {
		return inconclusive("reading the plan state: "+err.Error(), nil)
	}
	now := r.Now()
	elapsed := now.Sub(st.EnteredAt)
	evidence := map[string]any{
		"entered_at": st.EnteredAt.UTC().Format(time.RFC3339),
		"elapsed":    elapsed.Round(time.Second).String(),
		"soak":       soak.String(),
	}
	if soak <= 0 {
		return pass("the plan sets no soak (phases.cutover.soak is 0)", evidence)
	}
	need := soakWindows(soak, size)
	evidence["window"], evidence["windows_needed"] = size.String(), need
	windows, err := ParityWindows(ctx, r.Store)
	if err != nil {
		return inconclusive("reading the recorded parity windows: "+err.Error(), evidence)
	}
	run := countPasses(windows, size, need, st.EnteredAt, now)
	evidence["passing_windows"] = len(run.Windows)
	evidence["windows"] = windowEvidence(run)
	if run.Broken != "" {
		evidence["broken_by"] = run.Broken
	}
	if elapsed < soak {
		return fail(fmt.Sprintf("cutover has soaked %s of %s (%d of %d passing parity windows so far)",
			elapsed.Round(time.Second), soak, len(run.Windows), need), evidence)
	}
	if len(run.Windows) < need {
		msg := fmt.Sprintf("%d of %d consecutive passing parity windows since cutover: %s; record each window with migrate parity PLAN --record",
			len(run.Windows), need, run.Broken)
		if run.Inconclusive {
			return inconclusive(msg, evidence)
		}
		return fail(msg, evidence)
	}
	return pass(fmt.Sprintf("cutover soaked %s with %d consecutive passing parity windows", elapsed.Round(time.Second), need), evidence)
}

// cutoverSoakPassed is the decommission entry gate: the cutover that led
// here passed its soak gate, or a person overrode that gate with
// migrate plan advance --force and a reason.
func cutoverSoakPassed(ctx context.Context, r *Run) GateResult {
	gen := r.Generation - 1
	gates, err := r.Store.Gates(ctx, Cutover, gen)
	if err != nil {
		return inconclusive("reading the cutover gates: "+err.Error(), nil)
	}
	for _, g := range gates {
		if g.Gate == gateSoak && g.Kind == "exit" && g.Status == GatePass {
			return pass("cutover passed its soak gate: "+g.Reason, map[string]any{"cutover_generation": gen, "at": g.At.UTC().Format(time.RFC3339)})
		}
	}
	journal, err := r.Store.Journal(ctx)
	if err != nil {
		return inconclusive("reading the journal: "+err.Error(), nil)
	}
	for i := len(journal) - 1; i >= 0; i-- {
		e := journal[i]
		if e.Kind == KindOverride && e.Phase == Cutover && e.Generation == gen {
			return pass(fmt.Sprintf("%s overrode the cutover gates: %s", e.Actor, e.Reason),
				map[string]any{"cutover_generation": gen, "override": e.Message, "actor": e.Actor, "reason": e.Reason})
		}
	}
	return fail("the cutover that led here did not pass its soak gate; run migrate plan apply during cutover until it does, or override with migrate plan advance --force --reason TEXT",
		map[string]any{"cutover_generation": gen})
}

// gateSoak is the name of the cutover exit gate.
const gateSoak = "soak"

// trimList joins at most n names, saying how many more there are.
func trimList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
