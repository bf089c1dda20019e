package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// timestamps matches RFC 3339 times, which change from run to run.
var timestamps = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)

// attempts matches retry counts, which depend on jittered backoff within
// the deploy timeout.
var attempts = regexp.MustCompile(`after \d+ attempts`)

// TestPlanStatusJSONGolden runs the demo plan to its hold at the deploy gate
// and compares `plan status -o json` with a golden file. The schema is
// documented in docs/plan-status.md; a change here must change it too.
func TestPlanStatusJSONGolden(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "demo.yaml")
	body, err := os.ReadFile("../../testdata/plans/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../testdata")
	body = bytes.ReplaceAll(body, []byte("../kibana"), []byte(filepath.Join(abs, "kibana")))
	body = bytes.ReplaceAll(body, []byte("../grafana"), []byte(filepath.Join(abs, "grafana")))
	body = bytes.ReplaceAll(body, []byte("../../out/demo"), []byte(filepath.Join(dir, "out")))
	if err := os.WriteFile(plan, body, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "demo.state.db")
	code, _, errOut := runCLI(t, "", "plan", "apply", plan, "--state", state, "--actor", "golden")
	if code != exitHeld {
		t.Fatalf("apply exited %d, want %d: %s", code, exitHeld, errOut)
	}
	code, out, errOut := runCLI(t, "", "plan", "status", plan, "--state", state, "-o", "json")
	if code != exitOK {
		t.Fatalf("status exited %d: %s", code, errOut)
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(out), &parsed); err != nil {
		t.Fatalf("status output is not JSON: %v", err)
	}
	got := timestamps.ReplaceAllString(out, `"TIME"`)
	got = strings.ReplaceAll(got, dir, "DIR")
	got = attempts.ReplaceAllString(got, "after N attempts")
	golden := filepath.Join("testdata", "plan-status.golden.json")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/migrate -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("plan status -o json differs from %s; run with -update and review the diff.\ngot:\n%s", golden, got)
	}
}
