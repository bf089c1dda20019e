package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns its exit code and
// output.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTranslateQueryJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "", "translate", "query", "--from", "kql", "--mapping", "testdata/mapping.yaml", "-o", "json",
		"log.level: error and @timestamp >= now-15m")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	want := map[string]any{
		"query":           `{source="filebeat", level="error"}`,
		"language":        "logql",
		"source_language": "kql",
		"original":        "log.level: error and @timestamp >= now-15m",
		"fidelity":        "exact",
		"reasons":         []any{},
		"range":           map[string]any{"start": "now-15m", "end": "now"},
	}
	for k, v := range want {
		gb, _ := json.Marshal(got[k])
		wb, _ := json.Marshal(v)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s = %s, want %s", k, gb, wb)
		}
	}
	if len(got) != len(want) {
		t.Errorf("output has keys %v, want exactly %v", keys(got), keys(want))
	}
}

func TestTranslateQueryUnsupportedIsNull(t *testing.T) {
	code, out, _ := runCLI(t, "", "translate", "query", "--from", "lucene", "-o", "json", "message:quikc~")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if q, present := got["query"]; !present || q != nil {
		t.Errorf("query = %v (present %v), want null", q, present)
	}
	if got["fidelity"] != "unsupported" {
		t.Errorf("fidelity = %v", got["fidelity"])
	}
	if _, present := got["range"]; present {
		t.Error("range present for a query without time condition")
	}
}

func TestTranslateQueryStdin(t *testing.T) {
	code, out, errOut := runCLI(t, `{"term":{"log.level":"warn"}}`, "translate", "query", "--from", "esdsl", "--mapping", "testdata/mapping.yaml", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if first := strings.SplitN(out, "\n", 2)[0]; first != `{source="filebeat", level="warn"}` {
		t.Errorf("first line %q", first)
	}
}

// TestTranslateQueryHelp checks that the help of translate query states the
// exit statuses and the units of Jaeger's time and duration parameters.
func TestTranslateQueryHelp(t *testing.T) {
	code, out, errOut := runCLI(t, "", "translate", "query", "--help")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	help := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"Exit status: 0 when the query was translated",
		"2 on invalid usage",
		"3 with --strict when the query parses but the result is unsupported",
		"1 on other errors",
		"microseconds since the epoch",
		"minDuration, Go durations such as 1.2s, 500ms or 100us maxDuration (units ns, us or µs, ms, s, m, h)",
		"lookback a whole number and a unit (s, m, h, d or w) such as 1h or 2d",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

// failingReader fails every read, as a closed or broken standard input does.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("input/output error") }

func TestTranslateQueryStdinFailureExits1(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"translate", "query", "--from", "jaeger", "-"}, failingReader{}, &out, &errOut)
	if code != exitError {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitError, errOut.String())
	}
	if !strings.Contains(errOut.String(), "reading the query from standard input") {
		t.Errorf("stderr %q does not name standard input", errOut.String())
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"syntax error", []string{"translate", "query", "--from", "kql", "status:("}, exitUsage, "could not be parsed"},
		{"unknown language", []string{"translate", "query", "--from", "sql", "x"}, exitUsage, "unknown query language"},
		{"no query", []string{"translate", "query", "--from", "kql"}, exitUsage, "expected one QUERY"},
		{"unknown flag", []string{"translate", "query", "--frm", "kql", "x"}, exitUsage, "unknown flag"},
		{"strict unsupported", []string{"translate", "query", "--strict", "--from", "lucene", "a~"}, exitHeld, "unsupported"},
		{"mapping typo", []string{"translate", "query", "--from", "kql", "--mapping", "testdata/typo.yaml", "x"}, exitUsage, `typo.yaml:3:5: logs[0]: unknown key "lables"; did you mean "labels"?`},
		{"mapping missing", []string{"translate", "query", "--from", "kql", "--mapping", "testdata/none.yaml", "x"}, exitUsage, "none.yaml"},
		{"no kibana input", []string{"translate", "kibana", "testdata/none", "--out", "unused"}, exitUsage, "no input could be read"},
		{"kibana without out", []string{"translate", "kibana", "../../testdata/kibana"}, exitUsage, "--out is required"},
		{"bad report name", []string{"translate", "kibana", "../../testdata/kibana", "--out", "x", "--report", "r.txt"}, exitUsage, ".md or .json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.msg) {
				t.Errorf("stderr %q lacks %q", errOut, tc.msg)
			}
		})
	}
}

func TestTranslateKibanaBatch(t *testing.T) {
	out := t.TempDir()
	report := filepath.Join(out, "report.json")
	code, _, errOut := runCLI(t, "", "translate", "kibana", "../../testdata/kibana", "--out", out, "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Summary struct {
			Dashboards int `json:"dashboards"`
		} `json:"summary"`
		Items []struct {
			Output string `json:"output"`
		} `json:"items"`
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if r.Summary.Dashboards == 0 || len(files) != r.Summary.Dashboards+1 {
		t.Errorf("report says %d dashboards, folder has %d JSON files (with the report)", r.Summary.Dashboards, len(files))
	}
	for _, it := range r.Items {
		if it.Output != "" {
			if _, err := os.Stat(filepath.Join(out, it.Output)); err != nil {
				t.Errorf("report names %s, which was not written", it.Output)
			}
		}
	}

	// --strict exits 3 because the corpus has Vega and map panels.
	code, _, _ = runCLI(t, "", "translate", "kibana", "../../testdata/kibana", "--out", t.TempDir(), "--strict")
	if code != exitHeld {
		t.Errorf("--strict exit %d, want %d", code, exitHeld)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMalformedPlansExit2(t *testing.T) {
	cases := []struct {
		file string
		want string // file:line:column and the message
	}{
		{"unknown-key.yaml", `unknown-key.yaml:5:12: sources.kibana: unknown key "exprot"; did you mean "export"?`},
		{"wrong-type.yaml", `wrong-type.yaml:6:32: phases.translate.max_unsupported:`},
		{"bad-duration.yaml", `bad-duration.yaml:7:19: phases.parallel_run.min_duration:`},
		{"too-many-labels.yaml", `too-many-labels.yaml:8:13: logs[0].labels: 16 labels per stream`},
		{"missing-name.yaml", `missing-name.yaml:3:11: metadata.name:`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", "plan", "validate", filepath.Join("testdata", "bad", tc.file))
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
		})
	}
}

func TestTranslateKibanaTakesLokiUIDFromPlan(t *testing.T) {
	out := t.TempDir()
	code, _, errOut := runCLI(t, "", "translate", "kibana", "../../testdata/kibana/beats-system-syslog-search-ecs.json", "--out", out, "--mapping", "testdata/plan-uid.yaml")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d dashboards written", len(files))
	}
	data, _ := os.ReadFile(files[0])
	if !strings.Contains(string(data), `"uid": "prod-loki"`) {
		t.Error("the dashboard does not use targets.grafana.loki_uid of the plan")
	}
	// --loki-uid wins over the plan.
	code, _, _ = runCLI(t, "", "translate", "kibana", "../../testdata/kibana/beats-system-syslog-search-ecs.json", "--out", out, "--mapping", "testdata/plan-uid.yaml", "--loki-uid", "other")
	data, _ = os.ReadFile(files[0])
	if code != exitOK || !strings.Contains(string(data), `"uid": "other"`) {
		t.Error("--loki-uid does not override the plan")
	}
}

func TestTranslateKibanaNothingReadable(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"empty.ndjson": "", "garbage.json": "garbage"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := runCLI(t, "", "translate", "kibana", dir, "--out", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "no saved object could be read") {
		t.Errorf("exit %d, stderr %q: want exit 2 saying nothing could be read", code, errOut)
	}
	if !strings.Contains(errOut, "garbage.json") || !strings.Contains(errOut, "empty.ndjson") {
		t.Errorf("stderr %q does not name the unreadable files", errOut)
	}
}
