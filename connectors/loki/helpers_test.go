package loki

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/internal/recording"
)

// recordings is the folder of the Loki 3.7.6 recordings.
const recordings = "loki-3.7.6"

func load(t testing.TB, name string) *recording.Exchange {
	t.Helper()
	return recording.MustLoad(t, recordings, name)
}

// sleepRecorder replaces the client's Sleep: it records each wait and
// returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient returns a client for url whose waits are recorded, with
// 3 attempts and a 5 s timeout unless change sets others.
func newTestClient(t testing.TB, url string, change func(*Config)) (*Client, *sleepRecorder) {
	t.Helper()
	rec := &sleepRecorder{}
	cfg := Config{URL: url, MaxAttempts: 3, Timeout: 5 * time.Second, Sleep: rec.sleep}
	if change != nil {
		change(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// streamsFromJSONPush converts a recorded JSON push body into Streams, so
// a test can send the recorded batch through Push.
func streamsFromJSONPush(t testing.TB, body []byte) []Stream {
	t.Helper()
	var req struct {
		Streams []struct {
			Stream map[string]string   `json:"stream"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("recorded push body is not JSON: %v", err)
	}
	streams := make([]Stream, 0, len(req.Streams))
	for _, s := range req.Streams {
		stream := Stream{Labels: s.Stream}
		for _, v := range s.Values {
			var ts, line string
			if err := json.Unmarshal(v[0], &ts); err != nil {
				t.Fatalf("recorded timestamp %s: %v", v[0], err)
			}
			if err := json.Unmarshal(v[1], &line); err != nil {
				t.Fatalf("recorded line: %v", err)
			}
			ns, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				t.Fatalf("recorded timestamp %q: %v", ts, err)
			}
			entry := push.Entry{Timestamp: time.Unix(0, ns).UTC(), Line: line}
			if len(v) == 3 {
				var sm map[string]string
				if err := json.Unmarshal(v[2], &sm); err != nil {
					t.Fatalf("recorded structured metadata: %v", err)
				}
				entry.StructuredMetadata = sortedLabels(sm)
			}
			stream.Entries = append(stream.Entries, entry)
		}
		streams = append(streams, stream)
	}
	return streams
}
