package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Reasons an ElasticsearchWriter dead-letters documents for, besides the
// Elasticsearch error type of a rejected item (mapper_parsing_exception,
// illegal_argument_exception...), which is used as the reason as is.
const (
	// ESReasonRejected is a document Elasticsearch rejected without an
	// error type, or a bulk request rejected as a whole for a reason that
	// splitting does not cure.
	ESReasonRejected = "rejected"
	// ESReasonTooLarge is a single document larger than Elasticsearch's
	// http.max_content_length (413).
	ESReasonTooLarge = "too_large"
)

// DefaultMaxBulkBytes bounds the body of one _bulk request the writer sends.
// Elasticsearch 8.x rejects bodies over http.max_content_length (default
// 100 MB) with 413; its documentation recommends bulk requests of a few
// tens of megabytes at most.
const DefaultMaxBulkBytes = 10 << 20

// Document is one Elasticsearch document for a _bulk write.
type Document struct {
	// Op is the bulk action, "index" or "create"; empty means "index".
	Op    string `json:"op,omitempty"`
	Index string `json:"index"`
	// ID is the document _id. With an ID, resending a document after a
	// failure overwrites it ("index") or gets 409 ("create"), so a
	// retry never duplicates it. Without one, Elasticsearch generates it.
	ID string `json:"id,omitempty"`
	// Source is the document as JSON.
	Source json.RawMessage `json:"source"`
}

// BulkItem is one item of a _bulk response.
type BulkItem struct {
	// Op is the action name the item is keyed by: index, create, update
	// or delete.
	Op     string
	Index  string
	ID     string
	Status int
	// ErrorType and ErrorReason come from the item's error object, empty
	// when the item succeeded.
	ErrorType, ErrorReason string
}

// OK reports whether the item's status is 2xx.
func (i BulkItem) OK() bool { return i.Status >= 200 && i.Status < 300 }

type bulkItemJSON struct {
	Index  string `json:"_index"`
	ID     string `json:"_id"`
	Status int    `json:"status"`
	Error  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// bulkEntryJSON is one element of a _bulk response's items: an object
// with one key, the action name. Fields for the four actions decode
// faster than a map per item.
type bulkEntryJSON struct {
	Index  *bulkItemJSON `json:"index"`
	Create *bulkItemJSON `json:"create"`
	Update *bulkItemJSON `json:"update"`
	Delete *bulkItemJSON `json:"delete"`
}

type bulkResponseJSON struct {
	Errors bool            `json:"errors"`
	Items  []bulkEntryJSON `json:"items"`
}

// ParseBulkResponse decodes the items of an Elasticsearch _bulk response,
// in request order. Elasticsearch 8.x returns one item per action; an item
// without an _id (a response shaped by filter_path, or VictoriaLogs, which
// returns only statuses) has an empty ID.
func ParseBulkResponse(body []byte) ([]BulkItem, error) {
	var resp bulkResponseJSON
	if err := gojson.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("invalid _bulk response (%d bytes): %w", len(body), err)
	}
	items := make([]BulkItem, len(resp.Items))
	for i, e := range resp.Items {
		n := 0
		for _, c := range [...]struct {
			op string
			it *bulkItemJSON
		}{{"index", e.Index}, {"create", e.Create}, {"update", e.Update}, {"delete", e.Delete}} {
			if c.it == nil {
				continue
			}
			n++
			items[i] = BulkItem{Op: c.op, Index: c.it.Index, ID: c.it.ID, Status: c.it.Status}
			if c.it.Error != nil {
				items[i].ErrorType, items[i].ErrorReason = c.it.Error.Type, c.it.Error.Reason
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("invalid _bulk response: item %d has %d action names, want one of index, create, update and delete", i, n)
		}
	}
	return items, nil
}

// ElasticsearchWriter copies documents to Elasticsearch with _bulk
// requests. It is safe for concurrent use.
type ElasticsearchWriter struct {
	c   *httpx.Client
	dl  DeadLetter
	max int
	// attempts bounds the rounds of resending items that Elasticsearch
	// rejected with 429 or 5xx within one Write.
	attempts int
	sleep    func(ctx context.Context, d time.Duration) error
}

// NewElasticsearchWriter returns a writer that sends through c, whose base
// URL is the cluster's, and gives what can never be written to dl.
// c's retries handle a whole request rejected with 429, 502, 503 or 504.
func NewElasticsearchWriter(c *httpx.Client, dl DeadLetter) *ElasticsearchWriter {
	return &ElasticsearchWriter{c: c, dl: dl, max: DefaultMaxBulkBytes, attempts: 5, sleep: esSleep}
}

// SetMaxBulkBytes sets the largest _bulk body the writer sends.
func (w *ElasticsearchWriter) SetMaxBulkBytes(n int) {
	if n > 0 {
		w.max = n
	}
}

// Write sends docs and accounts for every one: written (2xx, or 409 for a
// "create" whose _id already exists, which is what a resent document
// gets), or dead-lettered with Elasticsearch's error type. Items rejected
// with 429 or 5xx are resent with backoff a few times within Write. Write
// returns an error when a later retry of the same documents may succeed:
// the cluster is down or keeps rejecting items, authentication failed, or
// the dead letter failed. The caller then sends the same documents again.
func (w *ElasticsearchWriter) Write(ctx context.Context, docs []Document) (Result, error) {
	var total Result
	for len(docs) > 0 {
		n, size := 0, 0
		for n < len(docs) {
			s := bulkLineSize(docs[n])
			if n > 0 && size+s > w.max {
				break
			}
			size += s
			n++
		}
		r, err := w.writeChunk(ctx, docs[:n])
		total.Add(r)
		if err != nil {
			return total, err
		}
		docs = docs[n:]
	}
	return total, nil
}

// writeChunk writes docs in one request, resending the items that failed
// with a retryable status.
func (w *ElasticsearchWriter) writeChunk(ctx context.Context, docs []Document) (Result, error) {
	var total Result
	pending := docs
	var lastItemErr error
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > w.attempts {
			return total, fmt.Errorf("elasticsearch: %d of %d documents still rejected after %d attempts: %w", len(pending), len(docs), w.attempts, lastItemErr)
		}
		if attempt > 1 {
			if err := w.sleep(ctx, esBackoff(attempt-1)); err != nil {
				return total, fmt.Errorf("elasticsearch: waiting to resend %d documents: %w", len(pending), err)
			}
		}
		r, retry, err := w.send(ctx, pending)
		total.Add(r)
		if err != nil {
			return total, err
		}
		if len(retry) > 0 {
			lastItemErr = fmt.Errorf("last item error: %s", retry[0].reason)
		}
		pending = pending[:0:0]
		for _, rt := range retry {
			pending = append(pending, rt.doc)
		}
	}
	return total, nil
}

type retryItem struct {
	doc    Document
	reason string
}

// send posts one _bulk request and classifies its items.
func (w *ElasticsearchWriter) send(ctx context.Context, docs []Document) (Result, []retryItem, error) {
	body := encodeBulk(docs)
	resp, err := w.c.Do(ctx, httpx.Request{
		Method: http.MethodPost, Path: "/_bulk", Body: body,
		Query:      url.Values{"filter_path": {"errors,items.*.status,items.*.error.type,items.*.error.reason"}},
		Header:     http.Header{"Content-Type": {"application/x-ndjson"}},
		Classifier: esBulkClassifier,
	})
	if err != nil {
		return w.requestFailed(ctx, docs, err)
	}
	items, err := ParseBulkResponse(resp.Body)
	if err != nil {
		return Result{}, nil, fmt.Errorf("elasticsearch: %w", err)
	}
	if len(items) != len(docs) {
		return Result{}, nil, fmt.Errorf("elasticsearch: _bulk response has %d items for %d documents; resending them", len(items), len(docs))
	}
	var r Result
	var retry []retryItem
	for i, it := range items {
		d := docs[i]
		switch {
		case it.OK() || (it.Status == http.StatusConflict && d.Op == "create"):
			r.Written++
			r.Bytes += int64(len(d.Source))
		case it.Status == http.StatusTooManyRequests || it.Status >= 500:
			retry = append(retry, retryItem{doc: d, reason: fmt.Sprintf("%d %s: %s", it.Status, it.ErrorType, it.ErrorReason)})
		default:
			reason := it.ErrorType
			if reason == "" {
				reason = ESReasonRejected
			}
			if err := w.deadLetter(d, reason, fmt.Sprintf("status %d: %s", it.Status, it.ErrorReason)); err != nil {
				return r, nil, err
			}
			r.AddDeadLettered(reason, 1)
		}
	}
	return r, retry, nil
}

// requestFailed handles a _bulk request that failed as a whole. 413 and
// 400 are split until the document at fault is alone, and that document
// is dead-lettered. Authentication and authorization failures, like an
// unreachable cluster, are returned for a later retry, because they are
// fixed by the operator rather than by changing the documents.
func (w *ElasticsearchWriter) requestFailed(ctx context.Context, docs []Document, err error) (Result, []retryItem, error) {
	var se *httpx.StatusError
	if !errors.As(err, &se) || !se.Permanent {
		return Result{}, nil, fmt.Errorf("elasticsearch: _bulk of %d documents failed: %w", len(docs), err)
	}
	switch se.Status {
	case http.StatusRequestEntityTooLarge, http.StatusBadRequest:
	default:
		return Result{}, nil, fmt.Errorf("elasticsearch: _bulk of %d documents failed: %w", len(docs), err)
	}
	if len(docs) == 1 {
		reason := ESReasonRejected
		if se.Status == http.StatusRequestEntityTooLarge {
			reason = ESReasonTooLarge
		}
		if err := w.deadLetter(docs[0], reason, fmt.Sprintf("status %d: %s", se.Status, se.Body)); err != nil {
			return Result{}, nil, err
		}
		var r Result
		r.AddDeadLettered(reason, 1)
		return r, nil, nil
	}
	half := len(docs) / 2
	r, err := w.writeChunk(ctx, docs[:half])
	if err != nil {
		return r, nil, err
	}
	r2, err := w.writeChunk(ctx, docs[half:])
	r.Add(r2)
	return r, nil, err
}

func (w *ElasticsearchWriter) deadLetter(d Document, reason, detail string) error {
	if w.dl == nil {
		return fmt.Errorf("elasticsearch: %w: no dead letter configured for document %q with reason %s", ErrDeadLetterUnavailable, d.ID, reason)
	}
	if err := w.dl.Put("elasticsearch", reason, detail, DocumentRecord(d)); err != nil {
		return fmt.Errorf("elasticsearch: %w: %v", ErrDeadLetterUnavailable, err)
	}
	return nil
}

// DocumentRecord returns d as one JSON object {"op","index","id","source"}
// for a dead letter. A source that is not valid JSON is kept as a string.
func DocumentRecord(d Document) []byte {
	type record struct {
		Op     string          `json:"op,omitempty"`
		Index  string          `json:"index"`
		ID     string          `json:"id,omitempty"`
		Source json.RawMessage `json:"source,omitempty"`
		Text   string          `json:"source_text,omitempty"`
	}
	rec := record{Op: d.Op, Index: d.Index, ID: d.ID}
	if json.Valid(d.Source) {
		rec.Source = d.Source
	} else {
		rec.Text = string(d.Source)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		// Only invalid UTF-8 in a string field gets here; Marshal replaces
		// it, so this is not reached in practice.
		return []byte(fmt.Sprintf(`{"index":%q,"id":%q}`, d.Index, d.ID))
	}
	return data
}

// encodeBulk writes the NDJSON body of a _bulk request.
func encodeBulk(docs []Document) []byte {
	size := 0
	for _, d := range docs {
		size += bulkLineSize(d)
	}
	var b bytes.Buffer
	b.Grow(size)
	for _, d := range docs {
		op := d.Op
		if op == "" {
			op = "index"
		}
		b.WriteString(`{"`)
		b.WriteString(op)
		b.WriteString(`":{"_index":`)
		writeJSONString(&b, d.Index)
		if d.ID != "" {
			b.WriteString(`,"_id":`)
			writeJSONString(&b, d.ID)
		}
		b.WriteString("}}\n")
		b.Write(bytes.TrimSpace(d.Source))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	data, _ := json.Marshal(s)
	b.Write(data)
}

// bulkLineSize estimates a document's bytes in a _bulk body.
func bulkLineSize(d Document) int {
	return len(d.Source) + len(d.Index) + len(d.ID) + 40
}

// esBulkClassifier accepts 2xx, retries 429, 502, 503 and 504, and makes
// every other status permanent. A 500 is not retried, because
// Elasticsearch returns 500 for failures that repeat on every attempt.
func esBulkClassifier(status int, _ http.Header, _ []byte) httpx.Decision {
	switch {
	case status >= 200 && status < 300:
		return httpx.Accept
	case httpx.RetryableStatus(status):
		return httpx.Retry
	default:
		return httpx.Permanent
	}
}

func esBackoff(attempt int) time.Duration {
	ceiling := httpx.DefaultMinBackoff << min(attempt-1, 10)
	ceiling = min(ceiling, 10*time.Second)
	half := ceiling / 2
	return half + rand.N(half+1)
}

func esSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
