package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

func TestParityWindow(t *testing.T) {
	p := plans.Default()
	p.Phases.ParallelRun.Parity.Window = plans.Duration{Duration: time.Hour}
	now := time.Date(2026, 3, 15, 10, 42, 7, 0, time.UTC)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 15, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		flags    parityFlags
		from, to time.Time
		usage    string
	}{
		{name: "default: the last full window", from: at(9, 0), to: at(10, 0)},
		{name: "recorded default", flags: parityFlags{record: true}, from: at(9, 0), to: at(10, 0)},
		{name: "longer window ends at the same boundary", flags: parityFlags{window: "1d"}, from: at(10, 0).Add(-24 * time.Hour), to: at(10, 0)},
		{name: "from and to", flags: parityFlags{from: "2026-03-15T08:30:00Z", to: "now-30m"}, from: at(8, 30), to: now.Add(-30 * time.Minute)},
		{name: "recorded from and to", flags: parityFlags{record: true, from: "now-2h", to: "now-1h"}, from: now.Add(-2 * time.Hour), to: now.Add(-time.Hour)},
		{name: "from without to", flags: parityFlags{from: "now-1h"}, usage: "go together"},
		{name: "window and from", flags: parityFlags{window: "1h", from: "now-1h", to: "now"}, usage: "keep one"},
		{name: "to before from", flags: parityFlags{from: "now", to: "now-1h"}, usage: "is not after"},
		{name: "bad window", flags: parityFlags{window: "5s"}, usage: "invalid --window"},
		{name: "bad time", flags: parityFlags{from: "yesterday", to: "now"}, usage: "--from"},
		{name: "recorded window of another length", flags: parityFlags{record: true, window: "24h"}, usage: "--record stores windows of the plan's parity window (1h0m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := parityWindow(&p, &tt.flags, now)
			if tt.usage != "" {
				if exitCodeOf(err) != exitUsage || !strings.Contains(err.Error(), tt.usage) {
					t.Fatalf("error %v (exit %d), want a usage error with %q", err, exitCodeOf(err), tt.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !w.From.Equal(tt.from) || !w.To.Equal(tt.to) {
				t.Errorf("window %s to %s, want %s to %s", w.From, w.To, tt.from, tt.to)
			}
		})
	}
}

// parityPlan maps logs but names neither Elasticsearch nor Loki, so the
// checks that need them are INCONCLUSIVE without any network access.
const parityPlan = `apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: parity-test}
logs:
  - indices: "filebeat-*"
    labels: {service: service.name}
    line: message
`

func TestParityCommandRecordsWindow(t *testing.T) {
	dir := t.TempDir()
	plan := writePlan(t, dir, parityPlan)
	state := filepath.Join(dir, "state.db")
	out := filepath.Join(dir, "reports", "parity.json")
	before := time.Now()
	code, stdout, stderr := runCLI(t, "", "parity", plan, "--record", "--state", state, "-o", "json", "--out", out)
	if code != exitHeld {
		t.Fatalf("exit %d, want %d: %s", code, exitHeld, stderr)
	}
	if stdout != "" {
		t.Errorf("with --out, standard output has %q", stdout)
	}
	if !strings.Contains(stderr, "is INCONCLUSIVE: log_completeness INCONCLUSIVE") {
		t.Errorf("stderr does not say which checks were inconclusive: %s", stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Schema, Plan, Verdict string
		Window                struct{ From, To time.Time }
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatalf("the report is not JSON: %v", err)
	}
	if report.Schema != "parity/v1" || report.Plan != "parity-test" || report.Verdict != "INCONCLUSIVE" {
		t.Errorf("report %+v", report)
	}
	if report.Window.To.Sub(report.Window.From) != time.Hour || report.Window.To.Minute() != 0 || report.Window.To.After(before) {
		t.Errorf("window %s to %s: want the last full hour", report.Window.From, report.Window.To)
	}

	store, err := phases.OpenSQLite(t.Context(), state, "parity-test")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	windows, err := phases.ParityWindows(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	if len(windows) != 1 || windows[0].Verdict != phases.ParityInconclusive || !windows[0].From.Equal(report.Window.From) || len(windows[0].Checks) != 5 {
		t.Fatalf("recorded windows %+v, want the report's window, INCONCLUSIVE, with its 5 checks", windows)
	}
}

func TestParityCommandUsage(t *testing.T) {
	plan := writePlan(t, t.TempDir(), parityPlan)
	for _, args := range [][]string{
		{"parity", plan, "-o", "xml"},
		{"parity", plan, "--from", "now-1h"},
		{"parity", plan, "--record", "--window", "2h"},
		{"parity"},
	} {
		if code, _, stderr := runCLI(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}

// heldPlan holds at the translate gate: the alert inputs have unsupported
// items and max_unsupported is 0.
func heldPlan(t *testing.T, dir string) string {
	t.Helper()
	inputs, err := filepath.Abs("../../translators/alerts/testdata/inputs")
	if err != nil {
		t.Fatal(err)
	}
	return writePlan(t, dir, `apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: watch-test}
sources:
  alerts: `+inputs+`
phases:
  translate: {max_unsupported: 0, out: out}
`)
}

func TestPlanApplyWatch(t *testing.T) {
	dir := t.TempDir()
	plan := heldPlan(t, dir)
	state := filepath.Join(dir, "state.db")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"plan", "apply", plan, "--state", state, "--watch", "20ms"}, strings.NewReader(""), &out, &errOut)
	}()
	// Wait for three rounds: each evaluates the translate gate once.
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(out.String(), "holds at phase translate") < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	code := <-done
	if code != exitHeld {
		t.Fatalf("exit %d after the signal, want %d (the last round held): %s", code, exitHeld, errOut.String())
	}
	if n := strings.Count(out.String(), "holds at phase translate"); n < 3 {
		t.Errorf("%d rounds, want at least 3:\n%s", n, out.String())
	}
	if !strings.Contains(errOut.String(), "stopped watching") {
		t.Errorf("stderr does not say the watch stopped: %s", errOut.String())
	}
	code, _, stderr := runCLI(t, "", "plan", "status", plan, "--state", state)
	if code != exitOK || strings.Contains(stderr, "locked") {
		t.Errorf("the state is still locked after the watch stopped: %d %s", code, stderr)
	}
}

// lockedBuffer is a buffer that a test reads while a command writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestPlanApplyFlagsUsage(t *testing.T) {
	plan := heldPlan(t, t.TempDir())
	for _, args := range [][]string{
		{"plan", "apply", plan, "--watch", "-1s"},
		{"plan", "apply", plan, "--watch", "1s", "--dry-run"},
		{"plan", "apply", plan, "--confirm", "prod-eu"},
	} {
		if code, _, stderr := runCLI(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}
