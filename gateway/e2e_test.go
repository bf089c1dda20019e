package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/obs-migrate/migrate/internal/jaegertest"
	"github.com/obs-migrate/migrate/internal/vlogstest"
)

// stack is the real and test servers behind a gateway: VictoriaLogs as the
// Elasticsearch primary, VictoriaLogs' Loki endpoint behind lokiProxy, the
// real Jaeger, and the Tempo test receiver.
type stack struct {
	es, loki *vlogstest.VictoriaLogs
	proxy    *lokiProxy
	jaeger   *jaegertest.Jaeger
	tempo    *tempoReceiver
}

func newStack(t *testing.T, withJaeger bool) *stack {
	t.Helper()
	s := &stack{es: vlogstest.Start(t), loki: vlogstest.Start(t), tempo: newTempoReceiver(t)}
	s.proxy = newLokiProxy(t, s.loki.LokiURL())
	if withJaeger {
		s.jaeger = jaegertest.Start(t)
	}
	return s
}

func (s *stack) plan(t *testing.T, dir string, listen, otlpGRPC, otlpHTTP string) string {
	t.Helper()
	ps := planSettings{
		elasticsearch: s.es.ElasticsearchURL(), lokiURL: s.proxy.URL(), tempoURL: s.tempo.httpURL, tempoOTLP: s.tempo.grpcAddr,
		listen: listen, otlpGRPC: otlpGRPC, otlpHTTP: otlpHTTP, queueDir: "queue",
	}
	if s.jaeger != nil {
		ps.jaegerOTLP, ps.jaegerQuery = s.jaeger.OTLPGRPC, s.jaeger.QueryHTTP
	}
	return writePlan(t, dir, ps)
}

// distinctSeqs counts the distinct seq values in a VictoriaLogs instance,
// polling until it reaches want or timeout passes.
func distinctSeqs(t *testing.T, v *vlogstest.VictoriaLogs, want int64, timeout time.Duration) int64 {
	t.Helper()
	return v.WaitNumber(t, `seq:* | count_uniq(seq) as n`, "n", want, timeout)
}

// jaegerSpans returns the spans Jaeger holds of the traces in td.
func jaegerSpans(t *testing.T, j *jaegertest.Jaeger, ids map[pcommon.TraceID]bool) int {
	t.Helper()
	total := 0
	for id := range ids {
		resp, err := http.Get(j.QueryHTTP + "/api/v3/traces/" + id.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			continue
		}
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &env) != nil {
			t.Fatalf("jaeger trace %s: %d %s", id, resp.StatusCode, body)
		}
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(env.Result)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[pcommon.SpanID]bool{}
		forEachSpan(td, func(s ptrace.Span) { seen[s.SpanID()] = true })
		total += len(seen)
	}
	return total
}

func traceIDs(tds ...ptrace.Traces) map[pcommon.TraceID]bool {
	ids := map[pcommon.TraceID]bool{}
	for _, td := range tds {
		forEachSpan(td, func(s ptrace.Span) { ids[s.TraceID()] = true })
	}
	return ids
}

func exportGRPC(t *testing.T, addr string, td ptrace.Traces) error {
	t.Helper()
	return exportGRPCCtx(context.Background(), addr, td)
}

func exportGRPCCtx(ctx context.Context, addr string, td ptrace.Traces) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	return err
}

func TestModeSwitchDualToNewPrimary(t *testing.T) {
	s := newStack(t, true)
	dir := t.TempDir()
	g, store := startFromPlan(t, s.plan(t, dir, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"), nil)
	url := "http://" + g.Addr()
	if g.Mode() != ModeDual {
		t.Fatalf("mode %s at start, want dual (the state's default)", g.Mode())
	}

	client := &http.Client{Timeout: 30 * time.Second}
	status, ans, err := postBulk(client, url, bulkOf(0, 100))
	if err != nil || status != http.StatusOK || ans.Errors {
		t.Fatalf("dual _bulk: %d %v %+v", status, err, ans)
	}
	dualTraces := testTraces(0xd1, 2, 10)
	if err := exportGRPC(t, g.OTLPGRPCAddr(), dualTraces); err != nil {
		t.Fatal(err)
	}
	if got := distinctSeqs(t, s.es, 100, 30*time.Second); got != 100 {
		t.Errorf("dual: Elasticsearch has %d documents, want 100", got)
	}
	if got := distinctSeqs(t, s.loki, 100, 30*time.Second); got != 100 {
		t.Errorf("dual: Loki has %d documents, want 100", got)
	}
	if got := jaegerSpans(t, s.jaeger, traceIDs(dualTraces)); got != 20 {
		t.Errorf("dual: Jaeger has %d spans, want 20 before the answer", got)
	}
	waitFor(t, 20*time.Second, "Tempo's copy", func() bool { return s.tempo.distinct() == 20 })

	setMode(t, store, ModeNewPrimary)
	waitFor(t, 5*time.Second, "the gateway to read new_primary", func() bool { return g.Mode() == ModeNewPrimary })

	status, ans, err = postBulk(client, url, bulkOf(100, 100))
	if err != nil || status != http.StatusOK || ans.Errors {
		t.Fatalf("new_primary _bulk: %d %v %+v", status, err, ans)
	}
	for i, item := range ans.Items {
		for op, it := range item {
			if it.Status != http.StatusCreated || it.ID == "" {
				t.Errorf("new_primary item %d: %s %+v, want 201 with an _id", i, op, it)
			}
		}
	}
	if ans.Items[0]["create"].ID == "" || len(ans.Items[0]["create"].ID) != 20 {
		t.Errorf("document 100 has no _id in the request; the answer's id %q should be generated", ans.Items[0]["create"].ID)
	}
	if got := distinctSeqs(t, s.loki, 200, 30*time.Second); got != 200 {
		t.Errorf("new_primary: Loki has %d documents, want 200", got)
	}
	if got := distinctSeqs(t, s.es, 200, 30*time.Second); got != 200 {
		t.Errorf("new_primary: Elasticsearch has %d documents, want 200 with the queued copies", got)
	}
	rows, err := s.es.Query(context.Background(), `seq:100`)
	if err != nil || len(rows) != 1 {
		t.Fatalf("document 100 in Elasticsearch: %v %v", rows, err)
	}

	npTraces := testTraces(0xd2, 2, 10)
	if err := exportGRPC(t, g.OTLPGRPCAddr(), npTraces); err != nil {
		t.Fatal(err)
	}
	if got := s.tempo.distinct(); got != 40 {
		t.Errorf("new_primary: Tempo has %d spans, want 40 before the answer", got)
	}
	waitFor(t, 20*time.Second, "Jaeger's copy", func() bool { return jaegerSpans(t, s.jaeger, traceIDs(npTraces)) == 20 })
}

func TestBeatsStartupCallsPassThrough(t *testing.T) {
	s := newStack(t, false)
	dir := t.TempDir()
	g, store := startFromPlan(t, s.plan(t, dir, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"), nil)
	url := "http://" + g.Addr()

	// The calls Filebeat 8 and Logstash 8 make before they send data.
	type call struct {
		method, path, body string
		wantStatus         int
		wantIn             string
	}
	dual := []call{
		{http.MethodGet, "/", "", 200, `"number": "8.9.0"`}, // VictoriaLogs v1.52.2 reports 8.9.0
		{http.MethodHead, "/", "", 200, ""},
		{http.MethodGet, "/_license", "", 200, `"license"`},
		{http.MethodGet, "/_ilm/policy/filebeat", "", 200, `{}`},
		{http.MethodPut, "/_index_template/filebeat-8.17.0", `{"index_patterns":["filebeat-8.17.0"]}`, 200, `{}`},
		{http.MethodPut, "/_ingest/pipeline/filebeat-8.17.0-system", `{"processors":[]}`, 200, `{}`},
		{http.MethodGet, "/_nodes/_local", "", 200, `{}`},
		// VictoriaLogs does not serve this one; its 400 is passed on.
		{http.MethodGet, "/_xpack", "", 400, `unsupported path requested: "/insert/elasticsearch/_xpack"`},
	}
	for _, c := range dual {
		resp, data := do(t, c.method, url+c.path, "application/json", []byte(c.body), nil)
		if resp.StatusCode != c.wantStatus || !strings.Contains(string(data), c.wantIn) {
			t.Errorf("dual %s %s: %d %s, want %d with %s from VictoriaLogs", c.method, c.path, resp.StatusCode, data, c.wantStatus, c.wantIn)
		}
		if resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("dual %s %s: X-Elastic-Product %q", c.method, c.path, resp.Header.Get("X-Elastic-Product"))
		}
	}
	// Beats' _bulk with its filter_path.
	resp, data := do(t, http.MethodPost, url+"/_bulk?filter_path=errors,items.*.error,items.*.status", "application/json", bulkOf(0, 10), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"status":201`) {
		t.Errorf("Beats _bulk: %d %s", resp.StatusCode, data)
	}
	if got := distinctSeqs(t, s.loki, 10, 20*time.Second); got != 10 {
		t.Errorf("Loki has %d documents of the Beats _bulk, want 10", got)
	}

	setMode(t, store, ModeNewPrimary)
	waitFor(t, 5*time.Second, "new_primary", func() bool { return g.Mode() == ModeNewPrimary })
	newPrimary := []call{
		{http.MethodGet, "/", "", 200, `"number":"8.19.0"`},
		{http.MethodHead, "/", "", 200, ""},
		{http.MethodGet, "/_license", "", 200, `"status":"active"`},
		{http.MethodGet, "/_xpack", "", 200, `"ilm"`},
		{http.MethodGet, "/_ilm/policy/filebeat", "", 200, `{}`},
		{http.MethodHead, "/_index_template/filebeat-8.17.0", "", 200, ""},
		{http.MethodPut, "/_index_template/filebeat-8.17.0", `{"index_patterns":["filebeat-8.17.0"]}`, 200, `"acknowledged":true`},
		{http.MethodPut, "/_ingest/pipeline/filebeat-8.17.0-system", `{"processors":[]}`, 200, `"acknowledged":true`},
	}
	for _, c := range newPrimary {
		resp, data := do(t, c.method, url+c.path, "application/json", []byte(c.body), nil)
		if resp.StatusCode != c.wantStatus || !strings.Contains(string(data), c.wantIn) || resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("new_primary %s %s: %d %s, want %d with %s and the product header", c.method, c.path, resp.StatusCode, data, c.wantStatus, c.wantIn)
		}
	}
}

func TestQueueFullBackpressureEndToEnd(t *testing.T) {
	s := newStack(t, false)
	dir := t.TempDir()
	s.proxy.down.Store(true)
	g, _ := startFromPlan(t, s.plan(t, dir, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"), func(c *Config) { c.QueueMaxBytes = 64 << 10 })
	url := "http://" + g.Addr()
	client := &http.Client{Timeout: 30 * time.Second}
	accepted, rejected := 0, 0
	for i := range 60 {
		status, _, err := postBulk(client, url, bulkOf(i*20, 20))
		if err != nil {
			t.Fatal(err)
		}
		switch status {
		case http.StatusOK:
			accepted += 20
		case http.StatusTooManyRequests:
			rejected += 20
		default:
			t.Fatalf("status %d", status)
		}
	}
	if rejected == 0 || accepted == 0 {
		t.Fatalf("accepted %d, rejected %d documents; want both with a 64 KiB queue and Loki down", accepted, rejected)
	}
	// Only the accepted requests reached Elasticsearch.
	if got := distinctSeqs(t, s.es, int64(accepted), 20*time.Second); got != int64(accepted) {
		t.Errorf("Elasticsearch has %d documents, want the %d accepted", got, accepted)
	}
	time.Sleep(time.Second)
	if got := distinctSeqs(t, s.es, 0, time.Second); got != int64(accepted) {
		t.Errorf("Elasticsearch has %d documents a second later, want %d: rejected requests must not be forwarded", got, accepted)
	}
	s.proxy.down.Store(false)
	if got := distinctSeqs(t, s.loki, int64(accepted), 60*time.Second); got != int64(accepted) {
		t.Errorf("Loki has %d documents after it came back, want %d", got, accepted)
	}
}

// TestLokiDownDoesNotSlowElasticsearch sends the same load twice, with
// Loki and Tempo up and then down, and compares how long the primaries
// took; then it brings Loki and Tempo back and checks their copies.
func TestLokiDownDoesNotSlowElasticsearch(t *testing.T) {
	s := newStack(t, true)
	const (
		batches   = 40
		batchDocs = 500
		workers   = 4
	)
	run := func(first int) time.Duration {
		dir := t.TempDir()
		g, _ := startFromPlan(t, s.plan(t, dir, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"), nil)
		url := "http://" + g.Addr()
		client := &http.Client{Timeout: 60 * time.Second}
		work := make(chan int)
		var wg sync.WaitGroup
		errs := make(chan error, batches)
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range work {
					status, ans, err := postBulk(client, url, bulkOf(first+b*batchDocs, batchDocs))
					if err == nil && (status != http.StatusOK || ans.Errors) {
						err = fmt.Errorf("batch %d: status %d, errors %v", b, status, ans.Errors)
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		for b := range batches {
			work <- b
		}
		close(work)
		wg.Wait()
		for b := range 10 {
			if err := exportGRPC(t, g.OTLPGRPCAddr(), testTraces(uint32(first+b), 1, 20)); err != nil {
				errs <- err
			}
		}
		elapsed := time.Since(start)
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return elapsed
	}

	up := run(0)
	s.proxy.down.Store(true)
	s.tempo.down.Store(true)
	down := run(1_000_000)
	t.Logf("%d documents with Loki and Tempo up: %s; down: %s", batches*batchDocs, up, down)
	// The tolerance absorbs scheduling noise on a small machine; a gateway
	// whose primary waited for Loki would take the client timeout.
	if limit := up*3/2 + time.Second; down > limit {
		t.Errorf("with Loki down the load took %s, over %s (1.5 times %s with Loki up, plus 1 s)", down, limit, up)
	}
	total := int64(2 * batches * batchDocs)
	if got := distinctSeqs(t, s.es, total, 60*time.Second); got != total {
		t.Errorf("Elasticsearch has %d documents, want %d", got, total)
	}
	var traces []ptrace.Traces
	for _, first := range []int{0, 1_000_000} {
		for b := range 10 {
			traces = append(traces, testTraces(uint32(first+b), 1, 20))
		}
	}
	if got := jaegerSpans(t, s.jaeger, traceIDs(traces...)); got != 400 {
		t.Errorf("Jaeger has %d spans, want 400 with Tempo down", got)
	}

	// Loki and Tempo come back; the gateways of both runs are still up
	// (they stop at the end of the test) and deliver their queues.
	s.proxy.down.Store(false)
	s.tempo.down.Store(false)
	if got := distinctSeqs(t, s.loki, total, 90*time.Second); got != total {
		t.Errorf("Loki has %d documents after it came back, want %d", got, total)
	}
	waitFor(t, 60*time.Second, "Tempo's copies", func() bool { return s.tempo.distinct() == 400 })
}

// TestNewPrimaryReportsLokiRejections checks that an entry Loki rejects
// becomes an item error in the synthesized _bulk response, and that only
// the documents Loki stored are copied to Elasticsearch.
func TestNewPrimaryReportsLokiRejections(t *testing.T) {
	s := newStack(t, false)
	s.proxy.every400, s.proxy.max400 = 1, 1
	dir := t.TempDir()
	g, store := startFromPlan(t, s.plan(t, dir, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"), nil)
	setMode(t, store, ModeNewPrimary)
	waitFor(t, 5*time.Second, "new_primary", func() bool { return g.Mode() == ModeNewPrimary })

	// One stream (service svc-1), so the proxy rejects exactly one entry.
	var body strings.Builder
	for seq := 1; seq <= 46; seq += 5 {
		a, src := testDoc(seq, true)
		body.WriteString(a + "\n" + src + "\n")
	}
	status, ans, err := postBulk(&http.Client{Timeout: 30 * time.Second}, "http://"+g.Addr(), []byte(body.String()))
	if err != nil || status != http.StatusOK {
		t.Fatalf("_bulk: %d %v", status, err)
	}
	if !ans.Errors {
		t.Error("errors is false, want true for the rejected entry")
	}
	dropped := s.proxy.droppedIDs()
	if len(dropped) != 1 {
		t.Fatalf("the proxy rejected %d entries, want 1", len(dropped))
	}
	failed := 0
	for _, item := range ans.Items {
		it := item["index"]
		if it.Status == http.StatusCreated {
			continue
		}
		failed++
		if it.ID != dropped[0] || it.Error == nil || it.Error.Type != "document_parsing_exception" || !strings.Contains(it.Error.Reason, "too_far_behind") {
			t.Errorf("failed item %+v, want %s with a document_parsing_exception naming too_far_behind", it, dropped[0])
		}
	}
	if failed != 1 {
		t.Errorf("%d items failed, want 1", failed)
	}
	if got := distinctSeqs(t, s.es, 9, 30*time.Second); got != 9 {
		t.Errorf("Elasticsearch has %d copies, want the 9 documents Loki stored", got)
	}
	time.Sleep(500 * time.Millisecond)
	if got := distinctSeqs(t, s.es, 0, time.Second); got != 9 {
		t.Errorf("Elasticsearch has %d copies a moment later, want 9", got)
	}
}
