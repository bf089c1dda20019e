package tempo

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/internal/recording"
)

// recordings is the folder of the Tempo 3.0.3 recordings.
const recordings = "tempo-3.0.3"

func load(t testing.TB, name string) *recording.Exchange {
	t.Helper()
	return recording.MustLoad(t, recordings, name)
}

// sleeps records the waits a client asked for, without waiting.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient returns a client of srvURL for both the API and OTLP/HTTP,
// with a fake Sleep.
func newTestClient(t *testing.T, srvURL string, edit func(*Config)) (*Client, *sleeps) {
	t.Helper()
	s := &sleeps{}
	cfg := Config{URL: srvURL, OTLPHTTP: srvURL, Timeout: 5 * time.Second, MaxAttempts: 3, Sleep: s.sleep}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, s
}

// sampleTraces returns two resources with one span each, one with a
// parent, an event and a link.
func sampleTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	traceID := pcommon.TraceID([16]byte{0x32, 0x8b, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	for i, service := range []string{"rec-svc", "rec-db"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("recorder")
		span := ss.Spans().AppendEmpty()
		span.SetTraceID(traceID)
		span.SetSpanID(pcommon.SpanID([8]byte{1, 2, 3, 4, 5, 6, 7, byte(i + 1)}))
		span.SetName("op-" + service)
		span.SetKind(ptrace.SpanKindServer)
		span.SetStartTimestamp(pcommon.Timestamp(1_796_400_051_719_929_672))
		span.SetEndTimestamp(pcommon.Timestamp(1_796_400_051_969_929_672))
		span.Attributes().PutInt("http.response.status_code", 200)
		if i == 1 {
			span.SetParentSpanID(pcommon.SpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 1}))
			span.Status().SetCode(ptrace.StatusCodeError)
			span.Status().SetMessage("slow query")
			span.Events().AppendEmpty().SetName("rows fetched")
			link := span.Links().AppendEmpty()
			link.SetTraceID(pcommon.TraceID([16]byte{0xff, 1}))
			link.SetSpanID(pcommon.SpanID([8]byte{0xee, 2}))
		}
	}
	return td
}

// tracesJSON renders td as OTLP JSON, for comparing two Traces.
func tracesJSON(t *testing.T, td ptrace.Traces) string {
	t.Helper()
	b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustTraceID(t *testing.T, hexID string) pcommon.TraceID {
	t.Helper()
	var id pcommon.TraceID
	b, err := hexDecode(hexID)
	if err != nil || len(b) != len(id) {
		t.Fatalf("invalid trace id %q", hexID)
	}
	copy(id[:], b)
	return id
}
