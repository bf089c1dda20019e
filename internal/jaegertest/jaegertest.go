// Package jaegertest runs a real Jaeger v2 binary (bin/jaeger, built by
// `make deps`) for tests: memory storage, the query service over HTTP and
// gRPC, and the OTLP receiver over gRPC and HTTP, each on a free port of
// 127.0.0.1.
package jaegertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Timeouts of the harness.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
	loadTimeout  = 30 * time.Second
	// stderrLimit bounds the process output kept for failure messages.
	stderrLimit = 16 << 10
)

// missingBinary is the hint given when bin/jaeger does not exist.
const missingBinary = "run make test (it builds bin/jaeger)"

// Jaeger is a running Jaeger process.
type Jaeger struct {
	// QueryGRPC is the host:port of the query service's gRPC API (api_v2 and
	// api_v3).
	QueryGRPC string
	// QueryHTTP is the base URL of the query service's HTTP API, such as
	// http://127.0.0.1:40123.
	QueryHTTP string
	// OTLPGRPC is the host:port of the OTLP/gRPC receiver.
	OTLPGRPC string
	// OTLPHTTP is the base URL of the OTLP/HTTP receiver; traces go to
	// OTLPHTTP + "/v1/traces".
	OTLPHTTP string

	cmd    *exec.Cmd
	output *tailBuffer
	exited chan struct{}
	// exitErr is the result of cmd.Wait, set before exited is closed.
	exitErr error
}

// config is the Jaeger v1.75.0 (v2 binary) configuration. Every listener
// is named here, so none falls back to its default port on all interfaces.
// The collector's own metrics (default :8888) are off. Tracing of the query
// service is off, so it sends nothing to a default OTLP endpoint.
const config = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    enable_tracing: false
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// Start runs bin/jaeger (or the binary named by MIGRATE_JAEGER_BIN) and
// waits until its query API responds and its OTLP ports accept connections.
// The process is stopped when the test ends. A missing binary skips the
// test, or fails it when the CI variable is set.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	bin := binaryPath()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("jaeger binary %s not found: %s", bin, missingBinary)
		}
		t.Skipf("jaeger binary %s not found: %s", bin, missingBinary)
	}
	// A free port found by listening and closing can be taken by another
	// process before Jaeger binds it, so a bind failure gets a second try.
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		j, err := start(t, bin, attempt)
		if err == nil {
			return j
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// binaryPath returns MIGRATE_JAEGER_BIN, or bin/jaeger in the repository.
func binaryPath() string {
	if bin := os.Getenv("MIGRATE_JAEGER_BIN"); bin != "" {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "jaeger")
}

func start(t testing.TB, bin string, attempt int) (*Jaeger, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, fmt.Sprintf("jaeger-%d.yaml", attempt))
	body := fmt.Sprintf(config, ports[0], ports[1], ports[2], ports[3])
	if err := os.WriteFile(configPath, []byte(body), 0o600); err != nil {
		return nil, err
	}

	j := &Jaeger{
		QueryHTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		QueryGRPC: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		OTLPGRPC:  fmt.Sprintf("127.0.0.1:%d", ports[2]),
		OTLPHTTP:  fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
		output:    &tailBuffer{limit: stderrLimit},
		exited:    make(chan struct{}),
	}
	j.cmd = exec.Command(bin, "--config", configPath)
	j.cmd.Dir = dir
	j.cmd.Stdout = j.output
	j.cmd.Stderr = j.output
	if err := j.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		j.exitErr = j.cmd.Wait()
		close(j.exited)
	}()
	if err := j.waitReady(); err != nil {
		j.stop()
		return nil, err
	}
	t.Cleanup(j.stop)
	return j, nil
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitReady polls the query API's /api/services until it returns 200 and
// then checks that both OTLP ports accept connections. The collector starts
// extensions (the query service) before receivers, so a ready query API
// alone does not mean spans can be sent yet.
func (j *Jaeger) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-j.exited:
			return fmt.Errorf("jaeger exited before it was ready (%v); output:\n%s", j.exitErr, j.output.String())
		default:
		}
		lastErr = j.probe(client)
		if lastErr == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("jaeger was not ready after %s: %v; output:\n%s", readyTimeout, lastErr, j.output.String())
}

func (j *Jaeger) probe(client *http.Client) error {
	resp, err := client.Get(j.QueryHTTP + "/api/services")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/services returned %d", resp.StatusCode)
	}
	for _, addr := range []string{j.OTLPGRPC, strings.TrimPrefix(j.OTLPHTTP, "http://")} {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		conn.Close()
	}
	return nil
}

// stop sends SIGTERM and kills the process if it has not exited within
// stopTimeout.
func (j *Jaeger) stop() {
	select {
	case <-j.exited:
		return
	default:
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.exited:
	case <-time.After(stopTimeout):
		_ = j.cmd.Process.Kill()
		<-j.exited
	}
}

// Output returns the last 16 KiB of the process's stdout and stderr.
func (j *Jaeger) Output() string { return j.output.String() }

// Load sends td to the OTLP/gRPC receiver and waits until every trace in it
// can be read back with all its spans through the query API.
func (j *Jaeger) Load(t testing.TB, td ptrace.Traces) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()

	conn, err := grpc.NewClient(j.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("connecting to OTLP/gRPC %s: %v", j.OTLPGRPC, err)
	}
	defer conn.Close()
	// A copy is sent, so the caller's td is never shared with the client.
	sent := ptrace.NewTraces()
	td.CopyTo(sent)
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(sent)); err != nil {
		t.Fatalf("OTLP/gRPC export to %s failed: %v; jaeger output:\n%s", j.OTLPGRPC, err, j.Output())
	}

	want := spanCounts(td)
	client := &http.Client{Timeout: 5 * time.Second}
	for id, count := range want {
		if err := j.waitForTrace(ctx, client, id, count); err != nil {
			t.Fatalf("trace %s: %v; jaeger output:\n%s", id, err, j.Output())
		}
	}
}

// spanCounts returns the number of spans of each trace in td.
func spanCounts(td ptrace.Traces) map[pcommon.TraceID]int {
	counts := map[pcommon.TraceID]int{}
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for k := range sss.Len() {
			spans := sss.At(k).Spans()
			for s := range spans.Len() {
				counts[spans.At(s).TraceID()]++
			}
		}
	}
	return counts
}

func (j *Jaeger) waitForTrace(ctx context.Context, client *http.Client, id pcommon.TraceID, want int) error {
	got := 0
	var lastErr error
	for {
		got, lastErr = j.countSpans(ctx, client, id)
		if lastErr == nil && got >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not queryable with %d spans within %s (last read: %d spans, error %v)", want, loadTimeout, got, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// countSpans reads one trace through the api_v3 HTTP endpoint.
func (j *Jaeger) countSpans(ctx context.Context, client *http.Client, id pcommon.TraceID) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryHTTP+"/api/v3/traces/"+id.String()+"?raw_traces=true", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}

	if resp.StatusCode == http.StatusNotFound {
		return 0, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /api/v3/traces/%s returned %d: %s", id, resp.StatusCode, body)
	}

	var envelope struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return 0, err
	}
	if len(envelope.Result) == 0 {
		return 0, errors.New("response has no result")
	}
	var unmarshaler ptrace.JSONUnmarshaler
	td, err := unmarshaler.UnmarshalTraces(envelope.Result)
	if err != nil {
		return 0, err
	}
	return td.SpanCount(), nil
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.limit; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
