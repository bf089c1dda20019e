package grafana_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators/grafana"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const corpusDir = "../../testdata/grafana"

// goldenDashboards are three real dashboards whose whole conversion is kept
// as golden files: Grafana's own Elasticsearch test dashboard, an
// OpenSearch dashboard with several metrics and buckets, and the
// OpenTelemetry demo's APM dashboard with Jaeger, PPL and Prometheus panels.
var goldenDashboards = []string{
	"grafana-devenv-elasticsearch_v7_filebeat.json",
	"opensearch-ds-web-traffic-logs.json",
	"otel-demo-apm-dashboard.json",
}

func readCorpus(t testing.TB) []grafana.Input {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s", corpusDir)
	}
	var inputs []grafana.Input
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, grafana.Input{File: filepath.Base(f), Data: data})
	}
	return inputs
}

func TestCorpus(t *testing.T) {
	inputs := readCorpus(t)
	res := grafana.Convert(inputs, grafana.Options{})
	s := res.Report.Summary
	if s.Failed != 0 || s.Files != len(inputs) {
		t.Fatalf("summary %+v: every file must convert", s)
	}

	t.Run("every old target is reported", func(t *testing.T) {
		reported := 0
		for _, it := range res.Report.Items {
			reported += len(it.Targets)
			for _, tr := range it.Targets {
				if tr.Fidelity.String() == "unsupported" && len(tr.Reasons) == 0 {
					t.Errorf("%s: target %s is unsupported without a reason", it.Source, tr.RefID)
				}
			}
		}
		if want := countOldTargets(t, inputs); reported != want {
			t.Errorf("the report lists %d Elasticsearch, OpenSearch and Jaeger targets, the corpus has %d", reported, want)
		}
	})
	t.Run("queries parse", func(t *testing.T) {
		var queries []grammar.Query
		for _, it := range res.Report.Items {
			for _, tr := range it.Targets {
				for i, q := range tr.Queries {
					queries = append(queries, grammar.Query{ID: fmt.Sprintf("%s %s %d", it.Source, tr.RefID, i), Lang: tr.Language, Text: q})
				}
			}
			for _, a := range it.Annotations {
				if a.Converted != "" {
					queries = append(queries, grammar.Query{ID: it.Source + " annotation " + a.Name, Lang: grammar.LangLogQL, Text: a.Converted})
				}
			}
		}
		if len(queries) == 0 {
			t.Fatal("no query generated")
		}
		grammartest.RequireValid(t, queries)
	})
	t.Run("round trip keeps other fields", func(t *testing.T) {
		for i, in := range inputs {
			checkRoundTrip(t, in, res, res.Report.Items[i])
		}
	})
	t.Run("golden", func(t *testing.T) { checkGolden(t, res) })
}

func TestCorpusDeterministic(t *testing.T) {
	a := grafana.Convert(readCorpus(t), grafana.Options{})
	b := grafana.Convert(readCorpus(t), grafana.Options{})
	for i := range a.Dashboards {
		if !bytes.Equal(a.Dashboards[i].JSON, b.Dashboards[i].JSON) {
			t.Errorf("%s differs between runs", a.Dashboards[i].File)
		}
	}
	ra, _ := a.Report.JSON()
	rb, _ := b.Report.JSON()
	if !bytes.Equal(ra, rb) || !bytes.Equal(a.Report.Markdown(), b.Report.Markdown()) {
		t.Error("the reports differ between runs")
	}
}

// countOldTargets counts the targets on Elasticsearch, OpenSearch or Jaeger
// in the corpus, by data source type or, for string references, by shape.
func countOldTargets(t *testing.T, inputs []grafana.Input) int {
	n := 0
	for _, in := range inputs {
		var doc map[string]any
		if err := json.Unmarshal(in.Data, &doc); err != nil {
			t.Fatal(err)
		}
		if inner, ok := doc["dashboard"].(map[string]any); ok {
			doc = inner
		}
		var walk func([]any)
		walk = func(panels []any) {
			for _, p := range panels {
				panel, _ := p.(map[string]any)
				if nested, ok := panel["panels"].([]any); ok {
					walk(nested)
				}
				if _, copied := panel["repeatPanelId"]; copied {
					// Grafana's copies of a repeated panel are reported
					// with their source.
					continue
				}
				for _, tg := range asList(panel["targets"]) {
					target, _ := tg.(map[string]any)
					if oldTarget(panel["datasource"], target) {
						n++
					}
				}
			}
		}
		walk(asList(doc["panels"]))
		for _, r := range asList(doc["rows"]) {
			row, _ := r.(map[string]any)
			walk(asList(row["panels"]))
		}
	}
	return n
}

func oldTarget(panelDS any, target map[string]any) bool {
	ds := target["datasource"]
	if ds == nil {
		ds = panelDS
	}
	if m, ok := ds.(map[string]any); ok {
		switch m["type"] {
		case "elasticsearch", "grafana-opensearch-datasource", "jaeger":
			return true
		}
	}
	_, es := target["bucketAggs"]
	_, metrics := target["metrics"]
	return es || metrics
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// allowed lists the paths a conversion may change: the dashboard's
// identity, what exported dashboards require, panel targets, data sources
// and types, converted variables and annotations.
var allowed = []*regexp.Regexp{
	regexp.MustCompile(`^(uid|id|tags)(\[\d+\])?$`),
	regexp.MustCompile(`^__inputs\[\d+\]\.(pluginId|pluginName)$`),
	regexp.MustCompile(`^__requires\[\d+\]\.(id|name)$`),
	regexp.MustCompile(`(^|\.)panels\[\d+\]\.(targets|datasource|type)(\[.*|\..*)?$`),
	regexp.MustCompile(`^templating\.list\[\d+\]\.(query|definition|datasource|current|options|type|refresh|regex)(\..*|\[.*)?$`),
	regexp.MustCompile(`^annotations\.list\[\d+\]\.(datasource|expr|query|target|textField|tagsField|titleField|timeField|timeEndField|textFormat|tagKeys|titleFormat)(\..*)?$`),
}

func checkRoundTrip(t *testing.T, in grafana.Input, res *grafana.Result, item *grafana.Item) {
	t.Helper()
	var out []byte
	for _, d := range res.Dashboards {
		if d.File == item.Output {
			out = d.JSON
		}
	}
	if out == nil {
		t.Errorf("%s: no output", in.File)
		return
	}
	if item.Status == grafana.StatusUnchanged || item.Status == grafana.StatusNotConverted {
		v, _ := ojson.Decode(in.Data)
		same, _ := ojson.Encode(v)
		if !bytes.Equal(out, same) {
			t.Errorf("%s: an unchanged dashboard was not written as it was read", in.File)
		}
		return
	}
	var before, after any
	_ = json.Unmarshal(in.Data, &before)
	_ = json.Unmarshal(out, &after)
	if m, ok := before.(map[string]any); ok && m["dashboard"] != nil {
		before, after = m["dashboard"], after.(map[string]any)["dashboard"]
	}
	for _, d := range diff("", before, after) {
		if !isAllowed(d) {
			t.Errorf("%s: %s changed outside the converted fields", in.File, d)
		}
	}
}

func isAllowed(path string) bool {
	for _, re := range allowed {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// diff lists the paths where two decoded JSON values differ.
func diff(path string, a, b any) []string {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		var out []string
		keys := map[string]bool{}
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		for k := range keys {
			out = append(out, diff(join(path, k), ma[k], mb[k])...)
		}
		return out
	}
	la, okA := a.([]any)
	lb, okB := b.([]any)
	if okA && okB && len(la) == len(lb) {
		var out []string
		for i := range la {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), la[i], lb[i])...)
		}
		return out
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	return []string{path}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func checkGolden(t *testing.T, res *grafana.Result) {
	t.Helper()
	dir := filepath.Join("testdata", "golden")
	files := map[string][]byte{}
	for _, it := range res.Report.Items {
		for _, g := range goldenDashboards {
			if it.Source == g {
				for _, d := range res.Dashboards {
					if d.File == it.Output {
						files[g] = d.JSON
					}
				}
			}
		}
	}
	report, _ := res.Report.JSON()
	files["report.json"] = report
	files["report.md"] = res.Report.Markdown()
	if len(files) != len(goldenDashboards)+2 {
		t.Fatalf("found %d of the golden dashboards", len(files)-2)
	}
	for name, got := range files {
		path := filepath.Join(dir, name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./translators/grafana -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its golden file; run go test ./translators/grafana -update and review the diff", name)
		}
	}
}
