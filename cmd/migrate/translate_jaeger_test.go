package main

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const jaegerAPISearch = "/api/traces?service=rec-frontend&tag=http.response.status_code:500&tag=host.name:web-1" +
	"&start=1796396639087860&end=1796400299087860&limit=20"

func TestTranslateJaegerJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "", "translate", "query", "--from", "jaeger", "-o", "json", jaegerAPISearch)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	wantKeys := []string{"fidelity", "language", "original", "query", "range", "reasons", "source_language", "tempo"}
	gotKeys := keys(got)
	sort.Strings(gotKeys)
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	want := map[string]any{
		"query": `{ resource.service.name = "rec-frontend" && (.http.response.status_code = 500 || ` +
			`.http.response.status_code = "500") && .host.name = "web-1" } with (most_recent=true)`,
		"language":        "traceql",
		"source_language": "jaeger",
		"original":        jaegerAPISearch,
		"fidelity":        "approximate",
		"range":           map[string]any{"start": "2026-12-04T15:03:59.08786Z", "end": "2026-12-04T16:04:59.08786Z"},
		"tempo":           map[string]any{"start": 1796396639.0, "end": 1796400300.0, "limit": 20.0},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	var codes []string
	for _, r := range got["reasons"].([]any) {
		codes = append(codes, r.(map[string]any)["code"].(string))
	}
	if diff := cmp.Diff([]string{"typed_value", "tag_scope", "log_fields", "time_window", "limit"}, codes); diff != "" {
		t.Errorf("reason codes (-want +got):\n%s", diff)
	}
}

func TestTranslateJaegerText(t *testing.T) {
	code, out, errOut := runCLI(t, "", "translate", "query", "--from", "jaeger", "--error-attribute",
		"http://jaeger:16686/search?service=frontend&tags=%7B%22error%22%3A%22true%22%7D&minDuration=1s"+
			"&limit=20&lookback=custom&start=1700000000000000&end=1700003600000001")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	want := []string{
		`{ resource.service.name = "frontend" && (status = error || .error = true || .error = "true") && duration >= 1s }` +
			` with (most_recent=true)`,
		"# tempo: start=1700000000 end=1700003601 limit=20",
		"# fidelity: approximate",
		"# range: 2023-11-14T22:13:20Z to 2023-11-14T23:13:20.000001Z",
	}
	if len(lines) < len(want) {
		t.Fatalf("output has %d lines:\n%s", len(lines), out)
	}
	if diff := cmp.Diff(want, lines[:len(want)]); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "# error_attribute: ") {
		t.Errorf("output lacks the error_attribute reason:\n%s", out)
	}
}

func TestTranslateJaegerOptionsAndErrors(t *testing.T) {
	code, out, _ := runCLI(t, "service=a&tags=http.method=GET", "translate", "query", "--from", "Jaeger", "--tag-scope", "span", "-")
	if code != exitOK || !strings.HasPrefix(out, `{ resource.service.name = "a" && span.http.method = "GET" }`) {
		t.Errorf("--tag-scope span from standard input: exit %d, output:\n%s", code, out)
	}

	code, out, errOut := runCLI(t, "", "translate", "query", "--from", "jaeger", "-o", "json", "service=a&tags={bad")
	if code != exitUsage || !strings.Contains(errOut, "could not be parsed") {
		t.Errorf("bad tags: exit %d, stderr %q", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got["query"] != nil || got["fidelity"] != "unsupported" || got["language"] != "traceql" {
		t.Errorf("bad tags: %v", got)
	}
	if _, present := got["tempo"]; present {
		t.Error("tempo present for an unsupported search")
	}

	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no service, strict", []string{"--strict", "--from", "jaeger", "/api/traces?limit=3"}, exitHeld, "unsupported"},
		{"bad scope", []string{"--from", "jaeger", "--tag-scope", "event", "service=a"}, exitUsage, `invalid tag scope "event"`},
		{"mapping", []string{"--from", "jaeger", "--mapping", "testdata/mapping.yaml", "service=a"}, exitUsage, "--mapping and --index"},
		{"jaeger flag on kql", []string{"--from", "kql", "--error-attribute", "a:b"}, exitUsage, "--from jaeger only"},
		{"unknown language", []string{"--from", "zipkin", "x"}, exitUsage, "use kql, lucene, esdsl or jaeger"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", append([]string{"translate", "query"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.msg)
			}
		})
	}
}

// TestTranslateLogQLJSONUnchanged pins the JSON of a LogQL result byte for
// byte: the tempo object appears only on TraceQL results.
func TestTranslateLogQLJSONUnchanged(t *testing.T) {
	code, out, errOut := runCLI(t, "", "translate", "query", "--from", "kql", "--mapping", "testdata/mapping.yaml",
		"-o", "json", "log.level: error and @timestamp >= now-15m")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	const want = `{
  "query": "{source=\"filebeat\", level=\"error\"}",
  "language": "logql",
  "source_language": "kql",
  "original": "log.level: error and @timestamp >= now-15m",
  "fidelity": "exact",
  "reasons": [],
  "range": {
    "start": "now-15m",
    "end": "now"
  }
}
`
	if out != want {
		t.Errorf("output\n%s\nwant\n%s", out, want)
	}
}

// TestTranslateJaegerWindowFollowsStartEnd checks that the range and the
// Tempo parameters of a Jaeger UI URL both come from its start and end, which
// the UI computed from the lookback when it ran the search.
func TestTranslateJaegerWindowFollowsStartEnd(t *testing.T) {
	code, out, errOut := runCLI(t, "", "translate", "query", "--from", "jaeger",
		"http://127.0.0.1:16686/search?end=1700003600000000&limit=20&lookback=2h&maxDuration&minDuration"+
			"&service=api&start=1700000000000000")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, line := range []string{
		"# tempo: start=1700000000 end=1700003600 limit=20\n",
		"# range: 2023-11-14T22:13:20Z to 2023-11-14T23:13:20Z\n",
		"# ignored_lookback: ",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
}

func TestTranslateJaegerTimeErrors(t *testing.T) {
	cases := []struct {
		name   string
		search string
		msg    string // in the reason on standard output
	}{
		{
			"milliseconds", "service=api&start=1700000000000&end=1700003600000",
			`invalid end "1700003600000": Jaeger expects microseconds since the epoch`,
		},
		{
			"seconds", "service=api&start=1700000000",
			`as seconds it is 2023-11-14T22:13:20Z, which is 1700000000000000 in microseconds`,
		},
		{
			"after the year 9999", "service=a&end=9223372036854775807",
			`invalid end "9223372036854775807": Jaeger expects microseconds since the epoch, and this is after`,
		},
		{"lookback over 100 years", "service=a&lookback=999999d", `invalid lookback "999999d": it is longer than 100 years`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", "translate", "query", "--from", "jaeger", tc.search)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, errOut)
			}
			if !strings.Contains(out, tc.msg) {
				t.Errorf("output lacks %q:\n%s", tc.msg, out)
			}
			if strings.Contains(out, "# tempo:") {
				t.Errorf("output has Tempo parameters for a rejected search:\n%s", out)
			}
		})
	}
}
