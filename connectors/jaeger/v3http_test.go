package jaeger

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/recording"
)

const recordings = "jaeger-1.75.0"

// replay serves the named recordings and returns a client of the api_v3
// HTTP path pointed at them.
func replay(t *testing.T, names ...string) (*Client, *recording.Server) {
	t.Helper()
	s := recording.NewServer(t)
	for _, name := range names {
		s.Replay(recording.MustLoad(t, recordings, name))
	}
	c, err := New(Config{HTTP: s.URL, Timeout: 5 * time.Second, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// recordedWindow is a query that covers the recordings' traces.
func recordedWindow(service string) TraceQuery {
	return TraceQuery{
		Service:  service,
		StartMin: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC),
		StartMax: time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC),
	}
}

func TestHTTPRecordedServices(t *testing.T) {
	c, _ := replay(t, "v3_services")
	got, err := c.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !sort.StringsAreSorted(got) {
		t.Errorf("Services %v are not sorted", got)
	}
	for _, want := range []string{"recorded-svc", "rec-frontend", "rec-db"} {
		if i := sort.SearchStrings(got, want); i == len(got) || got[i] != want {
			t.Errorf("Services %v lack %q", got, want)
		}
	}
}

func TestHTTPRecordedOperations(t *testing.T) {
	c, s := replay(t, "v3_operations")
	got, err := c.Operations(t.Context(), "recorded-svc")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("Operations returned none")
	}
	kinds := map[string]string{}
	for _, op := range got {
		if op.Name == "" || op.SpanKind == "" {
			t.Errorf("operation %+v lacks a name or span kind", op)
		}
		kinds[op.Name] = op.SpanKind
	}
	// telemetrygen's spans: lets-go is the client, okey-dokey-0 the server.
	if kinds["lets-go"] != "client" || kinds["okey-dokey-0"] != "server" {
		t.Errorf("span kinds = %v, want lets-go client and okey-dokey-0 server", kinds)
	}
	requests, _ := s.Requests()
	if got := requests[0].URL.Query().Get("service"); got != "recorded-svc" {
		t.Errorf("request service = %q, want recorded-svc", got)
	}
}

func TestHTTPRecordedFindTraces(t *testing.T) {
	recorded := recording.MustLoad(t, recordings, "v3_find_traces")
	c, s := replay(t, "v3_find_traces")
	q := recordedWindow("recorded-svc")
	q.NumTraces = 2
	traces, err := c.FindTraces(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	// The recorded response merges two traces into one resourceSpans list.
	if ids := traceIDs(t, traces); len(ids) != 2 || ids[0] == ids[1] {
		t.Errorf("FindTraces returned trace IDs %v, want 2 distinct", ids)
	}
	var envelope struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(recorded.Response.Body, &envelope); err != nil {
		t.Fatal(err)
	}
	var whole ptrace.JSONUnmarshaler
	td, err := whole.UnmarshalTraces(envelope.Result)
	if err != nil {
		t.Fatalf("reading the recorded result: %v", err)
	}
	total := 0
	for _, tr := range traces {
		total += tr.SpanCount()
		for _, rec := range spansOf(tr) {
			if _, ok := rec.resource.Attributes().Get("service.name"); !ok {
				t.Errorf("span %s lost its resource's service.name", rec.span.SpanID())
			}
		}
	}
	if total != td.SpanCount() {
		t.Errorf("split traces hold %d spans, the response %d", total, td.SpanCount())
	}

	// The request carries the parameters the recorded request had, in the
	// formats Jaeger v1.75.0 accepts.
	requests, _ := s.Requests()
	sent := requests[0].URL.Query()
	for key := range recorded.Request.Query {
		if sent.Get(key) == "" {
			t.Errorf("request lacks %s; sent %v", key, sent)
		}
	}
	for _, key := range []string{"query.start_time_min", "query.start_time_max"} {
		if _, err := time.Parse(time.RFC3339Nano, sent.Get(key)); err != nil {
			t.Errorf("%s = %q is not RFC3339: %v", key, sent.Get(key), err)
		}
	}
	if sent.Get("query.num_traces") != "2" || sent.Get("query.service_name") != "recorded-svc" {
		t.Errorf("request query = %v, want service recorded-svc and num_traces 2", sent)
	}
}

func TestHTTPRecordedFindErrors(t *testing.T) {
	tests := []struct {
		recording string
		// wantErr is empty when the response means no traces.
		wantErr []string
	}{
		{"v3_find_traces_no_match_404", nil},
		{"v3_find_traces_without_num_traces_500", []string{"search depth must be greater than 0", "lower NumTraces below"}},
		{"v3_find_traces_bad_time_format_400", []string{"malformed parameter query.start_time_min"}},
		{"v3_find_traces_missing_time_400", []string{"query.start_time_min and query.start_time_max are required"}},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			c, s := replay(t, tt.recording)
			traces, err := c.FindTraces(t.Context(), recordedWindow("recorded-svc"))
			requests, _ := s.Requests()
			if len(requests) != 1 {
				t.Errorf("client sent %d requests, want 1 (no retry)", len(requests))
			}
			if tt.wantErr == nil {
				if err != nil || traces == nil || len(traces) != 0 {
					t.Errorf("FindTraces = %d traces, error %v; want an empty non-nil slice", len(traces), err)
				}
				return
			}
			if err == nil {
				t.Fatal("FindTraces returned no error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("FindTraces error %q does not contain %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), `service "recorded-svc"`) {
				t.Errorf("error %q does not name the service", err)
			}
		})
	}
}

func TestHTTPRecordedGetTrace(t *testing.T) {
	ex := recording.MustLoad(t, recordings, "v3_trace_by_id")
	id := traceIDFromHex(t, strings.TrimPrefix(ex.Request.Path, "/api/v3/traces/"))
	c, s := replay(t, "v3_trace_by_id")
	td, found, err := c.GetTrace(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("GetTrace = found %v, error %v", found, err)
	}

	services := map[string]bool{}
	errorSpans, events := 0, 0
	for _, rec := range spansOf(td) {
		if rec.span.TraceID() != id {
			t.Errorf("span %s has trace ID %s, want %s", rec.span.SpanID(), rec.span.TraceID(), id)
		}
		if v, ok := rec.resource.Attributes().Get("service.name"); ok {
			services[v.Str()] = true
		}
		if rec.span.Status().Code() == ptrace.StatusCodeError {
			errorSpans++
		}
		events += rec.span.Events().Len()
	}

	// The hand-written trace: rec-frontend calls rec-db, one span has an
	// error status and one an event.
	if !services["rec-frontend"] || !services["rec-db"] {
		t.Errorf("services %v, want rec-frontend and rec-db", services)
	}
	if errorSpans == 0 || events == 0 {
		t.Errorf("trace has %d error spans and %d events, want at least one of each", errorSpans, events)
	}
	requests, _ := s.Requests()
	if got := requests[0].URL.Query().Get("raw_traces"); got != "true" {
		t.Errorf("raw_traces = %q, want true", got)
	}
}

func TestHTTPRecordedGetTraceErrors(t *testing.T) {
	id := pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	notJaeger := &recording.Response{Status: 404, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("404 page not found\n")}
	tests := []struct {
		name     string
		response *recording.Response
		wantErr  string
	}{
		{"not found", recording.MustLoad(t, recordings, "v3_trace_by_id_not_found_404").Response, ""},
		{"invalid id", recording.MustLoad(t, recordings, "v3_trace_by_id_invalid_400").Response, "malformed parameter trace_id"},
		{"404 from another server", notJaeger, "check that the HTTP URL is jaeger-query's HTTP API"},
		{"empty result", &recording.Response{Status: 200, Body: []byte(`{"result":{}}`)}, ""},
		{"not JSON", &recording.Response{Status: 200, Body: []byte(`<html>`)}, "invalid JSON response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := recording.NewServer(t)
			s.Handle("GET", "/api/v3/traces/"+id.String(), tt.response)
			c, err := New(Config{HTTP: s.URL, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			td, found, err := c.GetTrace(t.Context(), id)
			if tt.wantErr == "" {
				if err != nil || found || td.SpanCount() != 0 {
					t.Errorf("GetTrace = %d spans, found %v, error %v; want not found", td.SpanCount(), found, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("GetTrace error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestHTTPRetriesAndToken(t *testing.T) {
	const token = "http-s3cret"
	s := recording.NewServer(t)
	services := recording.MustLoad(t, recordings, "v3_services").Response
	s.Handle("GET", "/api/v3/services", &recording.Response{Status: 503, Body: []byte("warming up")}, services)
	c, err := New(Config{HTTP: s.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Services(t.Context()); err != nil {
		t.Fatal(err)
	}
	requests, _ := s.Requests()
	if len(requests) != 2 {
		t.Errorf("client sent %d requests, want 2 (one retry after 503)", len(requests))
	}
	for i, r := range requests {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("request %d: Authorization = %q", i, got)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	ca := newTestCA(t)
	tlsServer := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsServer.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)

	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"untrusted certificate", Config{HTTP: tlsServer.URL, TLS: httpx.TLS{CAFile: ca.file}}, []string{"TLS failed", "certificate"}},
		{"timeout", Config{HTTP: slow.URL, Timeout: 200 * time.Millisecond, MaxAttempts: 1}, []string{"timed out", "raise the timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Services(t.Context())
			if err == nil {
				t.Fatal("Services returned no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestHTTPFindTracesRejectsTags(t *testing.T) {
	c, s := replay(t, "v3_find_traces")
	q := recordedWindow("recorded-svc")
	q.Tags = map[string]string{"b": "1", "a": "2"}
	_, err := c.FindTraces(t.Context(), q)
	if err == nil || !strings.Contains(err.Error(), "tags a, b") || !strings.Contains(err.Error(), "gRPC address") {
		t.Errorf("error = %v, want one naming the tags and the gRPC address", err)
	}
	if requests, _ := s.Requests(); len(requests) != 0 {
		t.Errorf("client sent %d requests, want none", len(requests))
	}
}

func TestHTTPFindTracesQuery(t *testing.T) {
	c, s := replay(t, "v3_find_traces_no_match_404")
	q := TraceQuery{
		Service: "svc", Operation: "GET /x",
		StartMin: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)), StartMax: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC),
		DurationMin: 1500 * time.Microsecond, DurationMax: 2 * time.Second, NumTraces: 7,
	}
	if _, err := c.FindTraces(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	requests, _ := s.Requests()
	got := map[string]string{}
	for k, v := range requests[0].URL.Query() {
		got[k] = strings.Join(v, ",")
	}
	want := map[string]string{
		"query.service_name":   "svc",
		"query.operation_name": "GET /x",
		"query.start_time_min": "2026-01-02T02:04:05.000006Z",
		"query.start_time_max": "2026-01-02T04:00:00Z",
		"query.duration_min":   "1.5ms",
		"query.duration_max":   "2s",
		"query.num_traces":     "7",
		"query.raw_traces":     "true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request query differs (-want +got):\n%s", diff)
	}
}

func traceIDFromHex(t *testing.T, s string) pcommon.TraceID {
	t.Helper()
	var id pcommon.TraceID
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != len(id) {
		t.Fatalf("trace ID %q is not 32 hex digits", s)
	}
	copy(id[:], raw)
	return id
}
