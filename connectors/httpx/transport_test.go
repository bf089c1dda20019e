package httpx_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// waitRecorder replaces RetryTransport.Sleep and keeps each wait.
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

// scriptedServer responds to each request with the next status of its script,
// repeating the last one, and keeps every request body.
type scriptedServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	header   http.Header
	bodies   [][]byte
	lengths  []int64
}

func newScriptedServer(t *testing.T, header http.Header, statuses ...int) *scriptedServer {
	t.Helper()
	s := &scriptedServer{statuses: statuses, header: header}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.lengths = append(s.lengths, r.ContentLength)
		status := s.statuses[min(len(s.bodies), len(s.statuses))-1]
		s.mu.Unlock()
		for k, vs := range s.header {
			if status != http.StatusOK {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"status":` + strconv.Quote(http.StatusText(status)) + `}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scriptedServer) requests() ([][]byte, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.bodies...), append([]int64(nil), s.lengths...)
}

func newRetryClient(rt *httpx.RetryTransport) *http.Client {
	return &http.Client{Transport: rt}
}

func TestRetryTransportResendsBody(t *testing.T) {
	srv := newScriptedServer(t, nil, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusOK)
	rec := &waitRecorder{}
	client := newRetryClient(&httpx.RetryTransport{System: "test", MaxAttempts: 5, Sleep: rec.sleep})
	payload := []byte(`{"query":{"match_all":{}},"size":1000}`)

	// A reader without Len hides the size from net/http, as a streaming
	// body would.
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/_search", io.MultiReader(bytes.NewReader(payload)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 after two retries", resp.StatusCode)
	}

	bodies, lengths := srv.requests()
	if len(bodies) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(bodies))
	}
	for i, body := range bodies {
		if !bytes.Equal(body, payload) {
			t.Errorf("attempt %d sent body %q, want %q", i+1, body, payload)
		}
		if lengths[i] != int64(len(payload)) {
			t.Errorf("attempt %d sent Content-Length %d, want %d", i+1, lengths[i], len(payload))
		}
	}
	if got := len(rec.all()); got != 2 {
		t.Errorf("slept %d times, want 2", got)
	}
}

func TestRetryTransportRetryAfter(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		retryAfter string
		min        time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"http date", now.Add(90 * time.Second).UTC().Format(http.TimeFormat), 80 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptedServer(t, http.Header{"Retry-After": {tt.retryAfter}}, http.StatusTooManyRequests, http.StatusOK)
			rec := &waitRecorder{}
			client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 3, Sleep: rec.sleep})
			resp, err := client.Get(srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			waits := rec.all()
			if len(waits) != 1 {
				t.Fatalf("waits %v, want one", waits)
			}
			if waits[0] < tt.min {
				t.Errorf("waited %v, want at least the Retry-After of %v", waits[0], tt.min)
			}
		})
	}
}

func TestRetryTransportRetryAfterTooLong(t *testing.T) {
	srv := newScriptedServer(t, http.Header{"Retry-After": {"3600"}}, http.StatusTooManyRequests, http.StatusOK)
	rec := &waitRecorder{}
	client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 3, MaxRetryAfter: time.Minute, Sleep: rec.sleep})
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status %d, want the 429 returned at once", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "3600" {
		t.Errorf("Retry-After %q, want it passed to the caller", got)
	}
	if waits := rec.all(); len(waits) != 0 {
		t.Errorf("waits %v, want none", waits)
	}
}

func TestRetryTransportPermanentStatuses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413, 500} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newScriptedServer(t, nil, status, http.StatusOK)
			rec := &waitRecorder{}
			client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 5, Sleep: rec.sleep})
			resp, err := client.Post(srv.URL+"/x", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != status {
				t.Errorf("status %d, want %d", resp.StatusCode, status)
			}
			if !strings.Contains(string(body), "status") {
				t.Errorf("body %q, want the server's body", body)
			}
			if bodies, _ := srv.requests(); len(bodies) != 1 {
				t.Errorf("server saw %d requests, want 1", len(bodies))
			}
			if waits := rec.all(); len(waits) != 0 {
				t.Errorf("waits %v, want none", waits)
			}
		})
	}
}

func TestRetryTransportGivesUp(t *testing.T) {
	srv := newScriptedServer(t, nil, http.StatusServiceUnavailable)
	rec := &waitRecorder{}
	client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 4, MinBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Sleep: rec.sleep})
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want the last 503", resp.StatusCode)
	}
	if !strings.Contains(string(body), "Service Unavailable") {
		t.Errorf("body %q, want the last response's body", body)
	}
	if bodies, _ := srv.requests(); len(bodies) != 4 {
		t.Errorf("server saw %d requests, want 4", len(bodies))
	}

	// Each wait lies between half and all of its exponential ceiling:
	// 100ms, 200ms, then 300ms (the maximum).
	ceilings := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	waits := rec.all()
	if len(waits) != len(ceilings) {
		t.Fatalf("waits %v, want %d", waits, len(ceilings))
	}
	for i, wait := range waits {
		if wait < ceilings[i]/2 || wait > ceilings[i] {
			t.Errorf("wait %d is %v, want between %v and %v", i+1, wait, ceilings[i]/2, ceilings[i])
		}
	}
}

func TestRetryTransportPermanentHook(t *testing.T) {
	srv := newScriptedServer(t, nil, http.StatusServiceUnavailable, http.StatusOK)
	rec := &waitRecorder{}
	var seen []byte
	client := newRetryClient(&httpx.RetryTransport{
		MaxAttempts: 4, Sleep: rec.sleep,
		Permanent: func(status int, _ http.Header, body []byte) bool {
			seen = body
			return status == http.StatusServiceUnavailable
		},
	})
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want the 503 returned at once", resp.StatusCode)
	}
	if !bytes.Equal(body, seen) || len(body) == 0 {
		t.Errorf("caller read %q, hook saw %q; want the same non-empty body", body, seen)
	}
	if bodies, _ := srv.requests(); len(bodies) != 1 {
		t.Errorf("server saw %d requests, want 1", len(bodies))
	}
}

func TestRetryTransportTLSNotRetried(t *testing.T) {
	var connections atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			connections.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()

	rec := &waitRecorder{}
	// The default transport trusts only the system roots, not the test
	// server's own certificate.
	client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 5, Sleep: rec.sleep})
	_, err := client.Get(srv.URL + "/")
	if err == nil {
		t.Fatal("request to an untrusted server succeeded")
	}
	if !httpx.IsTLS(err) {
		t.Errorf("IsTLS(%v) = false, want true", err)
	}
	var te *httpx.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error %T, want a *httpx.TransportError", err)
	}
	if te.Attempts != 1 {
		t.Errorf("attempts %d, want 1", te.Attempts)
	}
	if got := connections.Load(); got != 1 {
		t.Errorf("server saw %d connections, want 1", got)
	}
	if waits := rec.all(); len(waits) != 0 {
		t.Errorf("waits %v, want none", waits)
	}
}

func TestRetryTransportConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	rec := &waitRecorder{}
	client := newRetryClient(&httpx.RetryTransport{System: "test", MaxAttempts: 3, Sleep: rec.sleep})
	_, err = client.Get("http://" + addr + "/")
	var te *httpx.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("error %v, want a *httpx.TransportError", err)
	}
	if te.Attempts != 3 {
		t.Errorf("attempts %d, want 3", te.Attempts)
	}
	if waits := rec.all(); len(waits) != 2 {
		t.Errorf("waits %v, want 2", waits)
	}
}

func TestRetryTransportTimeout(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	rec := &waitRecorder{}
	client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 2, Timeout: 50 * time.Millisecond, Sleep: rec.sleep})
	_, err := client.Get(srv.URL + "/")
	if err == nil {
		t.Fatal("request to a hanging server succeeded")
	}
	if !httpx.IsTimeout(err) {
		t.Errorf("IsTimeout(%v) = false, want true", err)
	}
	// A timed-out request is not resent: it would likely time out again.
	if got := calls.Load(); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestRetryTransportTimeoutCoversBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"partial":`))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	client := newRetryClient(&httpx.RetryTransport{MaxAttempts: 1, Timeout: 100 * time.Millisecond})
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if !httpx.IsTimeout(err) {
		t.Errorf("reading a stalled body: IsTimeout(%v) = false, want true", err)
	}
}

func TestRetryTransportStopsWhenContextEnds(t *testing.T) {
	srv := newScriptedServer(t, nil, http.StatusServiceUnavailable)
	ctx, cancel := context.WithCancel(context.Background())
	client := newRetryClient(&httpx.RetryTransport{
		MaxAttempts: 10,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			cancel()
			return ctx.Err()
		},
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want the last 503", resp.StatusCode)
	}
	if bodies, _ := srv.requests(); len(bodies) != 1 {
		t.Errorf("server saw %d requests, want 1", len(bodies))
	}
}
