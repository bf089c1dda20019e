package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const grafanaCorpus = "../../testdata/grafana"

func TestTranslateGrafanaBatch(t *testing.T) {
	out := t.TempDir()
	report := filepath.Join(out, "report.json")
	code, _, errOut := runCLI(t, "", "translate", "grafana", grafanaCorpus, "--out", out, "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r struct {
		Summary struct {
			Files, Converted, Unchanged, Failed int
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
	inputs, _ := filepath.Glob(filepath.Join(grafanaCorpus, "*.json"))
	written, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if r.Summary.Files != len(inputs) || r.Summary.Failed != 0 || r.Summary.Converted == 0 {
		t.Errorf("summary %+v for %d inputs", r.Summary, len(inputs))
	}
	if len(written) != len(inputs)+1 {
		t.Errorf("%d files written for %d dashboards (and the report)", len(written), len(inputs))
	}
	for _, it := range r.Items {
		if _, err := os.Stat(filepath.Join(out, it.Output)); err != nil {
			t.Errorf("report names %s, which was not written", it.Output)
		}
	}
	if !strings.Contains(errOut, "grafana batch done") {
		t.Errorf("no summary on stderr: %s", errOut)
	}

	// The corpus has PPL and geohash targets, so --strict holds.
	code, _, _ = runCLI(t, "", "translate", "grafana", grafanaCorpus, "--out", t.TempDir(), "--strict")
	if code != exitHeld {
		t.Errorf("--strict exit %d, want %d", code, exitHeld)
	}
}

func TestTranslateGrafanaUsage(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	if err := os.WriteFile(garbage, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(grafanaCorpus, "grafana-devenv-elasticsearch_v7_filebeat.json")
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"without out", []string{"translate", "grafana", grafanaCorpus}, "--out is required"},
		{"no input", []string{"translate", "grafana", "testdata/none", "--out", t.TempDir()}, "no input could be read"},
		{"nothing readable", []string{"translate", "grafana", garbage, "--out", t.TempDir()}, "garbage.json"},
		{"bad datasource", []string{"translate", "grafana", one, "--out", t.TempDir(), "--datasource", "logs"}, "NAME=TYPE"},
		{"unknown datasource type", []string{"translate", "grafana", one, "--out", t.TempDir(), "--datasource", "logs=splunk"}, "TYPE must be"},
		{"bad report", []string{"translate", "grafana", one, "--out", t.TempDir(), "--report", "r.txt"}, ".md or .json"},
		{"bad tag scope", []string{"translate", "grafana", one, "--out", t.TempDir(), "--tag-scope", "process"}, "use any, span or resource"},
		{"bad mapping", []string{"translate", "grafana", one, "--out", t.TempDir(), "--mapping", "testdata/typo.yaml"}, "typo.yaml:3:5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, errOut)
			}
			if !strings.Contains(errOut, tc.msg) {
				t.Errorf("stderr %q lacks %q", errOut, tc.msg)
			}
		})
	}
}

func TestTranslateGrafanaDataSourceFlag(t *testing.T) {
	dir := t.TempDir()
	// An old dashboard naming its data source by a string, with a target
	// that does not carry Elasticsearch's fields.
	doc := `{"uid":"old","title":"Old","rows":[{"panels":[{"type":"graph","datasource":"Archive","targets":[{"refId":"A","query":"level:error"}]}]}]}`
	in := filepath.Join(dir, "old.json")
	if err := os.WriteFile(in, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, _, errOut := runCLI(t, "", "translate", "grafana", in, "--out", out, "--datasource", "Archive=elasticsearch", "--loki-uid", "logs-prod")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	written, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(written) != 1 {
		t.Fatalf("%d files written", len(written))
	}
	data, _ := os.ReadFile(written[0])
	if !strings.Contains(string(data), `"uid": "logs-prod"`) || !strings.Contains(string(data), "count_over_time") {
		t.Errorf("the Archive panel was not moved to Loki:\n%s", data)
	}
}

func TestTranslateGrafanaCopiesDoNotOverwrite(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(grafanaCorpus, "grafana-devenv-elasticsearch_v7_filebeat.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "d.json"), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	if code, _, errOut := runCLI(t, "", "translate", "grafana", dir, "--out", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	written, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(written) != 2 {
		t.Errorf("two copies of one dashboard wrote %d files", len(written))
	}
}

func TestTranslateGrafanaWriteFailureIsReported(t *testing.T) {
	out := t.TempDir()
	one := filepath.Join(grafanaCorpus, "simp-es-ssh.json")
	// A folder where the first dashboard's file would go makes that write
	// fail. The report must list it as failed, and the batch must go on.
	code, _, _ := runCLI(t, "", "translate", "grafana", one, "--out", out)
	if code != exitOK {
		t.Fatalf("first run exit %d", code)
	}
	written, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(written) != 1 {
		t.Fatalf("%d files written", len(written))
	}
	if err := os.Remove(written[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(written[0], 0o755); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "r.json")
	code, _, errOut := runCLI(t, "", "translate", "grafana", one, filepath.Join(grafanaCorpus, "simp-es-home.json"), "--out", out, "--report", report)
	if code != exitOK {
		t.Errorf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Summary struct{ Failed, Converted int } `json:"summary"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.Failed != 1 || r.Summary.Converted != 1 {
		t.Errorf("summary %+v, want the unwritable dashboard failed and the other converted", r.Summary)
	}
}

func TestTranslateGrafanaWarnsOnUnusedDataSourceName(t *testing.T) {
	one := filepath.Join(grafanaCorpus, "simp-es-ssh.json")
	_, _, errOut := runCLI(t, "", "translate", "grafana", one, "--out", t.TempDir(), "--datasource", "Nope=elasticsearch")
	if !strings.Contains(errOut, "no dashboard refers to the --datasource name") || !strings.Contains(errOut, "Nope") {
		t.Errorf("stderr %q does not warn about the unused name", errOut)
	}
}
