package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/internal/recording"
)

// recordings is the folder of the recorded Elasticsearch exchanges.
const recordings = "elasticsearch-8"

func load(t testing.TB, name string) *recording.Exchange {
	t.Helper()
	return recording.MustLoad(t, recordings, name)
}

// waitRecorder replaces Config.Sleep and keeps each wait.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = append(w.waits, d)
	return nil
}

func (w *waitRecorder) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits...)
}

// newTestClient returns a client for url that sleeps through rec.
func newTestClient(t testing.TB, url string, mutate func(*Config)) (*Client, *waitRecorder) {
	t.Helper()
	rec := &waitRecorder{}
	cfg := Config{URLs: []string{url}, Timeout: 5 * time.Second, MaxAttempts: 3, Sleep: rec.sleep}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// withBody returns a copy of a recorded response with another body. The
// status and headers, X-Elastic-Product included, stay as recorded.
func withBody(resp *recording.Response, body []byte) *recording.Response {
	return &recording.Response{Status: resp.Status, Header: resp.Header.Clone(), Body: body}
}

// withJSON is withBody with a value encoded as JSON.
func withJSON(t testing.TB, resp *recording.Response, v any) *recording.Response {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return withBody(resp, data)
}

// withHeader returns a copy of resp with one more header.
func withHeader(resp *recording.Response, key, value string) *recording.Response {
	out := withBody(resp, resp.Body)
	out.Header.Set(key, value)
	return out
}

// decodeMap decodes a recorded JSON body into a generic value.
func decodeMap(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return m
}

// requestsTo returns the bodies of the requests sent with method and path.
func requestsTo(srv *recording.Server, method, path string) ([]*http.Request, [][]byte) {
	reqs, bodies := srv.Requests()
	var outReqs []*http.Request
	var outBodies [][]byte
	for i, r := range reqs {
		if r.Method == method && r.URL.Path == path {
			outReqs = append(outReqs, r)
			outBodies = append(outBodies, bodies[i])
		}
	}
	return outReqs, outBodies
}
