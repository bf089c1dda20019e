package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/translators/kibana"
)

// binary is the migrate command built for tests that run it as a child
// process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "migrate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "migrate")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building migrate for the tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bigExport copies the Kibana corpus n times into dir, each copy with its
// object ids made unique, so the translate step takes long enough to be
// interrupted.
func bigExport(t *testing.T, dir string, n int) string {
	t.Helper()
	export := filepath.Join(dir, "export")
	if err := os.MkdirAll(export, 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../../testdata/kibana/*json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, _, _ := kibana.ReadObjects(f, data)
		var ids []string
		for _, o := range objs {
			if len(o.ID) >= 6 {
				ids = append(ids, o.ID)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
		for c := 0; c < n; c++ {
			out := data
			for _, id := range ids {
				out = bytes.ReplaceAll(out, []byte(id), []byte(fmt.Sprintf("%s-c%d", id, c)))
			}
			name := filepath.Join(export, fmt.Sprintf("c%02d-%s", c, filepath.Base(f)))
			if err := os.WriteFile(name, out, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return export
}

func writePlan(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// crashPlan has offline sources, a before hook on translate that takes a
// second, and closed target ports, so apply holds at the deploy gate.
func crashPlan(export, hookLog string) string {
	return fmt.Sprintf(`apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: crash}
sources:
  kibana: {export: %q}
targets:
  loki: {url: "http://127.0.0.1:1"}
phases:
  translate: {max_unsupported: 100000}
  deploy: {timeout: 1s}
hooks:
  - {phase: translate, when: before, run: "sleep 1 && echo ran >> %s", timeout: 1m}
`, export, hookLog)
}

func startApply(t *testing.T, plan, state string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, "plan", "apply", plan, "--state", state, "--actor", "crash-test")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// openState opens the child's state for reading.
func openState(t *testing.T, path string) *phases.SQLiteStore {
	t.Helper()
	s, err := phases.OpenSQLite(t.Context(), path, "crash")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls until cond holds or the process exits.
func waitFor(t *testing.T, cmd *exec.Cmd, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		if cmd.ProcessState != nil {
			t.Fatalf("the apply exited before %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func stepStarted(t *testing.T, s *phases.SQLiteStore, phase phases.Phase, step string) func() bool {
	return func() bool {
		st, err := s.State(context.Background())
		if err != nil || st.Phase != phase {
			return false
		}
		steps, err := s.Steps(context.Background(), phase, st.Generation)
		if err != nil {
			return false
		}
		for _, r := range steps {
			if r.Name == step && r.Status == phases.StepStarted {
				return true
			}
		}
		return false
	}
}

// TestApplySurvivesSIGKILL kills `migrate plan apply` in the middle of steps
// of two phases, restarts it each time, and checks that every step then
// completed exactly once and that each interrupted step ran again from its
// beginning, as the journal shows.
func TestApplySurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes; skipped with -short")
	}
	dir := t.TempDir()
	hookLog := filepath.Join(dir, "hook.log")
	plan := writePlan(t, dir, crashPlan(bigExport(t, dir, 30), hookLog))
	state := filepath.Join(dir, "plan.state.db")

	kills := []struct {
		phase phases.Phase
		step  string
	}{
		{phases.Inventory, "kibana_export"},
		{phases.Translate, "hook.before.1"},
		{phases.Translate, "kibana"},
	}
	var store *phases.SQLiteStore
	for _, k := range kills {
		cmd, _ := startApply(t, plan, state)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		waitFor(t, cmd, "the state file", func() bool { _, err := os.Stat(state); return err == nil })
		if store == nil {
			store = openState(t, state)
		}
		waitFor(t, cmd, k.step+" to start", stepStarted(t, store, k.phase, k.step))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		if !stepStarted(t, store, k.phase, k.step)() {
			t.Fatalf("step %s finished before the kill landed; the test input is too small for this machine", k.step)
		}
	}

	cmd, stderr := startApply(t, plan, state)
	err := cmd.Wait()
	if code := exitCode(err); code != exitHeld {
		t.Fatalf("the last apply exited %d, want %d (held at deploy): %s", code, exitHeld, stderr)
	}

	journal, err := store.Journal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	completed := map[string]int{}
	interrupted := map[string]int{}
	for _, e := range journal {
		key := string(e.Phase) + "." + e.Step
		switch e.Kind {
		case phases.KindStepCompleted:
			completed[key]++
		case phases.KindStepInterrupted:
			interrupted[key]++
		}
	}
	for _, step := range []string{
		"inventory.elasticsearch", "inventory.jaeger", "inventory.kibana_export", "inventory.grafana_dashboards", "inventory.alerts", "inventory.store",
		"translate.hook.before.1", "translate.kibana", "translate.report",
	} {
		if completed[step] != 1 {
			t.Errorf("step %s completed %d times, want exactly once", step, completed[step])
		}
	}
	for _, k := range kills {
		if key := string(k.phase) + "." + k.step; interrupted[key] != 1 {
			t.Errorf("the journal records %d interruptions of %s, want 1", interrupted[key], key)
		}
	}
	for _, k := range kills {
		st, _ := store.State(t.Context())
		_ = st
		gen := 1
		if k.phase == phases.Translate {
			gen = 2
		}
		steps, _ := store.Steps(t.Context(), k.phase, gen)
		for _, r := range steps {
			if r.Name == k.step && (r.Attempts != 2 || r.Status != phases.StepCompleted) {
				t.Errorf("step %s: attempts %d, status %s; want 2 attempts, completed", r.Name, r.Attempts, r.Status)
			}
		}
	}
	// The hook was killed in its sleep, so its effect happened once.
	data, _ := os.ReadFile(hookLog)
	if n := strings.Count(string(data), "ran"); n != 1 {
		t.Errorf("the hook's effect happened %d times, want 1", n)
	}
	dashboards, _ := filepath.Glob(filepath.Join(dir, "migrate-out", "translate", "kibana", "dashboards", "*.json"))
	if len(dashboards) == 0 {
		t.Error("the translate step wrote no dashboards")
	}
}

// TestSingleApplyLock checks that a second apply on the same state fails
// with an error naming the holder, and that the lock of a killed apply is
// taken over.
func TestSingleApplyLock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes; skipped with -short")
	}
	dir := t.TempDir()
	plan := writePlan(t, dir, `apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: crash}
sources: {alerts: alerts}
targets:
  loki: {url: "http://127.0.0.1:1"}
phases:
  deploy: {timeout: 1s}
hooks:
  - {phase: inventory, when: before, run: "sleep 20", timeout: 1m}
`)
	state := filepath.Join(dir, "plan.state.db")
	first, _ := startApply(t, plan, state)
	done := make(chan struct{})
	go func() { first.Wait(); close(done) }()
	t.Cleanup(func() { first.Process.Kill(); <-done })
	waitFor(t, first, "the state file", func() bool { _, err := os.Stat(state); return err == nil })
	store := openState(t, state)
	waitFor(t, first, "the lock", func() bool {
		h, err := store.LockHolder(context.Background())
		return err == nil && h != nil
	})

	second := exec.Command(binary, "plan", "apply", plan, "--state", state)
	var stderr bytes.Buffer
	second.Stderr = &stderr
	err := second.Run()
	if code := exitCode(err); code != exitError {
		t.Errorf("the second apply exited %d, want %d", code, exitError)
	}
	for _, want := range []string{"locked by migrate plan apply", "pid " + strconv.Itoa(first.Process.Pid), "only one apply may run"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the error %q does not say %q", stderr.String(), want)
		}
	}

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	// The killed holder's lock is taken over by the next apply, which then
	// runs the interrupted hook again; it is killed in turn.
	third, _ := startApply(t, plan, state)
	thirdDone := make(chan struct{})
	go func() { third.Wait(); close(thirdDone) }()
	waitFor(t, third, "the lock to be taken over", func() bool {
		h, err := store.LockHolder(context.Background())
		return err == nil && h != nil && h.PID == third.Process.Pid
	})
	third.Process.Kill()
	<-thirdDone
	journal, _ := store.Journal(t.Context())
	var took bool
	for _, e := range journal {
		if e.Kind == phases.KindLock && strings.Contains(e.Message, "pid "+strconv.Itoa(first.Process.Pid)) {
			took = true
		}
	}
	if !took {
		t.Error("the journal does not record taking over the dead holder's lock")
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
