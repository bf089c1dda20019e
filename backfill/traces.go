package backfill

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/delivery"
)

// TraceSource reads traces from Jaeger, as *jaeger.Client does.
type TraceSource interface {
	FindTraces(ctx context.Context, q jaeger.TraceQuery) ([]ptrace.Traces, error)
	Services(ctx context.Context) ([]string, error)
}

// TraceWriter writes traces to Tempo, as delivery.TempoWriter does. The
// Result counts spans.
type TraceWriter interface {
	Write(ctx context.Context, td ptrace.Traces) (delivery.Result, error)
}

// DefaultTraceSearchLimit is the number of traces one Jaeger search
// requests. Jaeger's memory storage rejects a limit that is not below its
// max_traces setting.
const DefaultTraceSearchLimit = 1000

// minTraceWindow is the shortest search window. A window this short that
// still returns the search limit is reported, not split further.
const minTraceWindow = time.Second

// skippedSearchLimit counts the search windows where Jaeger returned its
// limit of traces even at minTraceWindow, so some traces may be missing.
const skippedSearchLimit = "jaeger_search_limit_windows"

// runTracesUnit copies one traces unit, resuming after the last window
// that Tempo acknowledged.
func (r *Runner) runTracesUnit(ctx context.Context, u Unit, cp Checkpoint) error {
	start := u.From
	if cp.TracesUntil.After(start) {
		start = cp.TracesUntil
	}
	if start.Before(u.To) {
		if err := r.searchWindow(ctx, u, &cp, window{From: start, To: u.To}); err != nil {
			return err
		}
	}
	cp.Done = true
	return r.cps.save(ctx, u, cp)
}

// searchWindow searches one service's traces that start in w. When Jaeger
// returns as many traces as were asked for, there may be more, so the
// window is split in halves and each half searched, down to
// minTraceWindow. The windows are written in ascending time, each
// checkpointed once Tempo acknowledged it.
func (r *Runner) searchWindow(ctx context.Context, u Unit, cp *Checkpoint, w window) error {
	limit := r.cfg.TraceSearchLimit
	var found []ptrace.Traces
	err := r.retry.do(ctx, "searching Jaeger for "+u.String(), retryableRead, func() error {
		var err error
		// Jaeger's StartMax is inclusive and its times have microseconds,
		// so this searches [w.From, w.To).
		found, err = r.cfg.Jaeger.FindTraces(ctx, jaeger.TraceQuery{
			Service: u.Name, StartMin: w.From, StartMax: w.To.Add(-time.Microsecond), NumTraces: limit,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("searching Jaeger for %s in [%s, %s): %w", u, w.From.Format(time.RFC3339Nano), w.To.Format(time.RFC3339Nano), err)
	}
	if len(found) >= limit {
		if span := w.To.Sub(w.From); span > minTraceWindow {
			mid := w.From.Add(span / 2).Truncate(time.Microsecond)
			if !mid.After(w.From) {
				mid = w.From.Add(time.Microsecond)
			}
			if err := r.searchWindow(ctx, u, cp, window{From: w.From, To: mid}); err != nil {
				return err
			}
			return r.searchWindow(ctx, u, cp, window{From: mid, To: w.To})
		}
		r.log.Warn("backfill: Jaeger returned its search limit for a window of the minimum length, so traces of this window may be missing; raise --trace-search-limit",
			"service", u.Name, "from", w.From, "to", w.To, "limit", limit)
		cp.Counts.addSkipped(skippedSearchLimit, 1)
	}
	return r.writeTraces(ctx, u, cp, w, found)
}

// writeTraces writes the traces of found that this unit owns and
// checkpoints the window.
func (r *Runner) writeTraces(ctx context.Context, u Unit, cp *Checkpoint, w window, found []ptrace.Traces) error {
	td := ptrace.NewTraces()
	var delta Counts
	for _, trace := range found {
		service, start, ok := traceOwner(trace, r.services)
		if !ok || service != u.Name || start.Before(w.From) || !start.Before(w.To) {
			continue
		}
		delta.Traces++
		trace.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	if td.SpanCount() > 0 {
		size := int64((&ptrace.ProtoMarshaler{}).TracesSize(td))
		if err := r.tempoBucket.wait(ctx, size); err != nil {
			return err
		}
		var res delivery.Result
		err := r.retry.do(ctx, "the Tempo push", retryableTempoWrite, func() error {
			var err error
			res, err = r.cfg.Tempo.Write(ctx, td)
			return err
		})
		if err != nil {
			return fmt.Errorf("writing %s to Tempo: %w", u, err)
		}
		delta.Spans += int64(res.Written)
		delta.TraceBytes += res.Bytes
		for reason, n := range res.DeadLettered {
			delta.addDeadLettered("tempo/"+reason, int64(n))
		}
	}
	cp.TracesUntil = w.To
	cp.Counts.Add(delta)
	if err := r.cps.save(ctx, u, *cp); err != nil {
		return err
	}
	r.progress.advance(KindTraces, w.To, delta)
	return nil
}

// traceOwner returns the service and start time of the span that decides
// which unit writes a trace, so that a trace found through several
// services, or in several slices, is written once. It is the root span
// (the span without a parent; with several, or none, the earliest span)
// when its service is one the backfill copies. Otherwise it is the earliest
// span of a copied service. ok is false when no span belongs to a copied
// service.
func traceOwner(td ptrace.Traces, services map[string]bool) (service string, start time.Time, ok bool) {
	var root, first spanRef
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		name := serviceName(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for k := range sss.Len() {
			spans := sss.At(k).Spans()
			for s := range spans.Len() {
				span := spans.At(s)
				ref := spanRef{service: name, start: span.StartTimestamp(), id: span.SpanID(), set: true}
				if span.ParentSpanID().IsEmpty() && ref.before(root) {
					root = ref
				}
				if services[name] && ref.before(first) {
					first = ref
				}
			}
		}
	}
	if !root.set {
		root = earliest(td)
	}
	if root.set && services[root.service] {
		return root.service, root.start.AsTime(), true
	}
	if first.set {
		return first.service, first.start.AsTime(), true
	}
	return "", time.Time{}, false
}

// spanRef is a candidate owner span.
type spanRef struct {
	service string
	start   pcommon.Timestamp
	id      pcommon.SpanID
	set     bool
}

// before orders spans by start time, then service, then span id, so the
// choice does not depend on the order Jaeger returned them in.
func (a spanRef) before(b spanRef) bool {
	switch {
	case !b.set:
		return true
	case a.start != b.start:
		return a.start < b.start
	case a.service != b.service:
		return a.service < b.service
	}
	return bytes.Compare(a.id[:], b.id[:]) < 0
}

// earliest returns the earliest span of td.
func earliest(td ptrace.Traces) spanRef {
	var out spanRef
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		name := serviceName(rss.At(i).Resource().Attributes())
		sss := rss.At(i).ScopeSpans()
		for k := range sss.Len() {
			spans := sss.At(k).Spans()
			for s := range spans.Len() {
				span := spans.At(s)
				if ref := (spanRef{service: name, start: span.StartTimestamp(), id: span.SpanID(), set: true}); ref.before(out) {
					out = ref
				}
			}
		}
	}
	return out
}

func serviceName(attrs pcommon.Map) string {
	if v, ok := attrs.Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}
