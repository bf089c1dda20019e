package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

// catRowsWithDataStream returns the recorded _cat/indices rows plus one row
// for a data stream backing index, written by us in the same shape.
func catRowsWithDataStream(t *testing.T) (*recording.Response, []map[string]any) {
	t.Helper()
	cat := load(t, "cat_indices__format_json").Response
	var rows []map[string]any
	if err := json.Unmarshal(cat.Body, &rows); err != nil {
		t.Fatal(err)
	}
	ds := map[string]any{}
	for k, v := range rows[0] {
		ds[k] = v
	}
	ds["index"] = ".ds-logs-app-default-2099.11.15-000001"
	ds["health"], ds["docs.count"], ds["store.size"], ds["pri.store.size"] = "green", "10", "317704", "158852"
	rows = append(rows, ds)
	return cat, rows
}

func TestIndicesWithDataStreams(t *testing.T) {
	cat, rows := catRowsWithDataStream(t)
	index := load(t, "indices_get__index").Response
	stream := load(t, "indices_get__data_stream").Response
	const pattern = "my-index-*,logs-app-default"
	srv := recording.NewServer(t)
	srv.Handle("GET", "/_cat/indices/"+pattern, withJSON(t, cat, rows))
	srv.Handle("GET", "/"+pattern, withJSON(t, index, mergeObjects(t, index.Body, stream.Body)))
	c, _ := newTestClient(t, srv.URL, nil)

	got, err := c.Indices(context.Background(), pattern)
	if err != nil {
		t.Fatal(err)
	}
	want := []Index{
		{Name: ".ds-logs-app-default-2099.11.15-000001", DataStream: "logs-app-default", Health: "green", Status: "open", Docs: 10, StoreBytes: 317704, PrimaryStoreBytes: 158852, Hidden: true},
		// 88.1kb is 90214.4 bytes, rounded.
		{Name: "my-index-000001", Health: "yellow", Status: "open", Docs: 1200, StoreBytes: 90214, PrimaryStoreBytes: 90214},
		{Name: "my-index-000002", Health: "green", Status: "open", Docs: 0, StoreBytes: 260, PrimaryStoreBytes: 260},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("indices (-want +got):\n%s", diff)
	}

	catReqs, _ := requestsTo(srv, "GET", "/_cat/indices/"+pattern)
	if len(catReqs) != 1 {
		t.Fatalf("%d _cat/indices requests, want 1", len(catReqs))
	}
	q := catReqs[0].URL.Query()
	for key, value := range map[string]string{
		"format": "json", "bytes": "b", "expand_wildcards": "all",
		"h": "health,status,index,docs.count,store.size,pri.store.size",
	} {
		if q.Get(key) != value {
			t.Errorf("_cat/indices %s=%q, want %q", key, q.Get(key), value)
		}
	}
	getReqs, _ := requestsTo(srv, "GET", "/"+pattern)
	if len(getReqs) != 1 || getReqs[0].URL.Query().Get("filter_path") != "*.data_stream,*.settings.index.hidden" {
		t.Errorf("index requests %v, want one with filter_path *.data_stream,*.settings.index.hidden", getReqs)
	}
}

func TestIndicesClosedIndex(t *testing.T) {
	cat := load(t, "cat_indices__format_json").Response
	closed := `[{"health":"red","status":"close","index":"old-logs","uuid":"x","pri":"1","rep":"0","docs.count":null,"docs.deleted":null,"store.size":null,"pri.store.size":null}]`
	srv := recording.NewServer(t)
	srv.Handle("GET", "/_cat/indices/old-*", withBody(cat, []byte(closed)))
	srv.Handle("GET", "/old-*", withBody(load(t, "indices_get__index").Response, []byte(`{}`)))
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.Indices(context.Background(), "old-*")
	if err != nil {
		t.Fatal(err)
	}
	want := []Index{{Name: "old-logs", Health: "red", Status: "close"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("indices (-want +got):\n%s", diff)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"90214", 90214, true},
		{"", 0, true},
		{"260b", 260, true},
		{"88.1kb", 90214, true},
		{"1.5mb", 1572864, true},
		{"2gb", 2 << 30, true},
		{"1TB", 1 << 40, true},
		{"0.5pb", 1 << 49, true},
		{"-1", 0, false},
		{"12xb", 0, false},
		{"kb", 0, false},
		{"NaNkb", 0, false},
		{"1e300pb", 0, false},
	}
	for _, tt := range tests {
		got, err := parseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"90214", "88.1kb", "260b", "1.5MB", "", "-3kb", "1e9pb", " 7 gb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseByteSize(s)
		if err == nil && n < 0 {
			t.Fatalf("parseByteSize(%q) = %d, a negative size", s, n)
		}
	})
}

func TestDataStreams(t *testing.T) {
	ex := load(t, "indices_get_data_stream__two_streams")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.DataStreams(context.Background(), "my-data-stream")
	if err != nil {
		t.Fatal(err)
	}
	var recorded struct {
		DataStreams []struct {
			Name           string `json:"name"`
			TimestampField struct {
				Name string `json:"name"`
			} `json:"timestamp_field"`
			Indices []struct {
				IndexName string `json:"index_name"`
			} `json:"indices"`
			Status string `json:"status"`
		} `json:"data_streams"`
	}
	if err := json.Unmarshal(ex.Response.Body, &recorded); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recorded.DataStreams) {
		t.Fatalf("%d data streams, want %d", len(got), len(recorded.DataStreams))
	}
	for i, r := range recorded.DataStreams {
		var indices []string
		for _, idx := range r.Indices {
			indices = append(indices, idx.IndexName)
		}
		if got[i].Name != r.Name || got[i].TimestampField != r.TimestampField.Name || got[i].Status != r.Status || !slices.Equal(got[i].Indices, indices) {
			t.Errorf("data stream %d = %+v, want %s (%s) with %v", i, got[i], r.Name, r.TimestampField.Name, indices)
		}
	}
}

func TestFieldCaps(t *testing.T) {
	ex := load(t, "field_caps__two_fields")
	srv := recording.NewServer(t)
	srv.Handle("POST", "/index1,index2,index3,index4,index5/_field_caps", ex.Response)
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.FieldCaps(context.Background(), "index1,index2,index3,index4,index5", []string{"rating", "title"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]FieldCap{
		// long is searchable but not aggregatable, keyword the reverse.
		"rating": {Types: []string{"keyword", "long"}},
		"title":  {Types: []string{"text"}, Searchable: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field caps (-want +got):\n%s", diff)
	}
	reqs, _ := srv.Requests()
	if len(reqs) != 1 || reqs[0].URL.Query().Get("fields") != "rating,title" {
		t.Errorf("requests %v, want one with fields=rating,title", reqs)
	}
}

// fieldCapsEcho serves _field_caps with every requested field mapped as
// keyword, in the shape of the recorded field caps response.
func fieldCapsEcho(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	recorded := load(t, "field_caps__two_fields").Response
	var mu sync.Mutex
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fields := r.URL.Query().Get("fields")
		mu.Lock()
		requests = append(requests, fields)
		mu.Unlock()
		out := map[string]any{"indices": []string{"a"}, "fields": map[string]any{}}
		for f := range strings.SplitSeq(fields, ",") {
			out["fields"].(map[string]any)[f] = map[string]any{
				"keyword": map[string]any{"metadata_field": false, "searchable": true, "aggregatable": true},
			}
		}
		withJSON(t, recorded, out).Write(w)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(requests)
	}
}

func TestFieldCapsBatches(t *testing.T) {
	srv, requests := fieldCapsEcho(t)
	c, _ := newTestClient(t, srv.URL, nil)
	var fields []string
	for i := range 400 {
		fields = append(fields, fmt.Sprintf("kubernetes.labels.app_kubernetes_io_component_%03d", i))
	}
	got, err := c.FieldCaps(context.Background(), "logs-*", fields)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fields) {
		t.Errorf("%d fields, want %d", len(got), len(fields))
	}
	if len(requests()) < 2 {
		t.Errorf("%d requests, want the fields split over several", len(requests()))
	}
	for _, r := range requests() {
		if len(r) > fieldCapsURLBudget {
			t.Errorf("a request lists %d bytes of field names, more than %d", len(r), fieldCapsURLBudget)
		}
	}
}

func TestCount(t *testing.T) {
	ex := load(t, "count__term_query")
	srv := recording.NewServer(t)
	srv.Handle("POST", "/my-index-000001/_count", ex.Response)
	c, _ := newTestClient(t, srv.URL, nil)
	from := time.Date(2099, 11, 15, 0, 0, 0, 0, time.UTC)
	n, err := c.Count(context.Background(), "my-index-000001", json.RawMessage(`{"term":{"user.id":"kimchy"}}`), "@timestamp", from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := decodeMap(t, ex.Response.Body)["count"]; fmt.Sprint(n) != fmt.Sprint(want) {
		t.Errorf("count %d, want the recorded %v", n, want)
	}
	_, bodies := srv.Requests()
	var got any
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"query": map[string]any{"bool": map[string]any{"filter": []any{
		map[string]any{"term": map[string]any{"user.id": "kimchy"}},
		map[string]any{"range": map[string]any{"@timestamp": map[string]any{
			"gte": "2099-11-15T00:00:00.000000000Z", "lt": "2099-11-15T01:00:00.000000000Z", "format": "strict_date_optional_time_nanos",
		}}},
	}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("count body (-want +got):\n%s", diff)
	}
}

func TestCountShardFailures(t *testing.T) {
	failures := load(t, "search__shard_failures_partial_results").Response
	m := decodeMap(t, failures.Body)
	body := map[string]any{"count": 12, "_shards": m["_shards"]}
	srv := recording.NewServer(t)
	srv.Handle("POST", "/l9leakip-0000001/_count", withJSON(t, failures, body))
	c, _ := newTestClient(t, srv.URL, nil)
	n, err := c.Count(context.Background(), "l9leakip-0000001", nil, "", time.Time{}, time.Time{})
	var sfe *ShardFailureError
	if !errors.As(err, &sfe) {
		t.Fatalf("Count = %d, %v; want a *ShardFailureError", n, err)
	}
}

func TestCountRejectsInvalidInput(t *testing.T) {
	c, _ := newTestClient(t, "http://127.0.0.1:1", nil)
	at := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		pattern string
		query   json.RawMessage
		field   string
		from    time.Time
		to      time.Time
		want    string
	}{
		{"empty pattern", " , ", nil, "", time.Time{}, time.Time{}, "empty index pattern"},
		{"range without field", "x", nil, "", at, time.Time{}, "needs a time field"},
		{"reversed range", "x", nil, "@timestamp", at, at.Add(-time.Second), "empty time range"},
		{"invalid query", "x", json.RawMessage(`{"term"`), "", time.Time{}, time.Time{}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Count(context.Background(), tt.pattern, tt.query, tt.field, tt.from, tt.to)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Count = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
