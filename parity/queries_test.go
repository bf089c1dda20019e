package parity

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/grafana"
	"github.com/obs-migrate/migrate/translators/kibana"
)

// queryPlan returns a plan whose logs entry maps the level field to a
// label, as the translators need to translate level:error exactly.
func queryPlan(t testing.TB) *plans.Plan {
	p := testPlan(1)
	p.Logs[0].Labels = map[string]string{"level": "level"}
	p.Logs[0].Fields = map[string]string{"level": "keyword", "message": "text"}
	p.Logs[0].Parser = plans.ParserNone
	p.Logs[0].DefaultField = "message"
	p.Phases.Translate.Out = t.TempDir()
	p.Sources.Kibana = &plans.KibanaSource{Export: "testdata/checks/kibana-export.ndjson"}
	p.Sources.Grafana = &plans.GrafanaSource{Dashboards: "testdata/checks/grafana-dashboard.json"}
	return p
}

// writeTranslateReports runs the real Kibana and Grafana translators on
// the test exports and writes their reports where the translate phase
// does: OUT/translate/{kibana,grafana}/report.json.
func writeTranslateReports(t testing.TB, p *plans.Plan) {
	t.Helper()
	export, err := os.ReadFile(p.Sources.Kibana.Export)
	if err != nil {
		t.Fatal(err)
	}
	k := kibana.Convert([]kibana.Input{{File: "kibana-export.ndjson", Data: export}}, kibana.Options{Mappings: p.Logs})
	dashboard, err := os.ReadFile(p.Sources.Grafana.Dashboards)
	if err != nil {
		t.Fatal(err)
	}
	g := grafana.Convert([]grafana.Input{{File: "grafana-dashboard.json", Data: dashboard}}, grafana.Options{Mappings: p.Logs})
	for dir, report := range map[string]interface{ JSON() ([]byte, error) }{"kibana": k.Report, "grafana": g.Report} {
		data, err := report.JSON()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(p.Phases.Translate.Out, "translate", dir, "report.json")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runQueryCheck(t testing.TB, opts Options) Check {
	t.Helper()
	r, _, err := newRun(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r.queryResults(t.Context())
}

func rowNames(g Group) []string {
	var out []string
	for _, r := range g.Rows {
		out = append(out, r[0])
	}
	return out
}

func TestQueryResultsMatch(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	p := queryPlan(t)
	writeTranslateReports(t, p)
	c := runQueryCheck(t, f.options(t, p))
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q reason %q groups %+v", c.Verdict, c.Summary, c.Reason, c.Groups)
	}
	exact := groupNamed(t, c, "exact translations")
	wantExact := []string{
		"grafana parity-es panel \"Errors\" A",
		"kibana search errors: query",
		"kibana search infos: query",
		"kibana search not-error: filter 1",
	}
	if diff := cmp.Diff(wantExact, rowNames(exact)); diff != "" {
		t.Errorf("exact rows differ (-want +got):\n%s", diff)
	}
	for _, row := range exact.Rows {
		if row[2] != "500" || row[3] != "500" {
			t.Errorf("row %v: want 500 documents and 500 entries", row)
		}
	}
	approx := groupNamed(t, c, "approximate translations")
	if diff := cmp.Diff([]string{"kibana search free-text: query"}, rowNames(approx)); diff != "" {
		t.Errorf("approximate rows differ (-want +got):\n%s", diff)
	}
	if approx.Rows[0][2] != "1" || approx.Rows[0][3] != "1" {
		t.Errorf("free text row %v, want 1 and 1 (only line 7)", approx.Rows[0])
	}
	skipped := strings.Join(rowNames(groupNamed(t, c, "skipped")), "\n")
	for _, want := range []string{"kibana search fuzzy: query", "grafana parity-es panel \"Documents\" A"} {
		if !strings.Contains(skipped, want) {
			t.Errorf("skipped %q does not list %q", skipped, want)
		}
	}
	if m, _ := metricNamed(c, "exact_within_tolerance"); m.Value != 1 || !m.Pass {
		t.Errorf("exact_within_tolerance %+v, want 1", m)
	}
}

// Entries whose level label differs in Loki make the exact translations
// count differently, which fails the check.
func TestQueryResultsDiffer(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	f.loki.mu.Lock()
	changed := 0
	for k, e := range f.loki.entries {
		if e.labels["level"] == "error" && changed < 20 {
			e.labels = map[string]string{"source": "filebeat", "level": "ERROR"}
			f.loki.entries[k] = e
			changed++
		}
	}
	f.loki.sorted = nil
	f.loki.mu.Unlock()
	p := queryPlan(t)
	writeTranslateReports(t, p)
	c := runQueryCheck(t, f.options(t, p))
	if c.Verdict != Fail {
		t.Fatalf("verdict %s, want FAIL; summary %q", c.Verdict, c.Summary)
	}
	if m, _ := metricNamed(c, "max_relative_difference"); m.Value != 0.04 || m.Pass {
		t.Errorf("max_relative_difference %+v, want 0.04 and failing", m)
	}
	notes := strings.Join(groupNamed(t, c, "exact translations").Notes, "\n")
	if !strings.Contains(notes, `{source="filebeat", level="error"}`) {
		t.Errorf("notes %q do not show the LogQL of the differing query", notes)
	}
}

// An approximate translation that counts differently is reported in its
// group but does not fail the check.
func TestQueryResultsApproximateNotCounted(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	p := queryPlan(t)
	p.Sources.Grafana = nil
	dir := filepath.Join(p.Phases.Translate.Out, "translate", "kibana")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	report := `{"items":[{"id":"wide","type":"search","queries":[{"where":"query","source_language":"kql","original":"level:error","query":"{source=\"filebeat\"}","fidelity":"approximate"}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "report.json"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	c := runQueryCheck(t, f.options(t, p))
	// Approximate translations never decide the verdict, so with no exact
	// one the check proves nothing.
	if c.Verdict != Inconclusive {
		t.Fatalf("verdict %s, want INCONCLUSIVE; summary %q", c.Verdict, c.Summary)
	}
	approx := groupNamed(t, c, "approximate translations")
	if approx.Verdict != Fail || len(approx.Rows) != 1 {
		t.Errorf("approximate group %+v, want one row outside the tolerance", approx)
	}
	if !strings.Contains(c.Summary, "0 of 1 approximate within it") {
		t.Errorf("summary %q does not report the approximate difference", c.Summary)
	}
}

func TestQueryResultsWithoutReport(t *testing.T) {
	f := newLogFixture(t, 10, testWindow)
	p := queryPlan(t)
	c := runQueryCheck(t, f.options(t, p))
	if c.Verdict != Inconclusive || !strings.Contains(c.Reason, "run the translate phase") {
		t.Errorf("verdict %s reason %q, want INCONCLUSIVE asking to run the translate phase", c.Verdict, c.Reason)
	}
	p.Sources.Kibana, p.Sources.Grafana = nil, nil
	c = runQueryCheck(t, f.options(t, p))
	if c.Verdict != Pass || !strings.HasPrefix(c.Summary, "nothing to compare") {
		t.Errorf("verdict %s summary %q, want PASS with nothing to compare", c.Verdict, c.Summary)
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in   string
		want []matcher
		rest string
		bad  bool
	}{
		{in: `{source="filebeat"}`, want: []matcher{{"source", "=", "filebeat"}}},
		{in: ` { a = "x" , b=~` + "`.+`" + `, c!="q\"uote"} |= "e"`, want: []matcher{{"a", "=", "x"}, {"b", "=~", ".+"}, {"c", "!=", `q"uote`}}, rest: ` |= "e"`},
		{in: `{a!~"x",}`, want: []matcher{{"a", "!~", "x"}}},
		{in: `{}`, want: nil},
		{in: `sum(count_over_time({a="b"}[1m]))`, bad: true},
		{in: `{a="b"`, bad: true},
		{in: `{a=b}`, bad: true},
		{in: `{1a="b"}`, bad: true},
		{in: `{a="b" c="d"}`, bad: true},
		{in: `{a="\q"}`, bad: true},
	}
	for _, tt := range tests {
		got, rest, err := parseSelector(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseSelector(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseSelector(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(matcher{})); diff != "" || rest != tt.rest {
			t.Errorf("parseSelector(%q) rest %q, want %q; matchers (-want +got):\n%s", tt.in, rest, tt.rest, diff)
		}
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, seed := range []string{`{a="b"}`, "{a=~`x`, b!=\"y\"} |= `z`", `{`, `{a="\"}`, `{a="b",}`, ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		matchers, rest, err := parseSelector(q)
		if err != nil {
			return
		}
		if !strings.HasSuffix(q, rest) {
			t.Fatalf("rest %q is not a suffix of %q", rest, q)
		}
		// A selector written back from the matchers parses to the same
		// matchers.
		var parts []string
		for _, m := range matchers {
			parts = append(parts, m.name+m.op+strconv.Quote(m.value))
		}
		again, _, err := parseSelector("{" + strings.Join(parts, ",") + "}")
		if err != nil {
			t.Fatalf("rewritten selector of %q: %v", q, err)
		}
		if diff := cmp.Diff(matchers, again, cmp.AllowUnexported(matcher{})); diff != "" {
			t.Fatalf("round trip of %q differs:\n%s", q, diff)
		}
	})
}

func TestElasticsearchQuery(t *testing.T) {
	tests := []struct {
		name, lang, original string
		want                 string
		err                  string
	}{
		{name: "kql field", lang: "kql", original: "level:error", want: `{"match":{"level":{"lenient":true,"query":"error"}}}`},
		{name: "kql phrase free text", lang: "kql", original: `"line 7"`, want: `{"multi_match":{"lenient":true,"query":"line 7","type":"phrase"}}`},
		{name: "kql and not", lang: "kql", original: "a:1 and not b:2", want: `{"bool":{"filter":[{"match":{"a":{"lenient":true,"query":"1"}}},{"bool":{"must_not":[{"match":{"b":{"lenient":true,"query":"2"}}}]}}]}}`},
		{name: "kql range", lang: "kql", original: "n >= 5", want: `{"range":{"n":{"gte":"5"}}}`},
		{name: "kql exists", lang: "kql", original: "host:*", want: `{"exists":{"field":"host"}}`},
		{name: "kql wildcard", lang: "kql", original: "host:web-*", want: `{"query_string":{"analyze_wildcard":true,"fields":["host"],"query":"web\\-*"}}`},
		{name: "kql empty", lang: "kql", original: "", want: `{"match_all":{}}`},
		{name: "lucene", lang: "lucene", original: "level:info", want: `{"query_string":{"analyze_wildcard":true,"query":"level:info"}}`},
		{name: "lucene empty", lang: "lucene", original: " ", want: `{"match_all":{}}`},
		{name: "dsl query", lang: "esdsl", original: `{"query_string":{"query":"*"}}`, want: `{"query_string":{"query":"*"}}`},
		{name: "dsl wrapped", lang: "esdsl", original: `{"query":{"match_all":{}}}`, want: `{"match_all":{}}`},
		{name: "pill", lang: "esdsl", original: `{"meta":{"negate":false},"$state":{},"query":{"match_phrase":{"a":"b"}}}`, want: `{"match_phrase":{"a":"b"}}`},
		{name: "negated pill", lang: "esdsl", original: `{"meta":{"negate":true},"exists":{"field":"a"}}`, want: `{"bool":{"must_not":[{"exists":{"field":"a"}}]}}`},
		{name: "disabled pill", lang: "esdsl", original: `{"meta":{"disabled":true},"exists":{"field":"a"}}`, err: "disabled"},
		{name: "two queries", lang: "esdsl", original: `{"term":{"a":1},"exists":{"field":"a"}}`, err: "2 keys"},
		{name: "not json", lang: "esdsl", original: `{`, err: "not a JSON object"},
		{name: "ppl", lang: "PPL", original: "source=x", err: `"PPL"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := elasticsearchQuery(tt.lang, tt.original)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("query\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzDSLFromOriginal(f *testing.F) {
	for _, seed := range []string{
		`{"meta":{"negate":true},"query":{"match":{"a":"b"}}}`, `{"query":{}}`, `{"meta":1}`, `[]`, `{"a":{},"b":{}}`, `null`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, original string) {
		q, err := dslFromOriginal(original)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(q, &obj); err != nil || len(obj) != 1 {
			t.Fatalf("dslFromOriginal(%q) = %s, want an object with one query", original, q)
		}
	})
}

func FuzzRenderKQL(f *testing.F) {
	for _, seed := range []string{"a:b", `"x y" or not c:*`, "n > 3 and m <= 4", "items:{ name:a }", "x*y"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		q, err := translators.Parse(ast.KQL, text)
		if err != nil {
			return
		}
		node, err := renderDSL(q.Root, 0)
		if err != nil {
			return
		}
		if _, err := json.Marshal(node); err != nil {
			t.Fatalf("rendering %q: %v", text, err)
		}
	})
}

func FuzzParseReports(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"id":"a","type":"search","queries":[{"where":"q","source_language":"kql","original":"a:b","query":"{a=\"b\"}","fidelity":"exact"}]}]}`,
		`{"items":[{"uid":"u","targets":[{"kind":"elasticsearch","original":"query=a metric=count","language":"logql","queries":["{a=\"b\"}"],"fidelity":"exact"}]}]}`,
		`{"items":null}`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	p := testPlan(1)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) ([]translatedQuery, error){parseKibanaReport, parseGrafanaReport} {
			qs, err := parse(data)
			if err != nil {
				continue
			}
			comparisons, skips := prepareComparisons(p, qs)
			if len(comparisons)+len(skips) != len(qs) {
				t.Fatalf("%d queries became %d comparisons and %d skips", len(qs), len(comparisons), len(skips))
			}
		}
	})
}

func TestGrafanaLucene(t *testing.T) {
	tests := []struct{ in, text, queryType string }{
		{"query=level:error metric=logs", "level:error", ""},
		{"query=* metric=count bucket=date_histogram @timestamp", "*", ""},
		{"query=a b bucket=terms x queryType=lucene", "a b", "lucene"},
		{"query=source=x | fields a metric=count queryType=PPL", "source=x | fields a", "PPL"},
		{"service=x", "", ""},
	}
	for _, tt := range tests {
		text, qt := grafanaLucene(tt.in)
		if text != tt.text || qt != tt.queryType {
			t.Errorf("grafanaLucene(%q) = %q, %q; want %q, %q", tt.in, text, qt, tt.text, tt.queryType)
		}
	}
}

func TestQueryStringPattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{"web-*", `web\-*`},
		{`a\*b?`, `a\*b?`},
		{"x y:z", `x\ y\:z`},
		{`trailing\`, `trailing\\`},
	}
	for _, tt := range tests {
		if got := queryStringPattern(tt.in); got != tt.want {
			t.Errorf("queryStringPattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMappingFor(t *testing.T) {
	p := testPlan(1)
	p.Logs = append(p.Logs, plans.LogMapping{Indices: "nginx-*", StaticLabels: map[string]string{"source": "nginx", "env": "prod"}})
	tests := []struct {
		selector string
		index    string
		want     string
		ok       bool
	}{
		{`{source="nginx", env="prod", level="error"}`, "", "nginx-*", true},
		{`{source="nginx"}`, "", "", false},
		{`{source="filebeat"}`, "", "filebeat-*", true},
		{`{service_name=~".+"}`, "", "", false},
		{`{service_name=~".+"}`, "nginx-*", "nginx-*", true},
	}
	for _, tt := range tests {
		ms, _, err := parseSelector(tt.selector)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := mappingFor(p, tt.index, ms)
		if ok != tt.ok || m.Indices != tt.want {
			t.Errorf("mappingFor(%s, %q) = %q, %v; want %q, %v", tt.selector, tt.index, m.Indices, ok, tt.want, tt.ok)
		}
	}
}
