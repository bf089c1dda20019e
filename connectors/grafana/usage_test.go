package grafana

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var migrationTypes = []string{"elasticsearch", "grafana-opensearch-datasource", "jaeger"}

func fakeDataSources(t testing.TB) []DataSource {
	t.Helper()
	var raw []struct {
		ID        int64
		UID, Name string
		Type, URL string
		IsDefault bool
	}
	if err := json.Unmarshal([]byte(fakeDataSourcesJSON), &raw); err != nil {
		t.Fatal(err)
	}
	out := make([]DataSource, 0, len(raw))
	for _, r := range raw {
		out = append(out, DataSource{ID: r.ID, UID: r.UID, Name: r.Name, Type: r.Type, URL: r.URL, IsDefault: r.IsDefault})
	}
	return out
}

// scanTypes is the test's own account of the data source types a dashboard
// uses. It ignores the panel structure that findUses follows: it visits
// every "datasource" member anywhere in the document, and counts the
// default data source for every object that has queries ("targets") but no
// data source of its own.
func scanTypes(t *testing.T, raw []byte, sources []DataSource) (types map[string]bool, mixed bool) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	typeOf := map[string]string{}
	defaultType := ""
	for _, ds := range sources {
		typeOf[ds.UID], typeOf[ds.Name] = ds.Type, ds.Type
		if ds.IsDefault {
			defaultType = ds.Type
		}
	}
	for _, in := range list(doc["__inputs"]) {
		typeOf[text(object(in)["name"])] = text(object(in)["pluginId"])
	}
	for _, v := range list(object(doc["templating"])["list"]) {
		if o := object(v); text(o["type"]) == "datasource" {
			typeOf[text(o["name"])] = text(o["query"])
		}
	}

	types = map[string]bool{}
	byName := func(s string) {
		if strings.HasPrefix(s, "$") || strings.HasPrefix(s, "[[") {
			s, _, _ = strings.Cut(strings.Trim(s, "${}[]"), ":")
		}
		if typ := typeOf[s]; typ != "" {
			types[typ] = true
		}
	}

	classify := func(ds any) {
		switch ds := ds.(type) {
		case string:
			switch ds {
			case "-- Mixed --":
				mixed = true
			case "-- Grafana --", "-- Dashboard --":
			default:
				byName(ds)
			}
		case map[string]any:
			typ, uid := text(ds["type"]), text(ds["uid"])
			switch {
			case uid == "-- Mixed --":
				mixed = true
			case typ == "datasource" || typ == "grafana":
			case typ != "":
				types[typ] = true
			default:
				byName(uid)
			}
		}
	}

	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for key, child := range v {
				if key == "datasource" {
					classify(child)
				}
				visit(child)
			}
			if len(list(v["targets"])) > 0 && v["datasource"] == nil {
				types[defaultType] = true
			}
		case []any:
			for _, child := range v {
				visit(child)
			}
		}
	}
	visit(doc)
	return types, mixed
}

// TestDashboardsByDataSourceCorpus serves the real dashboards of
// testdata/grafana and checks the result against scanTypes.
func TestDashboardsByDataSourceCorpus(t *testing.T) {
	f := newFakeGrafana(t)
	uids := f.loadCorpus(t)
	c, _ := newTestClient(t, Config{URL: f.URL, PageSize: 7})
	got, err := c.DashboardsByDataSource(context.Background(), migrationTypes)
	if err != nil {
		t.Fatalf("DashboardsByDataSource: %v", err)
	}
	byUID := map[string]DashboardUse{}
	for _, use := range got {
		byUID[use.UID] = use
	}
	sources := fakeDataSources(t)
	matched := 0
	for name, raw := range corpusDashboards(t) {
		types, mixed := scanTypes(t, raw, sources)
		var wantTypes, wantOther []string
		for typ := range types {
			if slices.Contains(migrationTypes, typ) {
				wantTypes = append(wantTypes, typ)
			} else {
				wantOther = append(wantOther, typ)
			}
		}
		slices.Sort(wantTypes)
		slices.Sort(wantOther)
		use, found := byUID[uids[name]]
		if len(wantTypes) == 0 {
			if found {
				t.Errorf("%s: returned with types %v, want not returned", name, use.Types)
			}
			continue
		}
		matched++
		if !found {
			t.Errorf("%s: not returned, want types %v", name, wantTypes)
			continue
		}
		if !slices.Equal(use.Types, wantTypes) {
			t.Errorf("%s: Types = %v, want %v", name, use.Types, wantTypes)
		}
		if !slices.Equal(use.OtherTypes, wantOther) {
			t.Errorf("%s: OtherTypes = %v, want %v", name, use.OtherTypes, wantOther)
		}
		if use.Mixed != mixed {
			t.Errorf("%s: Mixed = %v, want %v", name, use.Mixed, mixed)
		}
		if len(use.DataSources) == 0 {
			t.Errorf("%s: no DataSources for types %v", name, use.Types)
		}
	}
	if len(got) != matched {
		t.Errorf("got %d dashboards, want %d", len(got), matched)
	}
}

// TestWalkerVisitsEveryQuery checks that the walker reaches every query of
// the corpus dashboards: it counts the objects in every "targets" array
// anywhere in the document, without following the panel structure.
func TestWalkerVisitsEveryQuery(t *testing.T) {
	index := newDataSourceIndex(fakeDataSources(t))
	for name, raw := range corpusDashboards(t) {
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		want := 0
		var visit func(v any)
		visit = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for _, target := range list(v["targets"]) {
					if object(target) != nil {
						want++
					}
				}
				for _, child := range v {
					visit(child)
				}
			case []any:
				for _, child := range v {
					visit(child)
				}
			}
		}
		visit(doc)
		w, err := walkDashboard(raw, index)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w.queries != want {
			t.Errorf("%s: walker visited %d queries, want %d", name, w.queries, want)
		}
		if want == 0 {
			t.Errorf("%s: no queries found; the check proves nothing for it", name)
		}
	}
}

// TestDashboardsByDataSourceKnown checks results read off the corpus files
// by hand. The devenv, archstats and SIMP dashboards use Elasticsearch, the
// SIMP ones through the default data source (every panel has
// "datasource": null). The Open Distro dashboard's panels use
// ${DS_ES-OPEN-DISTRO-DATASOURCE-LOGS}, whose __inputs entry names the
// plugin. The OpenTelemetry demo dashboards query OpenSearch, and two of
// them also Jaeger. Only the archstats dashboard has "-- Mixed --" panels.
func TestDashboardsByDataSourceKnown(t *testing.T) {
	tests := []struct {
		types []string
		want  map[string][]string // file name: DataSources
	}{
		{[]string{"elasticsearch"}, map[string][]string{
			"grafana-devenv-elasticsearch_v56":         {"gdev-es-v5-metrics", "gdev-es-v56-logs", "gdev-es-v56-metrics"},
			"grafana-devenv-elasticsearch_v7_filebeat": {"gdev-es-v7-filebeat"},
			"simp-es-auditd":                           {"es-default"},
			"simp-es-home":                             {"es-default"},
			"simp-es-puppet-agent":                     {"es-default"},
			"simp-es-ssh":                              {"es-default"},
			"simp-es-sudosh":                           {"es-default"},
			"slac-archstats-es":                        {"archstats"},
		}},
		{[]string{"jaeger"}, map[string][]string{
			"otel-demo-apm-dashboard":  {"webstore-traces"},
			"otel-demo-demo-dashboard": {"webstore-traces"},
		}},
		{[]string{"grafana-opensearch-datasource"}, map[string][]string{
			"opensearch-ds-ecommerce":                 {"aws-opensearch-ecommerce-sample"},
			"opensearch-ds-traces":                    {"aws-opensearch"},
			"opensearch-ds-web-traffic-logs":          {"aws-opensearch-web-traffic-sample"},
			"otel-demo-apm-dashboard":                 {"webstore-logs"},
			"otel-demo-demo-dashboard":                {"webstore-logs"},
			"otel-demo-e2e-latency-opensearch-lucene": {"webstore-logs"},
			"otel-demo-events-by-name":                {"webstore-logs"},
		}},
		{[]string{"grafana-es-open-distro-datasource"}, map[string][]string{
			"odfe-es-logs-dashboard": {"${DS_ES-OPEN-DISTRO-DATASOURCE-LOGS}"},
		}},
	}
	f := newFakeGrafana(t)
	uids := f.loadCorpus(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	for _, tt := range tests {
		t.Run(strings.Join(tt.types, ","), func(t *testing.T) {
			got, err := c.DashboardsByDataSource(context.Background(), tt.types)
			if err != nil {
				t.Fatalf("DashboardsByDataSource: %v", err)
			}
			want := map[string][]string{}
			for name, sources := range tt.want {
				want[uids[name]] = sources
			}
			gotSources := map[string][]string{}
			for _, use := range got {
				gotSources[use.UID] = use.DataSources
				if use.Mixed != (use.UID == uids["slac-archstats-es"]) {
					t.Errorf("%s: Mixed = %v", use.Title, use.Mixed)
				}
				if !slices.Equal(use.Types, tt.types) {
					t.Errorf("%s: Types = %v, want %v", use.Title, use.Types, tt.types)
				}
			}
			if diff := cmp.Diff(want, gotSources); diff != "" {
				t.Errorf("DataSources by dashboard UID (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDashboardsByDataSourceNeedsTypes(t *testing.T) {
	c, _ := newTestClient(t, Config{URL: "http://127.0.0.1:1"})
	if _, err := c.DashboardsByDataSource(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no data source types") {
		t.Errorf("error = %v, want no data source types", err)
	}
}

// TestFindUsesReferenceForms covers each way a dashboard names a data
// source, on small dashboards written for the case.
func TestFindUsesReferenceForms(t *testing.T) {
	sources := []DataSource{
		{UID: "es1", Name: "Logs ES", Type: "elasticsearch"},
		{UID: "prom", Name: "Prometheus", Type: "prometheus", IsDefault: true},
		{UID: "jg", Name: "Jaeger", Type: "jaeger"},
		{Name: "Old ES", Type: "elasticsearch"},
	}
	tests := []struct {
		name, dashboard string
		want            DashboardUse
	}{
		{
			"object with type and uid", `{"panels":[{"datasource":{"type":"elasticsearch","uid":"es1"},"targets":[{}]}]}`,
			DashboardUse{DataSources: []string{"es1"}, Types: []string{"elasticsearch"}},
		},
		{
			"object with uid only", `{"panels":[{"datasource":{"uid":"jg"},"targets":[{}]}]}`,
			DashboardUse{DataSources: []string{"jg"}, Types: []string{"jaeger"}},
		},
		{
			"object with type of unknown uid", `{"panels":[{"datasource":{"type":"elasticsearch","uid":"elsewhere"}}]}`,
			DashboardUse{DataSources: []string{"elsewhere"}, Types: []string{"elasticsearch"}},
		},
		{
			"name string", `{"panels":[{"datasource":"Logs ES","targets":[{"query":"a"}]}]}`,
			DashboardUse{DataSources: []string{"es1"}, Types: []string{"elasticsearch"}},
		},
		{
			"name of source without UID", `{"panels":[{"datasource":"Old ES","targets":[{}]}]}`,
			DashboardUse{DataSources: []string{"Old ES"}, Types: []string{"elasticsearch"}},
		},
		{
			"null is the default", `{"panels":[{"datasource":null,"targets":[{}]}]}`,
			DashboardUse{OtherTypes: []string{"prometheus"}},
		},
		{
			"target overrides panel", `{"panels":[{"datasource":"Prometheus","targets":[{"datasource":{"uid":"es1"}}]}]}`,
			DashboardUse{DataSources: []string{"es1"}, Types: []string{"elasticsearch"}, OtherTypes: []string{"prometheus"}},
		},
		{
			"mixed panel", `{"panels":[{"datasource":"-- Mixed --","targets":[{"datasource":"Jaeger"},{"datasource":{"type":"elasticsearch","uid":"es1"}},{}]}]}`,
			DashboardUse{DataSources: []string{"es1", "jg"}, Types: []string{"elasticsearch", "jaeger"}, OtherTypes: []string{"prometheus"}, Mixed: true},
		},
		{
			"mixed object form", `{"panels":[{"datasource":{"type":"datasource","uid":"-- Mixed --"},"targets":[{"datasource":{"type":"jaeger","uid":"jg"}}]}]}`,
			DashboardUse{DataSources: []string{"jg"}, Types: []string{"jaeger"}, Mixed: true},
		},
		{
			"built-in sources", `{"panels":[{"datasource":"-- Grafana --","targets":[{}]},{"datasource":{"type":"datasource","uid":"-- Dashboard --"},"targets":[{}]}]}`,
			DashboardUse{},
		},
		{
			"text panel without targets", `{"panels":[{"type":"text","options":{"content":"hi"}}]}`,
			DashboardUse{},
		},
		{
			"variable forms", `{"templating":{"list":[{"type":"datasource","name":"ds","query":"elasticsearch","current":{"value":"es1"}},{"type":"datasource","name":"other","query":"elasticsearch","current":{"value":"gone"}}]},
			"panels":[{"datasource":"$ds","targets":[{}]},{"datasource":{"uid":"${other}"},"targets":[{}]},{"datasource":"[[ds]]"},{"datasource":"${ds:raw}"}]}`,
			DashboardUse{DataSources: []string{"${other}", "es1"}, Types: []string{"elasticsearch"}},
		},
		{
			"input of an exported dashboard", `{"__inputs":[{"name":"DS_JAEGER","type":"datasource","pluginId":"jaeger"}],"panels":[{"datasource":"${DS_JAEGER}","targets":[{}]}]}`,
			DashboardUse{DataSources: []string{"${DS_JAEGER}"}, Types: []string{"jaeger"}},
		},
		{
			"old rows", `{"rows":[{"panels":[{"datasource":"Logs ES","targets":[{}]}]}]}`,
			DashboardUse{DataSources: []string{"es1"}, Types: []string{"elasticsearch"}},
		},
		{
			"collapsed row", `{"panels":[{"type":"row","collapsed":true,"datasource":null,"panels":[{"datasource":{"uid":"jg"},"targets":[{}]}]}]}`,
			DashboardUse{DataSources: []string{"jg"}, Types: []string{"jaeger"}},
		},
		{
			"query variable without data source", `{"templating":{"list":[{"type":"query","name":"host","datasource":null},{"type":"custom","name":"c"}]}}`,
			DashboardUse{OtherTypes: []string{"prometheus"}},
		},
		{
			"ad hoc filter", `{"templating":{"list":[{"type":"adhoc","name":"f","datasource":{"uid":"es1"}}]}}`,
			DashboardUse{DataSources: []string{"es1"}, Types: []string{"elasticsearch"}},
		},
		{
			"annotations", `{"annotations":{"list":[{"builtIn":1,"datasource":"-- Grafana --"},{"datasource":"Jaeger","enable":false}]}}`,
			DashboardUse{DataSources: []string{"jg"}, Types: []string{"jaeger"}},
		},
		{
			"unknown name", `{"panels":[{"datasource":"Deleted ES","targets":[{}]}]}`,
			DashboardUse{},
		},
		{
			"odd shapes", `{"panels":[1,"x",null,{"datasource":7,"targets":"none"},{"targets":[null,3]}],"rows":{},"templating":[],"annotations":{"list":[true]}}`,
			DashboardUse{},
		},
	}
	want := map[string]bool{"elasticsearch": true, "jaeger": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := findUses([]byte(tt.dashboard), newDataSourceIndex(sources), want)
			if err != nil {
				t.Fatalf("findUses: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findUses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindUsesWithoutDefault(t *testing.T) {
	index := newDataSourceIndex([]DataSource{{UID: "es1", Name: "ES", Type: "elasticsearch"}})
	got, err := findUses([]byte(`{"panels":[{"datasource":null,"targets":[{}]}]}`), index, map[string]bool{"elasticsearch": true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Types) != 0 || len(got.OtherTypes) != 0 {
		t.Errorf("findUses = %+v, want no types when no data source is the default", got)
	}
	if _, err := findUses([]byte(`[1]`), index, nil); err == nil {
		t.Error("findUses on an array returned no error")
	}
}
