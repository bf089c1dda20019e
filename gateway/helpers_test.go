package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

// lokiProxy stands between the gateway and VictoriaLogs' Loki endpoint and
// answers some pushes itself with the answers Loki 3.7.6 gave in
// testdata/recordings/loki-3.7.6: a rate limit (429), an entry too far
// behind (400, the rest of the push stored) and, while down, not ready
// (503). A 413 comes from a proxy in front of Loki (such as nginx's
// client_max_body_size); no recording has one, so its body is a plain
// sentence.
type lokiProxy struct {
	target string
	client *http.Client
	srv    *httptest.Server

	down atomic.Bool
	// every429, every400 and every413 make every Nth push get that answer;
	// 0 disables it. Pushes are counted from 1.
	every429, every400, every413 int64
	// max400 stops the 400s after that many; 0 means no limit.
	max400   int
	pushes   atomic.Int64
	injected struct {
		mu      sync.Mutex
		r429    int
		r413    int
		dropped []string // es_id of the entries answered too far behind
	}

	rateLimitBody, tooFarBehindBody, notReadyBody string
}

func newLokiProxy(t *testing.T, target string) *lokiProxy {
	t.Helper()
	p := &lokiProxy{target: target, client: &http.Client{Timeout: 30 * time.Second}}
	p.rateLimitBody = string(recording.MustLoad(t, "loki-3.7.6", "err_push_ingestion_rate_limit_429").Response.Body)
	p.tooFarBehindBody = string(recording.MustLoad(t, "loki-3.7.6", "err_push_entry_too_far_behind_main_400").Response.Body)
	p.notReadyBody = string(recording.MustLoad(t, "loki-3.7.6", "defaults_status_ready_not_ready_503").Response.Body)
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *lokiProxy) URL() string { return p.srv.URL }

func (p *lokiProxy) text(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (p *lokiProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/ready":
		if p.down.Load() {
			p.text(w, http.StatusServiceUnavailable, p.notReadyBody)
			return
		}
		p.text(w, http.StatusOK, "ready\n")
		return
	case "/loki/api/v1/push":
	default:
		// /config and the rest: a Loki behind a gateway that serves only
		// the push and query APIs.
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if p.down.Load() {
		p.text(w, http.StatusServiceUnavailable, p.notReadyBody)
		return
	}
	n := p.pushes.Add(1)
	switch {
	case p.every429 > 0 && n%p.every429 == 0:
		p.injected.mu.Lock()
		p.injected.r429++
		p.injected.mu.Unlock()
		p.text(w, http.StatusTooManyRequests, p.rateLimitBody)
		return
	case p.every413 > 0 && n%p.every413 == 0 && len(body) > 1024:
		p.injected.mu.Lock()
		p.injected.r413++
		p.injected.mu.Unlock()
		p.text(w, http.StatusRequestEntityTooLarge, "request body too large\n")
		return
	case p.every400 > 0 && n%p.every400 == 0 && (p.max400 == 0 || len(p.droppedIDs()) < p.max400):
		if p.rejectOne(w, r, body) {
			return
		}
	}
	p.forward(w, r, body)
}

// rejectOne stores every entry of the push but the first one, and answers
// as Loki 3.7.6 answers an entry older than its stream's out-of-order
// window: 400, the rest of the push stored.
func (p *lokiProxy) rejectOne(w http.ResponseWriter, r *http.Request, body []byte) bool {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return false
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil || len(req.Streams) == 0 || len(req.Streams[0].Entries) < 2 {
		return false
	}
	s := &req.Streams[0]
	victim := s.Entries[0]
	s.Entries = s.Entries[1:]
	data, err := req.Marshal()
	if err != nil {
		return false
	}
	fw := httptest.NewRecorder()
	p.forward(fw, r, snappy.Encode(nil, data))
	if fw.Code/100 != 2 {
		return false
	}
	for _, l := range victim.StructuredMetadata {
		if l.Name == "es_id" {
			p.injected.mu.Lock()
			p.injected.dropped = append(p.injected.dropped, l.Value)
			p.injected.mu.Unlock()
		}
	}
	ts := victim.Timestamp.UTC()
	labels := strings.TrimSuffix(s.Labels, "}") + `, service_name="gateway"}`
	msg := fmt.Sprintf("entry with timestamp %s ignored, reason: 'entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s',\nuser 'fake', total ignored: 1 out of %d for stream: %s\n",
		ts.Format("2006-01-02 15:04:05.999999999 -0700 MST"), ts.Format(time.RFC3339), ts.Add(time.Hour).Format(time.RFC3339), len(s.Entries)+1, labels)
	if !strings.HasPrefix(p.tooFarBehindBody, "entry with timestamp ") {
		panic("the recorded too-far-behind body changed its form")
	}
	p.text(w, http.StatusBadRequest, msg)
	return true
}

func (p *lokiProxy) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target+"/loki/api/v1/push", bytes.NewReader(body))
	if err != nil {
		p.text(w, http.StatusInternalServerError, err.Error())
		return
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	if ce := r.Header.Get("Content-Encoding"); ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.text(w, http.StatusBadGateway, err.Error())
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		// VictoriaLogs answers 200; Loki answers 204 (push_protobuf_snappy_ok).
		w.WriteHeader(http.StatusNoContent)
		return
	}
	p.text(w, resp.StatusCode, string(out))
}

func (p *lokiProxy) droppedIDs() []string {
	p.injected.mu.Lock()
	defer p.injected.mu.Unlock()
	return append([]string(nil), p.injected.dropped...)
}

// tempoReceiver is a test OTLP gRPC receiver for Tempo's copy, built on
// pdata. It counts distinct spans, can be switched down (Unavailable), and
// serves the HTTP API paths the Tempo client reads (/ready; /status/config
// is 404, as behind a query gateway).
type tempoReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	spans    map[pcommon.SpanID]int
	received int
	down     atomic.Bool
	grpcAddr string
	httpURL  string
}

func newTempoReceiver(t *testing.T) *tempoReceiver {
	t.Helper()
	r := &tempoReceiver{spans: map[pcommon.SpanID]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(srv, r)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	r.grpcAddr = l.Addr().String()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/ready" && !r.down.Load() {
			_, _ = io.WriteString(w, "ready\n")
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(hs.Close)
	r.httpURL = hs.URL
	return r
}

func (r *tempoReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if r.down.Load() {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "tempo test receiver is down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	forEachSpan(req.Traces(), func(s ptrace.Span) {
		r.spans[s.SpanID()]++
		r.received++
	})
	return ptraceotlp.NewExportResponse(), nil
}

func (r *tempoReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.spans)
}

func forEachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				fn(spans.At(k))
			}
		}
	}
}

// planSettings are the addresses a test plan points at.
type planSettings struct {
	elasticsearch, jaegerOTLP, jaegerQuery, lokiURL, tempoURL, tempoOTLP string
	listen, otlpGRPC, otlpHTTP, queueDir                                 string
}

// writePlan writes a plan for the gateway tests and returns its path.
// Documents of app-* indices become entries of stream
// {service=<service.name>, source="gateway-test"} with the message as the
// line and seq as structured metadata.
func writePlan(t *testing.T, dir string, s planSettings) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: gateway-test}\nsources:\n")
	if s.elasticsearch != "" {
		fmt.Fprintf(&b, "  elasticsearch: {url: %q}\n", s.elasticsearch)
	}
	if s.jaegerOTLP != "" {
		fmt.Fprintf(&b, "  jaeger: {otlp: %q, http: %q}\n", s.jaegerOTLP, s.jaegerQuery)
	}
	b.WriteString("targets:\n")
	if s.lokiURL != "" {
		fmt.Fprintf(&b, "  loki: {url: %q}\n", s.lokiURL)
	}
	if s.tempoURL != "" {
		fmt.Fprintf(&b, "  tempo: {url: %q, otlp: %q}\n", s.tempoURL, s.tempoOTLP)
	}
	b.WriteString(`logs:
  - indices: "app-*"
    timestamp: "@timestamp"
    labels: {service: service.name}
    static_labels: {source: gateway-test}
    structured_metadata: [seq]
    line: message
    parser: none
`)
	fmt.Fprintf(&b, "gateway: {listen: %q, otlp_grpc: %q, otlp_http: %q, queue_dir: %q}\n", s.listen, s.otlpGRPC, s.otlpHTTP, s.queueDir)
	path := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := plans.Load(path); err != nil {
		t.Fatalf("the test plan is invalid: %v\n%s", err, b.String())
	}
	return path
}

// testLogger writes the gateway's logs to the test log at Warn and above.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startFromPlan runs a gateway in this process from a plan, as the
// command does, with the mode read from the plan's state store. tune
// adjusts the Config before New.
func startFromPlan(t *testing.T, planPath string, tune func(*Config)) (*Gateway, *phases.SQLiteStore) {
	t.Helper()
	ctx := context.Background()
	p, err := plans.Load(planPath)
	if err != nil {
		t.Fatal(err)
	}
	store, err := phases.OpenSQLite(ctx, planPath+".state.db", p.Metadata.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg, closeFiles, err := FromPlan(ctx, p, Addresses{}, store, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeFiles() })
	cfg.ModeInterval = 100 * time.Millisecond
	cfg.DrainTimeout = 5 * time.Second
	if tune != nil {
		tune(&cfg)
	}
	g, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return g, store
}

// setMode switches the gateway mode in the state store, as plan cutover
// and rollback do.
func setMode(t *testing.T, store phases.Store, mode Mode) {
	t.Helper()
	ctx := context.Background()
	st, err := store.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.GatewayMode = string(mode)
	if err := store.SetState(ctx, st, phases.Entry{Kind: phases.KindTransition, Message: "test: gateway mode " + string(mode)}); err != nil {
		t.Fatal(err)
	}
}

// testDoc is one document of the load: seq identifies it in every copy.
func testDoc(seq int, withID bool) (action, source string) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if withID {
		action = fmt.Sprintf(`{"index":{"_index":"app-logs","_id":"d-%d"}}`, seq)
	} else {
		action = `{"create":{"_index":"app-logs"}}`
	}
	source = fmt.Sprintf(`{"@timestamp":%q,"message":"document %d","seq":%d,"service":{"name":"svc-%d"}}`, now, seq, seq, seq%5)
	return action, source
}

// bulkOf returns a _bulk body of documents first..first+n-1; every tenth
// has no _id, so Elasticsearch (or the gateway) generates one.
func bulkOf(first, n int) []byte {
	var b bytes.Buffer
	for seq := first; seq < first+n; seq++ {
		a, s := testDoc(seq, seq%10 != 0)
		b.WriteString(a)
		b.WriteByte('\n')
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// bulkAnswer is the part of a _bulk response the tests read.
type bulkAnswer struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		ID     string `json:"_id"`
		Status int    `json:"status"`
		Error  *struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	} `json:"items"`
}

// postBulk sends a _bulk body and decodes a 200 answer.
func postBulk(client *http.Client, url string, body []byte) (int, bulkAnswer, error) {
	resp, err := client.Post(url+"/_bulk", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		return 0, bulkAnswer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, bulkAnswer{}, err
	}
	var ans bulkAnswer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &ans); err != nil {
			return resp.StatusCode, ans, fmt.Errorf("decoding %s: %w", data, err)
		}
	}
	return resp.StatusCode, ans, nil
}

// waitFor polls cond until it is true or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
