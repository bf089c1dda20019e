package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/delivery"
)

// itemResult is the outcome of one action, in the terms of an
// Elasticsearch _bulk item.
type itemResult struct {
	op, index, id      string
	status             int
	errType, errReason string
}

func (it *itemResult) fail(status int, typ, reason string) {
	it.status, it.errType, it.errReason = status, typ, reason
}

// ingestNew writes the documents of actions to Loki, the primary of the
// new_primary and new_only modes, and in new_primary mode queues the
// documents Loki stored for Elasticsearch. It returns one result per
// action, or an error for the whole request.
func (g *Gateway) ingestNew(ctx context.Context, mode Mode, actions []bulkAction) ([]itemResult, *esError) {
	items := make([]itemResult, len(actions))
	docs := make([]delivery.Document, 0, len(actions))
	idx := make([]int, 0, len(actions))
	size := int64(0)
	for i, a := range actions {
		it := &items[i]
		it.op, it.index, it.id = a.op, a.index, a.id
		switch {
		case !a.carriesDocument():
			g.metrics.skipped.WithLabelValues(destLoki, "action_"+a.op).Inc()
			it.fail(http.StatusBadRequest, "illegal_argument_exception",
				fmt.Sprintf("the migrate gateway in %s mode writes to Loki, which cannot %s entries: send index or create actions", mode, a.op))
		case a.index == "":
			it.fail(http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
		case g.cfg.Loki == nil || !g.cfg.Loki.Maps(a.index):
			it.fail(http.StatusBadRequest, "illegal_argument_exception",
				fmt.Sprintf("no logs mapping of the migration plan matches index [%s]: add the index to the indices of a logs entry", a.index))
		default:
			if it.id == "" {
				it.id = newDocumentID()
			}
			docs = append(docs, delivery.Document{Op: a.op, Index: a.index, ID: it.id, Source: a.source})
			idx = append(idx, i)
			size += int64(documentRecordSize(docs[len(docs)-1]))
		}
	}
	if len(docs) == 0 {
		return items, nil
	}

	es := g.dests[destElasticsearch]
	if mode != ModeNewPrimary {
		es = nil
	}
	if es != nil {
		res := es.reserve(size, len(docs))
		if res == nil {
			g.metrics.rejected.WithLabelValues("logs", "queue_full").Inc()
			return nil, queueFullError(destElasticsearch)
		}
		defer res.release()
	}

	ctx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	defer cancel()
	g.metrics.received.WithLabelValues(destLoki).Add(float64(len(docs)))
	outcomes, result, _, err := g.cfg.Loki.WriteDocuments(ctx, docs)
	g.metrics.addResult(destLoki, result)
	if err == nil && len(outcomes) != len(docs) {
		err = fmt.Errorf("the Loki writer returned %d outcomes for %d documents", len(outcomes), len(docs))
	}
	if err != nil {
		g.metrics.failed.WithLabelValues(destLoki, failureReason(err)).Inc()
		g.log.Warn("writing to Loki, the primary, failed; the client is asked to retry", "documents", len(docs), "err", err)
		return nil, lokiError(err)
	}

	if len(result.DeadLettered) > 0 {
		g.log.Warn("documents dead-lettered by the Loki writer; the client gets an item error for each", "reasons", result.DeadLettered)
	}
	now := time.Now()
	var records [][]byte
	for k, o := range outcomes {
		it := &items[idx[k]]
		if !o.Written {
			it.fail(http.StatusBadRequest, "document_parsing_exception",
				fmt.Sprintf("Loki cannot store this document (%s: %s); it is in the gateway's dead-letter file", o.Reason, o.Detail))
			continue
		}
		it.status = http.StatusCreated
		if es != nil {
			records = append(records, encodeDocument(docs[k], now))
		}
	}
	if len(records) > 0 {
		if qerr := g.appendRecords(destElasticsearch, "logs", records); qerr != nil {
			return nil, qerr
		}
	}
	return items, nil
}

// lokiError turns a retryable Loki failure into the client's response: 429
// for Loki's rate limits, so that the client slows down, else 503.
func lokiError(err error) *esError {
	var pe *loki.PushError
	if errors.As(err, &pe) && (pe.Reason == loki.ReasonRateLimited || pe.Reason == loki.ReasonPerStreamRateLimit) {
		return &esError{status: http.StatusTooManyRequests, typ: "es_rejected_execution_exception", reason: "rejected execution: Loki is rate limiting the migrate gateway: " + err.Error(), retryAfter: time.Second}
	}
	return &esError{status: http.StatusServiceUnavailable, typ: "unavailable_shards_exception", reason: "Loki did not accept the documents; retry later: " + err.Error(), retryAfter: time.Second}
}

// writeBulkResponse responds to a _bulk request in Elasticsearch 8.x's format
// (bulk__all_ok and bulk__item_error_version_conflict_small in the
// recordings): one item per action, keyed by the action name, with errors
// true when any item failed.
func writeBulkResponse(w http.ResponseWriter, items []itemResult, took time.Duration) {
	var b bytes.Buffer
	b.Grow(len(items) * 200)
	failed := false
	for _, it := range items {
		if it.status/100 != 2 {
			failed = true
			break
		}
	}
	fmt.Fprintf(&b, `{"took":%d,"errors":%t,"items":[`, took.Milliseconds(), failed)
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"`)
		b.WriteString(it.op)
		b.WriteString(`":`)
		writeItem(&b, it)
		b.WriteByte('}')
	}
	b.WriteString("]}")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Elastic-Product", "Elasticsearch")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func writeItem(b *bytes.Buffer, it itemResult) {
	b.WriteString(`{"_index":`)
	writeJSONString(b, it.index)
	if it.id != "" {
		b.WriteString(`,"_id":`)
		writeJSONString(b, it.id)
	}
	if it.status/100 == 2 {
		b.WriteString(`,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":`)
		b.WriteString(strconv.Itoa(it.status))
		b.WriteByte('}')
		return
	}
	b.WriteString(`,"status":`)
	b.WriteString(strconv.Itoa(it.status))
	b.WriteString(`,"error":{"type":`)
	writeJSONString(b, it.errType)
	b.WriteString(`,"reason":`)
	writeJSONString(b, it.errReason)
	b.WriteString("}}")
}

// writeDocResponse responds to a single-document index request as
// Elasticsearch 8.x does (index__auto_id in the recordings).
func writeDocResponse(w http.ResponseWriter, it itemResult) {
	var b bytes.Buffer
	b.WriteString(`{"_index":`)
	writeJSONString(&b, it.index)
	b.WriteString(`,"_id":`)
	writeJSONString(&b, it.id)
	b.WriteString(`,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1}`)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Elastic-Product", "Elasticsearch")
	h.Set("Location", "/"+url.PathEscape(it.index)+"/_doc/"+url.PathEscape(it.id))
	w.WriteHeader(it.status)
	_, _ = w.Write(b.Bytes())
}
