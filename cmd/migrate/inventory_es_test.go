package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/inventory"
)

// distinctValues are the cardinalities the stand-in reports, by field.
var distinctValues = map[string]float64{
	"service.name": 30, "kubernetes.pod.name": 40000, "log.level": 5,
	"host.name": 200, "kubernetes.namespace": 12,
}

const standInIndex = "k8s-logs-2026.12.04"

// standInElasticsearch is a test server written for these tests, since
// Elasticsearch cannot run here. Every answer is a recorded Elasticsearch 8
// body (testdata/recordings/elasticsearch-8) with the index renamed; the
// mapping gains two keyword fields, kubernetes.pod.name and
// kubernetes.namespace, and the search answers fill the recorded
// aggregation shapes with the values above.
func standInElasticsearch(t *testing.T) http.Handler {
	info := recording.MustLoad(t, "elasticsearch-8", "info__8_17_0_recorded")
	cat := recording.MustLoad(t, "elasticsearch-8", "cat_indices__format_json")
	index := recording.MustLoad(t, "elasticsearch-8", "indices_get__index")
	mapping := recording.MustLoad(t, "elasticsearch-8", "indices_get_mapping__index")
	search := recording.MustLoad(t, "elasticsearch-8", "search__aggs_typed_keys_date_range_cardinality")

	var rows []map[string]any
	mustJSON(t, cat.Response.Body, &rows)
	row := rows[0]
	row["index"], row["docs.count"], row["store.size"], row["pri.store.size"] = standInIndex, "864000", "864mb", "864mb"

	renamed := func(body []byte) map[string]any {
		var m map[string]any
		mustJSON(t, body, &m)
		return map[string]any{standInIndex: m["my-index-000001"]}
	}
	indexBody := renamed(index.Response.Body)
	mappingBody := renamed(mapping.Response.Body)
	props := mappingBody[standInIndex].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	props["kubernetes"] = map[string]any{"properties": map[string]any{
		"pod":       map[string]any{"properties": map[string]any{"name": map[string]any{"type": "keyword"}}},
		"namespace": map[string]any{"type": "keyword"},
	}}
	types := map[string]string{
		"@timestamp": "date", "message": "text", "log.level": "keyword", "service.name": "keyword",
		"host.name": "keyword", "kubernetes.pod.name": "keyword", "kubernetes.namespace": "keyword",
	}
	var searchEnvelope map[string]any
	mustJSON(t, search.Response.Body, &searchEnvelope)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { info.Response.Write(w) })
	mux.HandleFunc("GET /_cat/indices/{pattern}", func(w http.ResponseWriter, _ *http.Request) {
		writeRecorded(t, w, cat.Response, []any{row})
	})
	mux.HandleFunc("GET /{pattern}", func(w http.ResponseWriter, _ *http.Request) { writeRecorded(t, w, index.Response, indexBody) })
	mux.HandleFunc("GET /{pattern}/_mapping", func(w http.ResponseWriter, _ *http.Request) {
		writeRecorded(t, w, mapping.Response, mappingBody)
	})
	mux.HandleFunc("POST /{pattern}/_field_caps", func(w http.ResponseWriter, r *http.Request) {
		fields := map[string]any{}
		for _, name := range strings.Split(r.URL.Query().Get("fields"), ",") {
			if typ, ok := types[name]; ok {
				fields[name] = map[string]any{typ: map[string]any{
					"metadata_field": false, "searchable": true, "aggregatable": typ != "text",
				}}
			}
		}
		writeRecorded(t, w, search.Response, map[string]any{"indices": []string{standInIndex}, "fields": fields})
	})
	mux.HandleFunc("POST /{pattern}/_search", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Aggs map[string]struct {
				Cardinality *struct {
					Field string `json:"field"`
				} `json:"cardinality"`
				DateHistogram map[string]any `json:"date_histogram"`
			} `json:"aggs"`
		}
		body, _ := io.ReadAll(r.Body)
		mustJSON(t, body, &req)
		aggs := map[string]any{}
		for name, agg := range req.Aggs {
			switch {
			case agg.Cardinality != nil:
				aggs["cardinality#"+name] = map[string]any{"value": distinctValues[agg.Cardinality.Field]}
			case agg.DateHistogram != nil:
				day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
				aggs["date_histogram#"+name] = map[string]any{"buckets": []any{
					map[string]any{"key": day.UnixMilli(), "key_as_string": day.Format(time.RFC3339), "doc_count": 432000},
					map[string]any{"key": day.AddDate(0, 0, 1).UnixMilli(), "key_as_string": day.AddDate(0, 0, 1).Format(time.RFC3339), "doc_count": 432000},
				}}
			}
		}
		answer := map[string]any{}
		for k, v := range searchEnvelope {
			answer[k] = v
		}
		answer["aggregations"] = aggs
		writeRecorded(t, w, search.Response, answer)
	})
	return mux
}

func writeRecorded(t *testing.T, w http.ResponseWriter, recorded *recording.Response, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		t.Error(err)
	}
	(&recording.Response{Status: recorded.Status, Header: recorded.Header, Body: data}).Write(w)
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
}

func TestInventoryMovesPodNameToStructuredMetadata(t *testing.T) {
	es := httptest.NewServer(standInElasticsearch(t))
	defer es.Close()
	lokiSrv := recording.NewServer(t)
	lokiSrv.Replay(recording.MustLoad(t, "loki-3.7.6", "status_config_yaml"))

	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	body := "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: k8s}\n" +
		"sources:\n  elasticsearch: {url: \"" + es.URL + "\"}\n" +
		"targets:\n  loki: {url: \"" + lokiSrv.URL + "\"}\n" +
		"logs:\n  - indices: \"k8s-logs-*\"\n    labels: {service: service.name}\n    static_labels: {source: filebeat}\n    line: message\n"
	if err := os.WriteFile(plan, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"inventory", plan, "-o", "json"}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	var rep inventory.Report
	mustJSON(t, stdout.Bytes(), &rep)
	if rep.Elasticsearch == nil || len(rep.Elasticsearch.Mappings) != 1 {
		t.Fatalf("no mapping measured: %s", stdout.String())
	}
	m := rep.Elasticsearch.Mappings[0]
	if len(m.Problems) > 0 {
		t.Fatalf("problems: %v", m.Problems)
	}
	if rep.Loki.Limits.MaxStreams != 5000 || !strings.Contains(rep.Loki.Limits.Source, "config") {
		t.Errorf("limits %+v, want the recorded /config", rep.Loki.Limits)
	}
	roles := map[string]inventory.FieldDecision{}
	for _, f := range m.Proposal.Fields {
		roles[f.Field] = f
	}
	pod := roles["kubernetes.pod.name"]
	if pod.Role != inventory.RoleStructuredMetadata || pod.Cardinality != 40000 {
		t.Errorf("pod name %+v, want structured metadata with 40000 values", pod)
	}
	if !strings.Contains(pod.Reason, "40000 distinct values") || !strings.Contains(pod.Reason, "budget of 2500") {
		t.Errorf("pod name reason %q does not explain the move", pod.Reason)
	}
	for _, field := range []string{"service.name", "log.level", "kubernetes.namespace"} {
		if roles[field].Role != inventory.RoleLabel {
			t.Errorf("%s: %+v, want a label", field, roles[field])
		}
	}
	if roles["host.name"].Role != inventory.RoleStructuredMetadata {
		t.Errorf("host.name with 200 values on top of 1800 streams: %+v", roles["host.name"])
	}
	if m.Proposal.ProjectedStreams != 30*5*12 {
		t.Errorf("projected streams %d, want %d", m.Proposal.ProjectedStreams, 30*5*12)
	}
	if m.TimeField != "@timestamp" || m.Docs != 864000 {
		t.Errorf("time field %q, docs %d", m.TimeField, m.Docs)
	}
	if !rep.Loki.OK {
		t.Errorf("the plan maps only service.name, which fits: %v", rep.Loki.Problems)
	}
}

func TestInventoryHoldsOnPlanLabelOverLimit(t *testing.T) {
	es := httptest.NewServer(standInElasticsearch(t))
	defer es.Close()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	body := "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: k8s}\n" +
		"sources:\n  elasticsearch: {url: \"" + es.URL + "\"}\n" +
		"logs:\n  - indices: \"k8s-logs-*\"\n    labels: {pod: kubernetes.pod.name}\n    line: message\n"
	if err := os.WriteFile(plan, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"inventory", plan}, nil, &stdout, &stderr)
	if code != exitHeld {
		t.Fatalf("exit %d, want %d: %s", code, exitHeld, stderr.String())
	}
	if !strings.Contains(stderr.String(), "do not fit Loki's limits") {
		t.Errorf("stderr %q", stderr.String())
	}
	for _, want := range []string{"does NOT fit", "the plan maps kubernetes.pod.name as label pod", "Loki 3.x defaults"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
