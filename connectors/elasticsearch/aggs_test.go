package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

// cardinalityServer serves _field_caps from caps, and responds to a search with one
// cardinality result per requested aggregation whose value is the length
// of the aggregated field's name, so a test can tell which field was
// counted. Responses reuse the recorded field caps and aggregation shapes;
// typed prefixes the aggregation names as typed_keys does.
type cardinalityServer struct {
	*httptest.Server
	mu           sync.Mutex
	searchBodies [][]byte
	searchQuery  []string
}

func newCardinalityServer(t *testing.T, caps map[string]any, typed bool) *cardinalityServer {
	t.Helper()
	fieldCaps := load(t, "field_caps__two_fields").Response
	search := load(t, "search__aggs_date_histogram_terms_cardinality_percentiles_untyped").Response
	s := &cardinalityServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/logs-*/_field_caps":
			fields := map[string]any{}
			for f := range strings.SplitSeq(r.URL.Query().Get("fields"), ",") {
				if c, ok := caps[f]; ok {
					fields[f] = c
				}
			}
			withJSON(t, fieldCaps, map[string]any{"indices": []string{"logs-1", "logs-2"}, "fields": fields}).Write(w)
		case r.URL.Path == "/logs-*/_search":
			s.mu.Lock()
			s.searchBodies = append(s.searchBodies, body)
			s.searchQuery = append(s.searchQuery, r.URL.RawQuery)
			s.mu.Unlock()
			var req struct {
				Aggs map[string]struct {
					Cardinality struct {
						Field string `json:"field"`
					} `json:"cardinality"`
				} `json:"aggs"`
			}
			if err := json.Unmarshal(body, &req); err != nil {
				t.Errorf("search body %s: %v", body, err)
			}
			m := decodeMap(t, search.Body)
			aggs := map[string]any{}
			for name, agg := range req.Aggs {
				if typed {
					name = "cardinality#" + name
				}
				aggs[name] = map[string]any{"value": len(agg.Cardinality.Field)}
			}
			m["aggregations"] = aggs
			withJSON(t, search, m).Write(w)
		default:
			http.Error(w, "no handler", http.StatusNotImplemented)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func capsOf(entries map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for field, byType := range entries {
		out[field] = byType
	}
	return out
}

func capEntry(searchable, aggregatable bool, indices ...string) map[string]any {
	e := map[string]any{"metadata_field": false, "searchable": searchable, "aggregatable": aggregatable}
	if len(indices) > 0 {
		e["indices"] = indices
	}
	return e
}

func TestCardinality(t *testing.T) {
	caps := capsOf(map[string]map[string]any{
		"host.name":             {"keyword": capEntry(true, true)},
		"message":               {"text": capEntry(true, false)},
		"message.keyword":       {"keyword": capEntry(true, true)},
		"event.original":        {"text": capEntry(true, false)},
		"status":                {"long": capEntry(true, true, "logs-1"), "keyword": capEntry(true, false, "logs-2")},
		"http.response.time_ms": {"long": capEntry(true, true)},
		"geo":                   {"geo_shape": capEntry(true, false)},
	})
	fields := []string{"host.name", "message", "event.original", "status", "missing", "http.response.time_ms", "geo"}
	from := time.Date(2099, 11, 15, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	for _, typed := range []bool{false, true} {
		t.Run(fmt.Sprintf("typed keys %v", typed), func(t *testing.T) {
			srv := newCardinalityServer(t, caps, typed)
			c, _ := newTestClient(t, srv.URL, nil)
			got, err := c.Cardinality(context.Background(), "logs-*", "@timestamp", fields, from, to)

			// Each count is the length of the field the server counted.
			want := map[string]int64{
				"host.name":             int64(len("host.name")),
				"message":               int64(len("message.keyword")),
				"http.response.time_ms": int64(len("http.response.time_ms")),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			var notAgg *NotAggregatableError
			if !errors.As(err, &notAgg) {
				t.Fatalf("error %v, want a *NotAggregatableError", err)
			}
			reasons := notAgg.Reasons()
			for field, fragment := range map[string]string{
				"event.original": ".keyword",
				"status":         "keyword and long",
				"missing":        "not mapped",
				"geo":            "geo_shape",
			} {
				if !strings.Contains(reasons[field], fragment) {
					t.Errorf("reason for %s is %q, want it to mention %q", field, reasons[field], fragment)
				}
			}
			if len(reasons) != 4 {
				t.Errorf("reasons %v, want 4 fields", reasons)
			}

			srv.mu.Lock()
			defer srv.mu.Unlock()
			if len(srv.searchBodies) != 1 {
				t.Fatalf("%d searches, want one", len(srv.searchBodies))
			}
			if !strings.Contains(srv.searchQuery[0], "allow_partial_search_results=false") {
				t.Errorf("search query %q, want allow_partial_search_results=false", srv.searchQuery[0])
			}
			var body any
			if err := json.Unmarshal(srv.searchBodies[0], &body); err != nil {
				t.Fatal(err)
			}
			cardinality := func(field string) map[string]any {
				return map[string]any{"cardinality": map[string]any{"field": field, "precision_threshold": float64(PrecisionThreshold)}}
			}
			wantBody := map[string]any{
				"size": 0.0, "track_total_hits": false,
				"query": map[string]any{"bool": map[string]any{"filter": []any{
					map[string]any{"range": map[string]any{"@timestamp": map[string]any{
						"gte": "2099-11-15T00:00:00.000000000Z", "lt": "2099-11-16T00:00:00.000000000Z", "format": "strict_date_optional_time_nanos",
					}}},
				}}},
				"aggs": map[string]any{
					"f0": cardinality("host.name"),
					"f1": cardinality("message.keyword"),
					"f5": cardinality("http.response.time_ms"),
				},
			}
			if diff := cmp.Diff(wantBody, body); diff != "" {
				t.Errorf("search body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCardinalityNothingAggregatable(t *testing.T) {
	srv := newCardinalityServer(t, map[string]any{}, false)
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.Cardinality(context.Background(), "logs-*", "", []string{"nope"}, time.Time{}, time.Time{})
	var notAgg *NotAggregatableError
	if !errors.As(err, &notAgg) || len(got) != 0 {
		t.Fatalf("Cardinality = %v, %v; want no counts and a *NotAggregatableError", got, err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.searchBodies) != 0 {
		t.Errorf("%d searches, want none", len(srv.searchBodies))
	}
}

func TestDecodeAggregationsRecorded(t *testing.T) {
	tests := []struct {
		recording string
		name      string
		want      string
	}{
		{"search__aggs_date_histogram_terms_cardinality_percentiles_typed_keys", "unique_hosts", `{"value":7}`},
		{"search__aggs_date_histogram_terms_cardinality_percentiles_untyped", "unique_hosts", `{"value":7}`},
		{"search__aggs_untyped_fragments", "author_count", `{"value":12}`},
		{"search__aggs_typed_keys_filter_sterms_lterms", "count", `{"value":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			aggs, err := decodeAggregations("POST /_search", load(t, tt.recording).Response.Body)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			if err := json.Unmarshal(aggs[tt.name], &got); err != nil {
				t.Fatalf("aggregation %s: %v (names: %v)", tt.name, err, keys(aggs))
			}
			_ = json.Unmarshal([]byte(tt.want), &want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("aggregation %s (-want +got):\n%s", tt.name, diff)
			}
			for name := range aggs {
				if strings.Contains(name, "#") {
					t.Errorf("aggregation name %q keeps its typed_keys prefix", name)
				}
			}
		})
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDecodeAggregationsShardFailures(t *testing.T) {
	_, err := decodeAggregations("POST /_search", load(t, "search__shard_failures_partial_results").Response.Body)
	var sfe *ShardFailureError
	if !errors.As(err, &sfe) {
		t.Errorf("decodeAggregations = %v, want a *ShardFailureError", err)
	}
}

// dailyHistogramBody returns a search response in the shape of the recorded
// typed_keys date_histogram, with one bucket per day of counts.
func dailyHistogramBody(t *testing.T, first time.Time, counts []int64, typed bool) []byte {
	t.Helper()
	m := decodeMap(t, load(t, "search__aggs_date_histogram_terms_cardinality_percentiles_typed_keys").Response.Body)
	recorded := m["aggregations"].(map[string]any)["date_histogram#per_hour"].(map[string]any)
	template := recorded["buckets"].([]any)[0].(map[string]any)
	var buckets []any
	for i, n := range counts {
		day := first.AddDate(0, 0, i)
		bucket := map[string]any{}
		for k, v := range template {
			if !strings.Contains(k, "#") {
				bucket[k] = v
			}
		}
		bucket["key"], bucket["key_as_string"], bucket["doc_count"] = day.UnixMilli(), day.Format("2006-01-02T15:04:05.000Z"), n
		buckets = append(buckets, bucket)
	}
	name := "days"
	if typed {
		name = "date_histogram#days"
	}
	m["aggregations"] = map[string]any{name: map[string]any{"buckets": buckets}}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDailyVolume(t *testing.T) {
	first := time.Date(2099, 11, 13, 0, 0, 0, 0, time.UTC)
	counts := []int64{120, 0, 45}
	for _, typed := range []bool{false, true} {
		t.Run(fmt.Sprintf("typed keys %v", typed), func(t *testing.T) {
			cat := load(t, "cat_indices__format_json").Response
			rows := `[{"health":"green","status":"open","index":"logs-1","docs.count":"1000","store.size":"3000000","pri.store.size":"1500000"},
				{"health":"green","status":"open","index":"logs-2","docs.count":"3000","store.size":"9000000","pri.store.size":"4500000"},
				{"health":"green","status":"open","index":"logs-empty","docs.count":"0","store.size":"225","pri.store.size":"225"}]`
			search := load(t, "search__aggs_date_histogram_terms_cardinality_percentiles_typed_keys").Response
			srv := recording.NewServer(t)
			srv.Handle("GET", "/_cat/indices/logs-*", withBody(cat, []byte(rows)))
			srv.Handle("GET", "/logs-*", withBody(load(t, "indices_get__index").Response, []byte(`{}`)))
			srv.Handle("POST", "/logs-*/_search", withBody(search, dailyHistogramBody(t, first, counts, typed)))
			c, _ := newTestClient(t, srv.URL, nil)

			from, to := first, first.AddDate(0, 0, 3)
			got, err := c.DailyVolume(context.Background(), "logs-*", "@timestamp", from, to)
			if err != nil {
				t.Fatal(err)
			}
			// 6,000,000 primary bytes over 4,000 documents: 1,500 bytes
			// per document; the empty index does not count.
			want := []DayVolume{
				{Day: first, Docs: 120, EstimatedBytes: 120 * 1500},
				{Day: first.AddDate(0, 0, 1), Docs: 0, EstimatedBytes: 0},
				{Day: first.AddDate(0, 0, 2), Docs: 45, EstimatedBytes: 45 * 1500},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("daily volume (-want +got):\n%s", diff)
			}

			_, bodies := requestsTo(srv, "POST", "/logs-*/_search")
			if len(bodies) != 1 {
				t.Fatalf("%d searches, want 1", len(bodies))
			}
			var body struct {
				Size int `json:"size"`
				Aggs struct {
					Days struct {
						DateHistogram map[string]any `json:"date_histogram"`
					} `json:"days"`
				} `json:"aggs"`
			}
			if err := json.Unmarshal(bodies[0], &body); err != nil {
				t.Fatal(err)
			}
			wantHistogram := map[string]any{
				"field": "@timestamp", "calendar_interval": "1d", "time_zone": "UTC", "min_doc_count": 0.0,
				"extended_bounds": map[string]any{"min": float64(from.UnixMilli()), "max": float64(to.UnixMilli() - 1)},
			}
			if diff := cmp.Diff(wantHistogram, body.Aggs.Days.DateHistogram); diff != "" || body.Size != 0 {
				t.Errorf("size %d, date_histogram (-want +got):\n%s", body.Size, diff)
			}
		})
	}
}

func TestDailyVolumeTooManyBuckets(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Handle("GET", "/_cat/indices/logs-*", withBody(load(t, "cat_indices__format_json").Response, []byte(`[]`)))
	srv.Handle("GET", "/logs-*", withBody(load(t, "indices_get__index").Response, []byte(`{}`)))
	srv.Handle("POST", "/logs-*/_search", load(t, "error__too_many_buckets_503").Response)
	c, rec := newTestClient(t, srv.URL, nil)
	_, err := c.DailyVolume(context.Background(), "logs-*", "@timestamp", time.Time{}, time.Time{})
	var esErr *Error
	if !errors.As(err, &esErr) || esErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("DailyVolume = %v, want a 503 *Error", err)
	}
	if len(rec.all()) != 0 {
		t.Errorf("%d retries of a too_many_buckets_exception, want none", len(rec.all()))
	}
}

func FuzzDecodeAggregations(f *testing.F) {
	for _, name := range []string{
		"search__aggs_date_histogram_terms_cardinality_percentiles_typed_keys",
		"search__aggs_date_histogram_terms_cardinality_percentiles_untyped",
		"search__aggs_typed_keys_date_range_cardinality", "search__aggs_untyped_fragments",
		"search__shard_failures_partial_results",
	} {
		f.Add(load(f, name).Response.Body)
	}
	f.Add([]byte(`{"aggregations":{"date_histogram#days":{"buckets":[{"key":1.6408224E12,"doc_count":3}]}}}`))
	f.Add([]byte(`{"aggregations":{"days":{"buckets":[{"key":"x","doc_count":3}]}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		aggs, err := decodeAggregations("POST /_search", body)
		if err != nil {
			return
		}
		for _, raw := range aggs {
			days, err := decodeDayBuckets(raw)
			if err != nil {
				continue
			}
			for _, d := range days {
				if d.Day.Location() != time.UTC {
					t.Fatalf("day %v is not in UTC", d.Day)
				}
			}
		}
	})
}
