// Package vlogstest runs a real VictoriaLogs v1.52.2 binary (bin/victoria-logs,
// built by `make bin/victoria-logs`) for tests. VictoriaLogs accepts the
// Elasticsearch _bulk API under /insert/elasticsearch and Loki's push API
// under /insert/loki, so one process can stand in for the Elasticsearch
// primary or for Loki's write path. LogsQL queries count what arrived.
package vlogstest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of the harness.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	queryTimeout = 10 * time.Second
	// outputLimit bounds the process output kept for failure messages.
	outputLimit = 16 << 10
)

// missingBinary is the hint given when bin/victoria-logs does not exist.
const missingBinary = "run make bin/victoria-logs (make test builds it)"

// VictoriaLogs is a running VictoriaLogs process on 127.0.0.1.
type VictoriaLogs struct {
	// URL is the base URL, such as http://127.0.0.1:40123.
	URL string

	cmd     *exec.Cmd
	output  *tailBuffer
	exited  chan struct{}
	exitErr error
	client  *http.Client
}

// ElasticsearchURL returns the base URL of the Elasticsearch-compatible API:
// GET / returns an 8.x version, and _bulk is under it.
func (v *VictoriaLogs) ElasticsearchURL() string { return v.URL + "/insert/elasticsearch" }

// LokiURL returns the base URL to give a Loki client: the client appends
// /loki/api/v1/push, which VictoriaLogs serves at /insert/loki/api/v1/push.
func (v *VictoriaLogs) LokiURL() string { return v.URL + "/insert" }

// Start runs bin/victoria-logs (or the binary named by
// MIGRATE_VICTORIALOGS_BIN) on a free port of 127.0.0.1 with its data in a
// temporary folder, and waits until /health returns 200. The process is
// stopped when the test ends. A missing binary skips the test, or fails it
// when the CI variable is set.
func Start(t testing.TB) *VictoriaLogs {
	t.Helper()
	bin := binaryPath()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("victoria-logs binary %s not found: %s", bin, missingBinary)
		}
		t.Skipf("victoria-logs binary %s not found: %s", bin, missingBinary)
	}
	// A free port found by listening and closing can be taken by another
	// process before VictoriaLogs binds it, so a bind failure gets a retry.
	var lastErr error
	for range 3 {
		v, err := start(t, bin)
		if err == nil {
			return v
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// binaryPath returns MIGRATE_VICTORIALOGS_BIN, or bin/victoria-logs in the
// repository.
func binaryPath() string {
	if bin := os.Getenv("MIGRATE_VICTORIALOGS_BIN"); bin != "" {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "bin", "victoria-logs")
}

func start(t testing.TB, bin string) (*VictoriaLogs, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	v := &VictoriaLogs{
		URL:    fmt.Sprintf("http://127.0.0.1:%d", port),
		output: &tailBuffer{limit: outputLimit},
		exited: make(chan struct{}),
		client: &http.Client{Timeout: queryTimeout},
	}
	v.cmd = exec.Command(bin,
		fmt.Sprintf("-httpListenAddr=127.0.0.1:%d", port),
		"-storageDataPath="+filepath.Join(t.TempDir(), "data"),
		"-loggerLevel=WARN",
	)
	v.cmd.Stdout = v.output
	v.cmd.Stderr = v.output
	if err := v.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		v.exitErr = v.cmd.Wait()
		close(v.exited)
	}()
	if err := v.waitReady(); err != nil {
		v.stop()
		return nil, err
	}
	t.Cleanup(v.stop)
	return v, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (v *VictoriaLogs) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-v.exited:
			return fmt.Errorf("victoria-logs exited before it was ready (%v); output:\n%s", v.exitErr, v.output.String())
		default:
		}
		lastErr = v.probe()
		if lastErr == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("victoria-logs was not ready after %s: %v; output:\n%s", readyTimeout, lastErr, v.output.String())
}

func (v *VictoriaLogs) probe() error {
	resp, err := v.client.Get(v.URL + "/health")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health returned %d", resp.StatusCode)
	}
	return nil
}

// stop sends SIGTERM and kills the process if it has not exited within
// stopTimeout.
func (v *VictoriaLogs) stop() {
	select {
	case <-v.exited:
		return
	default:
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.exited:
	case <-time.After(stopTimeout):
		_ = v.cmd.Process.Kill()
		<-v.exited
	}
}

// Output returns the last 16 KiB of the process's stdout and stderr.
func (v *VictoriaLogs) Output() string { return v.output.String() }

// Query runs a LogsQL query on /select/logsql/query and returns one map per
// result line. VictoriaLogs returns every value as a string.
func (v *VictoriaLogs) Query(ctx context.Context, logsql string) ([]map[string]string, error) {
	form := url.Values{"query": {logsql}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.URL+"/select/logsql/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("LogsQL query %q: %w", logsql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("LogsQL query %q: reading the response: %w", logsql, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("LogsQL query %q returned %d: %s", logsql, resp.StatusCode, bytes.TrimSpace(body))
	}
	var rows []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		row := map[string]string{}
		if err := json.Unmarshal(line, &row); err != nil {
			return nil, fmt.Errorf("LogsQL query %q: decoding result line %q: %w", logsql, line, err)
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

// Number runs a LogsQL query whose single result row holds one numeric
// field, such as `* | count() as n`, and returns that field's value.
func (v *VictoriaLogs) Number(ctx context.Context, logsql, field string) (int64, error) {
	rows, err := v.Query(ctx, logsql)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if len(rows) > 1 {
		return 0, fmt.Errorf("LogsQL query %q returned %d rows, want one", logsql, len(rows))
	}
	s, ok := rows[0][field]
	if !ok {
		return 0, fmt.Errorf("LogsQL query %q returned no field %q: %v", logsql, field, rows[0])
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("LogsQL query %q: field %q = %q is not an integer", logsql, field, s)
	}
	return n, nil
}

// WaitNumber polls Number until it returns at least want or timeout passes,
// and returns the last value read. VictoriaLogs makes new data searchable
// after a short delay, so a test polls instead of reading once.
func (v *VictoriaLogs) WaitNumber(t testing.TB, logsql, field string, want int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var (
		got     int64
		lastErr error
	)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		got, lastErr = v.Number(ctx, logsql, field)
		cancel()
		if lastErr == nil && got >= want {
			return got
		}
		if time.Now().After(deadline) {
			if lastErr != nil {
				t.Errorf("victoria-logs %s: %v", v.URL, lastErr)
			}
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
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
