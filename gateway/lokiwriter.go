package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/logmap"
)

// lokiPending is the part of a failed WriteDocuments left to write: the
// entries that were neither written nor dead-lettered.
type lokiPending struct {
	entries []logmap.Entry
}

// Len returns the number of entries left.
func (p *lokiPending) Len() int { return len(p.entries) }

// LokiLogWriter is the LogWriter of a plan: documents are mapped with the
// plan's logs entries (logmap) and written by a delivery.LokiWriter.
// It is safe for concurrent use.
type LokiLogWriter struct {
	set    *logmap.Set
	client *loki.Client
	limits loki.Limits
	dl     delivery.DeadLetter

	// maps caches Maps by index name, up to maxCachedIndices entries.
	maps   sync.Map
	cached atomic.Int64
}

// maxCachedIndices bounds the per-index cache of Maps; beyond it Maps
// matches the patterns on every call.
const maxCachedIndices = 10000

// NewLokiLogWriter returns a LogWriter that maps with set and writes
// through c, sized for limits. Documents that cannot be mapped, and
// entries Loki can never store, go to dl.
func NewLokiLogWriter(set *logmap.Set, c *loki.Client, limits loki.Limits, dl delivery.DeadLetter) *LokiLogWriter {
	return &LokiLogWriter{set: set, client: c, limits: limits, dl: dl}
}

// Maps reports whether a logs entry of the plan applies to index.
func (w *LokiLogWriter) Maps(index string) bool {
	if ok, cached := w.maps.Load(index); cached {
		return ok.(bool)
	}
	ok := w.set.For(index) != nil
	if w.cached.Add(1) <= maxCachedIndices {
		w.maps.Store(index, ok)
	}
	return ok
}

// WriteDocuments maps docs and writes the entries. A document that cannot
// be mapped is dead-lettered with the mapping's reason (missing_timestamp,
// line_too_long...). On a retryable failure it returns the entries still
// to write, for Resume.
func (w *LokiLogWriter) WriteDocuments(ctx context.Context, docs []delivery.Document) ([]Outcome, delivery.Result, LogPending, error) {
	var res delivery.Result
	outcomes := make([]Outcome, len(docs))
	entries := make([]logmap.Entry, 0, len(docs))
	owners := make([]int, 0, len(docs))
	for i, d := range docs {
		m := w.set.For(d.Index)
		if m == nil {
			reason, detail := "no_mapping", "no logs entry of the plan matches index "+d.Index
			if err := w.dl.Put(destLoki, reason, detail, delivery.DocumentRecord(d)); err != nil {
				return nil, res, nil, errors.Join(delivery.ErrDeadLetterUnavailable, err)
			}
			res.AddDeadLettered(reason, 1)
			outcomes[i] = Outcome{Reason: reason, Detail: detail}
			continue
		}
		e, err := m.Map(d.ID, d.Index, d.Source)
		if err != nil {
			reason, detail := logmap.ReasonInvalidDocument, err.Error()
			var skip *logmap.Skip
			if errors.As(err, &skip) {
				reason, detail = skip.Reason, skip.Detail
			}
			if err := w.dl.Put(destLoki, reason, detail, delivery.DocumentRecord(d)); err != nil {
				return nil, res, nil, errors.Join(delivery.ErrDeadLetterUnavailable, err)
			}
			res.AddDeadLettered(reason, 1)
			outcomes[i] = Outcome{Reason: reason, Detail: detail}
			continue
		}
		entries = append(entries, e)
		owners = append(owners, i)
	}
	if len(entries) == 0 {
		return outcomes, res, nil, nil
	}

	rec := &deadLetterRecorder{next: w.dl, byID: map[string][]Outcome{}}
	r, err := delivery.NewLokiWriter(w.client, w.limits, rec).Write(ctx, entries)
	res.Add(r)
	if err != nil {
		var we *delivery.LokiWriteError
		if errors.As(err, &we) {
			return nil, res, &lokiPending{entries: we.Pending}, err
		}
		return nil, res, &lokiPending{entries: entries}, err
	}
	for k, e := range entries {
		i := owners[k]
		if o, ok := rec.take(entryID(e)); ok {
			outcomes[i] = o
			continue
		}
		outcomes[i] = Outcome{Written: true}
	}
	return outcomes, res, nil, nil
}

// Resume writes what a failed WriteDocuments left.
func (w *LokiLogWriter) Resume(ctx context.Context, pending LogPending) (delivery.Result, LogPending, error) {
	p, ok := pending.(*lokiPending)
	if !ok || p.Len() == 0 {
		return delivery.Result{}, nil, nil
	}
	r, err := delivery.NewLokiWriter(w.client, w.limits, w.dl).Write(ctx, p.entries)
	if err != nil {
		var we *delivery.LokiWriteError
		if errors.As(err, &we) {
			return r, &lokiPending{entries: we.Pending}, err
		}
		return r, p, err
	}
	return r, nil, nil
}

func entryID(e logmap.Entry) string {
	for _, l := range e.Entry.StructuredMetadata {
		if l.Name == logmap.DocumentIDKey {
			return l.Value
		}
	}
	return ""
}

// deadLetterRecorder passes dead letters on and remembers the es_id of
// each entry, so WriteDocuments can tell which documents Loki rejected.
type deadLetterRecorder struct {
	next delivery.DeadLetter
	mu   sync.Mutex
	byID map[string][]Outcome
}

func (d *deadLetterRecorder) Put(destination, reason, detail string, record []byte) error {
	if err := d.next.Put(destination, reason, detail, record); err != nil {
		return err
	}
	var rec struct {
		StructuredMetadata []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"structured_metadata"`
	}
	if json.Unmarshal(record, &rec) != nil {
		return nil
	}
	for _, l := range rec.StructuredMetadata {
		if l.Name == logmap.DocumentIDKey {
			d.mu.Lock()
			d.byID[l.Value] = append(d.byID[l.Value], Outcome{Reason: reason, Detail: detail})
			d.mu.Unlock()
			break
		}
	}
	return nil
}

// take returns and removes one recorded outcome for id.
func (d *deadLetterRecorder) take(id string) (Outcome, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	list := d.byID[id]
	if len(list) == 0 {
		return Outcome{}, false
	}
	d.byID[id] = list[1:]
	return list[0], true
}
