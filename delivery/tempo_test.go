package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/internal/recording"
)

const tempoRecordings = "tempo-3.0.3"

// tempoDeadLetters keeps dead letters in memory.
type tempoDeadLetters struct {
	mu      sync.Mutex
	letters []tempoDeadLetterRecord
	err     error
}

type tempoDeadLetterRecord struct {
	Destination, Reason, Detail string
	Record                      []byte
}

func (d *tempoDeadLetters) Put(destination, reason, detail string, record []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.letters = append(d.letters, tempoDeadLetterRecord{destination, reason, detail, append([]byte(nil), record...)})
	return nil
}

func (d *tempoDeadLetters) all() []tempoDeadLetterRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]tempoDeadLetterRecord(nil), d.letters...)
}

// tempoTestTrace returns a trace of spans spans under service, each span with an
// attribute of payload bytes.
func tempoTestTrace(id byte, service string, spans, payload int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	for i := range spans {
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(pcommon.TraceID{id, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		span.SetSpanID(pcommon.SpanID{id, byte(i + 1), 0, 0, 0, 0, 0, 1})
		span.SetName("op")
		span.SetStartTimestamp(pcommon.Timestamp(1_796_400_147_539_222_027 + int64(i)))
		span.SetEndTimestamp(pcommon.Timestamp(1_796_400_147_544_222_027 + int64(i)))
		span.Attributes().PutStr("payload", strings.Repeat("p", payload))
	}
	return td
}

// tempoJoin appends the resources of each td into one.
func tempoJoin(tds ...ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range tds {
		for i := range td.ResourceSpans().Len() {
			td.ResourceSpans().At(i).CopyTo(out.ResourceSpans().AppendEmpty())
		}
	}
	return out
}

// tempoOTLPServer is an OTLP/HTTP receiver that decodes each protobuf request
// and responds with respond(td).
type tempoOTLPServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []ptrace.Traces
	sizes    []int
	respond  func(td ptrace.Traces) *recording.Response
}

func newTempoOTLPServer(t *testing.T, respond func(td ptrace.Traces) *recording.Response) *tempoOTLPServer {
	t.Helper()
	s := &tempoOTLPServer{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("request %s %s with Content-Type %q, want POST /v1/traces as protobuf", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Errorf("request body is not an OTLP ExportTraceServiceRequest: %v", err)
		}
		s.mu.Lock()
		s.requests = append(s.requests, req.Traces())
		s.sizes = append(s.sizes, len(body))
		s.mu.Unlock()
		s.respond(req.Traces()).Write(w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tempoOTLPServer) received() ([]ptrace.Traces, []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.requests...), append([]int(nil), s.sizes...)
}

func tempoRecorded(t *testing.T, name string) *recording.Response {
	t.Helper()
	return recording.MustLoad(t, tempoRecordings, name).Response
}

// withTempoBody is a recorded response with another body.
func withTempoBody(resp *recording.Response, body string) *recording.Response {
	return &recording.Response{Status: resp.Status, Header: resp.Header.Clone(), Body: []byte(body)}
}

func newTempoHTTPWriter(t *testing.T, url string, limits tempo.Limits, dl DeadLetter) *TempoWriter {
	t.Helper()
	c, err := tempo.New(tempo.Config{
		URL: url, OTLPHTTP: url, Timeout: 5 * time.Second, MaxAttempts: 2,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return NewTempoWriter(c, limits, true, dl)
}

func tempoTraceIDs(td ptrace.Traces) map[pcommon.TraceID]int {
	ids := map[pcommon.TraceID]int{}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for k := range sss.Len() {
			spans := sss.At(k).Spans()
			for s := range spans.Len() {
				ids[spans.At(s).TraceID()]++
			}
		}
	}
	return ids
}

func TestTempoWriterTraceTooLarge(t *testing.T) {
	// Tempo 3.0.3 responds to a push of a trace over max_bytes_per_trace
	// with 200 and an empty partialSuccess, and drops the trace.
	ok := tempoRecorded(t, "err_trace_too_large_push_returns_200")
	srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return ok })
	dl := &tempoDeadLetters{}
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{MaxBytesPerTrace: 5000}, dl)

	small := tempoTestTrace(1, "checkout", 2, 10)
	large := tempoTestTrace(2, "checkout", 5, 2000)
	res, err := w.Write(t.Context(), tempoJoin(small, large))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 2 {
		t.Errorf("Written = %d, want the 2 spans of the small trace", res.Written)
	}
	if got := res.DeadLettered[TempoReasonTraceTooLarge]; got != 5 {
		t.Errorf("DeadLettered[%s] = %d, want the 5 spans of the large trace", TempoReasonTraceTooLarge, got)
	}
	if res.Total() != 7 {
		t.Errorf("Total = %d, want every one of the 7 spans accounted for", res.Total())
	}

	requests, _ := srv.received()
	if len(requests) != 1 {
		t.Fatalf("Tempo received %d requests, want 1", len(requests))
	}
	sent := tempoTraceIDs(requests[0])
	if len(sent) != 1 || sent[pcommon.TraceID{1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}] != 2 {
		t.Errorf("Tempo received traces %v, want only the small trace with 2 spans", sent)
	}

	letters := dl.all()
	if len(letters) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(letters))
	}
	if letters[0].Destination != "tempo" || letters[0].Reason != TempoReasonTraceTooLarge {
		t.Errorf("dead letter = %s/%s, want tempo/%s", letters[0].Destination, letters[0].Reason, TempoReasonTraceTooLarge)
	}
	if !strings.Contains(letters[0].Detail, "max_bytes_per_trace of 5000 bytes") {
		t.Errorf("detail %q does not name the limit", letters[0].Detail)
	}
	back, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(letters[0].Record)
	if err != nil {
		t.Fatalf("dead-letter record is not OTLP JSON: %v", err)
	}
	if back.SpanCount() != 5 {
		t.Errorf("dead-letter record has %d spans, want 5", back.SpanCount())
	}
}

func TestTempoWriterPartialSuccess(t *testing.T) {
	ok := tempoRecorded(t, "otlp_http_json_push_ok")
	cases := []struct {
		name         string
		body         string
		wantRejected int
		wantMessage  string
	}{
		{name: "recorded empty partialSuccess", body: string(ok.Body), wantRejected: 0},
		{
			name:         "rejected spans with message",
			body:         `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"LIVE_TRACES_EXCEEDED: max live traces reached for tenant single-tenant"}}`,
			wantRejected: 2, wantMessage: "LIVE_TRACES_EXCEEDED",
		},
		{
			name:         "more rejected than sent is capped",
			body:         `{"partialSuccess":{"rejectedSpans":"50","errorMessage":"spans rejected"}}`,
			wantRejected: 5, wantMessage: "spans rejected",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := withTempoBody(ok, tc.body)
			srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return resp })
			dl := &tempoDeadLetters{}
			w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{}, dl)
			res, err := w.Write(t.Context(), tempoJoin(tempoTestTrace(1, "a", 3, 10), tempoTestTrace(2, "b", 2, 10)))
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := res.DeadLettered[TempoReasonPartialSuccess]; got != tc.wantRejected {
				t.Errorf("DeadLettered[%s] = %d, want %d", TempoReasonPartialSuccess, got, tc.wantRejected)
			}
			if res.Written != 5-tc.wantRejected {
				t.Errorf("Written = %d, want %d", res.Written, 5-tc.wantRejected)
			}
			letters := dl.all()
			if tc.wantRejected == 0 {
				if len(letters) != 0 {
					t.Errorf("dead letters %v for a push without rejected spans", letters)
				}
				return
			}
			if len(letters) != 1 {
				t.Fatalf("dead letters = %d, want 1", len(letters))
			}
			if !strings.Contains(letters[0].Detail, tc.wantMessage) {
				t.Errorf("detail %q does not carry Tempo's message %q", letters[0].Detail, tc.wantMessage)
			}
		})
	}
}

func TestTempoWriterBatchesUnderBurst(t *testing.T) {
	ok := tempoRecorded(t, "otlp_http_json_push_ok")
	srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return ok })
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{IngestionBurstSizeBytes: 4000}, &tempoDeadLetters{})

	var parts []ptrace.Traces
	for i := range 10 {
		parts = append(parts, tempoTestTrace(byte(i+1), "svc", 2, 500))
	}
	res, err := w.Write(t.Context(), tempoJoin(parts...))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 20 {
		t.Errorf("Written = %d, want 20", res.Written)
	}
	requests, _ := srv.received()
	if len(requests) < 3 {
		t.Errorf("%d requests for 10 traces of about 1100 bytes under a 4000-byte burst, want at least 3", len(requests))
	}
	seen := map[pcommon.TraceID]int{}
	var sizer ptrace.ProtoMarshaler
	for i, td := range requests {
		if size := sizer.TracesSize(td); size > 4000 {
			t.Errorf("request %d is %d bytes, over the 4000-byte burst", i, size)
		}
		for id, n := range tempoTraceIDs(td) {
			if seen[id] > 0 {
				t.Errorf("trace %s split over two requests", id)
			}
			seen[id] += n
		}
	}
	if len(seen) != 10 {
		t.Errorf("Tempo received %d distinct traces, want 10", len(seen))
	}
}

func TestTempoWriterRateLimitedIsRetryable(t *testing.T) {
	limited := tempoRecorded(t, "err_rate_limit_429_retry_after")
	srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return limited })
	dl := &tempoDeadLetters{}
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{}, dl)
	res, err := w.Write(t.Context(), tempoTestTrace(1, "a", 2, 10))
	if err == nil {
		t.Fatal("Write returned no error for a rate-limited push")
	}
	if !tempo.IsRetryable(err) {
		t.Errorf("error %v is not retryable", err)
	}
	if res.Total() != 0 || len(dl.all()) != 0 {
		t.Errorf("result %+v and dead letters %v, want nothing accounted so the caller retries", res, dl.all())
	}
}

func TestTempoWriterBatchOverBurstIsSplit(t *testing.T) {
	// The writer has no burst limit, and Tempo responds with the recorded
	// batch-over-burst 429 to any request with more than one trace.
	overBurst := tempoRecorded(t, "err_rate_limit_batch_larger_than_burst_429")
	ok := tempoRecorded(t, "otlp_http_json_push_ok")
	srv := newTempoOTLPServer(t, func(td ptrace.Traces) *recording.Response {
		if len(tempoTraceIDs(td)) > 1 {
			return overBurst
		}
		return ok
	})
	dl := &tempoDeadLetters{}
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{}, dl)
	res, err := w.Write(t.Context(), tempoJoin(tempoTestTrace(1, "a", 1, 10), tempoTestTrace(2, "a", 1, 10), tempoTestTrace(3, "a", 1, 10)))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 3 || len(res.DeadLettered) != 0 {
		t.Errorf("result %+v, want 3 spans written and none dead-lettered", res)
	}
	requests, _ := srv.received()
	single := 0
	for _, td := range requests {
		if len(tempoTraceIDs(td)) == 1 {
			single++
		}
	}
	if single != 3 {
		t.Errorf("%d single-trace requests, want 3 after the splits", single)
	}
}

func TestTempoWriterPermanentRejection(t *testing.T) {
	cases := []struct {
		name       string
		recording  string
		wantReason string
	}{
		{"invalid argument", "err_otlp_http_json_malformed_400", "invalid_argument"},
		{"single trace over burst", "err_rate_limit_batch_larger_than_burst_429", TempoReasonLargerThanBurst},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := tempoRecorded(t, tc.recording)
			srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return resp })
			dl := &tempoDeadLetters{}
			w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{}, dl)
			res, err := w.Write(t.Context(), tempoTestTrace(1, "a", 4, 10))
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := res.DeadLettered[tc.wantReason]; got != 4 {
				t.Errorf("DeadLettered = %v, want 4 spans under %s", res.DeadLettered, tc.wantReason)
			}
			if letters := dl.all(); len(letters) != 1 || letters[0].Reason != tc.wantReason {
				t.Errorf("dead letters %+v, want one with reason %s", letters, tc.wantReason)
			}
		})
	}
}

func TestTempoWriterClientRejectionIsReturned(t *testing.T) {
	// A 415 rejects how the client sends, not the traces: every request
	// would fail, so the error is returned and nothing is dead-lettered.
	resp := tempoRecorded(t, "err_otlp_http_unsupported_content_type_415")
	srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return resp })
	dl := &tempoDeadLetters{}
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{}, dl)
	res, err := w.Write(t.Context(), tempoTestTrace(1, "a", 2, 10))
	var te *tempo.Error
	if !errors.As(err, &te) || te.Status != 415 {
		t.Fatalf("error %v, want the 415 as a *tempo.Error", err)
	}
	if tempo.IsRetryable(err) {
		t.Errorf("error %v is retryable", err)
	}
	if res.Total() != 0 || len(dl.all()) != 0 {
		t.Errorf("result %+v and dead letters %v, want nothing accounted", res, dl.all())
	}
}

func TestTempoWriterDeadLetterFailure(t *testing.T) {
	ok := tempoRecorded(t, "otlp_http_json_push_ok")
	srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return ok })
	dl := &tempoDeadLetters{err: errors.New("disk full")}
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{MaxBytesPerTrace: 100}, dl)
	res, err := w.Write(t.Context(), tempoTestTrace(1, "a", 2, 500))
	if !errors.Is(err, ErrDeadLetterUnavailable) {
		t.Fatalf("error %v, want ErrDeadLetterUnavailable", err)
	}
	if res.Total() != 0 {
		t.Errorf("result %+v counts spans that were neither written nor stored", res)
	}
}

func TestTempoWriterCountsTruncatedAttributes(t *testing.T) {
	ok := tempoRecorded(t, "otlp_http_json_push_ok")
	srv := newTempoOTLPServer(t, func(ptrace.Traces) *recording.Response { return ok })
	w := newTempoHTTPWriter(t, srv.URL, tempo.Limits{MaxAttributeBytes: 2048}, &tempoDeadLetters{})
	td := tempoTestTrace(1, "a", 3, 2049)
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.Events().AppendEmpty().Attributes().PutStr(strings.Repeat("k", 2049), "v")
	span.Links().AppendEmpty().Attributes().PutEmptyBytes("blob").FromRaw(make([]byte, 2048))
	if _, err := w.Write(t.Context(), td); err != nil {
		t.Fatalf("Write: %v", err)
	}
	// Three span values and one event key are over 2048 bytes; the
	// 2048-byte link value is not.
	if got := w.TruncatedAttributes(); got != 4 {
		t.Errorf("TruncatedAttributes = %d, want 4", got)
	}
	requests, _ := srv.received()
	got := requests[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1)
	if v, _ := got.Attributes().Get("payload"); len(v.Str()) != 2049 {
		t.Errorf("the writer changed an attribute to %d bytes; it must send it whole", len(v.Str()))
	}
}

// tempoGRPCReceiver is an OTLP gRPC receiver that returns a fixed response.
type tempoGRPCReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	spans    int
	response ptraceotlp.ExportResponse
}

func (g *tempoGRPCReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.spans += req.Traces().SpanCount()
	return g.response, nil
}

func TestTempoWriterGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	receiver := &tempoGRPCReceiver{response: ptraceotlp.NewExportResponse()}
	receiver.response.PartialSuccess().SetRejectedSpans(1)
	receiver.response.PartialSuccess().SetErrorMessage("TRACE_TOO_LARGE: max size of trace (5000) exceeded")
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, receiver)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	c, err := tempo.New(tempo.Config{URL: "http://127.0.0.1:1", OTLPGRPC: lis.Addr().String(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	dl := &tempoDeadLetters{}
	w := NewTempoWriter(c, tempo.Limits{}, false, dl)
	res, err := w.Write(t.Context(), tempoJoin(tempoTestTrace(1, "a", 2, 10), tempoTestTrace(2, "b", 1, 10)))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res.Written != 2 || res.DeadLettered[TempoReasonPartialSuccess] != 1 {
		t.Errorf("result %+v, want 2 written and 1 partial_success", res)
	}
	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	if receiver.spans != 3 {
		t.Errorf("receiver got %d spans, want 3", receiver.spans)
	}
	if letters := dl.all(); len(letters) != 1 || !strings.Contains(letters[0].Detail, "TRACE_TOO_LARGE") {
		t.Errorf("dead letters %+v, want one carrying Tempo's message", letters)
	}
}

func TestSplitTraces(t *testing.T) {
	// Two resources, each holding spans of traces 1 and 2 interleaved.
	td := ptrace.NewTraces()
	for r, service := range []string{"frontend", "db"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("lib-" + service)
		for i := range 4 {
			span := ss.Spans().AppendEmpty()
			span.SetTraceID(pcommon.TraceID{byte(i%2 + 1)})
			span.SetSpanID(pcommon.SpanID{byte(r), byte(i)})
		}
	}
	items := splitTraces(td)
	if len(items) != 2 {
		t.Fatalf("%d traces, want 2", len(items))
	}
	for _, item := range items {
		if item.spans != 4 || item.td.SpanCount() != 4 {
			t.Errorf("trace %s: %d spans counted, %d present, want 4", item.id, item.spans, item.td.SpanCount())
		}
		if ids := tempoTraceIDs(item.td); len(ids) != 1 || ids[item.id] != 4 {
			t.Errorf("trace %s holds spans of %v", item.id, ids)
		}
		rss := item.td.ResourceSpans()
		if rss.Len() != 2 {
			t.Fatalf("trace %s has %d resources, want 2", item.id, rss.Len())
		}
		for i, service := range []string{"frontend", "db"} {
			name, _ := rss.At(i).Resource().Attributes().Get("service.name")
			if name.Str() != service || rss.At(i).SchemaUrl() == "" || rss.At(i).ScopeSpans().At(0).Scope().Name() != "lib-"+service {
				t.Errorf("trace %s resource %d lost its resource, schema or scope", item.id, i)
			}
		}
	}
	merged := mergeTraces(items)
	if merged.SpanCount() != td.SpanCount() {
		t.Errorf("merged %d spans, want %d", merged.SpanCount(), td.SpanCount())
	}
	if _, err := json.Marshal(traceIDs(items)); err != nil {
		t.Fatal(err)
	}
}

func TestTraceIDsCut(t *testing.T) {
	items := make([]traceItem, 7)
	for i := range items {
		items[i].id = pcommon.TraceID{byte(i)}
	}
	got := traceIDs(items)
	if !strings.HasSuffix(got, "and 2 more") || strings.Count(got, ",") != 4 {
		t.Errorf("traceIDs = %q, want 5 ids and \"and 2 more\"", got)
	}
}
