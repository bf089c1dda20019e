package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/codes"

	"github.com/obs-migrate/migrate/connectors/tempo"
)

// Dead-letter reasons of TempoWriter. Each counts spans.
const (
	// TempoReasonTraceTooLarge is a trace whose size alone is over
	// max_bytes_per_trace. Tempo 3.0.3 would drop it and still return 200.
	TempoReasonTraceTooLarge = "trace_too_large"
	// TempoReasonPartialSuccess counts the spans that Tempo reported as
	// rejected in an OTLP partialSuccess.
	TempoReasonPartialSuccess = "partial_success"
	// TempoReasonLargerThanBurst is a trace that alone is larger than the
	// tenant's ingestion burst_size_bytes, which Tempo never accepts.
	TempoReasonLargerThanBurst = "larger_than_burst"
	// TempoReasonRequestTooLarge is a trace that alone is larger than the
	// request size Tempo's receiver accepts (HTTP 413, or a gRPC message
	// over the server's maximum).
	TempoReasonRequestTooLarge = "request_too_large"
)

// DefaultTempoBatchBytes is the largest OTLP request TempoWriter builds
// from several traces. grpc-go servers accept messages up to 4 MiB unless
// configured otherwise, and the OTLP receiver in Tempo 3.0.3 keeps that
// default unless max_recv_msg_size_mib is set; 3 MiB leaves room for the
// request framing. A single trace larger than this is sent alone.
const DefaultTempoBatchBytes = 3 << 20

// TempoWriter pushes traces to Tempo and accounts for every span: written,
// or dead-lettered with a reason. Before sending it measures each trace
// alone (the OTLP protobuf size of its spans, resources and scopes) against
// max_bytes_per_trace and dead-letters the traces over it, because Tempo
// 3.0.3 drops them and still returns 200 with an empty partialSuccess. It
// groups the other traces into requests under the tenant's ingestion burst
// and DefaultTempoBatchBytes, never splitting a trace. Spans that Tempo
// reports as rejected in a partialSuccess are dead-lettered as a count with
// Tempo's message, since the response does not say which spans they were.
// TempoWriter never truncates or drops anything itself. It is safe for
// concurrent use.
type TempoWriter struct {
	push          func(ctx context.Context, td ptrace.Traces) (tempo.PushResult, error)
	limits        tempo.Limits
	dl            DeadLetter
	maxBatchBytes int
	overlong      atomic.Int64
}

// NewTempoWriter returns a writer that pushes through c over OTLP/HTTP
// when useHTTP is true and over OTLP gRPC otherwise, within limits, and
// puts what can never be written into dl.
func NewTempoWriter(c *tempo.Client, limits tempo.Limits, useHTTP bool, dl DeadLetter) *TempoWriter {
	push := c.PushGRPC
	if useHTTP {
		push = c.PushHTTP
	}
	maxBatch := DefaultTempoBatchBytes
	if b := limits.IngestionBurstSizeBytes; b > 0 && b < int64(maxBatch) {
		maxBatch = int(b)
	}
	return &TempoWriter{push: push, limits: limits, dl: dl, maxBatchBytes: maxBatch}
}

// TruncatedAttributes returns how many attribute keys and values written
// so far are longer than max_attribute_bytes. Tempo 3.0.3 truncates them
// without telling the sender, so the writer counts them for the report.
func (w *TempoWriter) TruncatedAttributes() int64 { return w.overlong.Load() }

// traceItem is one trace of a Write, alone in its own ptrace.Traces.
type traceItem struct {
	id    pcommon.TraceID
	td    ptrace.Traces
	spans int
	size  int
}

// Write sends the traces of td. The Result counts spans. Write returns an
// error, with the Result of what was sent before it, when:
//
//   - a request got no response, or a retryable one after the client's
//     attempts (tempo.IsRetryable reports which);
//   - Tempo rejected the client itself (401, 403, 404 or 415);
//   - the dead letter failed (the error wraps ErrDeadLetterUnavailable).
//
// After a retryable error the caller sends the same td again, and the
// traces already written are sent a second time.
func (w *TempoWriter) Write(ctx context.Context, td ptrace.Traces) (Result, error) {
	var res Result
	var sizer ptrace.ProtoMarshaler
	var batch []traceItem
	batchBytes := 0
	for _, item := range splitTraces(td) {
		item.size = sizer.TracesSize(item.td)
		w.countOverlong(item.td)
		if limit := w.limits.MaxBytesPerTrace; limit > 0 && int64(item.size) > limit {
			detail := fmt.Sprintf("trace %s is %d bytes with %d spans, over Tempo's max_bytes_per_trace of %d bytes; raise max_bytes_per_trace for the tenant and write it again",
				item.id, item.size, item.spans, limit)
			if err := w.deadLetter(&res, TempoReasonTraceTooLarge, detail, []traceItem{item}, item.spans); err != nil {
				return res, err
			}
			continue
		}
		if len(batch) > 0 && batchBytes+item.size > w.maxBatchBytes {
			if err := w.send(ctx, batch, &res); err != nil {
				return res, err
			}
			batch, batchBytes = nil, 0
		}
		batch = append(batch, item)
		batchBytes += item.size
	}
	if len(batch) > 0 {
		if err := w.send(ctx, batch, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// send pushes one batch. A batch that Tempo rejects for its size is split
// in halves; a single trace rejected for good is dead-lettered.
func (w *TempoWriter) send(ctx context.Context, batch []traceItem, res *Result) error {
	td := mergeTraces(batch)
	spans, bytes := 0, 0
	for _, item := range batch {
		spans += item.spans
		bytes += item.size
	}
	pr, err := w.push(ctx, td)
	if err == nil {
		rejected := int(min(max(pr.RejectedSpans, 0), int64(spans)))
		res.Written += spans - rejected
		res.Bytes += int64(bytes)
		if rejected == 0 {
			return nil
		}
		detail := fmt.Sprintf("Tempo accepted the request but rejected %d of its %d spans (traces %s): %s",
			rejected, spans, traceIDs(batch), tempoMessage(pr.Message))
		return w.deadLetter(res, TempoReasonPartialSuccess, detail, batch, rejected)
	}

	var te *tempo.Error
	if !errors.As(err, &te) || !te.Permanent || !tempoAnswered(te) || tempoClientRejected(te) {
		return err
	}
	tooBig := tempoRequestTooLarge(te) || (te.Reason == tempo.ReasonRateLimited)
	if tooBig && len(batch) > 1 {
		half := len(batch) / 2
		if err := w.send(ctx, batch[:half], res); err != nil {
			return err
		}
		return w.send(ctx, batch[half:], res)
	}
	reason := tempoPermanentReason(te)
	detail := fmt.Sprintf("Tempo rejected %d spans (traces %s) for good: %v", spans, traceIDs(batch), err)
	return w.deadLetter(res, reason, detail, batch, spans)
}

// tempoAnswered reports whether a response arrived, so the error describes the
// request rather than the connection or the configuration.
func tempoAnswered(te *tempo.Error) bool {
	return te.Status != 0 || te.Code != codes.OK || te.Reason != ""
}

// tempoClientRejected reports whether Tempo rejected the client rather
// than the data: credentials, tenant, URL or encoding. Every request would
// fail the same way, so nothing is dead-lettered.
func tempoClientRejected(te *tempo.Error) bool {
	switch te.Reason {
	case tempo.ReasonUnauthenticated, tempo.ReasonPermissionDenied, tempo.ReasonNotFound, tempo.ReasonUnsupportedMediaType:
		return true
	}
	return false
}

func tempoRequestTooLarge(te *tempo.Error) bool {
	return te.Reason == tempo.ReasonPayloadTooLarge || te.Status == 413 ||
		(te.Code == codes.ResourceExhausted && strings.Contains(te.Message, "larger than max"))
}

// tempoPermanentReason names a permanent rejection in the dead letter.
func tempoPermanentReason(te *tempo.Error) string {
	switch {
	case te.Reason == tempo.ReasonRateLimited:
		return TempoReasonLargerThanBurst
	case tempoRequestTooLarge(te):
		return TempoReasonRequestTooLarge
	case te.Reason != "":
		return strings.ToLower(te.Reason)
	}
	return "rejected"
}

// deadLetter stores the traces of items under reason and counts spans
// spans for it.
func (w *TempoWriter) deadLetter(res *Result, reason, detail string, items []traceItem, spans int) error {
	record, err := (&ptrace.JSONMarshaler{}).MarshalTraces(mergeTraces(items))
	if err != nil {
		return fmt.Errorf("tempo writer: encoding %d dead-lettered spans as OTLP JSON: %w", spans, err)
	}
	if w.dl == nil {
		return fmt.Errorf("tempo writer: %d spans must be dead-lettered (%s) but no dead letter is configured: %w", spans, reason, ErrDeadLetterUnavailable)
	}
	if err := w.dl.Put("tempo", reason, detail, record); err != nil {
		return fmt.Errorf("tempo writer: storing %d spans (%s) in the dead letter: %w: %w", spans, reason, ErrDeadLetterUnavailable, err)
	}
	res.AddDeadLettered(reason, spans)
	return nil
}

// countOverlong counts the attribute keys and string or bytes values of td
// that are longer than max_attribute_bytes.
func (w *TempoWriter) countOverlong(td ptrace.Traces) {
	limit := w.limits.MaxAttributeBytes
	if limit <= 0 {
		return
	}
	n := int64(0)
	count := func(attrs pcommon.Map) {
		for k, v := range attrs.All() {
			if len(k) > limit {
				n++
			}
			switch v.Type() {
			case pcommon.ValueTypeStr:
				if len(v.Str()) > limit {
					n++
				}
			case pcommon.ValueTypeBytes:
				if v.Bytes().Len() > limit {
					n++
				}
			}
		}
	}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		count(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for k := range sss.Len() {
			spans := sss.At(k).Spans()
			for s := range spans.Len() {
				span := spans.At(s)
				count(span.Attributes())
				for e := range span.Events().Len() {
					count(span.Events().At(e).Attributes())
				}
				for l := range span.Links().Len() {
					count(span.Links().At(l).Attributes())
				}
			}
		}
	}
	if n > 0 {
		w.overlong.Add(n)
	}
}

// splitTraces returns the traces of td, each in its own ptrace.Traces with
// copies of its resources and scopes, in the order each trace first
// appears.
func splitTraces(td ptrace.Traces) []traceItem {
	type building struct {
		item   traceItem
		rsFrom int
		ssFrom int
		rs     ptrace.ResourceSpans
		ss     ptrace.ScopeSpans
	}
	byID := map[pcommon.TraceID]*building{}
	var order []*building
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for k := range sss.Len() {
			ss := sss.At(k)
			spans := ss.Spans()
			for s := range spans.Len() {
				span := spans.At(s)
				b := byID[span.TraceID()]
				if b == nil {
					b = &building{item: traceItem{id: span.TraceID(), td: ptrace.NewTraces()}, rsFrom: -1, ssFrom: -1}
					byID[span.TraceID()] = b
					order = append(order, b)
				}
				if b.rsFrom != i {
					b.rs = b.item.td.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(b.rs.Resource())
					b.rs.SetSchemaUrl(rs.SchemaUrl())
					b.rsFrom, b.ssFrom = i, -1
				}
				if b.ssFrom != k {
					b.ss = b.rs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(b.ss.Scope())
					b.ss.SetSchemaUrl(ss.SchemaUrl())
					b.ssFrom = k
				}
				span.CopyTo(b.ss.Spans().AppendEmpty())
				b.item.spans++
			}
		}
	}
	items := make([]traceItem, len(order))
	for i, b := range order {
		items[i] = b.item
	}
	return items
}

// mergeTraces copies the traces of items into one ptrace.Traces.
func mergeTraces(items []traceItem) ptrace.Traces {
	if len(items) == 1 {
		return items[0].td
	}
	out := ptrace.NewTraces()
	for _, item := range items {
		rss := item.td.ResourceSpans()
		for i := range rss.Len() {
			rss.At(i).CopyTo(out.ResourceSpans().AppendEmpty())
		}
	}
	return out
}

// traceIDs lists the trace ids of items for a dead-letter detail, cut after
// a few.
func traceIDs(items []traceItem) string {
	const shown = 5
	ids := make([]string, 0, min(len(items), shown))
	for i, item := range items {
		if i == shown {
			return strings.Join(ids, ", ") + fmt.Sprintf(" and %d more", len(items)-shown)
		}
		ids = append(ids, item.id.String())
	}
	return strings.Join(ids, ", ")
}

func tempoMessage(msg string) string {
	if strings.TrimSpace(msg) == "" {
		return "Tempo sent no message"
	}
	return msg
}
