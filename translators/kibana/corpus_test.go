package kibana_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/translators/kibana"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	corpusDir = "../../testdata/kibana"
	goldenDir = "testdata/golden/corpus"
)

// readCorpus reads every export of the Kibana corpus, in sorted order.
func readCorpus(t testing.TB) []kibana.Input {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no exports in %s", corpusDir)
	}
	inputs := make([]kibana.Input, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, kibana.Input{File: filepath.Base(f), Data: data})
	}
	return inputs
}

var registerPlugins sync.Once

func TestCorpus(t *testing.T) {
	res := kibana.Convert(readCorpus(t), kibana.Options{})
	s := res.Report.Summary

	t.Run("no failures", func(t *testing.T) {
		if s.ObjectsFailed != 0 {
			for _, it := range res.Report.Items {
				if it.Status == kibana.StatusFailed {
					t.Errorf("failed: %s", it.Error)
				}
			}
		}
	})
	t.Run("query target", func(t *testing.T) {
		ok := s.Queries.Exact + s.Queries.Approximate
		if s.Queries.Total() == 0 || float64(ok) < 0.90*float64(s.Queries.Total()) {
			t.Errorf("queries %+v: %d of %d exact or approximate, want at least 90%%", s.Queries, ok, s.Queries.Total())
		}
	})
	t.Run("panel target", func(t *testing.T) {
		ok := s.Panels.Exact + s.Panels.Approximate
		if s.Panels.Total() == 0 || float64(ok) < 0.85*float64(s.Panels.Total()) {
			t.Errorf("panels %+v: %d of %d converted, want at least 85%%", s.Panels, ok, s.Panels.Total())
		}
	})
	t.Run("dashboards decode", func(t *testing.T) {
		registerPlugins.Do(plugins.RegisterDefaultPlugins)
		for _, out := range res.Dashboards {
			//lint:ignore SA1019 the v1 dashboard model is what Grafana 10 to 12 import; the output must decode into it.
			var d dashboard.Dashboard
			if err := json.Unmarshal(out.JSON, &d); err != nil {
				t.Errorf("%s: json.Unmarshal into dashboard.Dashboard: %v", out.File, err)
			}
			//lint:ignore SA1019 the v1 dashboard model is what Grafana 10 to 12 import; the output must decode into it.
			var strict dashboard.Dashboard
			if err := strict.UnmarshalJSONStrict(out.JSON); !isNilError(err) {
				t.Errorf("%s: UnmarshalJSONStrict: %v", out.File, err)
			}
		}
	})
	t.Run("logql parses", func(t *testing.T) {
		grammartest.RequireValid(t, generatedQueries(t, res))
	})
	t.Run("golden", func(t *testing.T) {
		checkGolden(t, res)
	})
}

func TestCorpusDeterministic(t *testing.T) {
	a := kibana.Convert(readCorpus(t), kibana.Options{})
	b := kibana.Convert(readCorpus(t), kibana.Options{})
	if len(a.Dashboards) != len(b.Dashboards) {
		t.Fatalf("runs wrote %d and %d dashboards", len(a.Dashboards), len(b.Dashboards))
	}
	for i := range a.Dashboards {
		if a.Dashboards[i].File != b.Dashboards[i].File || !bytes.Equal(a.Dashboards[i].JSON, b.Dashboards[i].JSON) {
			t.Errorf("dashboard %s differs between runs", a.Dashboards[i].File)
		}
	}
	ra, _ := a.Report.JSON()
	rb, _ := b.Report.JSON()
	if !bytes.Equal(ra, rb) {
		t.Error("reports differ between runs")
	}
	if !bytes.Equal(a.Report.Markdown(), b.Report.Markdown()) {
		t.Error("Markdown reports differ between runs")
	}
}

// generatedQueries collects every Loki expression of every dashboard, and
// every query translation in the report.
func generatedQueries(t *testing.T, res *kibana.Result) []grammar.Query {
	t.Helper()
	var out []grammar.Query
	for _, d := range res.Dashboards {
		var doc struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr       string `json:"expr"`
					Datasource struct {
						Type string `json:"type"`
					} `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(d.JSON, &doc); err != nil {
			t.Fatalf("%s: %v", d.File, err)
		}
		for _, p := range doc.Panels {
			for i, tg := range p.Targets {
				if tg.Datasource.Type == "loki" {
					out = append(out, grammar.Query{ID: d.File + " / " + p.Title + " / " + string(rune('A'+i)), Lang: grammar.LangLogQL, Text: tg.Expr})
				}
			}
		}
	}
	for _, it := range res.Report.Items {
		for _, q := range it.Queries {
			if q.Query != nil {
				out = append(out, grammar.Query{ID: it.ID + " / " + q.Where, Lang: grammar.LangLogQL, Text: *q.Query})
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no LogQL generated")
	}
	return out
}

func checkGolden(t *testing.T, res *kibana.Result) {
	t.Helper()
	files := map[string][]byte{}
	for _, d := range res.Dashboards {
		files[d.File] = d.JSON
	}
	report, err := res.Report.JSON()
	if err != nil {
		t.Fatal(err)
	}
	files["report.json"] = report
	files["report.md"] = res.Report.Markdown()

	if *update {
		if err := os.RemoveAll(goldenDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(goldenDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatalf("reading golden files: %v (run go test -update to create them)", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Name()] = true
		want, err := os.ReadFile(filepath.Join(goldenDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := files[e.Name()]
		if !ok {
			t.Errorf("%s is in the golden files but was not generated", e.Name())
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its golden file; run go test ./translators/kibana -update and review the diff\n%s",
				e.Name(), firstDiff(string(want), string(got)))
		}
	}
	for name := range files {
		if !seen[name] {
			t.Errorf("%s was generated but has no golden file", name)
		}
	}
}

// firstDiff shows the first differing line.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return ""
}

// isNilError reports whether err is nil. The SDK's strict decoder returns
// an empty cog.BuildErrors, a non-nil interface, when it found nothing.
func isNilError(err error) bool {
	if be, ok := err.(cog.BuildErrors); ok {
		return len(be) == 0
	}
	return err == nil
}
