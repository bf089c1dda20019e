package jaeger

import (
	"encoding/binary"
	"fmt"

	"github.com/jaegertracing/jaeger-idl/model/v1"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// modelTraceID converts an OTLP trace ID to Jaeger's two big-endian halves.
func modelTraceID(id pcommon.TraceID) model.TraceID {
	return model.NewTraceID(binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:]))
}

// spansToTraces groups api_v2 spans by trace, in the order each trace first
// appears, and converts each group to OTLP. A stream may split one trace
// over several chunks and, for FindTraces, carry several traces.
func spansToTraces(spans []model.Span) ([]ptrace.Traces, error) {
	var order []model.TraceID
	byTrace := map[model.TraceID][]*model.Span{}
	for i := range spans {
		id := spans[i].TraceID
		if _, seen := byTrace[id]; !seen {
			order = append(order, id)
		}
		byTrace[id] = append(byTrace[id], &spans[i])
	}
	traces := make([]ptrace.Traces, 0, len(order))
	for _, id := range order {
		// Each api_v2 span carries its own process, and ProtoToTraces makes
		// one resource per distinct process.
		td, err := jaegertranslator.ProtoToTraces([]*model.Batch{{Spans: byTrace[id]}})
		if err != nil {
			return nil, fmt.Errorf("jaeger: converting trace %s to OTLP: %w", id, err)
		}
		clearInferredStatus(td, byTrace[id])
		sortResources(td)
		traces = append(traces, td)
	}
	return traces, nil
}

// spanKey identifies a span within a trace. The span ID alone is not
// enough: Zipkin-style clients give the client and server span one ID.
type spanKey struct {
	id    pcommon.SpanID
	start pcommon.Timestamp
	name  string
}

// clearInferredStatus resets to Unset the status of every span whose
// Jaeger tags carry no status. ProtoToTraces (contrib v0.165.1) falls back
// to deriving an error status from an HTTP status code tag, such as 502 on
// a server span, which Jaeger itself does not treat as an error. A status
// is explicit when the span has the bool tag error=true or an
// otel.status_code tag, the two tags ProtoToTraces reads first.
func clearInferredStatus(td ptrace.Traces, spans []*model.Span) {
	explicit := map[spanKey]bool{}
	for _, span := range spans {
		for _, tag := range span.Tags {
			if (tag.Key == "error" && tag.VType == model.ValueType_BOOL && tag.VBool) || tag.Key == "otel.status_code" {
				key := spanKey{id: spanIDOf(span.SpanID), start: pcommon.NewTimestampFromTime(span.StartTime), name: span.OperationName}
				explicit[key] = true
				break
			}
		}
	}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for k := range sss.Len() {
			out := sss.At(k).Spans()
			for s := range out.Len() {
				span := out.At(s)
				if !explicit[spanKey{id: span.SpanID(), start: span.StartTimestamp(), name: span.Name()}] {
					span.Status().SetCode(ptrace.StatusCodeUnset)
					span.Status().SetMessage("")
				}
			}
		}
	}
}

func spanIDOf(id model.SpanID) pcommon.SpanID {
	var out pcommon.SpanID
	binary.BigEndian.PutUint64(out[:], uint64(id))
	return out
}

// sortResources orders resources by service name and then by the start of
// their first span. ProtoToTraces builds them from a map, in random order.
func sortResources(td ptrace.Traces) {
	td.ResourceSpans().Sort(func(a, b ptrace.ResourceSpans) bool {
		sa, sb := serviceName(a), serviceName(b)
		if sa != sb {
			return sa < sb
		}
		return firstStart(a) < firstStart(b)
	})
}

func serviceName(rs ptrace.ResourceSpans) string {
	if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}

func firstStart(rs ptrace.ResourceSpans) pcommon.Timestamp {
	first := pcommon.Timestamp(0)
	sss := rs.ScopeSpans()
	for i := range sss.Len() {
		spans := sss.At(i).Spans()
		for k := range spans.Len() {
			if start := spans.At(k).StartTimestamp(); first == 0 || start < first {
				first = start
			}
		}
	}
	return first
}

// splitByTrace splits td into one ptrace.Traces per trace ID, in the order
// each trace first appears. Every part keeps the resource and scope of its
// spans. Jaeger's api_v3 find endpoint merges all traces into one list of
// resources, so this undoes the merge.
func splitByTrace(td ptrace.Traces) []ptrace.Traces {
	type part struct {
		td ptrace.Traces
		// resource and scope map indexes in td to the copies in this part.
		resources map[int]ptrace.ResourceSpans
		scopes    map[[2]int]ptrace.ScopeSpans
	}
	var order []pcommon.TraceID
	parts := map[pcommon.TraceID]*part{}

	rss := td.ResourceSpans()
	for r := range rss.Len() {
		rs := rss.At(r)
		sss := rs.ScopeSpans()
		for s := range sss.Len() {
			ss := sss.At(s)
			spans := ss.Spans()
			for k := range spans.Len() {
				span := spans.At(k)
				p := parts[span.TraceID()]
				if p == nil {
					p = &part{td: ptrace.NewTraces(), resources: map[int]ptrace.ResourceSpans{}, scopes: map[[2]int]ptrace.ScopeSpans{}}
					parts[span.TraceID()] = p
					order = append(order, span.TraceID())
				}
				outResource, ok := p.resources[r]
				if !ok {
					outResource = p.td.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(outResource.Resource())
					outResource.SetSchemaUrl(rs.SchemaUrl())
					p.resources[r] = outResource
				}
				outScope, ok := p.scopes[[2]int{r, s}]
				if !ok {
					outScope = outResource.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(outScope.Scope())
					outScope.SetSchemaUrl(ss.SchemaUrl())
					p.scopes[[2]int{r, s}] = outScope
				}
				span.CopyTo(outScope.Spans().AppendEmpty())
			}
		}
	}

	traces := make([]ptrace.Traces, 0, len(order))
	for _, id := range order {
		traces = append(traces, parts[id].td)
	}
	return traces
}
