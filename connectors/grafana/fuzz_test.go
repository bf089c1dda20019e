package grafana

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// addSmallCorpus seeds a fuzz test with the smallest corpus dashboards,
// which between them use names, objects, null and variables. The larger
// ones make each minimization of a new input take minutes.
func addSmallCorpus(f *testing.F) {
	corpus := corpusDashboards(f)
	for _, name := range []string{
		"grafana-devenv-elasticsearch_v7_filebeat",
		"opensearch-ds-traces",
		"loki-gardener-systemd-logs",
		"otel-demo-events-by-name",
	} {
		raw, ok := corpus[name]
		if !ok {
			f.Fatalf("corpus dashboard %s is missing", name)
		}
		f.Add(raw)
	}
}

// FuzzFindUses checks that the data source walker never panics on any
// JSON, and that its result is consistent: sorted, without duplicates,
// requested and other types apart, and sources only for requested types.
func FuzzFindUses(f *testing.F) {
	addSmallCorpus(f)
	seeds := []string{
		`{}`,
		`[]`,
		`null`,
		`{"panels":null,"rows":null,"templating":null,"annotations":null}`,
		`{"panels":[{"datasource":"-- Mixed --","targets":[{},{"datasource":"${x:raw}"},{"datasource":{"uid":"[[y]]"}}]}]}`,
		`{"panels":[{"panels":[{"panels":[{"datasource":{"uid":"es1"},"targets":[{}]}]}]}]}`,
		`{"__inputs":[{"name":"DS","type":"datasource","pluginId":"jaeger"}],"panels":[{"datasource":"${DS}"}]}`,
		`{"templating":{"list":[{"type":"datasource","name":"v","query":{"query":"elasticsearch"},"current":{"value":["a","b"]}},{"type":"query","datasource":"$v"}]}}`,
		`{"annotations":{"list":[{"builtIn":true},{"builtIn":1},{"datasource":{}},{"datasource":{"type":"x"}}]}}`,
		`{"panels":[{"datasource":{"type":"datasource","uid":"grafana"},"targets":[{"datasource":null}]}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	index := newDataSourceIndex([]DataSource{
		{UID: "es1", Name: "ES", Type: "elasticsearch"},
		{UID: "prom", Name: "Prometheus", Type: "prometheus", IsDefault: true},
		{UID: "jg", Name: "Jaeger", Type: "jaeger"},
		{Name: "no uid", Type: "elasticsearch"},
	})
	want := map[string]bool{"elasticsearch": true, "jaeger": true, "grafana-opensearch-datasource": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		use, err := findUses(data, index, want)
		if err != nil {
			var v map[string]any
			if json.Unmarshal(data, &v) == nil {
				t.Fatalf("error %v for a JSON object", err)
			}
			return
		}
		for _, list := range [][]string{use.Types, use.OtherTypes, use.DataSources} {
			if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
				t.Fatalf("list %q is not sorted and unique", list)
			}
		}
		for _, typ := range use.Types {
			if !want[typ] {
				t.Fatalf("Types has %q, which was not requested", typ)
			}
		}
		for _, typ := range use.OtherTypes {
			if want[typ] || typ == "" {
				t.Fatalf("OtherTypes has %q", typ)
			}
		}
		if len(use.DataSources) > 0 && len(use.Types) == 0 {
			t.Fatalf("DataSources %q without Types", use.DataSources)
		}
	})
}

// FuzzNullMembers checks that nullMembers changes only the values of the
// named top-level members of a JSON object.
func FuzzNullMembers(f *testing.F) {
	addSmallCorpus(f)
	for _, s := range []string{
		`{"id":1}`,
		`{ "id" : 12.5e3 , "uid":"x"}`,
		`{"id":{"id":2},"panels":[{"id":3}],"id":[1,2]}`,
		"{\"a\":\"<&>\",\n\t\"id\":\"\\u0069d\"}",
		`{"\u0069d":true}`,
		`{}`,
		`{"idx":1,"ID":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before map[string]json.RawMessage
		if bytes.TrimSpace(data) == nil || json.Unmarshal(data, &before) != nil || before == nil {
			return
		}
		obj := bytes.TrimSpace(data)
		out, err := nullMembers(obj, "id")
		if err != nil {
			t.Fatalf("nullMembers failed on a valid object: %v", err)
		}
		var after map[string]json.RawMessage
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("output is not a JSON object: %v\n%s", err, out)
		}
		if len(after) != len(before) {
			t.Fatalf("output has %d members, input %d", len(after), len(before))
		}
		for key, value := range before {
			got := after[key]
			if key == "id" {
				if string(got) != "null" {
					t.Fatalf("id = %s, want null", got)
				}
				continue
			}
			if !bytes.Equal(got, value) {
				t.Fatalf("member %q changed from %s to %s", key, value, got)
			}
		}
		if _, ok := before["id"]; !ok && !bytes.Equal(out, obj) {
			t.Fatal("an object without id changed")
		}
	})
}
