package httpx

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordSleep replaces the client's sleep and keeps each wait.
type recordSleep struct{ waits []time.Duration }

func (r *recordSleep) sleep(_ context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return nil
}

func newTestClient(t *testing.T, url string, mutate func(*Config)) (*Client, *recordSleep) {
	t.Helper()
	rec := &recordSleep{}
	cfg := Config{System: "test", BaseURL: url, Sleep: rec.sleep, MaxAttempts: 4, Timeout: 2 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func TestRetryAfterHonoured(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c, rec := newTestClient(t, srv.URL, nil)
	resp, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 2 || string(resp.Body) != "ok" {
		t.Errorf("attempts %d body %q", resp.Attempts, resp.Body)
	}
	if len(rec.waits) != 1 || rec.waits[0] < 7*time.Second {
		t.Errorf("waits %v, want one wait of at least 7s", rec.waits)
	}
}

func TestBackoffJitteredAndCapped(t *testing.T) {
	c, _ := newTestClient(t, "http://127.0.0.1:1", func(cfg *Config) {
		cfg.MinBackoff = 100 * time.Millisecond
		cfg.MaxBackoff = time.Second
	})
	seen := map[time.Duration]bool{}
	for attempt := 1; attempt <= 10; attempt++ {
		for range 20 {
			d := c.backoff(attempt)
			ceiling := min(100*time.Millisecond<<(attempt-1), time.Second)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, ceiling/2, ceiling)
			}
			seen[d] = true
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct waits: backoff is not jittered", len(seen))
	}
}

func TestPermanentNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.Error(w, "entry too far behind", status)
		}))
		c, _ := newTestClient(t, srv.URL, nil)
		_, err := c.Do(context.Background(), Request{Method: "POST", Path: "/push", Body: []byte("x")})
		srv.Close()
		if StatusOf(err) != status {
			t.Errorf("status %d: error %v", status, err)
		}
		if calls.Load() != 1 {
			t.Errorf("status %d: %d calls, want 1", status, calls.Load())
		}
		if err != nil && !strings.Contains(err.Error(), "entry too far behind") {
			t.Errorf("status %d: error lost the body: %v", status, err)
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	var calls atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		buf := make([]byte, 16)
		n, _ := r.Body.Read(buf)
		bodies = append(bodies, string(buf[:n]))
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, rec := newTestClient(t, srv.URL, nil)
	_, err := c.Do(context.Background(), Request{Method: "POST", Path: "/", Body: []byte("payload")})
	if StatusOf(err) != 503 || calls.Load() != 4 || len(rec.waits) != 3 {
		t.Fatalf("err %v, calls %d, waits %d", err, calls.Load(), len(rec.waits))
	}
	for i, b := range bodies {
		if b != "payload" {
			t.Errorf("attempt %d sent body %q", i+1, b)
		}
	}
	if !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error does not count attempts: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.MaxAttempts = 2
	})
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/"})
	if !IsTimeout(err) {
		t.Fatalf("error %v is not a timeout", err)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("message gives no hint: %v", err)
	}
}

func TestTLSFailureAndCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c, rec := newTestClient(t, srv.URL, nil)
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/"})
	if !IsTLS(err) {
		t.Fatalf("error %v is not a TLS error", err)
	}
	if len(rec.waits) != 0 {
		t.Errorf("a TLS failure was retried %d times", len(rec.waits))
	}

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ = newTestClient(t, srv.URL, func(cfg *Config) { cfg.TLS = TLS{CAFile: caFile} })
	if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/"}); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		http.Error(w, "denied", http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, auth := range []Auth{{Username: "u", Password: secret}, {Token: secret}, {APIKey: secret}} {
		c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Auth = auth })
		_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/", Query: map[string][]string{"q": {"a"}}})
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("error %v leaks or is missing", err)
		}
		if gotAuth == "" {
			t.Errorf("no Authorization header sent for %+v", auth.Username)
		}
	}
	if _, err := New(Config{System: "x", BaseURL: "http://user:" + secret + "@host:1"}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("URL with credentials: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5", 5 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "Wed, 21 Oct 2015 07:28:00 GMT", "", "-3", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _ := ParseRetryAfter(s, time.Now())
		if d < 0 {
			t.Errorf("negative wait %v for %q", d, s)
		}
	})
}

func TestRetryAfterBeyondLimitStops(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "later", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, rec := newTestClient(t, srv.URL, func(cfg *Config) { cfg.MaxRetryAfter = time.Minute })
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/"})
	var se *StatusError
	if !errors.As(err, &se) || se.RetryAfter != time.Hour {
		t.Fatalf("error %v, want a StatusError with RetryAfter 1h", err)
	}
	if calls.Load() != 1 || len(rec.waits) != 0 {
		t.Errorf("calls %d waits %v: a wait past MaxRetryAfter was taken", calls.Load(), rec.waits)
	}
}

func TestClientCertificateRequiredNotRetried(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c, rec := newTestClient(t, srv.URL, func(cfg *Config) { cfg.TLS = TLS{CAFile: caFile} })
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/"})
	if !IsTLS(err) {
		t.Fatalf("error %v is not a TLS error", err)
	}
	if len(rec.waits) != 0 {
		t.Errorf("a rejected handshake was retried %d times", len(rec.waits))
	}
	if !strings.Contains(err.Error(), "TLS failed") {
		t.Errorf("no TLS hint in %v", err)
	}
}

func TestEchoedSecretsRedacted(t *testing.T) {
	const user, password, token = "migrate", "EsPassw0rdXYZ", "LokiTok3nXYZ"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "denied for header: "+r.Header.Get("Authorization"), http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, auth := range []Auth{{Username: user, Password: password}, {Token: token}, {APIKey: token}} {
		c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Auth = auth })
		_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/"})
		if err == nil {
			t.Fatal("no error")
		}
		for _, secret := range auth.Secrets() {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret %q", err, secret)
			}
		}
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("error %q: the echoed credential was not replaced", err)
		}
	}
}
