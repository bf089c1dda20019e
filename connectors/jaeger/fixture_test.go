package jaeger

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fixture is the data the real-Jaeger tests load: three traces over three
// services.
type fixture struct {
	td ptrace.Traces
	// base is the start of the checkout trace, 10 minutes before the test.
	base time.Time
	// checkout: frontend server span, its client child, and the payments
	// server span that is the client span's child, with an error status.
	checkout pcommon.TraceID
	// health: one frontend server span two hours before base, with a link
	// to the first span of the batch trace.
	health pcommon.TraceID
	// batch: batchSpans internal spans, more than the 10 spans Jaeger
	// v1.75.0 puts in one gRPC chunk.
	batch pcommon.TraceID
}

const batchSpans = 25

var (
	checkoutRoot   = pcommon.SpanID{0xc0, 0, 0, 0, 0, 0, 0, 1}
	checkoutClient = pcommon.SpanID{0xc0, 0, 0, 0, 0, 0, 0, 2}
	paymentsServer = pcommon.SpanID{0xc0, 0, 0, 0, 0, 0, 0, 3}
)

func newFixture() fixture {
	f := fixture{
		td:       ptrace.NewTraces(),
		base:     time.Now().Add(-10 * time.Minute).Truncate(time.Microsecond),
		checkout: pcommon.TraceID{0xc0, 0xff, 0xee, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1},
		health:   pcommon.TraceID{0x4e, 0xa1, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 2},
		batch:    pcommon.TraceID{0xba, 0x7c, 0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3},
	}
	at := func(d time.Duration) pcommon.Timestamp { return pcommon.NewTimestampFromTime(f.base.Add(d)) }

	frontend := f.td.ResourceSpans().AppendEmpty()
	frontend.Resource().Attributes().PutStr("service.name", "frontend")
	frontend.Resource().Attributes().PutStr("host.name", "web-1")
	frontend.Resource().Attributes().PutStr("deployment.environment.name", "test")
	scope := frontend.ScopeSpans().AppendEmpty()
	scope.Scope().SetName("checkout-lib")
	scope.Scope().SetVersion("1.2.3")

	root := scope.Spans().AppendEmpty()
	root.SetTraceID(f.checkout)
	root.SetSpanID(checkoutRoot)
	root.SetName("GET /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(at(0))
	root.SetEndTimestamp(at(300 * time.Millisecond))
	root.Attributes().PutStr("http.request.method", "GET")
	root.Attributes().PutInt("http.response.status_code", 502)

	client := scope.Spans().AppendEmpty()
	client.SetTraceID(f.checkout)
	client.SetSpanID(checkoutClient)
	client.SetParentSpanID(checkoutRoot)
	client.SetName("call payments")
	client.SetKind(ptrace.SpanKindClient)
	client.SetStartTimestamp(at(10 * time.Millisecond))
	client.SetEndTimestamp(at(250 * time.Millisecond))
	client.Attributes().PutStr("peer.service", "payments")
	event := client.Events().AppendEmpty()
	event.SetName("retry")
	event.SetTimestamp(at(20 * time.Millisecond))
	event.Attributes().PutInt("attempt", 2)
	event.Attributes().PutStr("reason", "connection reset")

	health := scope.Spans().AppendEmpty()
	health.SetTraceID(f.health)
	health.SetSpanID(pcommon.SpanID{0x4e, 0, 0, 0, 0, 0, 0, 1})
	health.SetName("GET /health")
	health.SetKind(ptrace.SpanKindServer)
	health.SetStartTimestamp(at(-2 * time.Hour))
	health.SetEndTimestamp(at(-2*time.Hour + 5*time.Millisecond))
	link := health.Links().AppendEmpty()
	link.SetTraceID(f.batch)
	link.SetSpanID(pcommon.SpanID{0xba, 0, 0, 0, 0, 0, 0, 1})
	link.Attributes().PutStr("link.reason", "scheduled by batch")

	payments := f.td.ResourceSpans().AppendEmpty()
	payments.Resource().Attributes().PutStr("service.name", "payments")
	payments.Resource().Attributes().PutStr("host.name", "pay-1")
	pscope := payments.ScopeSpans().AppendEmpty()
	pscope.Scope().SetName("pay-lib")
	pscope.Scope().Attributes().PutStr("library.team", "payments")
	server := pscope.Spans().AppendEmpty()
	server.SetTraceID(f.checkout)
	server.SetSpanID(paymentsServer)
	server.SetParentSpanID(checkoutClient)
	server.SetName("POST /charge")
	server.SetKind(ptrace.SpanKindServer)
	server.SetStartTimestamp(at(20 * time.Millisecond))
	server.SetEndTimestamp(at(240 * time.Millisecond))
	server.Attributes().PutInt("http.response.status_code", 500)
	server.Attributes().PutStr("customer.tier", "gold")
	server.Attributes().PutBool("retryable", false)
	server.Attributes().PutDouble("amount", 12.5)
	server.Status().SetCode(ptrace.StatusCodeError)
	server.Status().SetMessage("card declined")
	server.TraceState().FromRaw("vendor=abc")
	server.SetFlags(1)
	server.SetDroppedAttributesCount(3)

	batch := f.td.ResourceSpans().AppendEmpty()
	batch.Resource().Attributes().PutStr("service.name", "batch")
	bscope := batch.ScopeSpans().AppendEmpty()
	for i := range batchSpans {
		span := bscope.Spans().AppendEmpty()
		span.SetTraceID(f.batch)
		span.SetSpanID(pcommon.SpanID{0xba, 0, 0, 0, 0, 0, 0, byte(i + 1)})
		if i > 0 {
			span.SetParentSpanID(pcommon.SpanID{0xba, 0, 0, 0, 0, 0, 0, 1})
		}
		span.SetName(fmt.Sprintf("step-%02d", i))
		span.SetKind(ptrace.SpanKindInternal)
		span.SetStartTimestamp(at(-30*time.Minute + time.Duration(i)*time.Millisecond))
		span.SetEndTimestamp(at(-30*time.Minute + time.Duration(i+1)*time.Millisecond))
	}
	return f
}

// spanRecord is a span with its resource and scope, for comparisons.
type spanRecord struct {
	span     ptrace.Span
	resource pcommon.Resource
	scope    pcommon.InstrumentationScope
}

// spansOf indexes the spans of td by span ID.
func spansOf(td ptrace.Traces) map[pcommon.SpanID]spanRecord {
	out := map[pcommon.SpanID]spanRecord{}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		for k := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(k)
			for s := range ss.Spans().Len() {
				span := ss.Spans().At(s)
				out[span.SpanID()] = spanRecord{span: span, resource: rs.Resource(), scope: ss.Scope()}
			}
		}
	}
	return out
}

// traceOnly returns the spans of want that belong to id, as one trace.
func traceOnly(want ptrace.Traces, id pcommon.TraceID) ptrace.Traces {
	for _, td := range splitByTrace(want) {
		if td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID() == id {
			return td
		}
	}
	return ptrace.NewTraces()
}

// compareTrace checks that got holds exactly the spans of want, with the
// same fields, attributes, events, links, status, resource attributes and
// scope. With apiV2 it expects what the Jaeger model loses: scope
// attributes, span flags, dropped-attribute counts and link attributes,
// which the translator replaces with opentracing.ref_type.
func compareTrace(t *testing.T, want, got ptrace.Traces, apiV2 bool) {
	t.Helper()
	wantSpans, gotSpans := spansOf(want), spansOf(got)
	if len(gotSpans) != len(wantSpans) {
		t.Errorf("trace has %d spans, want %d", len(gotSpans), len(wantSpans))
	}
	for id, w := range wantSpans {
		g, ok := gotSpans[id]
		if !ok {
			t.Errorf("span %s (%s) is missing", id, w.span.Name())
			continue
		}
		compareSpan(t, w, g, apiV2)
	}
}

func compareSpan(t *testing.T, w, g spanRecord, apiV2 bool) {
	t.Helper()
	name := w.span.Name()
	wantFlags, wantDropped, wantScopeAttrs := w.span.Flags(), w.span.DroppedAttributesCount(), w.scope.Attributes().AsRaw()
	wantLinkAttrs := func(l ptrace.SpanLink) map[string]any { return l.Attributes().AsRaw() }
	if apiV2 {
		wantFlags, wantDropped, wantScopeAttrs = 0, 0, map[string]any{}
		wantLinkAttrs = func(ptrace.SpanLink) map[string]any {
			return map[string]any{"opentracing.ref_type": "follows_from"}
		}
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"trace ID", g.span.TraceID(), w.span.TraceID()},
		{"name", g.span.Name(), w.span.Name()},
		{"kind", g.span.Kind(), w.span.Kind()},
		{"parent span ID", g.span.ParentSpanID(), w.span.ParentSpanID()},
		{"start", g.span.StartTimestamp().AsTime(), w.span.StartTimestamp().AsTime()},
		{"end", g.span.EndTimestamp().AsTime(), w.span.EndTimestamp().AsTime()},
		{"status code", g.span.Status().Code(), w.span.Status().Code()},
		{"status message", g.span.Status().Message(), w.span.Status().Message()},
		{"scope name", g.scope.Name(), w.scope.Name()},
		{"scope version", g.scope.Version(), w.scope.Version()},
		{"event count", g.span.Events().Len(), w.span.Events().Len()},
		{"link count", g.span.Links().Len(), w.span.Links().Len()},
		{"trace state", g.span.TraceState().AsRaw(), w.span.TraceState().AsRaw()},
		{"flags", g.span.Flags(), wantFlags},
		{"dropped attributes count", g.span.DroppedAttributesCount(), wantDropped},
		{"scope attributes", g.scope.Attributes().AsRaw(), wantScopeAttrs},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("span %q: %s differs (-want +got):\n%s", name, c.field, diff)
		}
	}
	if diff := cmp.Diff(w.span.Attributes().AsRaw(), g.span.Attributes().AsRaw()); diff != "" {
		t.Errorf("span %q: attributes differ (-want +got):\n%s", name, diff)
	}
	if diff := cmp.Diff(w.resource.Attributes().AsRaw(), g.resource.Attributes().AsRaw()); diff != "" {
		t.Errorf("span %q: resource attributes differ (-want +got):\n%s", name, diff)
	}
	for i := range min(w.span.Links().Len(), g.span.Links().Len()) {
		wl, gl := w.span.Links().At(i), g.span.Links().At(i)
		if gl.TraceID() != wl.TraceID() || gl.SpanID() != wl.SpanID() {
			t.Errorf("span %q: link %d points to %s/%s, want %s/%s", name, i, gl.TraceID(), gl.SpanID(), wl.TraceID(), wl.SpanID())
		}
		if diff := cmp.Diff(wantLinkAttrs(wl), gl.Attributes().AsRaw()); diff != "" {
			t.Errorf("span %q: link %d attributes differ (-want +got):\n%s", name, i, diff)
		}
	}
	for i := range min(w.span.Events().Len(), g.span.Events().Len()) {
		we, ge := w.span.Events().At(i), g.span.Events().At(i)
		if ge.Name() != we.Name() || ge.Timestamp() != we.Timestamp() {
			t.Errorf("span %q: event %d is %q at %s, want %q at %s", name, i, ge.Name(), ge.Timestamp(), we.Name(), we.Timestamp())
		}
		if diff := cmp.Diff(we.Attributes().AsRaw(), ge.Attributes().AsRaw()); diff != "" {
			t.Errorf("span %q: event %q attributes differ (-want +got):\n%s", name, we.Name(), diff)
		}
	}
}

// traceIDs returns the sorted trace IDs of traces, failing the test when
// one ptrace.Traces holds spans of several traces.
func traceIDs(t *testing.T, traces []ptrace.Traces) []string {
	t.Helper()
	var ids []string
	for i, td := range traces {
		seen := map[pcommon.TraceID]bool{}
		for _, rec := range spansOf(td) {
			seen[rec.span.TraceID()] = true
		}
		if len(seen) != 1 {
			t.Errorf("result %d holds spans of %d traces, want 1", i, len(seen))
		}
		for id := range seen {
			ids = append(ids, id.String())
		}
	}
	sort.Strings(ids)
	return ids
}

func idStrings(ids ...pcommon.TraceID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.String())
	}
	sort.Strings(out)
	return out
}
