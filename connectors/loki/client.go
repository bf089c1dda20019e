// Package loki is the migration's client of Grafana Loki 3.x. The deploy
// check uses readiness, build info and limits. The backfill uses protobuf
// pushes, whose rejections are classified from Loki's error messages.
// Inventory and the gateway use the query, label, series and index
// endpoints.
//
// Behaviour facts come from exchanges recorded against Loki 3.7.6
// (testdata/recordings/loki-3.7.6). docs/loki-errors.md lists how each
// error message is classified and what a caller should do about it.
package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Config configures a Client.
type Config struct {
	// URL is Loki's base URL, such as http://loki:3100.
	URL string
	// Tenant is sent as the X-Scope-OrgID header when set.
	Tenant string
	// Username and Password are sent as basic authentication, and Token
	// as a bearer token. Set at most one of Username and Token.
	Username, Password, Token string
	TLS                       httpx.TLS
	// Timeout bounds each request attempt; 0 means httpx.DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one request, retries included; 0
	// means httpx.DefaultMaxAttempts.
	MaxAttempts int
	// Sleep waits between attempts. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Transport replaces the HTTP transport, in tests.
	Transport http.RoundTripper
}

// Client talks to one Loki. It is safe for concurrent use.
type Client struct {
	http *httpx.Client

	mu     sync.Mutex
	limits *Limits
}

// New returns a Client for cfg. It fails on an invalid URL, a URL that
// carries credentials, both basic and bearer authentication, or unreadable
// TLS files.
func New(cfg Config) (*Client, error) {
	if cfg.Username != "" && cfg.Token != "" {
		return nil, errors.New("loki: both username and token are set: use either basic authentication or a bearer token")
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("loki: a password is set without a username: set the username too")
	}
	header := http.Header{}
	if cfg.Tenant != "" {
		header.Set("X-Scope-OrgID", cfg.Tenant)
	}
	hc, err := httpx.New(httpx.Config{
		System:      "loki",
		BaseURL:     cfg.URL,
		Auth:        httpx.Auth{Username: cfg.Username, Password: cfg.Password, Token: cfg.Token},
		TLS:         cfg.TLS,
		Header:      header,
		Timeout:     cfg.Timeout,
		MaxAttempts: cfg.MaxAttempts,
		Sleep:       cfg.Sleep,
		Transport:   cfg.Transport,
	})
	if err != nil {
		return nil, err
	}
	return &Client{http: hc}, nil
}

// URL returns Loki's base URL without credentials.
func (c *Client) URL() string { return c.http.BaseURL() }

// QueryError is a read request that Loki rejected: a query, a label,
// series or index request, /ready or /config. It unwraps to the
// *httpx.StatusError.
type QueryError struct {
	Status int
	Reason Reason
	// Message is Loki's text/plain error body, trimmed.
	Message   string
	Retryable bool
	Err       *httpx.StatusError
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("loki: %s %s returned %d (%s): %s; %s",
		e.Err.Method, e.Err.URL, e.Status, e.Reason, cut(e.Message, maxMessageInError), Action(e.Reason))
}

func (e *QueryError) Unwrap() error { return e.Err }

// readError turns a *httpx.StatusError into a *QueryError and returns any
// other error unchanged.
func readError(err error) error {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return err
	}
	reason := Classify(se.Status, se.Body)
	return &QueryError{
		Status:    se.Status,
		Reason:    reason,
		Message:   strings.TrimSpace(se.Body),
		Retryable: Retryable(se.Status, reason),
		Err:       se,
	}
}

// notReadyClassifier accepts 200 and returns every other status at once,
// so Ready reports a starting Loki without waiting through retries.
func notReadyClassifier(status int, _ http.Header, _ []byte) httpx.Decision {
	if status == http.StatusOK {
		return httpx.Accept
	}
	return httpx.Permanent
}

// Ready checks GET /ready, which returns 200 "ready" when Loki accepts
// requests. A starting Loki returns 503 "Ingester not ready: ...", which
// is a *QueryError with ReasonNotReady. Ready does not retry a status, so
// the caller decides how long to wait.
func (c *Client) Ready(ctx context.Context) error {
	resp, err := c.http.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/ready", Classifier: notReadyClassifier})
	if err != nil {
		return readError(err)
	}
	if body := strings.TrimSpace(string(resp.Body)); body != "ready" {
		return fmt.Errorf("loki: GET %s/ready returned 200 with %q instead of \"ready\": check that the URL points at Loki", c.http.BaseURL(), cut(body, 200))
	}
	return nil
}

// BuildInfo is Loki's /loki/api/v1/status/buildinfo. GoVersion is empty
// for a Loki built without release flags, as Loki 3.7.6 in the recordings.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// BuildInfo reads Loki's version from /loki/api/v1/status/buildinfo.
func (c *Client) BuildInfo(ctx context.Context) (BuildInfo, error) {
	var info BuildInfo
	resp, err := c.http.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/loki/api/v1/status/buildinfo"})
	if err != nil {
		return info, readError(err)
	}
	if err := json.Unmarshal(resp.Body, &info); err != nil {
		return info, fmt.Errorf("loki: decoding %s/loki/api/v1/status/buildinfo: %w", c.http.BaseURL(), err)
	}
	if info.Version == "" {
		return info, fmt.Errorf("loki: %s/loki/api/v1/status/buildinfo has no version: check that the URL points at Loki", c.http.BaseURL())
	}
	return info, nil
}

// maxMessageInError bounds the part of Loki's message an Error string
// shows; the full text stays in the Message field.
const maxMessageInError = 1 << 10

// cut shortens s to at most n bytes, without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
