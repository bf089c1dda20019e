package gateway

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/phases"
)

// fakePrimary is an in-process stand-in for Elasticsearch 8.x's _bulk
// endpoint, written for these tests and benchmarks. Its answers follow the
// recorded shape of bulk__all_ok (testdata/recordings/elasticsearch-8):
// one item per action with _index, _id, result and status 201, and an _id
// generated for an action without one. It counts documents and keeps their
// ids.
type fakePrimary struct {
	docs    atomic.Int64
	auto    atomic.Int64
	reqs    atomic.Int64
	mu      sync.Mutex
	auth    []string
	headers []http.Header
}

func (f *fakePrimary) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.reqs.Add(1)
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	var in io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		in = zr
	}
	body, _ := readAll(in, r.ContentLength, 1<<30)
	if r.URL.Path != "/_bulk" {
		_, _ = io.WriteString(w, `{"acknowledged":true}`)
		return
	}
	actions, err := parseBulk(body, "")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"root_cause":[{"type":"illegal_argument_exception","reason":%q}],"type":"illegal_argument_exception","reason":%q},"status":400}`, err, err)
		return
	}
	b := make([]byte, 0, 64+len(actions)*200)
	b = append(b, `{"took":1,"errors":false,"items":[`...)
	for i, a := range actions {
		if i > 0 {
			b = append(b, ',')
		}
		id := a.id
		if id == "" {
			id = "auto-" + strconv.FormatInt(f.auto.Add(1), 10)
		}
		b = append(b, `{"`...)
		b = append(b, a.op...)
		b = append(b, `":{"_index":"`...)
		b = append(b, a.index...)
		b = append(b, `","_id":"`...)
		b = append(b, id...)
		b = append(b, `","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"status":201,"_seq_no":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"_primary_term":1}}`...)
	}
	b = append(b, "]}"...)
	f.docs.Add(int64(len(actions)))
	_, _ = w.Write(b)
}

// memQueue is an in-memory recordQueue with a byte limit, for tests that
// need no disk.
type memQueue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	records [][]byte
	times   []time.Time
	bytes   int64
	max     int64
	closed  bool
	full    bool // forces errQueueFull on Append
}

func newMemQueue(max int64) *memQueue {
	q := &memQueue{max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *memQueue) Append(records ...[]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := int64(0)
	for _, r := range records {
		size += int64(len(r)) + 20
	}
	if q.full || (q.max > 0 && q.bytes+size > q.max) {
		return fmt.Errorf("%w: test queue", errQueueFull)
	}
	for _, r := range records {
		q.records = append(q.records, append([]byte(nil), r...))
		q.times = append(q.times, time.Now())
	}
	q.bytes += size
	q.cond.Broadcast()
	return nil
}

func (q *memQueue) Next(ctx context.Context, max int) (queueBatch, error) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.records) == 0 {
		if ctx.Err() != nil {
			return queueBatch{}, ctx.Err()
		}
		if q.closed {
			return queueBatch{}, fmt.Errorf("closed")
		}
		q.cond.Wait()
	}
	n := min(max, len(q.records))
	return queueBatch{Records: append([][]byte(nil), q.records[:n]...), handle: n}, nil
}

func (q *memQueue) Ack(b queueBatch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := b.handle.(int)
	for _, r := range q.records[:n] {
		q.bytes -= int64(len(r)) + 20
	}
	q.records = q.records[n:]
	q.times = q.times[n:]
	return nil
}

func (q *memQueue) Stats() queueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := queueStats{Records: int64(len(q.records)), Bytes: q.bytes}
	if len(q.times) > 0 {
		st.Oldest = q.times[0]
	}
	return st
}

func (q *memQueue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
	return nil
}

// fakeLogWriter is a LogWriter that maps every index and records the
// documents it was given; fail makes WriteDocuments return a retryable
// error.
type fakeLogWriter struct {
	mu    sync.Mutex
	docs  []delivery.Document
	fail  atomic.Bool
	calls atomic.Int64
}

type fakePending []delivery.Document

func (p fakePending) Len() int { return len(p) }

func (w *fakeLogWriter) Maps(index string) bool { return index != "unmapped" }

func (w *fakeLogWriter) WriteDocuments(_ context.Context, docs []delivery.Document) ([]Outcome, delivery.Result, LogPending, error) {
	w.calls.Add(1)
	if w.fail.Load() {
		return nil, delivery.Result{}, fakePending(docs), fmt.Errorf("loki is down")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Outcome, len(docs))
	var res delivery.Result
	for i, d := range docs {
		if bytes.Contains(d.Source, []byte(`"bad"`)) {
			out[i] = Outcome{Reason: "missing_timestamp", Detail: "no @timestamp"}
			res.AddDeadLettered("missing_timestamp", 1)
			continue
		}
		w.docs = append(w.docs, delivery.Document{Op: d.Op, Index: d.Index, ID: d.ID, Source: append([]byte(nil), d.Source...)})
		out[i] = Outcome{Written: true}
		res.Written++
	}
	return out, res, nil, nil
}

func (w *fakeLogWriter) Resume(ctx context.Context, pending LogPending) (delivery.Result, LogPending, error) {
	_, res, left, err := w.WriteDocuments(ctx, pending.(fakePending))
	return res, left, err
}

func (w *fakeLogWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.docs)
}

// fixedMode is a ModeSource with a settable mode.
type fixedMode struct{ mode atomic.Value }

func newFixedMode(m Mode) *fixedMode {
	f := &fixedMode{}
	f.mode.Store(m)
	return f
}

func (f *fixedMode) State(context.Context) (phases.State, error) {
	return phases.State{GatewayMode: string(f.mode.Load().(Mode))}, nil
}

func (f *fixedMode) set(m Mode) { f.mode.Store(m) }
