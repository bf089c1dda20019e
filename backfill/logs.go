package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/logmap"
	"github.com/obs-migrate/migrate/plans"
)

// LogWriter writes Loki entries, as delivery.LokiWriter does. Every entry
// given to Write is accounted in the Result: written or dead-lettered. An
// error means the entries may not all be stored, and the caller sends the
// same entries again later.
type LogWriter interface {
	Write(ctx context.Context, entries []logmap.Entry) (delivery.Result, error)
}

// runLogsUnit copies one logs unit, resuming from cp. It reads the
// documents in time order, and after each batch that Loki acknowledged it
// checkpoints the reader's position right after the batch's last document.
func (r *Runner) runLogsUnit(ctx context.Context, u Unit, cp Checkpoint) error {
	mapper := r.mappers[u.Entry]
	m := mapper.Mapping()
	reader := r.cfg.Elasticsearch.NewReader(elasticsearch.ReadRequest{
		Index: m.Indices, TimeField: m.Timestamp, From: u.From, To: u.To,
		PageSize: r.cfg.PageSize, KeepAlive: r.cfg.KeepAlive,
	}, cp.Cursor)
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := reader.Close(closeCtx); err != nil {
			r.log.Warn("backfill: closing the point in time failed; Elasticsearch frees it when its keep-alive ends", "unit", u.String(), "err", err)
		}
	}()
	for {
		before := reader.Cursor()
		var hits []elasticsearch.Hit
		err := r.retry.do(ctx, "reading "+u.String(), retryableRead, func() error {
			var err error
			hits, err = reader.Next(ctx)
			return err
		})
		if errors.Is(err, io.EOF) {
			break
		}
		if elasticsearch.IsIndexNotFound(err) {
			r.log.Warn("backfill: no index matches the logs entry; the unit has no documents", "unit", u.String(), "err", err)
			break
		}
		if err != nil {
			return fmt.Errorf("reading %s from Elasticsearch: %w", u, err)
		}
		if err := r.copyHits(ctx, u, &cp, mapper, before, reader.Cursor(), hits); err != nil {
			return err
		}
	}
	cp.Done, cp.Cursor = true, nil
	return r.cps.save(ctx, u, cp)
}

// batch is the part of a page that becomes one write.
type batch struct {
	entries  []logmap.Entry
	skips    []skippedDoc
	counts   Counts
	min, max time.Time
}

type skippedDoc struct {
	hit  elasticsearch.Hit
	skip *logmap.Skip
}

// copyHits maps one page and writes it in batches. A batch ends where its
// entries would span more than maxBatchSpan, so that a batch sent again
// after a crash lies within Loki's out-of-order window of the stream's
// newest entry and is deduplicated instead of rejected.
func (r *Runner) copyHits(ctx context.Context, u Unit, cp *Checkpoint, mapper *logmap.Mapper, before, after elasticsearch.Cursor, hits []elasticsearch.Hit) error {
	var b batch
	flush := func(n int) error {
		if err := r.writeBatch(ctx, &b); err != nil {
			return fmt.Errorf("writing %s to Loki: %w", u, err)
		}
		cursor := cursorAfter(before, after, hits, n)
		cp.Cursor = &cursor
		cp.Counts.Add(b.counts)
		if err := r.cps.save(ctx, u, *cp); err != nil {
			return err
		}
		pos, _ := time.Parse(time.RFC3339Nano, cursor.LastTime)
		r.progress.advance(KindLogs, pos, b.counts)
		b = batch{}
		return nil
	}
	for i, h := range hits {
		if !r.ownsIndex(u.Entry, h.Index) {
			// An earlier logs entry matches this index and copies it.
			continue
		}
		e, err := mapper.Map(h.ID, h.Index, h.Source)
		var skip *logmap.Skip
		if errors.As(err, &skip) {
			b.skips = append(b.skips, skippedDoc{hit: h, skip: skip})
			b.counts.Documents++
			b.counts.SourceBytes += int64(len(h.Source))
			continue
		}
		if err != nil {
			return fmt.Errorf("mapping document %s of %s: %w", h.ID, h.Index, err)
		}
		ts := e.Entry.Timestamp
		if len(b.entries) > 0 && r.maxBatchSpan > 0 && (ts.Sub(b.min) > r.maxBatchSpan || b.max.Sub(ts) > r.maxBatchSpan) {
			if err := flush(i); err != nil {
				return err
			}
		}
		if len(b.entries) == 0 || ts.Before(b.min) {
			b.min = ts
		}
		if len(b.entries) == 0 || ts.After(b.max) {
			b.max = ts
		}
		b.entries = append(b.entries, e)
		b.counts.Documents++
		b.counts.SourceBytes += int64(len(h.Source))
		if e.Truncated {
			b.counts.Truncated++
		}
	}
	return flush(len(hits))
}

// writeBatch dead-letters the skipped documents and writes the entries,
// waiting for the ingestion budget and retrying retryable errors.
func (r *Runner) writeBatch(ctx context.Context, b *batch) error {
	for _, s := range b.skips {
		if err := r.cfg.DeadLetter.Put("loki", s.skip.Reason, s.skip.Detail, documentRecord(s.hit)); err != nil {
			return fmt.Errorf("storing skipped document %s of %s in the dead letter: %w: %w", s.hit.ID, s.hit.Index, delivery.ErrDeadLetterUnavailable, err)
		}
		b.counts.addDeadLettered("loki/"+s.skip.Reason, 1)
	}
	if len(b.entries) == 0 {
		return nil
	}

	size := int64(0)
	for _, e := range b.entries {
		size += loki.EntrySize(e.Entry)
	}
	if err := r.lokiBucket.wait(ctx, size); err != nil {
		return err
	}

	// A failed write returns what it accounted for; a
	// *delivery.LokiWriteError also names the entries still pending, and
	// only those are sent again.
	var res delivery.Result
	pending := b.entries
	err := r.retry.do(ctx, "the Loki push", retryableLokiWrite, func() error {
		part, err := r.cfg.Loki.Write(ctx, pending)
		if err == nil {
			res.Add(part)
			return nil
		}
		var we *delivery.LokiWriteError
		if errors.As(err, &we) {
			res.Add(part)
			pending = we.Pending
		}
		return err
	})
	if err != nil {
		return err
	}

	b.counts.Entries += int64(res.Written)
	b.counts.EntryBytes += res.Bytes
	for reason, n := range res.DeadLettered {
		b.counts.addDeadLettered("loki/"+reason, int64(n))
	}
	return nil
}

// documentRecord is a skipped document as the dead letter keeps it.
func documentRecord(h elasticsearch.Hit) []byte {
	type record struct {
		ID     string          `json:"_id"`
		Index  string          `json:"_index"`
		Source json.RawMessage `json:"_source,omitempty"`
		Raw    string          `json:"_source_text,omitempty"`
	}
	rec := record{ID: h.ID, Index: h.Index}
	if json.Valid(h.Source) {
		rec.Source = h.Source
	} else {
		rec.Raw = string(h.Source)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return h.Source
	}
	return data
}

// cursorAfter returns the reader position after the first n hits of a
// page, from the position before the page and the one after it. It
// follows the Reader's own bookkeeping: LastTime is the time sort value of
// the last hit, SeenAtLastTime the ids returned at that time, and
// search_after the last hit's sort values in the page's point in time.
func cursorAfter(before, after elasticsearch.Cursor, hits []elasticsearch.Hit, n int) elasticsearch.Cursor {
	if n >= len(hits) {
		return after
	}
	if n <= 0 {
		return before
	}
	c := elasticsearch.Cursor{
		PIT:            after.PIT,
		LastTime:       before.LastTime,
		SeenAtLastTime: append([]string(nil), before.SeenAtLastTime...),
	}
	for _, h := range hits[:n] {
		ts := sortTimeOf(h)
		if ts == c.LastTime || sameInstant(ts, c.LastTime) {
			c.SeenAtLastTime = append(c.SeenAtLastTime, h.ID)
			continue
		}
		c.LastTime = ts
		c.SeenAtLastTime = []string{h.ID}
	}
	for _, v := range hits[n-1].Sort {
		c.SearchAfter = append(c.SearchAfter, append(json.RawMessage(nil), v...))
	}
	return c
}

// sortTimeOf returns a hit's time sort value, a JSON string in the
// reader's request format.
func sortTimeOf(h elasticsearch.Hit) string {
	if len(h.Sort) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(h.Sort[0], &s) != nil {
		return ""
	}
	return s
}

func sameInstant(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.Equal(tb)
}

// backingIndex matches the name of a data stream's backing index, such as
// .ds-logs-app-2024.05.01-000001, and captures the data stream's name.
var backingIndex = regexp.MustCompile(`^\.ds-(.+)-\d{4}\.\d{2}\.\d{2}-\d{6}$`)

// ownsIndex reports whether the logs entry at position entry copies the
// documents of index. As everywhere in the plan, the first entry whose
// indices match an index applies, so an entry leaves the documents of an
// index that an earlier entry also matches to that entry. An index that no
// pattern names, such as a backing index of a data stream whose name the
// pattern names, is matched through its data stream's name, and belongs to
// the entry that read it when nothing matches.
func (r *Runner) ownsIndex(entry int, index string) bool {
	first := firstMatch(r.logs, index)
	if first < 0 {
		if m := backingIndex.FindStringSubmatch(index); m != nil {
			first = firstMatch(r.logs, m[1])
		}
	}
	return first < 0 || first >= entry
}

func firstMatch(logs []plans.LogMapping, index string) int {
	for i, m := range logs {
		if m.MatchesIndex(index) {
			return i
		}
	}
	return -1
}
