package loki

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/recording"
)

const secretPassword = "s3cr3t-Pa55word"

func TestNewRejectsAmbiguousAuth(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"basic and bearer", Config{URL: "http://127.0.0.1:1", Username: "u", Password: secretPassword, Token: "t"}, "both username and token"},
		{"password alone", Config{URL: "http://127.0.0.1:1", Password: secretPassword}, "without a username"},
		{"credentials in URL", Config{URL: "http://u:" + secretPassword + "@127.0.0.1:1"}, "carries credentials"},
		{"no scheme", Config{URL: "127.0.0.1:3100"}, "invalid URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("New accepted the config")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretPassword) {
				t.Errorf("err %q shows the password", err)
			}
		})
	}
}

func TestHeadersSent(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*Config)
		auth    string
		hasAuth bool
		tenant  string
	}{
		{"basic", func(c *Config) { c.Username, c.Password = "migrator", secretPassword }, "migrator:" + secretPassword, true, ""},
		{"bearer", func(c *Config) { c.Token = "tok-123" }, "Bearer tok-123", true, ""},
		{"tenant", func(c *Config) { c.Tenant = "team-a" }, "", false, "team-a"},
		{"none", nil, "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Replay(load(t, "status_ready"), load(t, "push_protobuf_snappy_ok"))
			c, _ := newTestClient(t, srv.URL, tc.cfg)
			if err := c.Ready(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := c.Push(context.Background(), []Stream{{Labels: map[string]string{"job": "x"}, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "l"}}}}); err != nil {
				t.Fatal(err)
			}
			reqs, _ := srv.Requests()
			for _, r := range reqs {
				user, pass, isBasic := r.BasicAuth()
				switch {
				case tc.name == "basic":
					if !isBasic || user+":"+pass != tc.auth {
						t.Errorf("%s: basic auth %q:%q, want %q", r.URL.Path, user, "[hidden]", "migrator")
					}
				case tc.hasAuth:
					if got := r.Header.Get("Authorization"); got != tc.auth {
						t.Errorf("%s: Authorization %q, want %q", r.URL.Path, got, tc.auth)
					}
				default:
					if got := r.Header.Get("Authorization"); got != "" {
						t.Errorf("%s: Authorization %q sent without credentials", r.URL.Path, got)
					}
				}
				if got := r.Header.Get("X-Scope-OrgID"); got != tc.tenant {
					t.Errorf("%s: X-Scope-OrgID %q, want %q", r.URL.Path, got, tc.tenant)
				}
			}
		})
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Replay(
		load(t, "err_push_entry_too_far_behind_main_400"),
		load(t, "err_query_max_query_length_exceeded_400"),
		load(t, "defaults_status_ready_not_ready_503"),
	)
	srv.Handle(http.MethodGet, "/config", &recording.Response{Status: 403, Header: http.Header{}, Body: []byte("forbidden")})

	basic := func(c *Config) { c.Username, c.Password = "migrator", secretPassword }
	c, _ := newTestClient(t, srv.URL, basic)
	closed, _ := newTestClient(t, "http://127.0.0.1:1", func(c *Config) {
		basic(c)
		c.MaxAttempts = 1
	})

	ctx := context.Background()
	var errs []error
	errs = append(errs, c.Push(ctx, []Stream{{Labels: map[string]string{"job": "x"}, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "l"}}}}))
	_, err := c.QueryRange(ctx, QueryRangeRequest{Query: `{job="x"}`})
	errs = append(errs, err)
	errs = append(errs, c.Ready(ctx))
	_, err = c.Limits(ctx)
	errs = append(errs, err)
	_, err = c.Labels(ctx, time.Time{}, time.Time{})
	errs = append(errs, err)
	errs = append(errs, closed.Ready(ctx))
	_, err = closed.BuildInfo(ctx)
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d returned no error", i)
			continue
		}
		if strings.Contains(err.Error(), secretPassword) {
			t.Errorf("call %d: error shows the password: %v", i, err)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, _ := newTestClient(t, srv.URL, func(c *Config) {
		c.Timeout = 100 * time.Millisecond
		c.MaxAttempts = 1
	})
	start := time.Now()
	err := c.Ready(context.Background())
	if !httpx.IsTimeout(err) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the request took %v with a 100ms timeout", elapsed)
	}
}

// tlsServer starts an HTTPS server that serves /ready and writes its
// certificate to a PEM file.
func tlsServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ready\n")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func TestTLS(t *testing.T) {
	srv, caFile := tlsServer(t)
	without, _ := newTestClient(t, srv.URL, nil)
	err := without.Ready(context.Background())
	if !httpx.IsTLS(err) {
		t.Errorf("without the CA: err = %v, want a TLS error", err)
	}
	with, _ := newTestClient(t, srv.URL, func(c *Config) { c.TLS = httpx.TLS{CAFile: caFile} })
	if err := with.Ready(context.Background()); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
}

func TestNewMissingCAFile(t *testing.T) {
	_, err := New(Config{URL: "https://127.0.0.1:1", TLS: httpx.TLS{CAFile: filepath.Join(t.TempDir(), "missing.pem")}})
	if err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("err = %v, want an error naming the CA file", err)
	}
}
