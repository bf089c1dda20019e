package phases

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// testPlan is a plan with hooks; the engine tests give it their own phase
// definitions.
func testPlan(t *testing.T, hooks ...plans.Hook) *plans.Plan {
	t.Helper()
	p := plans.Default()
	p.APIVersion, p.Kind = plans.APIVersion, plans.Kind
	p.Metadata.Name = "test"
	p.File = filepath.Join(t.TempDir(), "plan.yaml")
	p.Sources.Alerts = "alerts"
	p.Targets.Loki = &plans.LokiTarget{URL: "http://127.0.0.1:1"}
	p.Targets.Grafana = &plans.GrafanaTarget{URL: "http://127.0.0.1:1"}
	p.Sources.Elasticsearch = &plans.ElasticsearchSource{URL: "http://127.0.0.1:1"}
	p.Logs = []plans.LogMapping{plans.DefaultLogMapping()}
	p.Hooks = hooks
	return &p
}

func openTestStore(t *testing.T) *SQLiteStore {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "state.db"), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// counter counts step runs by name.
type counter map[string]int

func (c counter) step(name string, err error) Step {
	return Step{Name: name, Run: func(context.Context, *Run) (string, error) {
		c[name]++
		return "ran " + name, err
	}}
}

// holdAt is a phase whose exit gate always fails, to end a test's apply.
func holdAt(p Phase) *Definition {
	status := GateFail
	return &Definition{Phase: p, Exit: gateWith(&status)}
}

func gateWith(status *GateStatus) *Gate {
	return &Gate{Name: "switch", Check: func(context.Context, *Run) GateResult {
		return GateResult{Status: *status, Reason: "the test says " + string(*status)}
	}}
}

func TestApplyRunsPhasesUntilAGateHolds(t *testing.T) {
	runs := counter{}
	held := GateFail
	defs := map[Phase]*Definition{
		Inventory: {Phase: Inventory, Steps: []Step{runs.step("a", nil), runs.step("b", nil)}},
		Translate: {Phase: Translate, Steps: []Step{runs.step("c", nil)}, Exit: gateWith(&held)},
		Deploy:    holdAt(Deploy),
	}
	e := &Engine{Plan: testPlan(t), Store: openTestStore(t), Defs: defs, Actor: "tester"}

	out, err := e.Apply(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Held || out.Phase != Translate || out.Gate.Status != GateFail {
		t.Fatalf("outcome %+v, want held at translate by a failing gate", out)
	}
	// Applying again does not repeat completed steps.
	if _, err := e.Apply(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if runs["a"] != 1 || runs["b"] != 1 || runs["c"] != 1 {
		t.Errorf("step runs %v, want each once", runs)
	}
	held = GatePass
	out, err = e.Apply(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Phase != Deploy {
		t.Errorf("outcome %+v, want past translate, held at deploy", out)
	}
}

func TestInconclusiveGateHolds(t *testing.T) {
	status := GateInconclusive
	defs := map[Phase]*Definition{Inventory: {Phase: Inventory, Exit: gateWith(&status)}}
	e := &Engine{Plan: testPlan(t), Store: openTestStore(t), Defs: defs}
	out, err := e.Apply(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Held || out.Gate.Status != GateInconclusive {
		t.Errorf("outcome %+v, want held by an inconclusive gate", out)
	}
}

func TestFailedStepStopsAndRunsAgain(t *testing.T) {
	runs := counter{}
	boom := errors.New("boom")
	var stepErr error = boom
	defs := map[Phase]*Definition{Inventory: {Phase: Inventory, Steps: []Step{
		{Name: "flaky", Run: func(context.Context, *Run) (string, error) { runs["flaky"]++; return "", stepErr }},
		runs.step("after", nil),
	}}, Translate: holdAt(Translate)}
	store := openTestStore(t)
	e := &Engine{Plan: testPlan(t), Store: store, Defs: defs}
	if _, err := e.Apply(t.Context(), false); !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	if runs["after"] != 0 {
		t.Error("a step after a failed step ran")
	}
	st, _ := e.Status(t.Context())
	if st.Blocking == nil || st.Blocking.Kind != "step" || st.Blocking.Name != "flaky" {
		t.Errorf("blocking %+v, want the failed step", st.Blocking)
	}
	stepErr = nil
	if _, err := e.Apply(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	steps, _ := store.Steps(t.Context(), Inventory, 1)
	if runs["flaky"] != 2 || steps[0].Attempts != 2 || steps[0].Status != StepCompleted {
		t.Errorf("runs %v, checkpoint %+v: want two attempts and completed", runs, steps[0])
	}
}

func TestInterruptedStepIsJournaled(t *testing.T) {
	store := openTestStore(t)
	// A step that started and never finished, as after a crash.
	if _, err := store.BeginStep(t.Context(), Inventory, 1, "slow", Entry{Kind: KindStepStarted, Message: "started"}); err != nil {
		t.Fatal(err)
	}
	runs := counter{}
	defs := map[Phase]*Definition{Inventory: {Phase: Inventory, Steps: []Step{runs.step("slow", nil)}}, Translate: holdAt(Translate)}
	st, _ := store.State(t.Context())
	st.Entered = true
	if err := store.SetState(t.Context(), st, Entry{}); err != nil {
		t.Fatal(err)
	}
	e := &Engine{Plan: testPlan(t), Store: store, Defs: defs}
	if _, err := e.Apply(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if runs["slow"] != 1 {
		t.Errorf("the interrupted step ran %d times, want 1", runs["slow"])
	}
	journal, _ := store.Journal(t.Context())
	if !hasEntry(journal, KindStepInterrupted, "slow") {
		t.Error("the journal does not record the interruption")
	}
}

func TestHooks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "env.txt")
	hooks := []plans.Hook{
		{Phase: "inventory", When: "before", Run: `echo "$MIGRATE_PHASE $MIGRATE_DRY_RUN $MIGRATE_PLAN" > ` + out, Timeout: plans.Duration{Duration: 5 * time.Second}},
		{Phase: "inventory", When: "after", Run: "echo done; exit 3", Timeout: plans.Duration{Duration: 5 * time.Second}},
	}
	store := openTestStore(t)
	p := testPlan(t, hooks...)
	e := &Engine{Plan: p, Store: store, StatePath: "state.db", Defs: map[Phase]*Definition{Inventory: {Phase: Inventory}}}
	_, err := e.Apply(t.Context(), false)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("error %v, want the failing after hook", err)
	}
	data, _ := os.ReadFile(out)
	if got := strings.TrimSpace(string(data)); got != "inventory false "+p.File {
		t.Errorf("hook environment %q", got)
	}
	st, _ := store.State(t.Context())
	if st.Phase != Inventory {
		t.Errorf("phase %s: a failing hook must stop the phase", st.Phase)
	}
	journal, _ := store.Journal(t.Context())
	var found bool
	for _, e := range journal {
		if e.Kind == KindHook && e.Status == "failed" && strings.Contains(e.Data["output"].(string), "done") {
			found = true
		}
	}
	if !found {
		t.Error("the journal lacks the failed hook with its output")
	}
}

func TestHookTimeout(t *testing.T) {
	hooks := []plans.Hook{{Phase: "inventory", When: "before", Run: "sleep 30", Timeout: plans.Duration{Duration: 200 * time.Millisecond}}}
	e := &Engine{Plan: testPlan(t, hooks...), Store: openTestStore(t), Defs: map[Phase]*Definition{Inventory: {Phase: Inventory}}}
	start := time.Now()
	_, err := e.Apply(t.Context(), false)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the hook was not killed at its timeout")
	}
}

func TestDryRunRunsNoHook(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	hooks := []plans.Hook{{Phase: "inventory", When: "before", Run: "touch " + marker, Timeout: plans.Duration{Duration: time.Second}}}
	e := &Engine{Plan: testPlan(t, hooks...), Store: openTestStore(t), Defs: map[Phase]*Definition{Inventory: {Phase: Inventory}, Translate: holdAt(Translate)}}
	out, err := e.Apply(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a dry run ran a hook")
	}
	if len(out.Would) == 0 || !strings.Contains(out.Would[0], "touch") {
		t.Errorf("would %v: the dry run must say it would run the hook", out.Would)
	}
}

func TestAdvanceNeedsGatesOrForce(t *testing.T) {
	status := GateFail
	runs := counter{}
	defs := map[Phase]*Definition{Inventory: {Phase: Inventory, Steps: []Step{runs.step("a", nil)}, Exit: gateWith(&status)}}
	store := openTestStore(t)
	e := &Engine{Plan: testPlan(t), Store: store, Defs: defs, Actor: "alice"}
	if _, err := e.Advance(t.Context(), false, ""); !errors.Is(err, ErrGateHeld) {
		t.Fatalf("error %v, want ErrGateHeld", err)
	}
	if _, err := e.Advance(t.Context(), true, ""); err == nil {
		t.Fatal("--force without a reason was accepted")
	}
	out, err := e.Advance(t.Context(), true, "gate checked by hand")
	if err != nil || out.Phase != Translate {
		t.Fatalf("advance: %+v, %v", out, err)
	}
	journal, _ := store.Journal(t.Context())
	if !hasEntry(journal, KindOverride, "") {
		t.Error("the override is not journaled")
	}
	for _, e := range journal {
		if e.Kind == KindOverride && (e.Reason != "gate checked by hand" || e.Actor != "alice") {
			t.Errorf("override entry %+v lacks the reason or actor", e)
		}
	}
}

func TestRollbackOnlyFromCutover(t *testing.T) {
	store := openTestStore(t)
	e := &Engine{Plan: testPlan(t), Store: store, Defs: map[Phase]*Definition{}}
	if err := e.Rollback(t.Context(), "why"); err == nil {
		t.Fatal("rollback from inventory was accepted")
	}
	st, _ := store.State(t.Context())
	st.Phase, st.GatewayMode = Cutover, "new_primary"
	if err := store.SetState(t.Context(), st, Entry{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Rollback(t.Context(), ""); err == nil {
		t.Fatal("rollback without a reason was accepted")
	}
	if err := e.Rollback(t.Context(), "latency doubled"); err != nil {
		t.Fatal(err)
	}
	st, _ = store.State(t.Context())
	if st.Phase != ParallelRun || st.GatewayMode != "dual" {
		t.Errorf("state %+v, want parallel_run with the gateway in dual", st)
	}
}

func TestTransitionTable(t *testing.T) {
	for i, p := range Order {
		next := Done
		if i+1 < len(Order) {
			next = Order[i+1]
		}
		if !CanTransition(p, next) || Next(p) != next {
			t.Errorf("%s -> %s must be allowed and be Next", p, next)
		}
	}
	if !CanTransition(Cutover, ParallelRun) {
		t.Error("rollback from cutover must be allowed")
	}
	for _, bad := range [][2]Phase{{Inventory, Deploy}, {Decommission, Cutover}, {Translate, Inventory}, {ParallelRun, Translate}} {
		if CanTransition(bad[0], bad[1]) {
			t.Errorf("%s -> %s must not be allowed", bad[0], bad[1])
		}
	}
}

func TestJournalIsAppendOnly(t *testing.T) {
	s := openTestStore(t)
	if _, err := s.db.Exec(`UPDATE journal SET message = 'x'`); err == nil {
		t.Error("a journal entry could be changed")
	}
	if _, err := s.db.Exec(`DELETE FROM journal`); err == nil {
		t.Error("journal entries could be deleted")
	}
}

func TestStoreRefusesAnotherPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenSQLite(t.Context(), path, "first")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(t.Context(), path, "second"); !errors.Is(err, ErrWrongPlan) {
		t.Errorf("error %v, want ErrWrongPlan", err)
	}
}

func TestLock(t *testing.T) {
	s := openTestStore(t)
	host, _ := os.Hostname()
	me := LockInfo{Actor: "a", Host: host, PID: os.Getpid(), Command: "migrate plan apply", Since: time.Now()}
	release, err := s.Lock(t.Context(), me)
	if err != nil {
		t.Fatal(err)
	}
	var locked *LockedError
	if _, err := s.Lock(t.Context(), me); !errors.As(err, &locked) || locked.Holder.PID != os.Getpid() {
		t.Fatalf("second lock: %v, want a LockedError naming this process", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	// A holder on this host whose process is gone is replaced.
	dead := me
	dead.PID = 1 << 22
	if _, err := s.Lock(t.Context(), dead); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(t.Context(), me); err != nil {
		t.Fatalf("a dead holder's lock was not taken over: %v", err)
	}
	journal, _ := s.Journal(t.Context())
	if !hasEntry(journal, KindLock, "") {
		t.Error("taking over a dead holder's lock is not journaled")
	}
}

func TestSchemaVersion(t *testing.T) {
	s := openTestStore(t)
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("user_version %d, %v; want %d", v, err, SchemaVersion)
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
}

func hasEntry(entries []Entry, kind, step string) bool {
	for _, e := range entries {
		if e.Kind == kind && (step == "" || e.Step == step) {
			return true
		}
	}
	return false
}
