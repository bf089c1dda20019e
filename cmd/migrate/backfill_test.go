package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/obs-migrate/migrate/internal/jaegertest"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/phases"
)

// lokiConfigServer serves a recorded Loki 3.7.6 /config.
func lokiConfigServer(t *testing.T, name string) string {
	t.Helper()
	srv := recording.NewServer(t)
	srv.Replay(recording.MustLoad(t, "loki-3.7.6", name))
	return srv.URL
}

// logsBackfillPlan writes a plan whose Elasticsearch is a closed port and
// whose Loki serves only /config.
func logsBackfillPlan(t *testing.T, dir, lokiURL, from, to string) string {
	t.Helper()
	return writePlan(t, dir, fmt.Sprintf(`apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: bf}
sources:
  elasticsearch: {url: "http://127.0.0.1:1"}
targets:
  loki: {url: %q}
logs:
  - indices: "app-*"
    timestamp: "@timestamp"
    labels: {service: service.name}
    line: message
phases:
  parallel_run:
    backfill: {from: %q, to: %q, slice: 6h}
`, lokiURL, from, to))
}

func TestBackfillUsageErrors(t *testing.T) {
	dir := t.TempDir()
	plan := logsBackfillPlan(t, dir, "http://127.0.0.1:1", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("apiVersion: migrate/v1alpha1\nkind: MigrationPlan\nmetadata: {name: empty}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no plan", []string{"backfill"}, "expected one PLAN file"},
		{"shard out of range", []string{"backfill", plan, "--shard", "2/2"}, "--shard: invalid shard 2/2"},
		{"shard not I/N", []string{"backfill", plan, "--shard", "two"}, "write it as I/N"},
		{"headroom of one", []string{"backfill", plan, "--headroom", "1"}, "invalid --headroom 1"},
		{"page size too large", []string{"backfill", plan, "--page-size", "20000"}, "invalid --page-size"},
		{"nothing to copy", []string{"backfill", empty}, "nothing to backfill"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "", append(tc.args, "--state", filepath.Join(dir, tc.name+".db"))...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d (usage); stderr: %s", code, exitUsage, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.want)
			}
		})
	}
}

func TestBackfillHelpNamesExitStatus(t *testing.T) {
	code, out, _ := runCLI(t, "", "backfill", "--help")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Exit status: 0 when", "3 with --strict", "--shard", "--dry-run", "migrate_backfill"} {
		if !strings.Contains(out, want) {
			t.Errorf("help does not contain %q", want)
		}
	}
}

func TestBackfillRejectsRecordedLokiLimits(t *testing.T) {
	// The recorded defaults-like Loki rejects samples older than a week,
	// and the plan backfills from 30 days back.
	dir := t.TempDir()
	plan := logsBackfillPlan(t, dir, lokiConfigServer(t, "defaults_status_config_yaml"), "now-30d", "now")
	state := filepath.Join(dir, "plan.state.db")
	code, out, errOut := runCLI(t, "", "backfill", plan, "--state", state)
	if code != exitError {
		t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, exitError, out, errOut)
	}
	for _, want := range []string{"reject_old_samples_max_age", "Loki limits from config endpoint", "Fix: set reject_old_samples: false"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q does not contain %q", errOut, want)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*dead-letter*"))
	if len(matches) != 0 {
		t.Errorf("a rejected backfill created %v", matches)
	}
	store, err := phases.OpenSQLite(t.Context(), state, "bf")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, found, _ := store.Artifact(t.Context(), "backfill.range"); found {
		t.Error("a rejected backfill pinned its range")
	}
}

func TestBackfillDryRunListsUnits(t *testing.T) {
	dir := t.TempDir()
	plan := logsBackfillPlan(t, dir, lokiConfigServer(t, "status_config_yaml"), "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
	code, out, errOut := runCLI(t, "", "backfill", plan, "--dry-run", "--state", filepath.Join(dir, "s.db"), "--shard", "1/2")
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errOut)
	}
	for _, want := range []string{
		"backfill of plan bf, shard 1/2: dry run, nothing written (0 of 2 units; 0 of 4 over all shards)",
		"would copy  logs app-* [2026-03-01T12:00:00Z, 2026-03-01T18:00:00Z)",
		"would copy  logs app-* [2026-03-01T18:00:00Z, 2026-03-02T00:00:00Z)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not contain %q:\n%s", want, out)
		}
	}
}

// otlpReceiver counts the spans of each trace it receives over OTLP/HTTP.
type otlpReceiver struct {
	mu    sync.Mutex
	spans map[pcommon.TraceID]int
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	er := ptraceotlp.NewExportRequest()
	if err := er.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	rss := er.Traces().ResourceSpans()
	for i := range rss.Len() {
		for k := range rss.At(i).ScopeSpans().Len() {
			spans := rss.At(i).ScopeSpans().At(k).Spans()
			for s := range spans.Len() {
				r.spans[spans.At(s).TraceID()]++
			}
		}
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	data, _ := ptraceotlp.NewExportResponse().MarshalProto()
	_, _ = w.Write(data)
}

func TestBackfillTracesFromRealJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	start := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	td := ptrace.NewTraces()
	id := pcommon.TraceID{0xcb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	for i, service := range []string{"cli-frontend", "cli-db"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetTraceID(id)
		span.SetSpanID(pcommon.SpanID{0xcb, byte(i + 1)})
		if i > 0 {
			span.SetParentSpanID(pcommon.SpanID{0xcb, 1})
		}
		span.SetName("op")
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Millisecond)))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(10 * time.Millisecond)))
	}
	j.Load(t, td)

	tempoAPI := recording.NewServer(t)
	tempoAPI.Replay(recording.MustLoad(t, "tempo-3.0.3", "status_config_yaml"))
	receiver := &otlpReceiver{spans: map[pcommon.TraceID]int{}}
	otlp := httptest.NewServer(receiver)
	t.Cleanup(otlp.Close)

	dir := t.TempDir()
	plan := writePlan(t, dir, fmt.Sprintf(`apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: bf-traces}
sources:
  jaeger: {grpc: %q}
targets:
  tempo: {url: %q, otlp_http: %q}
traces: {services: ["*"]}
phases:
  parallel_run:
    backfill: {from: %q, to: %q, slice: 1h}
`, j.QueryGRPC, tempoAPI.URL, otlp.URL, start.Add(-30*time.Minute).Format(time.RFC3339), start.Add(30*time.Minute).Format(time.RFC3339)))
	state := filepath.Join(dir, "plan.state.db")

	code, out, errOut := runCLI(t, "", "backfill", plan, "--state", state)
	if code != exitOK {
		t.Fatalf("exit %d; stdout %s; stderr %s", code, out, errOut)
	}
	for _, want := range []string{"shard 0/1: done (2 of 2 units", "1 traces sent, 2 spans written"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary does not contain %q:\n%s", want, out)
		}
	}
	receiver.mu.Lock()
	got := receiver.spans[id]
	receiver.mu.Unlock()
	if got != 2 {
		t.Errorf("Tempo received %d spans of the trace, want 2", got)
	}

	// A second run finds the units done and sends nothing.
	code, out, errOut = runCLI(t, "", "backfill", plan, "--state", state)
	if code != exitOK {
		t.Fatalf("second run: exit %d; stderr %s", code, errOut)
	}
	receiver.mu.Lock()
	got = receiver.spans[id]
	receiver.mu.Unlock()
	if got != 2 {
		t.Errorf("after a second run Tempo holds %d spans of the trace, want still 2", got)
	}
	if !strings.Contains(out, "done (2 of 2 units") {
		t.Errorf("second summary:\n%s", out)
	}
}

func TestBackfillInterruptedKeepsCheckpoint(t *testing.T) {
	j := jaegertest.Start(t)
	start := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "cli-interrupted")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{0xc1, 1})
	span.SetSpanID(pcommon.SpanID{0xc1, 1})
	span.SetName("op")
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	j.Load(t, td)

	// Tempo is unavailable, and the operator presses Ctrl-C during the
	// first request.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	unavailable := recording.MustLoad(t, "tempo-3.0.3", "err_rate_limit_429_retry_after").Response
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cancel()
		unavailable.Write(w)
	}))
	t.Cleanup(otlp.Close)
	tempoAPI := recording.NewServer(t)
	tempoAPI.Replay(recording.MustLoad(t, "tempo-3.0.3", "status_config_yaml"))

	dir := t.TempDir()
	plan := writePlan(t, dir, fmt.Sprintf(`apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: bf-interrupted}
sources:
  jaeger: {grpc: %q}
targets:
  tempo: {url: %q, otlp_http: %q}
traces: {services: ["*"]}
phases:
  parallel_run:
    backfill: {from: %q, to: %q, slice: 1h}
`, j.QueryGRPC, tempoAPI.URL, otlp.URL, start.Add(-30*time.Minute).Format(time.RFC3339), start.Add(30*time.Minute).Format(time.RFC3339)))

	var out, errOut strings.Builder
	code := run(ctx, []string{"backfill", plan, "--state", filepath.Join(dir, "plan.state.db")}, strings.NewReader(""), &out, &errOut)
	if code != exitError {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitError, errOut.String())
	}
	if !strings.Contains(errOut.String(), "backfill interrupted") || !strings.Contains(errOut.String(), "run the same command again to resume") {
		t.Errorf("stderr %q does not say the backfill was interrupted and how to resume", errOut.String())
	}
	if !strings.Contains(out.String(), "shard 0/1: not done (0 of 1 units") {
		t.Errorf("summary:\n%s", out.String())
	}
}
