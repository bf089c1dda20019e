package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

// childPlanEnv names the plan a re-executed test binary runs a gateway
// for, as `migrate gateway PLAN` would.
const childPlanEnv = "MIGRATE_GATEWAY_TEST_CHILD_PLAN"

func TestMain(m *testing.M) {
	if plan := os.Getenv(childPlanEnv); plan != "" {
		os.Exit(runChildGateway(plan))
	}
	os.Exit(m.Run())
}

// runChildGateway runs a gateway from a plan until SIGTERM or SIGINT, with
// the state next to the plan, as the gateway command does.
func runChildGateway(planPath string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := plans.Load(planPath)
	if err != nil {
		log.Error("loading the plan", "err", err)
		return 2
	}
	store, err := phases.OpenSQLite(ctx, planPath+".state.db", p.Metadata.Name)
	if err != nil {
		log.Error("opening the state", "err", err)
		return 1
	}
	defer store.Close()
	cfg, closeFiles, err := FromPlan(ctx, p, Addresses{}, store, log)
	if err != nil {
		log.Error("building the gateway", "err", err)
		return 1
	}
	defer closeFiles()
	g, err := New(ctx, cfg)
	if err != nil {
		log.Error("starting the gateway", "err", err)
		return 1
	}
	if err := g.Run(ctx); err != nil {
		log.Error("gateway", "err", err)
		return 1
	}
	return 0
}

// childGateway is a gateway process the test kills and restarts.
type childGateway struct {
	t      *testing.T
	plan   string
	listen string
	logs   *os.File
	cmd    *exec.Cmd
	exited chan struct{}
}

func (c *childGateway) start() {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childPlanEnv+"="+c.plan)
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmd = cmd
	c.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.exited:
			c.t.Fatalf("the gateway exited at start; its log is %s", c.logs.Name())
		default:
		}
		resp, err := http.Get("http://" + c.listen + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the gateway did not answer /healthz within 30 s; its log is %s", c.logs.Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *childGateway) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

func (c *childGateway) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(60 * time.Second):
		c.kill()
	}
}

// TestCrashLosesNothingAcknowledged drives a gateway process with 100,000
// documents over _bulk and 10,000 spans over OTLP, kills it with SIGKILL
// twice during the load and restarts it each time. The senders behave like
// Beats and OpenTelemetry exporters: they resend what was not
// acknowledged. At the end every acknowledged document is in Elasticsearch
// (VictoriaLogs) and in Loki (VictoriaLogs behind a proxy that answers with
// Loki's recorded 429, 400 and 413 now and then), and every acknowledged
// span is in Jaeger and in the Tempo receiver.
//
// An entry the proxy answers as too far behind is, as with a real Loki,
// rejected for good: the gateway puts it in the dead-letter file with its
// reason, and the test counts it there.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs without -short")
	}
	const (
		totalDocs  = 100_000
		batchDocs  = 500
		totalSpans = 10_000
		pushSpans  = 50
	)
	s := newStack(t, true)
	s.proxy.every429, s.proxy.every400, s.proxy.every413 = 7, 11, 13
	dir := t.TempDir()
	listen, otlpGRPC, otlpHTTP := freeAddr(t), freeAddr(t), freeAddr(t)
	plan := s.plan(t, dir, listen, otlpGRPC, otlpHTTP)
	logs, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	child := &childGateway{t: t, plan: plan, listen: listen, logs: logs}
	child.start()
	defer child.stop()

	var (
		ackedDocs  atomic.Int64
		ackedSpans atomic.Int64
		acked      = make([]atomic.Bool, totalDocs)
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Logs: 4 senders, each resending a batch's unacknowledged documents
	// until all are acknowledged.
	var wg sync.WaitGroup
	batches := make(chan int, totalDocs/batchDocs)
	for b := range totalDocs / batchDocs {
		batches <- b
	}
	close(batches)
	client := &http.Client{Timeout: 30 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				pending := make([]int, batchDocs)
				for i := range pending {
					pending[i] = b*batchDocs + i
				}
				for len(pending) > 0 && ctx.Err() == nil {
					var body bytes.Buffer
					for _, seq := range pending {
						a, src := testDoc(seq, seq%10 != 0)
						body.WriteString(a + "\n" + src + "\n")
					}
					status, ans, err := postBulk(client, "http://"+listen, body.Bytes())
					if err != nil || status != http.StatusOK || len(ans.Items) != len(pending) {
						time.Sleep(50 * time.Millisecond)
						continue
					}
					var left []int
					for i, item := range ans.Items {
						for _, it := range item {
							if it.Status/100 == 2 {
								if !acked[pending[i]].Swap(true) {
									ackedDocs.Add(1)
								}
							} else {
								left = append(left, pending[i])
							}
						}
					}
					pending = left
				}
			}
		}()
	}

	// Traces: pushes of 50 spans, even ones over gRPC and odd ones over
	// OTLP/HTTP, each resent until acknowledged.
	pushes := make(chan int, totalSpans/pushSpans)
	for p := range totalSpans / pushSpans {
		pushes <- p
	}
	close(pushes)
	var sent []ptrace.Traces
	var sentMu sync.Mutex
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pushes {
				td := testTraces(uint32(0xc0000+p), 1, pushSpans)
				sentMu.Lock()
				sent = append(sent, td)
				sentMu.Unlock()
				for ctx.Err() == nil {
					var err error
					if p%2 == 0 {
						err = exportGRPCOnce(ctx, otlpGRPC, td)
					} else {
						err = exportHTTPOnce(ctx, otlpHTTP, td)
					}
					if err == nil {
						ackedSpans.Add(pushSpans)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}

	// Two SIGKILLs while the load runs, each followed by a restart.
	for _, at := range []int64{totalDocs * 3 / 10, totalDocs * 65 / 100} {
		for ackedDocs.Load() < at && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		child.kill()
		t.Logf("SIGKILL after %d documents and %d spans were acknowledged", ackedDocs.Load(), ackedSpans.Load())
		child.start()
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the load did not finish within 5 minutes: %d documents and %d spans acknowledged", ackedDocs.Load(), ackedSpans.Load())
	}
	if ackedDocs.Load() != totalDocs || ackedSpans.Load() != totalSpans {
		t.Fatalf("acknowledged %d documents and %d spans, want all", ackedDocs.Load(), ackedSpans.Load())
	}

	// Elasticsearch: every document (a resent request can add copies of
	// documents whose _id Elasticsearch generated, as it would in
	// Elasticsearch).
	if got := distinctSeqs(t, s.es, totalDocs, 60*time.Second); got != totalDocs {
		t.Errorf("Elasticsearch has %d distinct documents, want %d", got, totalDocs)
	}

	// Loki: every document is stored or dead-lettered with its reason.
	waitFor(t, 120*time.Second, "the Loki queue to drain", func() bool {
		return lokiAccounted(t, s, dir) >= totalDocs
	})
	if got := lokiAccounted(t, s, dir); got != totalDocs {
		t.Errorf("Loki stored or dead-lettered %d distinct documents, want %d", got, totalDocs)
	}
	// The same es_id never stands for two documents, and a document with a
	// client _id keeps it.
	if n, err := s.loki.Number(ctx, `seq:* | stats by (es_id) count_uniq(seq) as docs | filter docs:>1 | count() as n`, "n"); err != nil || n != 0 {
		t.Errorf("es_id values shared by different documents: %d (%v), want 0", n, err)
	}
	rows, err := s.loki.Query(ctx, `es_id:d-* | fields es_id, seq | limit 2000`)
	if err != nil || len(rows) == 0 {
		t.Fatalf("reading es_id values: %v", err)
	}
	for _, r := range rows {
		if r["es_id"] != "d-"+r["seq"] {
			t.Errorf("document %s has es_id %q, want its _id d-%s", r["seq"], r["es_id"], r["seq"])
			break
		}
	}
	total, _ := s.loki.Number(ctx, `seq:* | count() as n`, "n")
	distinct, _ := s.loki.Number(ctx, `seq:* | count_uniq(es_id) as n`, "n")
	t.Logf("Loki (VictoriaLogs, which keeps duplicates that Loki would store once): %d entries, %d distinct es_id; proxy answered %d pushes, with %d 429s, %d 413s and %d entries rejected",
		total, distinct, s.proxy.pushes.Load(), s.proxy.injected.r429, s.proxy.injected.r413, len(s.proxy.droppedIDs()))
	if s.proxy.injected.r429 == 0 || s.proxy.injected.r413 == 0 || len(s.proxy.droppedIDs()) == 0 {
		t.Errorf("the proxy injected %d 429s, %d 413s and %d 400s; want each at least once", s.proxy.injected.r429, s.proxy.injected.r413, len(s.proxy.droppedIDs()))
	}

	// Traces.
	waitFor(t, 60*time.Second, "Tempo's copies", func() bool { return s.tempo.distinct() >= totalSpans })
	if got := s.tempo.distinct(); got != totalSpans {
		t.Errorf("Tempo has %d distinct spans, want %d", got, totalSpans)
	}
	if got := jaegerSpans(t, s.jaeger, traceIDs(sent...)); got != totalSpans {
		t.Errorf("Jaeger has %d distinct spans, want %d", got, totalSpans)
	}
	for _, dest := range []string{destElasticsearch, destJaeger, destTempo} {
		if data, err := os.ReadFile(DeadLetterPath(filepath.Join(dir, "queue"), dest)); err == nil && len(data) > 0 {
			t.Errorf("%s dead letters: %s", dest, data)
		}
	}
}

// lokiAccounted returns the number of distinct documents that are in
// Loki's VictoriaLogs or in the Loki dead-letter file.
func lokiAccounted(t *testing.T, s *stack, dir string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := s.loki.Query(ctx, `seq:* | uniq by (seq)`)
	if err != nil {
		t.Logf("reading Loki's documents: %v", err)
		return 0
	}
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		seen[r["seq"]] = true
	}
	f, err := os.Open(DeadLetterPath(filepath.Join(dir, "queue"), destLoki))
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct {
				Reason string `json:"reason"`
				Record struct {
					StructuredMetadata []struct{ Name, Value string } `json:"structured_metadata"`
					Source             struct {
						Seq json.Number `json:"seq"`
					} `json:"source"`
				} `json:"record"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			if line.Record.Source.Seq != "" {
				seen[line.Record.Source.Seq.String()] = true
			}
			for _, l := range line.Record.StructuredMetadata {
				if l.Name == "seq" {
					seen[l.Value] = true
				}
			}
		}
	}
	return int64(len(seen))
}

func exportGRPCOnce(ctx context.Context, addr string, td ptrace.Traces) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	conn.Close()
	return exportGRPCCtx(ctx, addr, td)
}

func exportHTTPOnce(ctx context.Context, addr string, td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
