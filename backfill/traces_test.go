package backfill

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"

	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/internal/jaegertest"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/plans"
)

// tempoReceiver is an OTLP/HTTP trace receiver written by us: it decodes
// each request with pdata, keeps the traces, and responds with the
// recorded Tempo 3.0.3 success (otlp_http_json_push_ok).
type tempoReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []ptrace.Traces
}

func newTempoReceiver(t *testing.T) *tempoReceiver {
	t.Helper()
	ok := recording.MustLoad(t, "tempo-3.0.3", "otlp_http_json_push_ok").Response
	r := &tempoReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if req.URL.Path != "/v1/traces" {
			http.NotFound(w, req)
			return
		}
		er := ptraceotlp.NewExportRequest()
		if err := er.UnmarshalProto(body); err != nil {
			t.Errorf("Tempo receiver: request is not OTLP protobuf: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.requests = append(r.requests, er.Traces())
		r.mu.Unlock()
		ok.Write(w)
	}))
	t.Cleanup(r.Close)
	return r
}

// spans returns every received span by trace, with its resource.
func (r *tempoReceiver) spans() map[pcommon.TraceID][]receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[pcommon.TraceID][]receivedSpan{}
	for _, td := range r.requests {
		rss := td.ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for k := range sss.Len() {
				spans := sss.At(k).Spans()
				for s := range spans.Len() {
					span := spans.At(s)
					out[span.TraceID()] = append(out[span.TraceID()], receivedSpan{span: span, resource: rss.At(i).Resource()})
				}
			}
		}
	}
	return out
}

type receivedSpan struct {
	span     ptrace.Span
	resource pcommon.Resource
}

// countingSource counts the searches and the shortest window searched.
type countingSource struct {
	TraceSource
	mu       sync.Mutex
	searches int
	shortest time.Duration
}

func (c *countingSource) FindTraces(ctx context.Context, q jaeger.TraceQuery) ([]ptrace.Traces, error) {
	c.mu.Lock()
	c.searches++
	if w := q.StartMax.Sub(q.StartMin); c.shortest == 0 || w < c.shortest {
		c.shortest = w
	}
	c.mu.Unlock()
	return c.TraceSource.FindTraces(ctx, q)
}

// traceBuilder appends spans of several services to one ptrace.Traces.
type traceBuilder struct {
	td        ptrace.Traces
	resources map[string]ptrace.ScopeSpans
	spans     map[pcommon.TraceID]int
}

func newTraceBuilder() *traceBuilder {
	return &traceBuilder{td: ptrace.NewTraces(), resources: map[string]ptrace.ScopeSpans{}, spans: map[pcommon.TraceID]int{}}
}

func (b *traceBuilder) span(service string, trace pcommon.TraceID, id, parent pcommon.SpanID, start time.Time) ptrace.Span {
	ss, ok := b.resources[service]
	if !ok {
		rs := b.td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.Resource().Attributes().PutStr("host.name", service+"-host-1")
		ss = rs.ScopeSpans().AppendEmpty()
		b.resources[service] = ss
	}
	span := ss.Spans().AppendEmpty()
	span.SetTraceID(trace)
	span.SetSpanID(id)
	span.SetParentSpanID(parent)
	span.SetName(service + " operation")
	span.SetKind(ptrace.SpanKindServer)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(5 * time.Millisecond)))
	b.spans[trace]++
	return span
}

func TestTraceBackfillRealJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	base := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Minute)
	b := newTraceBuilder()
	var frontendRooted []pcommon.TraceID

	// 35 traces rooted at frontend within ten minutes, each with a
	// payments child: more than the search limit of 10 in one slice.
	for i := range 35 {
		id := pcommon.TraceID{0xf0, byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
		start := base.Add(time.Duration(i) * 17 * time.Second)
		b.span("frontend", id, pcommon.SpanID{0xf0, byte(i), 1}, pcommon.SpanID{}, start)
		child := b.span("payments", id, pcommon.SpanID{0xf0, byte(i), 2}, pcommon.SpanID{0xf0, byte(i), 1}, start.Add(time.Millisecond))
		event := child.Events().AppendEmpty()
		event.SetName("rows fetched")
		event.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(2 * time.Millisecond)))
		event.Attributes().PutInt("rows", int64(i))
		link := child.Links().AppendEmpty()
		link.SetTraceID(pcommon.TraceID{0xee, byte(i)})
		link.SetSpanID(pcommon.SpanID{0xee, byte(i)})
		frontendRooted = append(frontendRooted, id)
	}
	// Traces rooted at payments whose frontend child starts in the next
	// slice: found through both services and both slices.
	for i := range 3 {
		id := pcommon.TraceID{0xa0, byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
		start := base.Add(29*time.Minute + time.Duration(i)*time.Second)
		b.span("payments", id, pcommon.SpanID{0xa0, byte(i), 1}, pcommon.SpanID{}, start)
		b.span("frontend", id, pcommon.SpanID{0xa0, byte(i), 2}, pcommon.SpanID{0xa0, byte(i), 1}, start.Add(90*time.Second))
	}
	// A trace rooted at a service the plan does not copy: the earliest
	// span of a copied service decides.
	batchID := pcommon.TraceID{0xb0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	b.span("batch", batchID, pcommon.SpanID{0xb0, 1}, pcommon.SpanID{}, base.Add(40*time.Minute))
	b.span("frontend", batchID, pcommon.SpanID{0xb0, 2}, pcommon.SpanID{0xb0, 1}, base.Add(40*time.Minute+time.Second))
	b.span("payments", batchID, pcommon.SpanID{0xb0, 3}, pcommon.SpanID{0xb0, 1}, base.Add(40*time.Minute+2*time.Second))
	j.Load(t, b.td)

	jc, err := jaeger.New(jaeger.Config{GRPC: j.QueryGRPC, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jc.Close() })
	source := &countingSource{TraceSource: jc}
	receiver := newTempoReceiver(t)
	tc, err := tempo.New(tempo.Config{URL: receiver.URL, OTLPHTTP: receiver.URL, Timeout: 10 * time.Second, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	dl := &memDeadLetter{}
	limits := tempo.DefaultLimits()
	limits.IngestionTimeRangeSlack = 0
	p := testPlan(nil, &plans.Traces{Services: []string{"frontend", "payments"}}, base, base.Add(time.Hour), 30*time.Minute)
	r, err := New(Config{
		Plan: p, Store: openStore(t, statePath(t)), Shard: Shard{0, 1},
		Jaeger: source, Tempo: delivery.NewTempoWriter(tc, limits, true, dl), TempoLimits: limits,
		DeadLetter: dl, TraceSearchLimit: 10, Log: testLogger(t), Sleep: noSleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := receiver.spans()
	if len(got) != len(b.spans) {
		t.Errorf("Tempo received %d traces, want %d", len(got), len(b.spans))
	}
	for id, want := range b.spans {
		if n := len(got[id]); n != want {
			t.Errorf("trace %s: Tempo received %d spans, want %d (each trace once, whole)", id, n, want)
		}
	}
	if sum.Counts.Traces != int64(len(b.spans)) {
		t.Errorf("summary counts %d traces, want %d", sum.Counts.Traces, len(b.spans))
	}
	if len(sum.Counts.Skipped) != 0 || sum.DeadLettered() != 0 {
		t.Errorf("skipped %v, dead-lettered %v; want none", sum.Counts.Skipped, sum.Counts.DeadLettered)
	}
	if source.shortest >= 30*time.Minute || source.searches <= 4 {
		t.Errorf("%d searches, shortest window %s: the slice with 35 traces was not split", source.searches, source.shortest)
	}

	// References, process tags and logs survive.
	for _, s := range got[frontendRooted[7]] {
		host, _ := s.resource.Attributes().Get("host.name")
		service, _ := s.resource.Attributes().Get("service.name")
		if host.Str() != service.Str()+"-host-1" {
			t.Errorf("span %s lost its process tag host.name: %q", s.span.Name(), host.Str())
		}
		if service.Str() != "payments" {
			continue
		}
		if s.span.ParentSpanID() != (pcommon.SpanID{0xf0, 7, 1}) {
			t.Errorf("payments span has parent %s, want the frontend span", s.span.ParentSpanID())
		}
		if s.span.Events().Len() != 1 || s.span.Events().At(0).Name() != "rows fetched" {
			t.Errorf("payments span has %d events, want the log \"rows fetched\"", s.span.Events().Len())
		} else if rows, _ := s.span.Events().At(0).Attributes().Get("rows"); rows.Int() != 7 {
			t.Errorf("event attribute rows = %v, want 7", rows.AsRaw())
		}
		if s.span.Links().Len() != 1 || s.span.Links().At(0).TraceID() != (pcommon.TraceID{0xee, 7}) {
			t.Errorf("payments span has %d links, want the reference to trace ee07...", s.span.Links().Len())
		}
	}
}

func TestTraceOwner(t *testing.T) {
	id := pcommon.TraceID{1}
	at := func(s int) time.Time { return testBase.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name        string
		build       func(b *traceBuilder)
		services    []string
		wantService string
		wantStart   time.Time
		wantOK      bool
	}{
		{
			name: "root span of a copied service",
			build: func(b *traceBuilder) {
				b.span("payments", id, pcommon.SpanID{2}, pcommon.SpanID{1}, at(1))
				b.span("frontend", id, pcommon.SpanID{1}, pcommon.SpanID{}, at(5))
			},
			services: []string{"frontend", "payments"}, wantService: "frontend", wantStart: at(5), wantOK: true,
		},
		{
			name: "root of a service not copied",
			build: func(b *traceBuilder) {
				b.span("batch", id, pcommon.SpanID{1}, pcommon.SpanID{}, at(0))
				b.span("payments", id, pcommon.SpanID{3}, pcommon.SpanID{1}, at(9))
				b.span("frontend", id, pcommon.SpanID{2}, pcommon.SpanID{1}, at(4))
			},
			services: []string{"frontend", "payments"}, wantService: "frontend", wantStart: at(4), wantOK: true,
		},
		{
			name: "no root: the earliest span",
			build: func(b *traceBuilder) {
				b.span("frontend", id, pcommon.SpanID{2}, pcommon.SpanID{9}, at(3))
				b.span("payments", id, pcommon.SpanID{3}, pcommon.SpanID{9}, at(2))
			},
			services: []string{"frontend", "payments"}, wantService: "payments", wantStart: at(2), wantOK: true,
		},
		{
			name: "two roots: the earliest",
			build: func(b *traceBuilder) {
				b.span("frontend", id, pcommon.SpanID{2}, pcommon.SpanID{}, at(3))
				b.span("payments", id, pcommon.SpanID{3}, pcommon.SpanID{}, at(1))
			},
			services: []string{"frontend", "payments"}, wantService: "payments", wantStart: at(1), wantOK: true,
		},
		{
			name: "no copied service",
			build: func(b *traceBuilder) {
				b.span("batch", id, pcommon.SpanID{1}, pcommon.SpanID{}, at(0))
			},
			services: []string{"frontend"}, wantOK: false,
		},
	}
	for _, tc := range tests {
		b := newTraceBuilder()
		tc.build(b)
		services := map[string]bool{}
		for _, s := range tc.services {
			services[s] = true
		}
		service, start, ok := traceOwner(b.td, services)
		if ok != tc.wantOK || service != tc.wantService || (ok && !start.Equal(tc.wantStart)) {
			t.Errorf("%s: traceOwner = %q, %s, %v; want %q, %s, %v", tc.name, service, start, ok, tc.wantService, tc.wantStart, tc.wantOK)
		}
	}
}

// fullSource returns the limit's number of traces for every search, each
// owned by another service.
type fullSource struct {
	mu       sync.Mutex
	searches int
}

func (s *fullSource) FindTraces(_ context.Context, q jaeger.TraceQuery) ([]ptrace.Traces, error) {
	s.mu.Lock()
	s.searches++
	s.mu.Unlock()
	out := make([]ptrace.Traces, q.NumTraces)
	for i := range out {
		b := newTraceBuilder()
		b.span("elsewhere", pcommon.TraceID{byte(i + 1)}, pcommon.SpanID{1}, pcommon.SpanID{}, q.StartMin)
		out[i] = b.td
	}
	return out, nil
}

func (s *fullSource) Services(context.Context) ([]string, error) { return []string{"busy"}, nil }

func TestBackfillTracesReportsFullMinimumWindows(t *testing.T) {
	source := &fullSource{}
	receiver := newTempoReceiver(t)
	tc, err := tempo.New(tempo.Config{URL: receiver.URL, OTLPHTTP: receiver.URL, Timeout: 10 * time.Second, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	dl := &memDeadLetter{}
	p := testPlan(nil, &plans.Traces{Services: []string{"*"}}, testBase, testBase.Add(4*time.Second), time.Minute)
	r, err := New(Config{
		Plan: p, Store: openStore(t, statePath(t)), Shard: Shard{0, 1},
		Jaeger: source, Tempo: delivery.NewTempoWriter(tc, tempo.Limits{}, true, dl),
		DeadLetter: dl, TraceSearchLimit: 3, Sleep: noSleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// 4 s split into halves down to 1 s: 1 + 2 + 4 searches, four of them
	// full at the minimum length.
	if source.searches != 7 {
		t.Errorf("%d searches, want 7", source.searches)
	}
	if got := sum.Counts.Skipped[skippedSearchLimit]; got != 4 {
		t.Errorf("skipped %v, want %s 4", sum.Counts.Skipped, skippedSearchLimit)
	}
}

// failingSource fails every search for good.
type failingSource struct{}

func (failingSource) FindTraces(context.Context, jaeger.TraceQuery) ([]ptrace.Traces, error) {
	return nil, &jaeger.GRPCError{Method: "FindTraces", Code: codes.InvalidArgument, Err: errors.New("search depth must be greater than 0 and less than max traces")}
}

func (failingSource) Services(context.Context) ([]string, error) { return []string{"frontend"}, nil }

func TestRunReturnsFirstErrorNotCancellation(t *testing.T) {
	docs := appDocs("app-logs", 3000, 1, testBase, 6*time.Hour)
	f := newLogsFixture(t, time.Hour, docs)
	receiver := newTempoReceiver(t)
	tc, err := tempo.New(tempo.Config{URL: receiver.URL, OTLPHTTP: receiver.URL, Timeout: 10 * time.Second, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	p := testPlan([]plans.LogMapping{appMapping("app-logs")}, &plans.Traces{Services: []string{"*"}}, testBase, testBase.Add(6*time.Hour), time.Hour)
	r := f.runner(t, p, Shard{0, 1}, func(c *Config) {
		c.Jaeger = failingSource{}
		c.Tempo = delivery.NewTempoWriter(tc, tempo.Limits{}, true, f.dl)
	})
	sum, err := r.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "search depth must be greater than 0") {
		t.Fatalf("Run returned %v, want the Jaeger error", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("Run returned the cancellation of the logs worker: %v", err)
	}
	if sum == nil || sum.Done() {
		t.Errorf("summary %+v, want one that is not done", sum)
	}
}
