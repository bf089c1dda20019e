package jaeger

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/obs-migrate/migrate/internal/jaegertest"
)

// TestRealJaeger loads the fixture into a real Jaeger v1.75.0 and reads it
// back through both query paths.
func TestRealJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	f := newFixture()
	j.Load(t, f.td)

	paths := []struct {
		name string
		cfg  Config
	}{
		{"grpc api_v2", Config{GRPC: j.QueryGRPC, Timeout: 10 * time.Second}},
		{"http api_v3", Config{HTTP: j.QueryHTTP, Timeout: 10 * time.Second}},
	}
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			c, err := New(path.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			testServices(t, c)
			testOperations(t, c)
			apiV2 := path.cfg.GRPC != ""
			testFindTraces(t, c, f, apiV2)
			testGetTrace(t, c, f, apiV2)
		})
	}
}

func testServices(t *testing.T, c *Client) {
	t.Helper()
	got, err := c.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The harness turns off the query service's own tracing, so the list
	// holds only the loaded services.
	if diff := cmp.Diff([]string{"batch", "frontend", "payments"}, got); diff != "" {
		t.Errorf("Services differ (-want +got):\n%s", diff)
	}
}

func testOperations(t *testing.T, c *Client) {
	t.Helper()
	tests := []struct {
		service string
		want    []Operation
	}{
		{"frontend", []Operation{
			{Name: "GET /checkout", SpanKind: "server"},
			{Name: "GET /health", SpanKind: "server"},
			{Name: "call payments", SpanKind: "client"},
		}},
		{"payments", []Operation{{Name: "POST /charge", SpanKind: "server"}}},
		{"no-such-service", []Operation{}},
	}
	for _, tt := range tests {
		got, err := c.Operations(t.Context(), tt.service)
		if err != nil {
			t.Errorf("Operations(%q): %v", tt.service, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Operations(%q) differ (-want +got):\n%s", tt.service, diff)
		}
	}
}

func testFindTraces(t *testing.T, c *Client, f fixture, apiV2 bool) {
	t.Helper()
	window := func(q TraceQuery) TraceQuery {
		if q.StartMin.IsZero() {
			q.StartMin = f.base.Add(-3 * time.Hour)
			q.StartMax = time.Now().Add(time.Minute)
		}
		return q
	}
	tests := []struct {
		name  string
		query TraceQuery
		want  []string
	}{
		{"by service", TraceQuery{Service: "frontend"}, idStrings(f.checkout, f.health)},
		{"by downstream service", TraceQuery{Service: "payments"}, idStrings(f.checkout)},
		{"by operation", TraceQuery{Service: "frontend", Operation: "GET /health"}, idStrings(f.health)},
		{"no such operation", TraceQuery{Service: "frontend", Operation: "DELETE /cart"}, nil},
		{"by time window", TraceQuery{
			Service:  "frontend",
			StartMin: f.base.Add(-2*time.Hour - time.Minute), StartMax: f.base.Add(-2*time.Hour + time.Minute),
		}, idStrings(f.health)},
		{"window before data", TraceQuery{
			Service:  "frontend",
			StartMin: f.base.Add(-5 * time.Hour), StartMax: f.base.Add(-4 * time.Hour),
		}, nil},
		{"by min duration", TraceQuery{Service: "frontend", DurationMin: 100 * time.Millisecond}, idStrings(f.checkout)},
		{"by max duration", TraceQuery{Service: "frontend", DurationMax: 50 * time.Millisecond}, idStrings(f.health)},
		{"chunked trace", TraceQuery{Service: "batch"}, idStrings(f.batch)},
		{"unknown service", TraceQuery{Service: "no-such-service"}, nil},
	}
	for _, tt := range tests {
		got, err := c.FindTraces(t.Context(), window(tt.query))
		if err != nil {
			t.Errorf("FindTraces %s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, traceIDs(t, got)); diff != "" {
			t.Errorf("FindTraces %s: trace IDs differ (-want +got):\n%s", tt.name, diff)
		}
		// Every result is a whole trace, also when the search matched only
		// one of its spans or the stream split it over several chunks.
		for _, td := range got {
			id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
			compareTrace(t, traceOnly(f.td, id), td, apiV2)
		}
	}

	limited, err := c.FindTraces(t.Context(), window(TraceQuery{Service: "frontend", NumTraces: 1}))
	if err != nil {
		t.Errorf("FindTraces with NumTraces 1: %v", err)
	} else if len(limited) != 1 {
		t.Errorf("FindTraces with NumTraces 1 returned %d traces", len(limited))
	}

	tagQueries := []struct {
		tags map[string]string
		want []string
	}{
		{map[string]string{"customer.tier": "gold"}, idStrings(f.checkout)},
		{map[string]string{"customer.tier": "silver"}, nil},
		{map[string]string{"host.name": "pay-1"}, idStrings(f.checkout)},
	}
	for _, tq := range tagQueries {
		got, err := c.FindTraces(t.Context(), window(TraceQuery{Service: "payments", Tags: tq.tags}))
		// Only api_v2 supports tag filters.
		if !apiV2 {
			if err == nil || !strings.Contains(err.Error(), "ignores tag filters") {
				t.Errorf("FindTraces with tags %v over api_v3 HTTP: error %v, want one saying tags are not supported", tq.tags, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("FindTraces with tags %v: %v", tq.tags, err)
			continue
		}
		if diff := cmp.Diff(tq.want, traceIDs(t, got)); diff != "" {
			t.Errorf("FindTraces with tags %v: trace IDs differ (-want +got):\n%s", tq.tags, diff)
		}
	}
}

func testGetTrace(t *testing.T, c *Client, f fixture, apiV2 bool) {
	t.Helper()
	for _, id := range []pcommon.TraceID{f.checkout, f.health, f.batch} {
		td, found, err := c.GetTrace(t.Context(), id)
		if err != nil || !found {
			t.Errorf("GetTrace(%s) = found %v, error %v; want the trace", id, found, err)
			continue
		}
		compareTrace(t, traceOnly(f.td, id), td, apiV2)
	}

	unknown := pcommon.TraceID{0xde, 0xad, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	td, found, err := c.GetTrace(t.Context(), unknown)
	if err != nil || found || td.SpanCount() != 0 {
		t.Errorf("GetTrace(unknown) = %d spans, found %v, error %v; want none, false, nil", td.SpanCount(), found, err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := c.GetTrace(ctx, f.checkout); err == nil {
		t.Error("GetTrace with a canceled context returned no error")
	}
}
