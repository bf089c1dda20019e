package backfill

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
)

// liveWriter pushes current entries to the plan's own stream, as the dual
// write does, until stopped.
type liveWriter struct {
	client *loki.Client
	next   time.Time
	pushed int
	stop   chan struct{}
	done   sync.WaitGroup
	err    error
}

func startLiveWriter(t *testing.T, url string, from time.Time) *liveWriter {
	t.Helper()
	c, err := loki.New(loki.Config{URL: url, Timeout: 10 * time.Second, MaxAttempts: 2, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	w := &liveWriter{client: c, next: from, stop: make(chan struct{})}
	// The first live entry is in Loki before the backfill starts.
	if err := w.push(t); err != nil {
		t.Fatalf("live push: %v", err)
	}
	w.done.Go(func() {
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if err := w.push(t); err != nil {
				w.err = err
				return
			}
		}
	})
	return w
}

func (w *liveWriter) push(t *testing.T) error {
	entry := push.Entry{Timestamp: w.next, Line: "live request", StructuredMetadata: push.LabelsAdapter{{Name: "es_id", Value: "live-" + w.next.Format(time.RFC3339)}}}
	w.next = w.next.Add(time.Second)
	w.pushed++
	return w.client.Push(t.Context(), []loki.Stream{{Labels: map[string]string{"service": "checkout"}, Entries: []push.Entry{entry}}})
}

func (w *liveWriter) finish() (int, error) {
	close(w.stop)
	w.done.Wait()
	return w.pushed, w.err
}

func TestOutOfOrderStrategy(t *testing.T) {
	const window = time.Hour
	tests := []struct {
		name string
		// label is the stream-separation label; "" is the naive backfill
		// that writes into the live streams.
		label          string
		wantRejections bool
	}{
		{name: "separate backfill streams", label: LabelName, wantRejections: false},
		{name: "naive backfill into live streams", label: "", wantRejections: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to := testBase.Add(6 * time.Hour)
			docs := appDocs("app-logs", 600, 3, testBase, 6*time.Hour)
			f := newLogsFixture(t, window, docs)
			p := testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, to, time.Hour)
			r := f.runner(t, p, Shard{0, 1}, nil)
			r.label = tc.label

			// Live entries start where the backfill ends, when the dual
			// write began, and keep coming while the backfill runs.
			live := startLiveWriter(t, f.loki.URL, to)
			sum, err := r.Run(t.Context())
			livePushed, liveErr := live.finish()
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if liveErr != nil {
				t.Fatalf("live push: %v", liveErr)
			}

			_, received, rejected := f.loki.stats()
			t.Logf("Loki received %d entries and rejected %d; %d live entries pushed", received, rejected, livePushed)
			tooFar := sum.Counts.DeadLettered["loki/"+string(loki.ReasonTooFarBehind)]
			if !tc.wantRejections {
				if rejected != 0 {
					t.Fatalf("Loki rejected %d entries, want none: %v", rejected, f.loki.rejectionBodies())
				}
				var backfilled, liveStored []storedEntry
				for _, e := range f.loki.entries() {
					if _, ok := e.Labels[LabelName]; ok {
						backfilled = append(backfilled, e)
					} else {
						liveStored = append(liveStored, e)
					}
				}
				checkEveryDocumentOnce(t, docs, backfilled)
				if len(liveStored) != livePushed {
					t.Errorf("Loki holds %d live entries, want the %d pushed", len(liveStored), livePushed)
				}
				if tooFar != 0 {
					t.Errorf("dead-lettered %d entries as too far behind", tooFar)
				}
				return
			}
			if rejected == 0 {
				t.Fatal("the naive backfill got no rejection: the test cannot tell the strategies apart")
			}
			if tooFar == 0 {
				t.Errorf("the naive backfill dead-lettered %v, want entries under too_far_behind", sum.Counts.DeadLettered)
			}
			for _, body := range f.loki.rejectionBodies() {
				if !strings.Contains(body, "entry too far behind") {
					t.Errorf("rejection body %q does not follow the recorded one", body)
				}
			}
		})
	}
}
