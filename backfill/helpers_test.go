package backfill

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

const testPlanName = "backfill-test"

// testBase is the start of the test documents' time range.
var testBase = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// appMapping maps the test documents: service label from service.name,
// the message as line.
func appMapping(indices string) plans.LogMapping {
	return plans.LogMapping{
		Indices: indices, Timestamp: "@timestamp",
		Labels: map[string]string{"service": "service.name"},
		Line:   "message", Parser: plans.ParserNone,
	}
}

// testPlan returns a plan with logs and traces settings and a backfill
// range given in RFC 3339.
func testPlan(logs []plans.LogMapping, traces *plans.Traces, from, to time.Time, slice time.Duration) *plans.Plan {
	p := plans.Default()
	p.APIVersion, p.Kind = plans.APIVersion, plans.Kind
	p.Metadata.Name = testPlanName
	p.Logs = logs
	p.Traces = traces
	p.Phases.ParallelRun.Backfill = plans.BackfillConfig{
		From: from.Format(time.RFC3339Nano), To: to.Format(time.RFC3339Nano), Slice: plans.Duration{Duration: slice},
	}
	return &p
}

func openStore(t testing.TB, path string) *phases.SQLiteStore {
	t.Helper()
	store, err := phases.OpenSQLite(context.Background(), path, testPlanName)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// testLokiLimits are Loki 3.x defaults with old samples allowed and the
// given out-of-order window.
func testLokiLimits(window time.Duration) loki.Limits {
	l := loki.DefaultLimits()
	l.RejectOldSamples = false
	l.AllowStructuredMetadata = true
	l.MaxChunkAge = 2 * window
	l.IngestionRateBytes = 0
	l.Source = "the test"
	return l
}

func newESClient(t testing.TB, url string) *elasticsearch.Client {
	t.Helper()
	c, err := elasticsearch.New(elasticsearch.Config{URLs: []string{url}, Timeout: 10 * time.Second, MaxAttempts: 2, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newLokiWriter(t testing.TB, url string, limits loki.Limits, dl delivery.DeadLetter) *delivery.LokiWriter {
	t.Helper()
	c, err := loki.New(loki.Config{URL: url, Timeout: 10 * time.Second, MaxAttempts: 2, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return delivery.NewLokiWriter(c, limits, dl)
}

// appDocs returns n documents of index over span from start, every
// group documents sharing one timestamp, so pages and batches end inside
// ties.
func appDocs(index string, n, group int, start time.Time, span time.Duration) []standInDoc {
	docs := make([]standInDoc, n)
	step := span / time.Duration((n+group-1)/group)
	for i := range docs {
		ts := start.Add(time.Duration(i/group) * step)
		id := fmt.Sprintf("%s-%05d", index, i)
		docs[i] = standInDoc{
			ID: id, Index: index, Time: ts,
			Source: fmt.Appendf(nil, `{"@timestamp":%q,"message":"request %d handled","service":{"name":"checkout"},"log":{"level":"info"}}`, printNanos(ts), i),
		}
	}
	return docs
}

// memDeadLetter keeps dead letters in memory.
type memDeadLetter struct {
	mu      sync.Mutex
	reasons map[string]int
}

func (d *memDeadLetter) Put(destination, reason, _ string, _ []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reasons == nil {
		d.reasons = map[string]int{}
	}
	d.reasons[destination+"/"+reason]++
	return nil
}

func (d *memDeadLetter) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.reasons {
		n += c
	}
	return n
}

// testLogger logs to the test output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func statePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "plan.state.db")
}
