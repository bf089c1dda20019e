package tempo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/recording"
)

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

func TestBuildInfoRecorded(t *testing.T) {
	ex := load(t, "status_buildinfo")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)

	info, err := c.BuildInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]string
	if err := json.Unmarshal(ex.Response.Body, &want); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"version": info.Version, "revision": info.Revision, "branch": info.Branch, "goVersion": info.GoVersion}
	for key, value := range got {
		if value == "" || value != want[key] {
			t.Errorf("BuildInfo %s = %q, recording has %q", key, value, want[key])
		}
	}
	if !strings.HasPrefix(info.Version, "v3.") {
		t.Errorf("Version = %q, expected a 3.x version from a Tempo 3.0.3 recording", info.Version)
	}
}

func TestBuildInfoRejectsOtherJSON(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Handle("GET", "/api/status/buildinfo", &recording.Response{Status: 200, Body: []byte(`{"status":"success"}`)})
	c, _ := newTestClient(t, srv.URL, nil)
	if _, err := c.BuildInfo(context.Background()); err == nil || !strings.Contains(err.Error(), "no version") {
		t.Errorf("BuildInfo error = %v, expected one saying there is no version", err)
	}
}

func TestReady(t *testing.T) {
	t.Run("recorded ready", func(t *testing.T) {
		srv := recording.NewServer(t)
		srv.Replay(load(t, "status_ready"))
		c, _ := newTestClient(t, srv.URL, nil)
		if err := c.Ready(context.Background()); err != nil {
			t.Errorf("Ready: %v", err)
		}
	})
	t.Run("not ready is not retried", func(t *testing.T) {
		srv := recording.NewServer(t)
		srv.Handle("GET", "/ready", &recording.Response{Status: 503, Body: []byte("Ingester not ready: waiting for 15s after being ready")})
		c, s := newTestClient(t, srv.URL, nil)
		err := c.Ready(context.Background())
		var te *Error
		if !errors.As(err, &te) {
			t.Fatalf("Ready error = %v, expected *Error", err)
		}
		if te.Status != 503 || !strings.Contains(te.Message, "waiting for 15s") {
			t.Errorf("Ready error status %d message %q", te.Status, te.Message)
		}
		if reqs, _ := srv.Requests(); len(reqs) != 1 || len(s.all()) != 0 {
			t.Errorf("Ready sent %d requests and slept %v, expected one request and no sleep", len(reqs), s.all())
		}
	})
}

func TestCredentialsSentAndNeverInErrors(t *testing.T) {
	const token = "secret-token-7f3a"
	srv := recording.NewServer(t)
	srv.Handle("GET", "/api/status/buildinfo", &recording.Response{Status: 401, Body: []byte("unauthorized")})
	srv.Handle("POST", "/v1/traces", &recording.Response{Status: 403, Body: []byte("forbidden")})
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) {
		cfg.Token = token
		cfg.Tenant = "team-a"
	})

	_, apiErr := c.BuildInfo(context.Background())
	_, pushErr := c.PushHTTP(context.Background(), sampleTraces())
	for name, err := range map[string]error{"BuildInfo": apiErr, "PushHTTP": pushErr} {
		if err == nil {
			t.Fatalf("%s: no error for a 401/403", name)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("%s error contains the token: %v", name, err)
		}
		if !strings.Contains(err.Error(), "targets.tempo.token") {
			t.Errorf("%s error %q does not point at the token setting", name, err)
		}
	}
	reqs, _ := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("server got %d requests, expected 2", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.URL.Path, got)
		}
		if got := r.Header.Get("X-Scope-OrgID"); got != "team-a" {
			t.Errorf("%s %s: X-Scope-OrgID = %q", r.Method, r.URL.Path, got)
		}
	}
}

func TestNoTenantHeaderWithoutTenant(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Replay(load(t, "status_ready"))
	c, _ := newTestClient(t, srv.URL, nil)
	if err := c.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs, _ := srv.Requests()
	if _, ok := reqs[0].Header["X-Scope-Orgid"]; ok {
		t.Errorf("X-Scope-OrgID sent without a tenant: %q", reqs[0].Header.Get("X-Scope-OrgID"))
	}
	if got := reqs[0].Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization sent without a token: %q", got)
	}
}

func TestRequestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c, s := newTestClient(t, srv.URL, func(cfg *Config) {
		cfg.Timeout = 50 * time.Millisecond
		cfg.MaxAttempts = 2
	})
	_, err := c.BuildInfo(context.Background())
	if !httpx.IsTimeout(err) {
		t.Fatalf("BuildInfo error = %v, expected a timeout", err)
	}
	var te *Error
	if !errors.As(err, &te) {
		t.Errorf("timeout error is %T, expected *Error", err)
	}
	if !IsRetryable(err) {
		t.Errorf("IsRetryable(timeout) = false")
	}
	// A timed-out request is not resent: it would likely time out again.
	if len(s.all()) != 0 {
		t.Errorf("slept %v, expected no retry after a timeout", s.all())
	}
}

func TestTLS(t *testing.T) {
	ex := load(t, "status_buildinfo")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ex.Response.Write(w)
	}))
	t.Cleanup(srv.Close)

	t.Run("unknown CA", func(t *testing.T) {
		c, _ := newTestClient(t, srv.URL, nil)
		_, err := c.BuildInfo(context.Background())
		if !httpx.IsTLS(err) {
			t.Fatalf("BuildInfo error = %v, expected a TLS error", err)
		}
		if IsRetryable(err) {
			t.Errorf("IsRetryable(TLS failure) = true")
		}
	})
	t.Run("CA file", func(t *testing.T) {
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.TLS = httpx.TLS{CAFile: caFile} })
		info, err := c.BuildInfo(context.Background())
		if err != nil {
			t.Fatalf("BuildInfo with the CA file: %v", err)
		}
		if info.Version == "" {
			t.Error("empty version over TLS")
		}
	})
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing URL", Config{}, "missing URL"},
		{"URL with credentials", Config{URL: "http://user:pw@tempo:3200"}, "carries credentials"},
		{"URL without scheme", Config{URL: "tempo:3200/x"}, "invalid URL"},
		{"OTLP/HTTP without scheme", Config{URL: "http://tempo:3200", OTLPHTTP: "tempo"}, "OTLP/HTTP"},
		{"gRPC without port", Config{URL: "http://tempo:3200", OTLPGRPC: "tempo"}, "write it as host:port"},
		{"gRPC with credentials", Config{URL: "http://tempo:3200", OTLPGRPC: "user:pw@tempo:4317"}, "credentials"},
		{"missing CA file", Config{URL: "http://tempo:3200", TLS: httpx.TLS{CAFile: "/nonexistent/ca.pem"}}, "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err == nil {
				_ = c.Close()
				t.Fatalf("New accepted %+v", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, expected it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("New error shows the password: %q", err)
			}
		})
	}
}

func TestOTLPHTTPAcceptsFullPath(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Replay(load(t, "otlp_http_json_push_ok"))
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.OTLPHTTP = srv.URL + "/v1/traces" })
	if _, err := c.PushHTTP(context.Background(), sampleTraces()); err != nil {
		t.Fatalf("PushHTTP to a base URL ending in /v1/traces: %v", err)
	}
	reqs, _ := srv.Requests()
	if reqs[0].URL.Path != "/v1/traces" {
		t.Errorf("push went to %s, expected /v1/traces", reqs[0].URL.Path)
	}
}
