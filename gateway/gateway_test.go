package gateway

import (
	"bytes"
	gzipc "compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/internal/recording"
)

// fakeTraces is a TraceExporter that records spans; fail makes it return
// a retryable error, and reject a partial success.
type fakeTraces struct {
	mu     sync.Mutex
	spans  int
	fail   bool
	reject int64
}

func (f *fakeTraces) Export(_ context.Context, td ptrace.Traces) (delivery.ExportResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return delivery.ExportResult{}, &delivery.OTLPError{Destination: "fake", Code: codes.Unavailable, Message: "down", RetryAfter: 2 * time.Second}
	}
	f.spans += td.SpanCount()
	return delivery.ExportResult{RejectedSpans: f.reject, Message: "some rejected"}, nil
}

func (f *fakeTraces) Write(ctx context.Context, td ptrace.Traces) (delivery.Result, error) {
	if _, err := f.Export(ctx, td); err != nil {
		return delivery.Result{}, err
	}
	return delivery.Result{Written: td.SpanCount()}, nil
}

func (f *fakeTraces) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spans
}

// fakeDocs is a DocumentWriter for the Elasticsearch copy.
type fakeDocs struct {
	mu   sync.Mutex
	docs []delivery.Document
}

func (f *fakeDocs) Write(_ context.Context, docs []delivery.Document) (delivery.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range docs {
		f.docs = append(f.docs, delivery.Document{Op: d.Op, Index: d.Index, ID: d.ID, Source: append([]byte(nil), d.Source...)})
	}
	return delivery.Result{Written: len(docs)}, nil
}

func (f *fakeDocs) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, d := range f.docs {
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	return ids
}

// testGateway is a gateway on fakes, all in this process.
type testGateway struct {
	g       *Gateway
	mode    *fixedMode
	primary *fakePrimary
	loki    *fakeLogWriter
	jaeger  *fakeTraces
	tempo   *fakeTraces
	esCopy  *fakeDocs
	queues  map[string]*memQueue
	url     string
}

func newTestGateway(t *testing.T, mode Mode, tune func(*Config)) *testGateway {
	t.Helper()
	tg := &testGateway{
		mode: newFixedMode(mode), primary: &fakePrimary{}, loki: &fakeLogWriter{},
		jaeger: &fakeTraces{}, tempo: &fakeTraces{}, esCopy: &fakeDocs{}, queues: map[string]*memQueue{},
	}
	es := httptest.NewServer(tg.primary)
	t.Cleanup(es.Close)
	fwd, err := NewForwardClient(httpx.Config{BaseURL: es.URL, Auth: httpx.Auth{Username: "migrate", Password: "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	cfg := Config{
		Listen: "127.0.0.1:0", OTLPGRPC: "127.0.0.1:0", OTLPHTTP: "127.0.0.1:0",
		QueueDir: t.TempDir(), Mode: tg.mode, ModeInterval: 20 * time.Millisecond,
		Elasticsearch: fwd, ElasticsearchCopy: tg.esCopy, Jaeger: tg.jaeger, Loki: tg.loki, Tempo: tg.tempo,
		DrainTimeout: 500 * time.Millisecond, Logger: testLogger(t),
		openQueue: func(dir string, maxBytes int64, _ bool) (recordQueue, error) {
			q := newMemQueue(maxBytes)
			mu.Lock()
			tg.queues[filepath.Base(dir)] = q
			mu.Unlock()
			return q, nil
		},
		retryDelay: func(int, error) time.Duration { return 10 * time.Millisecond },
	}
	if tune != nil {
		tune(&cfg)
	}
	g, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	tg.g = g
	tg.url = "http://" + g.Addr()
	return tg
}

func do(t *testing.T, method, url, contentType string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func TestBulkDualQueuesAcceptedDocuments(t *testing.T) {
	tg := newTestGateway(t, ModeDual, nil)
	body := []byte(`{"index":{"_index":"app-a","_id":"x1"}}
{"m":1}
{"create":{"_index":"app-a"}}
{"m":2}
{"update":{"_index":"app-a","_id":"x1"}}
{"doc":{"m":3}}
{"delete":{"_index":"app-a","_id":"x9"}}
{"index":{"_index":"unmapped","_id":"u1"}}
{"m":4}
`)
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", body, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	if !strings.Contains(string(data), `"_seq_no"`) || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("the answer %s (product %q) is not the primary's", data, resp.Header.Get("X-Elastic-Product"))
	}
	if got := tg.primary.docs.Load(); got != 5 {
		t.Errorf("primary got %d actions, want 5", got)
	}
	waitFor(t, 5*time.Second, "the Loki copies", func() bool { return tg.loki.count() == 2 })
	tg.loki.mu.Lock()
	ids := []string{tg.loki.docs[0].ID, tg.loki.docs[1].ID}
	src := string(tg.loki.docs[0].Source)
	tg.loki.mu.Unlock()
	if ids[0] != "x1" || ids[1] != "auto-1" {
		t.Errorf("copied ids = %v, want x1 and the primary's generated auto-1", ids)
	}
	if src != `{"m":1}` {
		t.Errorf("copied source = %s", src)
	}
	tg.primary.mu.Lock()
	auth := tg.primary.auth[0]
	tg.primary.mu.Unlock()
	if !strings.HasPrefix(auth, "Basic ") {
		t.Errorf("primary got Authorization %q, want the plan's basic credentials", auth)
	}
}

func TestBulkQueryAddsIDsToFilterPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"errors,items.*.error,items.*.status", "errors,items.*.error,items.*.status,items.*._id"},
		{"items.*._id,items.*.status", "items.*._id,items.*.status"},
		{"took", "took,items.*._id,items.*.status"},
		{"items", "items"},
	}
	for _, tt := range tests {
		q := url.Values{}
		if tt.in != "" {
			q.Set("filter_path", tt.in)
		}
		q.Set("pipeline", "p")
		got := bulkQuery(q)
		if got.Get("filter_path") != tt.want || got.Get("pipeline") != "p" {
			t.Errorf("bulkQuery(%q) = %v, want filter_path %q and the other parameters kept", tt.in, got, tt.want)
		}
		if q.Get("filter_path") != tt.in {
			t.Errorf("bulkQuery changed its input to %v", q)
		}
	}
}

func TestQueueFullAnswers429WithoutForwarding(t *testing.T) {
	tg := newTestGateway(t, ModeDual, func(c *Config) { c.QueueMaxBytes = 4096 })
	tg.loki.fail.Store(true)
	var accepted, rejected int
	var rejectBody []byte
	var rejectResp *http.Response
	for i := range 20 {
		resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", bulkOf(i*5, 5), nil)
		switch resp.StatusCode {
		case http.StatusOK:
			accepted++
		case http.StatusTooManyRequests:
			rejected++
			rejectBody, rejectResp = data, resp
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, data)
		}
	}
	if accepted == 0 || rejected == 0 {
		t.Fatalf("accepted %d, rejected %d; want both with a 4 KiB queue", accepted, rejected)
	}
	if got := tg.primary.docs.Load(); got != int64(accepted*5) {
		t.Errorf("the primary got %d documents, want %d: a rejected request must not reach it", got, accepted*5)
	}
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
		Status int `json:"status"`
	}
	if err := json.Unmarshal(rejectBody, &e); err != nil || e.Error.Type != "es_rejected_execution_exception" || e.Status != 429 {
		t.Errorf("429 body = %s, want Elasticsearch's es_rejected_execution_exception shape", rejectBody)
	}
	if rejectResp.Header.Get("Retry-After") == "" {
		t.Error("429 has no Retry-After")
	}

	// When Loki is back the queue drains and requests pass again.
	tg.loki.fail.Store(false)
	waitFor(t, 5*time.Second, "the queue to drain", func() bool { return tg.queues[destLoki].Stats().Records == 0 })
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", bulkOf(1000, 5), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the drain: status %d: %s", resp.StatusCode, data)
	}
}

func TestAppendFailureAfterForwardAsksForRetry(t *testing.T) {
	tg := newTestGateway(t, ModeDual, nil)
	tg.queues[destLoki].mu.Lock()
	tg.queues[destLoki].full = true
	tg.queues[destLoki].mu.Unlock()
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", bulkOf(0, 3), nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d: %s; want 429 so the client sends again", resp.StatusCode, data)
	}
	if got := tg.primary.docs.Load(); got != 3 {
		t.Errorf("primary got %d documents, want 3: this is the documented case where the retry reaches it twice", got)
	}
}

func TestNewPrimarySynthesizesBulkAnswer(t *testing.T) {
	tg := newTestGateway(t, ModeNewPrimary, nil)
	body := []byte(`{"index":{"_index":"app-a","_id":"k1"}}
{"m":1}
{"create":{"_index":"app-a"}}
{"m":2}
{"update":{"_index":"app-a","_id":"k1"}}
{"doc":{"m":3}}
{"index":{"_index":"unmapped"}}
{"m":4}
{"index":{"_index":"app-a","_id":"k5"}}
{"m":"bad"}
`)
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", body, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	if tg.primary.reqs.Load() != 0 {
		t.Errorf("Elasticsearch got %d requests in new_primary mode, want none synchronously", tg.primary.reqs.Load())
	}
	if resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Error("no X-Elastic-Product header")
	}
	var ans bulkAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatal(err)
	}
	if !ans.Errors || len(ans.Items) != 5 {
		t.Fatalf("answer %s: want errors true and 5 items", data)
	}
	want := []struct {
		op     string
		status int
		errTyp string
	}{
		{"index", 201, ""},
		{"create", 201, ""},
		{"update", 400, "illegal_argument_exception"},
		{"index", 400, "illegal_argument_exception"},
		{"index", 400, "document_parsing_exception"},
	}
	for i, w := range want {
		it, ok := ans.Items[i][w.op]
		if !ok {
			t.Errorf("item %d = %v, want key %s", i, ans.Items[i], w.op)
			continue
		}
		if it.Status != w.status || (w.errTyp == "") != (it.Error == nil) || (it.Error != nil && it.Error.Type != w.errTyp) {
			t.Errorf("item %d = %+v, want status %d error %q", i, it, w.status, w.errTyp)
		}
	}
	if ans.Items[0]["index"].ID != "k1" || len(ans.Items[1]["create"].ID) != 20 {
		t.Errorf("ids = %q, %q; want k1 and a generated 20-character id", ans.Items[0]["index"].ID, ans.Items[1]["create"].ID)
	}

	// The answer has the keys of a real item (bulk__all_ok).
	var real, ours map[string]any
	ex := recording.MustLoad(t, "elasticsearch-8", "bulk__all_ok")
	_ = json.Unmarshal(ex.Response.Body, &real)
	_ = json.Unmarshal(data, &ours)
	realItem := real["items"].([]any)[0].(map[string]any)["index"].(map[string]any)
	ourItem := ours["items"].([]any)[0].(map[string]any)["index"].(map[string]any)
	for k := range realItem {
		if _, ok := ourItem[k]; !ok {
			t.Errorf("synthesized item lacks %q, which Elasticsearch 8 sends", k)
		}
	}
	for _, k := range []string{"took", "errors", "items"} {
		if _, ok := ours[k]; !ok {
			t.Errorf("synthesized answer lacks %q", k)
		}
	}

	// The Elasticsearch copy gets the two stored documents with the ids
	// the client was given.
	waitFor(t, 5*time.Second, "the Elasticsearch copies", func() bool { return len(tg.esCopy.ids()) == 2 })
	wantIDs := []string{"k1", ans.Items[1]["create"].ID}
	sort.Strings(wantIDs)
	if got := tg.esCopy.ids(); fmt.Sprint(got) != fmt.Sprint(wantIDs) {
		t.Errorf("Elasticsearch copies = %v, want %v", got, wantIDs)
	}
}

func TestNewPrimaryLokiDownAnswers503(t *testing.T) {
	tg := newTestGateway(t, ModeNewPrimary, nil)
	tg.loki.fail.Store(true)
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", bulkOf(0, 3), nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(data), `"status":503`) {
		t.Errorf("status %d %s, want an Elasticsearch-shaped 503", resp.StatusCode, data)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(tg.esCopy.ids()); n != 0 || tg.queues[destElasticsearch].Stats().Records != 0 {
		t.Errorf("Elasticsearch copies = %d, want none for a request Loki did not take", n)
	}
}

func TestNewOnlyQueuesNothing(t *testing.T) {
	tg := newTestGateway(t, ModeNewOnly, nil)
	resp, data := do(t, http.MethodPost, tg.url+"/app-x/_bulk", "application/x-ndjson", []byte("{\"create\":{}}\n{\"m\":1}\n"), nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(data), `"errors":true`) {
		t.Fatalf("status %d %s", resp.StatusCode, data)
	}
	if tg.loki.count() != 1 {
		t.Errorf("Loki got %d documents, want 1", tg.loki.count())
	}
	if tg.queues[destElasticsearch].Stats().Records != 0 || len(tg.esCopy.ids()) != 0 {
		t.Error("new_only mode queued an Elasticsearch copy")
	}
}

func TestSingleDocumentAPIs(t *testing.T) {
	t.Run("dual", func(t *testing.T) {
		tg := newTestGateway(t, ModeDual, nil)
		resp, data := do(t, http.MethodPut, tg.url+"/app-a/_doc/one", "application/json", []byte(`{"m":1}`), nil)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("PUT _doc: %d %s", resp.StatusCode, data)
		}
		waitFor(t, 5*time.Second, "the Loki copy", func() bool { return tg.loki.count() == 1 })
		tg.loki.mu.Lock()
		d := tg.loki.docs[0]
		tg.loki.mu.Unlock()
		if d.ID != "one" || d.Index != "app-a" || d.Op != opIndex {
			t.Errorf("copy = %+v, want index app-a/one", d)
		}
	})
	t.Run("new_primary", func(t *testing.T) {
		tg := newTestGateway(t, ModeNewPrimary, nil)
		tests := []struct {
			method, path string
			wantID       string
		}{
			{http.MethodPut, "/app-a/_create/c1", "c1"},
			{http.MethodPost, "/app-a/_doc", ""},
			{http.MethodPost, "/app-a/_doc/d2?op_type=create", "d2"},
		}
		for _, tt := range tests {
			resp, data := do(t, tt.method, tg.url+tt.path, "application/json", []byte(`{"m":1}`), nil)
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, data)
				continue
			}
			var ans struct {
				Index  string `json:"_index"`
				ID     string `json:"_id"`
				Result string `json:"result"`
			}
			_ = json.Unmarshal(data, &ans)
			if ans.Index != "app-a" || ans.Result != "created" || (tt.wantID != "" && ans.ID != tt.wantID) || ans.ID == "" {
				t.Errorf("%s %s: answer %s", tt.method, tt.path, data)
			}
		}
		resp, data := do(t, http.MethodPut, tg.url+"/unmapped/_doc/z", "application/json", []byte(`{"m":1}`), nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "no logs mapping") {
			t.Errorf("unmapped index: %d %s, want 400 naming the missing mapping", resp.StatusCode, data)
		}
	})
}

func TestSetupCallsByMode(t *testing.T) {
	tg := newTestGateway(t, ModeDual, nil)
	calls := []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodHead, "/"},
		{http.MethodGet, "/_license"},
		{http.MethodGet, "/_xpack"},
		{http.MethodPut, "/_index_template/filebeat-8.17.0"},
		{http.MethodGet, "/_ilm/policy/filebeat"},
		{http.MethodPut, "/_ingest/pipeline/filebeat-8.17.0-system-syslog-pipeline"},
		{http.MethodGet, "/_nodes/_local"},
		{http.MethodGet, "/_cluster/health"},
	}
	client := http.Header{"Authorization": {"Basic Y2xpZW50OnB3"}}
	for _, c := range calls {
		resp, data := do(t, c.method, tg.url+c.path, "application/json", []byte(`{"x":1}`), client)
		if resp.StatusCode != http.StatusOK || (c.method != http.MethodHead && string(data) != `{"acknowledged":true}`) {
			t.Errorf("dual %s %s: %d %s, want the primary's answer", c.method, c.path, resp.StatusCode, data)
		}
	}
	if got := tg.primary.reqs.Load(); got != int64(len(calls)) {
		t.Errorf("primary got %d requests, want %d forwarded", got, len(calls))
	}
	tg.primary.mu.Lock()
	for _, a := range tg.primary.auth {
		if a == client.Get("Authorization") {
			t.Error("the client's Authorization reached Elasticsearch; want the plan's")
		}
	}
	tg.primary.mu.Unlock()

	for _, bad := range []struct{ method, path string }{
		{http.MethodDelete, "/app-a"}, {http.MethodGet, "/app-a/_search"}, {http.MethodPost, "/_search"}, {http.MethodDelete, "/_index_template/x"},
	} {
		resp, data := do(t, bad.method, tg.url+bad.path, "", nil, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "does not serve") {
			t.Errorf("%s %s: %d %s, want 400", bad.method, bad.path, resp.StatusCode, data)
		}
	}

	tg.mode.set(ModeNewPrimary)
	waitFor(t, 2*time.Second, "new_primary", func() bool { return tg.g.Mode() == ModeNewPrimary })
	before := tg.primary.reqs.Load()
	want := map[string]string{
		"GET /":                           `"number":"8.19.0"`,
		"GET /_license":                   `"status":"active"`,
		"GET /_xpack":                     `"ilm"`,
		"PUT /_index_template/filebeat-8": `{"acknowledged":true}`,
		"GET /_index_template/filebeat-8": `{}`,
		"GET /_ingest/pipeline/p":         `{}`,
		"GET /_ilm/policy/filebeat":       `{}`,
		"GET /_nodes/_local":              `"_nodes"`,
		"GET /_cluster/health":            `"status":"green"`,
	}
	for call, wantIn := range want {
		method, path, _ := strings.Cut(call, " ")
		resp, data := do(t, method, tg.url+path, "application/json", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), wantIn) || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("new_primary %s: %d %s (product %q), want %s", call, resp.StatusCode, data, resp.Header.Get("X-Elastic-Product"), wantIn)
		}
	}
	resp, _ := do(t, http.MethodHead, tg.url+"/", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("new_primary HEAD /: %d", resp.StatusCode)
	}
	if tg.primary.reqs.Load() != before {
		t.Error("new_primary mode forwarded a set-up call to Elasticsearch")
	}
}

func TestBodyLimitsAndCompression(t *testing.T) {
	tg := newTestGateway(t, ModeDual, func(c *Config) { c.MaxBodyBytes = 4096 })
	big := bulkOf(0, 100)
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), `"status":413`) {
		t.Errorf("large body: %d %s, want an Elasticsearch-shaped 413", resp.StatusCode, data)
	}

	var zipped bytes.Buffer
	zw := gzipc.NewWriter(&zipped)
	_, _ = zw.Write(big)
	_ = zw.Close()
	if zipped.Len() > 4096 {
		t.Fatalf("test body compresses to %d bytes, want under the limit", zipped.Len())
	}
	resp, data = do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", zipped.Bytes(), http.Header{"Content-Encoding": {"gzip"}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip body over the limit once decompressed: %d %s, want 413", resp.StatusCode, data)
	}

	small := bulkOf(0, 5)
	zipped.Reset()
	zw = gzipc.NewWriter(&zipped)
	_, _ = zw.Write(small)
	_ = zw.Close()
	resp, data = do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", zipped.Bytes(), http.Header{"Content-Encoding": {"gzip"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gzip body: %d %s", resp.StatusCode, data)
	}
	tg.primary.mu.Lock()
	ce := tg.primary.headers[len(tg.primary.headers)-1].Get("Content-Encoding")
	tg.primary.mu.Unlock()
	if ce != "gzip" {
		t.Errorf("primary got Content-Encoding %q, want the client's gzip body as sent", ce)
	}
	waitFor(t, 5*time.Second, "the Loki copies of the gzip body", func() bool { return tg.loki.count() == 5 })

	resp, data = do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", small, http.Header{"Content-Encoding": {"br"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("Content-Encoding br: %d %s, want 400", resp.StatusCode, data)
	}
}

func TestInflightBudget(t *testing.T) {
	b := &byteBudget{max: 100}
	if !b.acquire(60) || b.acquire(60) {
		t.Fatal("budget of 100 took 60 twice")
	}
	b.release(60)
	if !b.acquire(150) {
		t.Error("an idle budget rejected a request larger than itself; it must take one at a time")
	}
}

func TestOTLPDualAndNewPrimary(t *testing.T) {
	tg := newTestGateway(t, ModeDual, nil)
	conn, err := grpc.NewClient(tg.g.OTLPGRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := context.Background()

	// gzip, as OpenTelemetry Collector exporters send by default.
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(1, 2, 5)), grpc.UseCompressor(gzip.Name)); err != nil {
		t.Fatal(err)
	}
	if tg.jaeger.count() != 10 {
		t.Errorf("jaeger (primary) got %d spans, want 10", tg.jaeger.count())
	}
	waitFor(t, 5*time.Second, "tempo's copy", func() bool { return tg.tempo.count() == 10 })

	// OTLP/HTTP, protobuf and JSON.
	pb, _ := ptraceotlp.NewExportRequestFromTraces(testTraces(2, 1, 4)).MarshalProto()
	resp, data := do(t, http.MethodPost, "http://"+tg.g.OTLPHTTPAddr()+"/v1/traces", "application/x-protobuf", pb, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("protobuf push: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := ptraceotlp.NewExportResponse().UnmarshalProto(data); err != nil {
		t.Errorf("protobuf push: the answer is not an ExportTraceServiceResponse: %v", err)
	}
	js, _ := ptraceotlp.NewExportRequestFromTraces(testTraces(3, 1, 4)).MarshalJSON()
	resp, data = do(t, http.MethodPost, "http://"+tg.g.OTLPHTTPAddr()+"/v1/traces", "application/json", js, nil)
	if resp.StatusCode != http.StatusOK || !json.Valid(data) {
		t.Errorf("JSON push: %d %s", resp.StatusCode, data)
	}
	waitFor(t, 5*time.Second, "tempo's copies of the HTTP pushes", func() bool { return tg.tempo.count() == 18 })

	// A partial success of the primary is passed to the client.
	tg.jaeger.mu.Lock()
	tg.jaeger.reject = 1
	tg.jaeger.mu.Unlock()
	r, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(4, 1, 2)))
	if err != nil || r.PartialSuccess().RejectedSpans() != 1 {
		t.Errorf("partial success = %v, %v; want 1 rejected span passed on", r.PartialSuccess().RejectedSpans(), err)
	}
	tg.jaeger.mu.Lock()
	tg.jaeger.reject, tg.jaeger.fail = 0, true
	tg.jaeger.mu.Unlock()
	_, err = client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(5, 1, 2)))
	if st := status.Convert(err); st.Code() != codes.Unavailable {
		t.Errorf("primary down: %v, want Unavailable so the client retries", err)
	}
	tg.jaeger.mu.Lock()
	tg.jaeger.fail = false
	tg.jaeger.mu.Unlock()

	// Bad requests.
	resp, data = do(t, http.MethodPost, "http://"+tg.g.OTLPHTTPAddr()+"/v1/traces", "text/plain", []byte("x"), nil)
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain push: %d %s, want 415", resp.StatusCode, data)
	}
	resp, data = do(t, http.MethodPost, "http://"+tg.g.OTLPHTTPAddr()+"/v1/traces", "application/json", []byte("{bad"), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), `"code":3`) {
		t.Errorf("bad JSON push: %d %s, want 400 with a google.rpc.Status", resp.StatusCode, data)
	}

	// new_primary: Tempo first, Jaeger gets the copy.
	tg.mode.set(ModeNewPrimary)
	waitFor(t, 2*time.Second, "new_primary", func() bool { return tg.g.Mode() == ModeNewPrimary })
	jBefore, tBefore := tg.jaeger.count(), tg.tempo.count()
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(testTraces(6, 1, 3))); err != nil {
		t.Fatal(err)
	}
	if tg.tempo.count() != tBefore+3 {
		t.Errorf("tempo (primary) got %d new spans, want 3 before the answer", tg.tempo.count()-tBefore)
	}
	waitFor(t, 5*time.Second, "jaeger's copy", func() bool { return tg.jaeger.count() == jBefore+3 })
}

func TestOTLPQueueFull(t *testing.T) {
	tg := newTestGateway(t, ModeDual, func(c *Config) { c.QueueMaxBytes = 64 })
	conn, err := grpc.NewClient(tg.g.OTLPGRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(testTraces(9, 1, 3)))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || len(st.Details()) == 0 {
		t.Errorf("full queue: %v, want ResourceExhausted with a RetryInfo", err)
	}
	if tg.jaeger.count() != 0 {
		t.Errorf("jaeger got %d spans of a rejected push, want none", tg.jaeger.count())
	}
}

func TestDrainRetriesUntilDelivered(t *testing.T) {
	var delays []time.Duration
	var mu sync.Mutex
	tg := newTestGateway(t, ModeDual, func(c *Config) {
		c.retryDelay = func(attempt int, err error) time.Duration {
			mu.Lock()
			delays = append(delays, retryDelay(attempt, err))
			mu.Unlock()
			return 5 * time.Millisecond
		}
	})
	tg.loki.fail.Store(true)
	resp, data := do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", bulkOf(0, 4), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	waitFor(t, 5*time.Second, "failed attempts", func() bool { return tg.loki.calls.Load() >= 3 })
	tg.loki.fail.Store(false)
	waitFor(t, 5*time.Second, "delivery", func() bool { return tg.loki.count() == 4 })
	mu.Lock()
	defer mu.Unlock()
	if len(delays) < 2 {
		t.Fatalf("%d retries, want at least 2", len(delays))
	}
	for _, d := range delays {
		if d <= 0 || d > drainMaxBackoff {
			t.Errorf("delay %s outside (0, %s]", d, drainMaxBackoff)
		}
	}
}

func TestRetryDelayHonoursRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		min  time.Duration
	}{
		{"otlp", &delivery.OTLPError{RetryAfter: 7 * time.Second}, 7 * time.Second},
		{"http", fmt.Errorf("wrapped: %w", &httpx.StatusError{Status: 429, RetryAfter: 9 * time.Second}), 9 * time.Second},
		{"capped", &delivery.OTLPError{RetryAfter: time.Hour}, drainMaxRetryAfter},
		{"none", errors.New("loki: 429"), 0},
	}
	for _, tt := range tests {
		for attempt := 1; attempt <= 3; attempt++ {
			d := retryDelay(attempt, tt.err)
			if d < tt.min || d > max(tt.min, drainMaxBackoff) {
				t.Errorf("%s attempt %d: delay %s, want in [%s, %s]", tt.name, attempt, d, tt.min, max(tt.min, drainMaxBackoff))
			}
		}
	}
	if d := retryDelay(30, nil); d > drainMaxBackoff || d < drainMaxBackoff/2 {
		t.Errorf("attempt 30: delay %s, want between half and all of %s", d, drainMaxBackoff)
	}
}

func TestReadyzAndHealthz(t *testing.T) {
	var esDown bool
	var mu sync.Mutex
	tg := newTestGateway(t, ModeDual, func(c *Config) {
		c.Probes = map[string]Probe{
			destElasticsearch: func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if esDown {
					return errors.New("connection refused")
				}
				return nil
			},
			destLoki: func(context.Context) error { return errors.New("loki down") },
		}
	})
	resp, data := do(t, http.MethodGet, tg.url+"/readyz", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d %s; Loki is not a primary in dual mode, so it must not count", resp.StatusCode, data)
	}
	mu.Lock()
	esDown = true
	mu.Unlock()
	tg.g.ready.mu.Lock()
	tg.g.ready.results = nil
	tg.g.ready.mu.Unlock()
	resp, data = do(t, http.MethodGet, tg.url+"/readyz", "", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(data), "elasticsearch") {
		t.Errorf("/readyz with Elasticsearch down: %d %s", resp.StatusCode, data)
	}
	resp, _ = do(t, http.MethodGet, tg.url+"/healthz", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	tg := newTestGateway(t, ModeDual, nil)
	tg.loki.fail.Store(true)
	do(t, http.MethodPost, tg.url+"/_bulk", "application/x-ndjson", bulkOf(0, 3), nil)
	// The failure is counted after the fake Loki returns, so wait for the
	// counter itself rather than for the call.
	var text string
	waitFor(t, 5*time.Second, "a counted failed attempt", func() bool {
		_, data := do(t, http.MethodGet, tg.url+"/metrics", "", nil, nil)
		text = string(data)
		return strings.Contains(text, `migrate_gateway_failed_total{destination="loki"`)
	})
	for _, want := range []string{
		`migrate_gateway_received_total{destination="loki"} 3`,
		`migrate_gateway_sent_total{destination="elasticsearch"} 3`,
		`migrate_gateway_queue_records{destination="loki"} 3`,
		`migrate_gateway_queue_bytes{destination="loki"}`,
		`migrate_gateway_queue_oldest_age_seconds{destination="loki"}`,
		`migrate_gateway_failed_total{destination="loki",reason="error"}`,
		`migrate_gateway_mode{mode="dual"} 1`,
		`migrate_gateway_requests_total{api="bulk",code="200"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestShutdownKeepsUndeliveredOnDisk(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	defer http.DefaultClient.CloseIdleConnections()
	dir := t.TempDir()
	primary := &fakePrimary{}
	es := httptest.NewServer(primary)
	defer es.Close()
	fwd, err := NewForwardClient(httpx.Config{BaseURL: es.URL})
	if err != nil {
		t.Fatal(err)
	}
	loki := &fakeLogWriter{}
	loki.fail.Store(true)
	cfg := Config{
		Listen: "127.0.0.1:0", QueueDir: dir, Mode: newFixedMode(ModeDual), Elasticsearch: fwd, Loki: loki,
		DrainTimeout: 100 * time.Millisecond, Logger: testLogger(t),
		retryDelay: func(int, error) time.Duration { return 10 * time.Millisecond },
	}
	g, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	resp, data := do(t, http.MethodPost, "http://"+g.Addr()+"/_bulk", "application/x-ndjson", bulkOf(0, 7), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, destLoki)); err != nil {
		t.Fatalf("queue folder: %v", err)
	}

	// The next start delivers what was queued.
	loki.fail.Store(false)
	g2, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g2.Shutdown(ctx) }()
	waitFor(t, 5*time.Second, "delivery after the restart", func() bool { return loki.count() == 7 })
}
