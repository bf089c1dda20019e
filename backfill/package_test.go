package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

// childEnv holds the JSON childConfig when the test binary runs as a
// backfill child process for the restart test.
const childEnv = "MIGRATE_BACKFILL_TEST_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg))
	}
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of the HTTP clients, closed by the
		// transports later.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// childConfig is what a child backfill process runs against.
type childConfig struct {
	ESURL, LokiURL, State, DeadLetter string
	Window                            time.Duration
	PageSize                          int
}

// restartPlan is the plan of the restart test: one logs entry over three
// hour-long slices.
func restartPlan() *plans.Plan {
	return testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, testBase.Add(3*time.Hour), time.Hour)
}

// runChild runs the backfill as the restart test's child process and
// returns its exit status.
func runChild(raw string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child: invalid config:", err)
		return 2
	}
	if err := childBackfill(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func childBackfill(ctx context.Context, cfg childConfig) error {
	store, err := phases.OpenSQLite(ctx, cfg.State, testPlanName)
	if err != nil {
		return err
	}
	defer store.Close()

	es, err := elasticsearch.New(elasticsearch.Config{URLs: []string{cfg.ESURL}, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	lc, err := loki.New(loki.Config{URL: cfg.LokiURL, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	dl, err := delivery.OpenFileDeadLetter(cfg.DeadLetter)
	if err != nil {
		return err
	}
	defer dl.Close()

	limits := testLokiLimits(cfg.Window)
	r, err := New(Config{
		Plan: restartPlan(), Store: store, Shard: Shard{0, 1},
		Elasticsearch: es, Loki: delivery.NewLokiWriter(lc, limits, dl), LokiLimits: limits,
		DeadLetter: dl, PageSize: cfg.PageSize,
	})
	if err != nil {
		return err
	}
	sum, err := r.Run(ctx)
	if err != nil {
		return err
	}
	sum.WriteText(os.Stdout)
	return nil
}

func childConfigJSON(t *testing.T, cfg childConfig) string {
	t.Helper()
	if cfg.DeadLetter == "" {
		cfg.DeadLetter = filepath.Join(t.TempDir(), "dead-letter.jsonl")
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
