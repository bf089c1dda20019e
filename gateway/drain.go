package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/delivery"
)

// Backoff bounds of the drains.
const (
	drainMinBackoff = 250 * time.Millisecond
	drainMaxBackoff = 30 * time.Second
	// drainMaxRetryAfter caps a destination's Retry-After.
	drainMaxRetryAfter = 5 * time.Minute
)

// drain delivers a destination's queue until ctx ends. A batch is
// acknowledged only after the writer accounted for every record in it,
// as written or dead-lettered. A batch that fails is retried with jittered
// backoff. When ctx ends first, the batch stays queued for the next start.
// Each destination has its own drain, so a destination that is down only
// delays its own queue.
func (g *Gateway) drain(ctx context.Context, d *destination) {
	max := g.cfg.DrainBatch
	if d.name == destJaeger || d.name == destTempo {
		max = g.cfg.DrainBatch / 64
	}
	for {
		b, err := d.queue.Next(ctx, max)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			g.log.Error("reading the queue failed", "destination", d.name, "err", err)
			if sleepCtx(ctx, time.Second) != nil {
				return
			}
			continue
		}
		if !g.deliverBatch(ctx, d, b) {
			return
		}
		if err := d.queue.Ack(b); err != nil {
			// The records were delivered; a failed Ack means they are
			// delivered again after a restart, which the es_id makes
			// harmless.
			g.log.Error("acknowledging a delivered batch failed", "destination", d.name, "records", len(b.Records), "err", err)
		}
		// A small batch means the queue is nearly empty: waiting a moment
		// lets more records gather, so that pushes are larger and the
		// queue's position file, which Ack fsyncs, is written less often
		// than once per client request. Those fsyncs compete with the
		// appends that client requests wait for.
		if len(b.Records) < max/4 && sleepCtx(ctx, drainLinger) != nil {
			return
		}
	}
}

// drainLinger is how long a drain waits after a small batch.
const drainLinger = 100 * time.Millisecond

// deliverBatch writes b until it succeeds, and returns false when ctx
// ended first.
func (g *Gateway) deliverBatch(ctx context.Context, d *destination, b queueBatch) bool {
	var state any
	for attempt := 1; ; attempt++ {
		res, err := d.deliver(ctx, b.Records, &state)
		g.metrics.addResult(d.name, res)
		if err == nil {
			if len(res.DeadLettered) > 0 {
				g.log.Warn("records dead-lettered", "destination", d.name, "reasons", res.DeadLettered)
			}
			if at, ok := recordTime(b.Records[0]); ok {
				g.metrics.lag.WithLabelValues(d.name).Set(time.Since(at).Seconds())
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := g.cfg.retryDelay(attempt, err)
		g.metrics.failed.WithLabelValues(d.name, failureReason(err)).Inc()
		g.log.Warn("delivery failed; retrying", "destination", d.name, "records", len(b.Records), "attempt", attempt, "delay", wait, "err", err)
		if sleepCtx(ctx, wait) != nil {
			return false
		}
	}
}

// recordTime returns a queue record's append time.
func recordTime(b []byte) (time.Time, bool) {
	if len(b) < recordHeaderSize {
		return time.Time{}, false
	}
	at, _, err := recordBody(b, b[0])
	return at, err == nil
}

// deliverLoki returns the Loki drain's writer: queued documents are mapped
// to entries and written. Mapping failures are dead-lettered by the
// LogWriter. After a partial write, a retry sends only what is left, so
// that entries Loki stored are not sent again: Loki rejects a resent entry
// that is older than its stream's out-of-order window.
func (g *Gateway) deliverLoki(dl delivery.DeadLetter) deliverFunc {
	return func(ctx context.Context, records [][]byte, state *any) (delivery.Result, error) {
		if pending, ok := (*state).(LogPending); ok && pending != nil {
			r, left, err := g.cfg.Loki.Resume(ctx, pending)
			*state = left
			return r, err
		}
		docs, res, err := decodeDocuments(destLoki, records, dl)
		if err != nil || len(docs) == 0 {
			return res, err
		}
		_, r, pending, err := g.cfg.Loki.WriteDocuments(ctx, docs)
		res.Add(r)
		if err != nil && pending != nil {
			*state = pending
		}
		return res, err
	}
}

// deliverElasticsearch returns the Elasticsearch drain's writer. A retry
// sends the whole batch again, which the documents' _id makes idempotent.
func (g *Gateway) deliverElasticsearch(dl delivery.DeadLetter) deliverFunc {
	return func(ctx context.Context, records [][]byte, _ *any) (delivery.Result, error) {
		docs, res, err := decodeDocuments(destElasticsearch, records, dl)
		if err != nil || len(docs) == 0 {
			return res, err
		}
		r, err := g.cfg.ElasticsearchCopy.Write(ctx, docs)
		res.Add(r)
		return res, err
	}
}

// decodeDocuments reads document records. A record that does not decode
// (written by another version, or damaged) is dead-lettered as raw bytes.
func decodeDocuments(dest string, records [][]byte, dl delivery.DeadLetter) ([]delivery.Document, delivery.Result, error) {
	var res delivery.Result
	docs := make([]delivery.Document, 0, len(records))
	for _, rec := range records {
		d, _, err := decodeDocument(rec)
		if err != nil {
			if perr := dl.Put(dest, "invalid_record", err.Error(), rec); perr != nil {
				return nil, res, fmt.Errorf("%w: %v", delivery.ErrDeadLetterUnavailable, perr)
			}
			res.AddDeadLettered("invalid_record", 1)
			continue
		}
		docs = append(docs, d)
	}
	return docs, res, nil
}

// deliverTraces returns the writer of a trace drain: the queued pushes are
// merged into one ptrace.Traces and written.
func (g *Gateway) deliverTraces(dest string, w TraceWriter, dl delivery.DeadLetter) deliverFunc {
	return func(ctx context.Context, records [][]byte, _ *any) (delivery.Result, error) {
		var res delivery.Result
		td := ptrace.NewTraces()
		for _, rec := range records {
			payload, _, err := decodeTraces(rec)
			req := ptraceotlp.NewExportRequest()
			if err == nil {
				err = req.UnmarshalProto(payload)
			}
			if err != nil {
				if perr := dl.Put(dest, "invalid_record", err.Error(), rec); perr != nil {
					return res, fmt.Errorf("%w: %v", delivery.ErrDeadLetterUnavailable, perr)
				}
				res.AddDeadLettered("invalid_record", 1)
				continue
			}
			req.Traces().ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
		}
		if td.SpanCount() == 0 {
			return res, nil
		}
		r, err := w.Write(ctx, td)
		res.Add(r)
		return res, err
	}
}

// retryDelay returns the wait before the next attempt: full jitter over an
// exponential ceiling from 250 ms to 30 s, and at least the Retry-After
// the destination sent (Tempo and Elasticsearch send one, Loki 3.7.6
// does not).
func retryDelay(attempt int, err error) time.Duration {
	ceiling := drainMinBackoff << min(attempt-1, 16)
	ceiling = min(ceiling, drainMaxBackoff)
	half := ceiling / 2
	wait := half + rand.N(half+1)
	return max(wait, min(retryAfterOf(err), drainMaxRetryAfter))
}

// retryAfterOf returns the wait a destination asked for in err, or 0.
func retryAfterOf(err error) time.Duration {
	var oe *delivery.OTLPError
	if errors.As(err, &oe) {
		return oe.RetryAfter
	}
	var te *tempo.Error
	if errors.As(err, &te) {
		return te.RetryAfter
	}
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// failureReason returns a short, bounded label for a failed attempt.
func failureReason(err error) string {
	var pe *loki.PushError
	var te *tempo.Error
	var oe *delivery.OTLPError
	var se *httpx.StatusError
	switch {
	case errors.Is(err, delivery.ErrDeadLetterUnavailable):
		return "dead_letter_unavailable"
	case errors.Is(err, context.DeadlineExceeded) || httpx.IsTimeout(err):
		return "timeout"
	case errors.As(err, &pe):
		return string(pe.Reason)
	case errors.As(err, &te) && te.Reason != "":
		return te.Reason
	case errors.As(err, &oe):
		return oe.Code.String()
	case errors.As(err, &se):
		return fmt.Sprintf("http_%d", se.Status)
	}
	var tr *httpx.TransportError
	if errors.As(err, &tr) {
		return "unreachable"
	}
	return "error"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
