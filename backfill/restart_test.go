package backfill

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
	"time"
)

// startChild runs the test binary as a backfill process.
func startChild(t *testing.T, cfg string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+cfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

func TestBackfillRestartAfterKill(t *testing.T) {
	const (
		window   = 10 * time.Minute
		pageSize = 50
		// killAt is the push that Loki stores but whose response the
		// killed process never reads.
		killAt = 5
	)
	// 600 documents over the plan's three hours, three per timestamp: a
	// batch spans at most 5 minutes (half the window), about 16
	// documents, so pages end inside ties and batches inside pages.
	docs := appDocs("app-logs", 600, 3, testBase, 3*time.Hour)
	for _, expire := range []bool{false, true} {
		name := "point in time alive"
		if expire {
			name = "point in time expired"
		}
		t.Run(name, func(t *testing.T) {
			es := newESStandIn(t, "@timestamp", docs)
			lk := newTestLoki(t, window)
			state := statePath(t)
			cfg := childConfigJSON(t, childConfig{ESURL: es.URL, LokiURL: lk.URL, State: state, Window: window, PageSize: pageSize})

			reached, release := make(chan struct{}), make(chan struct{})
			lk.mu.Lock()
			lk.beforeReply = func(n int) {
				if n == killAt {
					close(reached)
					<-release
				}
			}
			lk.mu.Unlock()

			first, out := startChild(t, cfg)
			select {
			case <-reached:
			case <-time.After(2 * time.Minute):
				_ = first.Process.Kill()
				t.Fatalf("the backfill did not reach push %d; output:\n%s", killAt, out)
			}
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()
			close(release)

			// The kill came in the middle of the first unit: its checkpoint
			// has a reader position and is not done.
			store := openStore(t, state)
			var rng Range
			if found, err := getJSON(t.Context(), store, artifactRange, &rng); err != nil || !found {
				t.Fatalf("range not pinned by the killed run: %v", err)
			}
			unit := planUnits(restartPlan().Logs, nil, rng)[0]
			var cp Checkpoint
			if found, err := getJSON(t.Context(), store, unit.Key(), &cp); err != nil || !found || cp.Done || cp.Cursor == nil {
				t.Fatalf("checkpoint of %s after the kill: found %v, done %v, cursor %v (%v); want a position inside the unit", unit, found, cp.Done, cp.Cursor, err)
			}
			storedAtKill := len(lk.entries())
			if storedAtKill == 0 || int64(storedAtKill) <= cp.Counts.Entries {
				t.Fatalf("Loki holds %d entries and the checkpoint counts %d: the kill did not fall between a stored push and its checkpoint", storedAtKill, cp.Counts.Entries)
			}

			lk.mu.Lock()
			lk.beforeReply = nil
			lk.mu.Unlock()
			searchesAtKill := len(es.searchLog())
			if expire {
				es.expireAtSearch(searchesAtKill + 1)
			}
			second, out := startChild(t, cfg)
			if err := second.Wait(); err != nil {
				t.Fatalf("restarted backfill failed: %v; output:\n%s", err, out)
			}

			stored := lk.entries()
			checkEveryDocumentOnce(t, docs, stored)
			_, received, rejected := lk.stats()
			if rejected != 0 {
				t.Errorf("Loki rejected %d entries: %v", rejected, lk.rejectionBodies())
			}
			// Only the push whose response was lost is sent again.
			replayed := received - len(docs)
			if replayed < 1 || replayed > storedAtKill-int(cp.Counts.Entries) {
				t.Errorf("%d entries were sent twice, want between 1 and the %d of the unacknowledged push", replayed, storedAtKill-int(cp.Counts.Entries))
			}
			// The restarted reader resumed inside the unit instead of
			// reading it from its start.
			resumed := false
			for _, s := range es.searchLog()[searchesAtKill:] {
				if s.Expired {
					continue
				}
				resumed = len(s.SearchAfter) > 0 || len(s.LowerBounds) > 1
				break
			}
			if !resumed {
				t.Errorf("the restarted backfill read the unit from its start; searches: %+v", es.searchLog()[searchesAtKill:])
			}
		})
	}
}
