package parity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mermaidResult is check.mjs's verdict on one diagram.
type mermaidResult struct {
	OK    bool   `json:"ok"`
	Type  string `json:"type"`
	Error string `json:"error"`
}

// mermaidRoot finds the repository root, the folder with go.mod, above the
// test's working directory.
func mermaidRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("finding the repository root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("finding the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// mermaidCheck parses every diagram with Mermaid's own parser through
// tools/mermaid/check.mjs and returns one result per diagram. When node or
// the npm packages are missing it skips the test, or fails it when the CI
// environment variable is set, so that CI cannot pass without the check.
func mermaidCheck(t testing.TB, diagrams []string) []mermaidResult {
	t.Helper()
	root := mermaidRoot(t)
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format+"; run make test, which installs it", args...)
		}
		t.Skipf(format+"; run make test to install it and check the Mermaid charts", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("the Mermaid check needs Node.js 20.19 or newer: %v", err)
	}
	installed := filepath.Join(root, "tools", "mermaid", "node_modules", "mermaid", "package.json")
	if _, err := os.Stat(installed); err != nil {
		unavailable("the Mermaid check needs tools/mermaid/node_modules: %v", err)
	}

	input, err := json.Marshal(diagrams)
	if err != nil {
		t.Fatalf("encoding %d diagrams for check.mjs: %v", len(diagrams), err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("tools", "mermaid", "check.mjs"))
	cmd.Dir = root
	cmd.Stdin = bytes.NewReader(input)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("running node tools/mermaid/check.mjs: %v; stderr: %s", err, strings.TrimSpace(stderr.String()))
	}
	var results []mermaidResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("decoding the output of check.mjs %q: %v", stdout.String(), err)
	}
	if len(results) != len(diagrams) {
		t.Fatalf("check.mjs returned %d results for %d diagrams", len(results), len(diagrams))
	}
	return results
}

// mermaidRequireValid fails t for every diagram that Mermaid rejects.
func mermaidRequireValid(t testing.TB, diagrams []string) {
	t.Helper()
	var problems []error
	for i, r := range mermaidCheck(t, diagrams) {
		if !r.OK {
			problems = append(problems, fmt.Errorf("Mermaid rejects diagram %q: %s", diagrams[i], r.Error))
		}
	}
	if err := errors.Join(problems...); err != nil {
		t.Fatalf("%d of %d Mermaid diagrams do not parse:\n%v", len(problems), len(diagrams), err)
	}
}

// The check must be able to fail: broken diagrams are rejected with
// Mermaid's message, next to a valid one that passes.
func TestMermaidCheckerRejectsBrokenDiagrams(t *testing.T) {
	diagrams := []struct {
		text    string
		ok      bool
		message string
	}{
		{"xychart-beta\n  x-axis [\"a\", \"b\"]\n  y-axis \"count\"\n  line [1, 2]\n", true, ""},
		{"xychart-beta\n  x-axis [\"a\", \"b\"]\n  line [1, 2\n", false, "Parse error"},
		{"xychart-beta\n  title \"say \"hi\"\"\n  line [1]\n", false, "Parse error"},
		{"xychart-beta\n  x-axis [\"\"]\n  line [1]\n", false, "Parse error"},
		{"xychart-beta\n  x-axis [\"a\", \"%%b\"]\n  line [1, 2]\n", false, "Parse error"},
		{"xychart-beta\n  line [1e3]\n", false, "Parse error"},
		{"not a diagram", false, "No diagram type detected"},
	}
	texts := make([]string, len(diagrams))
	for i, d := range diagrams {
		texts[i] = d.text
	}
	results := mermaidCheck(t, texts)
	for i, d := range diagrams {
		r := results[i]
		if r.OK != d.ok {
			t.Errorf("diagram %q: ok = %v, want %v (error %q)", d.text, r.OK, d.ok, r.Error)
		}
		if !strings.Contains(r.Error, d.message) {
			t.Errorf("diagram %q: error %q does not contain %q", d.text, r.Error, d.message)
		}
		if d.ok && r.Type != "xychart" {
			t.Errorf("diagram %q: type %q, want xychart", d.text, r.Type)
		}
	}
}

// Every label the report can write, however hostile, parses once quoted
// by mdMermaidString.
func TestMdMermaidStringParses(t *testing.T) {
	labels := []string{
		"", " ", `"`, `say "hi"`, "%%", "%%%", "a %% b", "%%{init: {}}%%", "`code`", "a\nb", "a\r\nb",
		"[x]", "a, b", "a;b", "#quot;", "<b>&amp;", `\`, "é 日本", "x-axis", "\t", "\x00", reportHostile,
	}
	var diagrams []string
	for _, l := range labels {
		q := mdMermaidString(l)
		diagrams = append(diagrams, "xychart-beta\n  title "+q+"\n  x-axis ["+q+", \"b\"]\n  y-axis "+q+"\n  bar [1.5, 2.0]\n")
	}
	mermaidRequireValid(t, diagrams)
}
