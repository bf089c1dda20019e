package gateway

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/delivery"
)

// Handler returns the Elasticsearch-compatible API on the listen address,
// with /metrics, /healthz and /readyz.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", g.handleReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.registry, promhttp.HandlerOpts{}))
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		mux.HandleFunc(m+" /_bulk", g.handleBulk)
		mux.HandleFunc(m+" /{index}/_bulk", g.handleBulk)
		mux.HandleFunc(m+" /{index}/_doc/{id}", g.handleDoc(opIndex))
		mux.HandleFunc(m+" /{index}/_create/{id}", g.handleDoc(opCreate))
	}
	mux.HandleFunc("POST /{index}/_doc", g.handleDoc(opIndex))
	mux.HandleFunc("/", g.handleSetup)
	return mux
}

// NewForwardClient returns an Elasticsearch client for Config.Elasticsearch:
// one attempt per request, every status returned to the caller, and a
// timeout per request.
func NewForwardClient(cfg httpx.Config) (*httpx.Client, error) {
	cfg.System = "elasticsearch"
	cfg.MaxAttempts = 1
	cfg.Classifier = func(int, http.Header, []byte) httpx.Decision { return httpx.Accept }
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRequestTimeout
	}
	return httpx.New(cfg)
}

// esError is an error response in Elasticsearch's format.
type esError struct {
	status     int
	typ        string
	reason     string
	retryAfter time.Duration
}

func (e *esError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.typ, e.reason) }

// writeESError responds with Elasticsearch 8.x's error envelope
// (error__es_rejected_execution_429_bulk in the recordings).
func writeESError(w http.ResponseWriter, e *esError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Elastic-Product", "Elasticsearch")
	if e.retryAfter > 0 {
		h.Set("Retry-After", fmt.Sprint(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(e.status)
	var b bytes.Buffer
	b.WriteString(`{"error":{"root_cause":[{"type":`)
	writeJSONString(&b, e.typ)
	b.WriteString(`,"reason":`)
	writeJSONString(&b, e.reason)
	b.WriteString(`}],"type":`)
	writeJSONString(&b, e.typ)
	b.WriteString(`,"reason":`)
	writeJSONString(&b, e.reason)
	fmt.Fprintf(&b, `},"status":%d}`, e.status)
	_, _ = w.Write(b.Bytes())
}

func writeJSONString(b *bytes.Buffer, s string) {
	data, _ := gojson.Marshal(s)
	b.Write(data)
}

// queueFullError is the response when a secondary queue has no room: the
// documented backpressure. Clients such as Beats and Logstash retry a 429
// with backoff.
func queueFullError(dest string) *esError {
	return &esError{
		status: http.StatusTooManyRequests, typ: "es_rejected_execution_exception",
		reason:     "rejected execution: the migrate gateway's " + dest + " queue is full; retry later",
		retryAfter: time.Second,
	}
}

// requestBody is a request body read into memory within the byte budget.
type requestBody struct {
	// raw is the body as sent; plain is raw decompressed.
	raw, plain []byte
	held       int64
	budget     *byteBudget
}

func (b *requestBody) release() {
	if b != nil && b.held > 0 {
		b.budget.release(b.held)
		b.held = 0
	}
}

// readBody reads the request body, bounded by MaxBodyBytes before and
// after decompression and by the in-flight byte budget.
func (g *Gateway) readBody(r *http.Request, signal string) (*requestBody, *esError) {
	limit := g.cfg.MaxBodyBytes
	tooLarge := &esError{
		status: http.StatusRequestEntityTooLarge, typ: "content_too_long_exception",
		reason: fmt.Sprintf("the request body is larger than the migrate gateway's limit of %d bytes: send smaller batches", limit),
	}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	reserve := r.ContentLength
	if reserve < 0 {
		reserve = limit
	}
	if !g.budget.acquire(reserve) {
		g.metrics.rejected.WithLabelValues(signal, "inflight_bytes").Inc()
		return nil, &esError{
			status: http.StatusTooManyRequests, typ: "es_rejected_execution_exception",
			reason:     fmt.Sprintf("rejected execution: the migrate gateway has reached its limit of %d in-flight request bytes; retry later", g.cfg.MaxInflightBytes),
			retryAfter: time.Second,
		}
	}
	body := &requestBody{held: reserve, budget: g.budget}
	raw, err := readAll(r.Body, r.ContentLength, limit)
	if err != nil {
		body.release()
		return nil, &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: "reading the request body failed: " + err.Error()}
	}
	if int64(len(raw)) > limit {
		body.release()
		return nil, tooLarge
	}
	if d := reserve - int64(len(raw)); d > 0 {
		g.budget.release(d)
		body.held -= d
	}
	body.raw, body.plain = raw, raw

	var open func(io.Reader) (io.ReadCloser, error)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		open = func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }
	case "deflate":
		open = zlib.NewReader
	default:
		body.release()
		return nil, &esError{status: http.StatusBadRequest, typ: "illegal_argument_exception", reason: fmt.Sprintf("unsupported Content-Encoding %q: send gzip, deflate or none", enc)}
	}
	zr, err := open(bytes.NewReader(raw))
	if err != nil {
		body.release()
		return nil, &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: "decompressing the request body failed: " + err.Error()}
	}
	defer zr.Close()
	plain, err := readAll(zr, int64(len(raw))*4, limit)
	if err != nil {
		body.release()
		return nil, &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: "decompressing the request body failed: " + err.Error()}
	}
	if int64(len(plain)) > limit {
		body.release()
		return nil, tooLarge
	}
	if !g.budget.acquire(int64(len(plain))) {
		body.release()
		g.metrics.rejected.WithLabelValues(signal, "inflight_bytes").Inc()
		return nil, &esError{status: http.StatusTooManyRequests, typ: "es_rejected_execution_exception", reason: fmt.Sprintf("rejected execution: the migrate gateway has reached its limit of %d in-flight request bytes; retry later", g.cfg.MaxInflightBytes), retryAfter: time.Second}
	}
	body.held += int64(len(plain))
	body.plain = plain
	return body, nil
}

// readAll reads r up to limit+1 bytes into a buffer sized for hint bytes,
// which saves the copies of a growing buffer for a body of known length.
func readAll(r io.Reader, hint, limit int64) ([]byte, error) {
	if hint <= 0 || hint > limit {
		hint = min(limit, 64<<10)
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint+1))
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	return buf.Bytes(), err
}

// statusRecorder keeps the status for request metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// track wraps w for the request metrics of api; call the returned func
// when the request is answered.
func (g *Gateway) track(w http.ResponseWriter, api string) (*statusRecorder, func()) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	return rec, func() {
		g.metrics.duration.WithLabelValues(api).Observe(time.Since(start).Seconds())
		g.metrics.requests.WithLabelValues(api, strconv.Itoa(max(rec.status, http.StatusOK))).Inc()
	}
}

func (g *Gateway) handleBulk(w http.ResponseWriter, r *http.Request) {
	rec, done := g.track(w, "bulk")
	defer done()
	start := time.Now()
	mode := g.Mode()
	body, eerr := g.readBody(r, "logs")
	if eerr != nil {
		writeESError(rec, eerr)
		return
	}
	defer body.release()
	actions, perr := parseBulk(body.plain, r.PathValue("index"))
	if mode == ModeDual {
		g.bulkDual(rec, r, body, actions, perr)
		return
	}
	if perr != nil {
		writeESError(rec, &esError{status: http.StatusBadRequest, typ: "illegal_argument_exception", reason: perr.Error()})
		return
	}
	if g.cfg.Loki == nil {
		writeESError(rec, noLokiError(mode))
		return
	}
	items, eerr := g.ingestNew(r.Context(), mode, actions)
	if eerr != nil {
		writeESError(rec, eerr)
		return
	}
	writeBulkResponse(rec, items, time.Since(start))
}

// bulkDual forwards a _bulk request to Elasticsearch and queues a copy of
// each document that Elasticsearch accepted for Loki before answering.
func (g *Gateway) bulkDual(w http.ResponseWriter, r *http.Request, body *requestBody, actions []bulkAction, perr error) {
	ctx := r.Context()
	loki := g.dests[destLoki]
	var copies []int
	if loki != nil && perr == nil {
		size := int64(0)
		lastIndex, mapped := "", false
		for i, a := range actions {
			if !a.carriesDocument() {
				continue
			}
			if i == 0 || a.index != lastIndex {
				lastIndex, mapped = a.index, g.cfg.Loki.Maps(a.index)
			}
			if mapped {
				copies = append(copies, i)
				size += int64(documentRecordSize(recordOf(a, 20)))
			}
		}
		if len(copies) > 0 {
			res := loki.reserve(size, len(copies))
			if res == nil {
				g.metrics.rejected.WithLabelValues("logs", "queue_full").Inc()
				writeESError(w, queueFullError(destLoki))
				return
			}
			defer res.release()
		}
	}

	docs := 0
	for _, a := range actions {
		if a.carriesDocument() {
			docs++
		}
	}
	g.metrics.received.WithLabelValues(destElasticsearch).Add(float64(docs))
	resp, err := g.forward(ctx, r, body.raw, bulkQuery(r.URL.Query()))
	if err != nil {
		g.metrics.failed.WithLabelValues(destElasticsearch, failureReason(err)).Inc()
		writeESError(w, forwardError(err))
		return
	}
	if resp.Status/100 == 2 && loki != nil {
		var qerr *esError
		if perr != nil {
			qerr = g.deadLetterBody(destLoki, "unparsable_bulk", perr.Error(), body.plain)
		} else {
			items, err := bulkItems(resp.Body, actions)
			if err == nil && len(items) != len(actions) {
				err = fmt.Errorf("the response has %d items for %d actions", len(items), len(actions))
			}
			if err != nil {
				qerr = g.deadLetterBody(destLoki, "unmatched_bulk_response", err.Error(), body.plain)
			} else {
				qerr = g.queueAccepted(actions, copies, items)
			}
		}
		if qerr != nil {
			writeESError(w, qerr)
			return
		}
	}
	writeForwarded(w, r, resp)
}

// queueAccepted appends to the Loki queue a copy of each document in
// copies that Elasticsearch accepted. The copy keeps the _id Elasticsearch
// returned, else the request's _id, else an id generated here, so a copy
// that is delivered twice after a crash has the same es_id both times.
func (g *Gateway) queueAccepted(actions []bulkAction, copies []int, items []delivery.BulkItem) *esError {
	accepted, skippedActions := 0, map[string]int{}
	for i, a := range actions {
		if !items[i].OK() {
			continue
		}
		if a.carriesDocument() {
			accepted++
		} else {
			skippedActions["action_"+a.op]++
		}
	}
	g.metrics.sent.WithLabelValues(destElasticsearch).Add(float64(accepted))
	for reason, n := range skippedActions {
		g.metrics.skipped.WithLabelValues(destLoki, reason).Add(float64(n))
	}
	docs := make([]delivery.Document, 0, len(copies))
	size := 0
	for _, i := range copies {
		it := items[i]
		if !it.OK() {
			continue
		}
		d := recordOf(actions[i], 0)
		if it.ID != "" {
			d.ID = it.ID
		}
		if d.ID == "" {
			d.ID = newDocumentID()
		}
		docs = append(docs, d)
		size += documentRecordSize(d)
	}
	if unmapped := accepted - len(docs); unmapped > 0 {
		g.metrics.skipped.WithLabelValues(destLoki, "no_mapping").Add(float64(unmapped))
	}
	if len(docs) == 0 {
		return nil
	}
	// One buffer holds every record of the request; the queue copies
	// them before Append returns, so the buffer is reused.
	bp := recordBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuffer {
			recordBuffers.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
		*bp = buf
	}
	records := make([][]byte, len(docs))
	now := time.Now()
	for k, d := range docs {
		start := len(buf)
		buf = appendDocument(buf, d, now)
		records[k] = buf[start:len(buf):len(buf)]
	}
	return g.appendRecords(destLoki, "logs", records)
}

// recordBuffers holds the buffers queueAccepted encodes records into.
var recordBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer bounds the buffers kept for reuse.
const maxPooledBuffer = 16 << 20

// recordOf returns the document of a bulk action; idLen is the length
// assumed for an id that is not known yet, for size estimates.
func recordOf(a bulkAction, idLen int) delivery.Document {
	d := delivery.Document{Op: a.op, Index: a.index, ID: a.id, Source: a.source}
	if d.ID == "" && idLen > 0 {
		d.ID = strings.Repeat("x", idLen)
	}
	return d
}

// bulkItems reads Elasticsearch's _bulk response to actions.
func bulkItems(body []byte, actions []bulkAction) ([]delivery.BulkItem, error) {
	if items, ok := fastBulkItems(body, actions); ok {
		return items, nil
	}
	return delivery.ParseBulkResponse(body)
}

// fastBulkItems reads the response to a request without update actions
// whose "errors" is false, as Elasticsearch 8.x writes it ({"took":N,
// "errors":false,"items":[...]}): every action succeeded, and the items
// hold one "_id" each, in order, and nothing else named _id, because only
// update items can carry a document. It returns false for any other
// response, which ParseBulkResponse then reads.
func fastBulkItems(body []byte, actions []bulkAction) ([]delivery.BulkItem, bool) {
	if !bytes.Contains(body[:min(len(body), 64)], []byte(`"errors":false`)) {
		return nil, false
	}
	for _, a := range actions {
		if a.op == opUpdate {
			return nil, false
		}
	}
	key := []byte(`"_id":"`)
	items := make([]delivery.BulkItem, len(actions))
	rest := body
	for i := range actions {
		k := bytes.Index(rest, key)
		if k < 0 {
			return nil, false
		}
		rest = rest[k+len(key):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
			return nil, false
		}
		status := http.StatusCreated
		if actions[i].op == opDelete {
			status = http.StatusOK
		}
		items[i] = delivery.BulkItem{Op: actions[i].op, ID: string(rest[:end]), Status: status}
		rest = rest[end:]
	}
	if bytes.Contains(rest, key) {
		return nil, false
	}
	return items, true
}

// appendRecords appends to a destination's queue and turns a failure
// into the answer for the client. The primary has already stored the
// data, so the client's retry can duplicate it there; see the package
// documentation.
func (g *Gateway) appendRecords(dest, signal string, records [][]byte) *esError {
	d := g.dests[dest]
	if err := d.queue.Append(records...); err != nil {
		g.log.Error("queueing copies failed after the primary accepted them; the client is asked to retry", "destination", dest, "records", len(records), "err", err)
		if errors.Is(err, errQueueFull) {
			g.metrics.rejected.WithLabelValues(signal, "queue_full").Inc()
			return queueFullError(dest)
		}
		return &esError{status: http.StatusInternalServerError, typ: "exception", reason: "the migrate gateway could not queue the " + dest + " copy: " + err.Error()}
	}
	g.metrics.received.WithLabelValues(dest).Add(float64(len(records)))
	return nil
}

// deadLetterBody stores a whole request body that Elasticsearch accepted
// but whose documents cannot be matched to its answer, so the Loki copy is
// not lost silently.
func (g *Gateway) deadLetterBody(dest, reason, detail string, body []byte) *esError {
	g.log.Error("a request the primary accepted cannot be copied; it goes to the dead-letter file", "destination", dest, "reason", reason, "detail", detail, "bytes", len(body))
	if err := g.deadLetters[dest].Put(dest, reason, detail, body); err != nil {
		return &esError{status: http.StatusInternalServerError, typ: "exception", reason: "the migrate gateway could not store the " + dest + " copy: " + err.Error()}
	}
	g.metrics.deadLettered.WithLabelValues(dest, reason).Inc()
	return nil
}

// bulkQuery returns the query to forward for a _bulk request. A
// filter_path that Beats and Logstash send (errors,items.*.error,
// items.*.status) drops the items' _id, which the copies need: the gateway
// adds items.*._id and items.*.status, so the client gets those fields
// too.
func bulkQuery(q url.Values) url.Values {
	fp := q.Get("filter_path")
	if fp == "" {
		return q
	}
	parts := strings.Split(fp, ",")
	for _, want := range []string{"items.*._id", "items.*.status"} {
		found := false
		for _, p := range parts {
			if p == want || p == "items" || p == "items.*" {
				found = true
			}
		}
		if !found {
			parts = append(parts, want)
		}
	}
	q = cloneValues(q)
	q.Set("filter_path", strings.Join(parts, ","))
	return q
}

func cloneValues(q url.Values) url.Values {
	c := make(url.Values, len(q))
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// forwardHeaders are the request headers passed to Elasticsearch. The
// client's Authorization is not among them: the gateway authenticates with
// the plan's credentials.
var forwardHeaders = []string{"Content-Type", "Content-Encoding", "Accept", "X-Opaque-Id", "Traceparent"}

// returnHeaders are the response headers passed back to the client.
var returnHeaders = []string{"Content-Type", "X-Elastic-Product", "Warning", "X-Opaque-Id", "Retry-After"}

// forward sends the request to Elasticsearch with the plan's credentials.
func (g *Gateway) forward(ctx context.Context, r *http.Request, body []byte, query url.Values) (*httpx.Response, error) {
	if g.cfg.Elasticsearch == nil {
		return nil, errors.New("no Elasticsearch primary: add sources.elasticsearch to the plan")
	}
	h := http.Header{}
	for _, k := range forwardHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	return g.cfg.Elasticsearch.Do(ctx, httpx.Request{Method: r.Method, Path: r.URL.Path, Query: query, Header: h, Body: body})
}

// noLokiError is the response in a mode whose primary is Loki when the
// plan has no Loki.
func noLokiError(mode Mode) *esError {
	return &esError{status: http.StatusServiceUnavailable, typ: "unavailable_shards_exception", reason: fmt.Sprintf("the migrate gateway is in %s mode, whose primary is Loki, but the plan has no targets.loki", mode)}
}

// forwardError is the response when Elasticsearch could not be reached.
// 503 makes Beats and Logstash retry.
func forwardError(err error) *esError {
	return &esError{status: http.StatusServiceUnavailable, typ: "unavailable_shards_exception", reason: "the migrate gateway could not reach Elasticsearch: " + err.Error(), retryAfter: time.Second}
}

func writeForwarded(w http.ResponseWriter, r *http.Request, resp *httpx.Response) {
	for _, k := range returnHeaders {
		if v := resp.Header.Values(k); len(v) > 0 {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
}

// handleDoc serves the single-document APIs: POST /{index}/_doc,
// PUT|POST /{index}/_doc/{id} and PUT|POST /{index}/_create/{id}.
func (g *Gateway) handleDoc(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec, done := g.track(w, "doc")
		defer done()
		mode := g.Mode()
		a := bulkAction{op: op, index: r.PathValue("index"), id: r.PathValue("id"), line: 1}
		if a.op == opIndex && r.URL.Query().Get("op_type") == opCreate {
			a.op = opCreate
		}
		body, eerr := g.readBody(r, "logs")
		if eerr != nil {
			writeESError(rec, eerr)
			return
		}
		defer body.release()
		a.source = bytes.TrimSpace(body.plain)
		if mode == ModeDual {
			g.docDual(rec, r, body, a)
			return
		}
		if g.cfg.Loki == nil {
			writeESError(rec, noLokiError(mode))
			return
		}
		items, eerr := g.ingestNew(r.Context(), mode, []bulkAction{a})
		if eerr != nil {
			writeESError(rec, eerr)
			return
		}
		it := items[0]
		if it.status/100 != 2 {
			writeESError(rec, &esError{status: it.status, typ: it.errType, reason: it.errReason})
			return
		}
		writeDocResponse(rec, it)
	}
}

func (g *Gateway) docDual(w http.ResponseWriter, r *http.Request, body *requestBody, a bulkAction) {
	loki := g.dests[destLoki]
	copied := loki != nil && g.cfg.Loki.Maps(a.index)
	if copied {
		res := loki.reserve(int64(documentRecordSize(recordOf(a, 20))), 1)
		if res == nil {
			g.metrics.rejected.WithLabelValues("logs", "queue_full").Inc()
			writeESError(w, queueFullError(destLoki))
			return
		}
		defer res.release()
	}
	resp, err := g.forward(r.Context(), r, body.raw, r.URL.Query())
	if err != nil {
		g.metrics.failed.WithLabelValues(destElasticsearch, failureReason(err)).Inc()
		writeESError(w, forwardError(err))
		return
	}
	if resp.Status/100 == 2 && loki != nil {
		var doc struct {
			ID string `json:"_id"`
		}
		_ = gojson.Unmarshal(resp.Body, &doc)
		var copies []int
		if copied {
			copies = []int{0}
		}
		if qerr := g.queueAccepted([]bulkAction{a}, copies, []delivery.BulkItem{{Op: a.op, Status: resp.Status, ID: doc.ID}}); qerr != nil {
			writeESError(w, qerr)
			return
		}
	}
	writeForwarded(w, r, resp)
}
