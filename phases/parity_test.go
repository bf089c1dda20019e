package phases

import (
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// t0 is a window boundary; the tests' parallel run starts there.
var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// windowSpec is a stored window: its start in hours after t0, its length
// in hours and its verdict.
type windowSpec struct {
	start, hours int
	verdict      string
}

// passes returns n passing one-hour windows starting at hour first.
func passes(first, n int) []windowSpec {
	out := make([]windowSpec, n)
	for i := range out {
		out[i] = windowSpec{first + i, 1, ParityPass}
	}
	return out
}

// storeAt opens a store at phase p, entered at t0, with the windows
// recorded.
func storeAt(t *testing.T, p Phase, windows ...windowSpec) *SQLiteStore {
	t.Helper()
	store := openTestStore(t)
	st, err := store.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.Phase, st.Entered, st.EnteredAt, st.Generation = p, true, t0, 4
	if err := store.SetState(t.Context(), st, Entry{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range windows {
		from := t0.Add(time.Duration(w.start) * time.Hour)
		err := RecordParityWindow(t.Context(), store, ParityWindow{
			From: from, To: from.Add(time.Duration(w.hours) * time.Hour), Verdict: w.verdict,
			Checks: []ParityCheck{{Name: "log_completeness", Verdict: w.verdict, Summary: "stored by the test"}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func parityPlan(t *testing.T, minDuration time.Duration, need int) *plans.Plan {
	p := testPlan(t)
	p.Phases.ParallelRun.MinDuration = plans.Duration{Duration: minDuration}
	p.Phases.ParallelRun.Parity.Window = plans.Duration{Duration: time.Hour}
	p.Phases.ParallelRun.Parity.ConsecutivePasses = need
	return p
}

func TestParallelRunGate(t *testing.T) {
	tests := []struct {
		name    string
		windows []windowSpec
		// now is hours after t0.
		now         float64
		minDuration time.Duration
		want        GateStatus
		counted     int
		reason      string
	}{
		{name: "contiguous passes open it", windows: passes(0, 30), now: 30.5, minDuration: 24 * time.Hour, want: GatePass, counted: 24},
		{name: "exactly enough", windows: passes(6, 24), now: 30.1, minDuration: 30 * time.Hour, want: GatePass, counted: 24},
		{
			name: "a gap closes it", windows: append(passes(0, 10), passes(11, 20)...), now: 31.5, minDuration: 24 * time.Hour,
			want: GateFail, counted: 20, reason: "no window was recorded from 2026-03-02T10:00:00Z to 2026-03-02T11:00:00Z",
		},
		{
			name:    "an inconclusive window closes it",
			windows: append(append(passes(0, 10), windowSpec{10, 1, ParityInconclusive}), passes(11, 20)...), now: 31.5, minDuration: 24 * time.Hour,
			want: GateInconclusive, counted: 20, reason: "INCONCLUSIVE did not pass",
		},
		{
			name:    "a failed window closes it",
			windows: append(passes(0, 29), windowSpec{29, 1, ParityFail}), now: 30.5, minDuration: 24 * time.Hour,
			want: GateFail, counted: 0, reason: "FAIL did not pass",
		},
		{
			name: "not enough duration closes it", windows: passes(0, 30), now: 30.5, minDuration: 336 * time.Hour,
			want: GateFail, counted: 24, reason: "of its min_duration 336h",
		},
		{
			name: "a missing newest window closes it", windows: passes(0, 30), now: 32.5, minDuration: 24 * time.Hour,
			want: GateFail, counted: 0, reason: "more than two windows before now",
		},
		{
			name: "windows before the phase do not count", windows: passes(-10, 30), now: 20.5, minDuration: 0,
			want: GateFail, counted: 20, reason: "only 20 windows have been recorded since 2026-03-02T00:00:00Z",
		},
		{
			name: "windows of another length are ignored", windows: append(passes(0, 30), windowSpec{30, 2, ParityFail}), now: 30.5,
			minDuration: 24 * time.Hour, want: GatePass, counted: 24,
		},
		{name: "no windows", now: 400, minDuration: 24 * time.Hour, want: GateFail, reason: "no parity window of 1h0m0s has been recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storeAt(t, ParallelRun, tt.windows...)
			now := t0.Add(time.Duration(tt.now * float64(time.Hour)))
			r := &Run{Plan: parityPlan(t, tt.minDuration, 24), Store: store, Phase: ParallelRun, Generation: 4, Now: func() time.Time { return now }}
			res := parityWindows(t.Context(), r)
			if res.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Reason, tt.want)
			}
			if !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", res.Reason, tt.reason)
			}
			if res.Evidence["passing_windows"] != tt.counted {
				t.Errorf("passing_windows %v, want %d", res.Evidence["passing_windows"], tt.counted)
			}
			listed, _ := res.Evidence["windows"].([]string)
			if len(listed) != tt.counted {
				t.Errorf("evidence lists %d windows, want %d", len(listed), tt.counted)
			}
			// The windows counted are the newest, oldest first, adjacent.
			for i := 1; i < len(listed); i++ {
				prevTo := strings.Fields(strings.Split(listed[i-1], "/")[1])[0]
				if from := strings.Split(listed[i], "/")[0]; from != prevTo {
					t.Errorf("window %d starts at %s, the one before ends at %s", i, from, prevTo)
				}
			}
		})
	}
}

func TestRecordParityWindow(t *testing.T) {
	store := storeAt(t, ParallelRun)
	w := ParityWindow{From: t0, To: t0.Add(time.Hour), Verdict: ParityFail, Actor: "cron"}
	if err := RecordParityWindow(t.Context(), store, w); err != nil {
		t.Fatal(err)
	}
	// A second run of the same window replaces the first.
	w.Verdict = ParityPass
	if err := RecordParityWindow(t.Context(), store, w); err != nil {
		t.Fatal(err)
	}
	got, err := ParityWindows(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Verdict != ParityPass || !got[0].From.Equal(t0) {
		t.Fatalf("windows %+v, want one PASS window at %s", got, t0)
	}
	if _, ok, _ := store.Artifact(t.Context(), "parity.window.2026-03-02T00:00:00Z"); !ok {
		t.Error("the window is not stored under parity.window.<from RFC 3339>")
	}
	journal, _ := store.Journal(t.Context())
	n := 0
	for _, e := range journal {
		if e.Kind == KindParityWindow {
			n++
			if e.Actor != "cron" || e.Data["key"] != "parity.window.2026-03-02T00:00:00Z" {
				t.Errorf("journal entry %+v", e)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d parity window entries in the journal, want 2", n)
	}
	for _, bad := range []ParityWindow{
		{From: t0, To: t0, Verdict: ParityPass},
		{From: t0, To: t0.Add(time.Hour), Verdict: "OK"},
	} {
		if err := RecordParityWindow(t.Context(), store, bad); err == nil {
			t.Errorf("window %+v was recorded", bad)
		}
	}
}

func TestCutoverSoakGate(t *testing.T) {
	tests := []struct {
		name    string
		soak    time.Duration
		windows []windowSpec
		now     float64
		want    GateStatus
		reason  string
	}{
		{name: "no soak", soak: 0, now: 0.1, want: GatePass},
		{name: "soak with passing windows", soak: 24 * time.Hour, windows: passes(0, 25), now: 25.2, want: GatePass},
		{name: "soak not over", soak: 168 * time.Hour, windows: passes(0, 25), now: 25.2, want: GateFail, reason: "soaked 25h12m0s of 168h0m0s"},
		{
			name: "a failed window during the soak", soak: 24 * time.Hour,
			windows: append(append(passes(0, 12), windowSpec{12, 1, ParityFail}), passes(13, 12)...), now: 25.2, want: GateFail, reason: "12 of 24",
		},
		{name: "a window from before cutover does not count", soak: 3 * time.Hour, windows: passes(-1, 3), now: 3.2, want: GateFail, reason: "only 2 windows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storeAt(t, Cutover, tt.windows...)
			p := parityPlan(t, 0, 24)
			p.Phases.Cutover.Soak = plans.Duration{Duration: tt.soak}
			now := t0.Add(time.Duration(tt.now * float64(time.Hour)))
			r := &Run{Plan: p, Store: store, Phase: Cutover, Generation: 4, Now: func() time.Time { return now }}
			res := cutoverSoaked(t.Context(), r)
			if res.Status != tt.want || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("status %s (%s), want %s with %q", res.Status, res.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestDecommissionEntryGate(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *SQLiteStore)
		want  GateStatus
	}{
		{name: "nothing recorded", setup: func(*testing.T, *SQLiteStore) {}, want: GateFail},
		{name: "soak passed", want: GatePass, setup: func(t *testing.T, s *SQLiteStore) {
			if err := s.RecordGate(t.Context(), GateResult{Phase: Cutover, Generation: 4, Gate: gateSoak, Kind: "exit", Status: GatePass, Reason: "soaked"}, Entry{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "soak of an earlier cutover", want: GateFail, setup: func(t *testing.T, s *SQLiteStore) {
			if err := s.RecordGate(t.Context(), GateResult{Phase: Cutover, Generation: 2, Gate: gateSoak, Kind: "exit", Status: GatePass}, Entry{}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "overridden", want: GatePass, setup: func(t *testing.T, s *SQLiteStore) {
			if err := s.Append(t.Context(), Entry{Kind: KindOverride, Phase: Cutover, Generation: 4, Actor: "alice", Reason: "soaked by hand", Message: "advance overrode"}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storeAt(t, Decommission)
			tt.setup(t, store)
			r := &Run{Plan: testPlan(t), Store: store, Phase: Decommission, Generation: 5, Now: time.Now}
			if res := cutoverSoakPassed(t.Context(), r); res.Status != tt.want {
				t.Errorf("status %s (%s), want %s", res.Status, res.Reason, tt.want)
			}
		})
	}
}

func TestFutureWindowsNotCounted(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ws []ParityWindow
	for i := range 3 {
		f := now.Add(time.Duration(i) * time.Hour)
		ws = append(ws, ParityWindow{From: f, To: f.Add(time.Hour), Verdict: ParityPass, RecordedAt: now})
	}
	if run := countPasses(ws, time.Hour, 3, now.Add(-2*time.Hour), now); len(run.Windows) != 0 {
		t.Errorf("%d future windows counted as passes", len(run.Windows))
	}
	err := RecordParityWindow(t.Context(), openTestStore(t), ws[0])
	if err == nil {
		t.Error("a window that had not ended was recorded")
	}
}
