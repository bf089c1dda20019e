// Package tempo is the migration's client of Grafana Tempo 2.x and 3.x. It
// pushes traces over OTLP/HTTP and OTLP gRPC, reads traces back by id, runs
// TraceQL searches and tag look-ups, and reads the limits a migration must
// stay within.
//
// Facts about Tempo stated here hold for Tempo 3.0.3, from its recorded
// responses and its source, unless a comment names another version. Two of
// them shape the push API. Tempo drops a trace over max_bytes_per_trace
// without telling the sender, and OTLP/HTTP still returns 200 with an empty
// partialSuccess. Tempo rejects a rate-limited push with 429, Retry-After
// and a google.rpc.Status body. Discards reads the counters that are the
// only client-visible record of silent drops.
package tempo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// system names Tempo in errors.
const system = "tempo"

// tenantHeader carries the tenant on HTTP; gRPC metadata keys are the same
// name in lower case.
const tenantHeader = "X-Scope-OrgID"

// Config configures a Client.
type Config struct {
	// URL is Tempo's HTTP API, such as http://tempo:3200.
	URL string
	// OTLPHTTP is the OTLP/HTTP base URL, such as http://tempo:4318; pushes
	// go to its /v1/traces. Empty disables PushHTTP.
	OTLPHTTP string
	// OTLPGRPC is the OTLP gRPC address, host:port. A leading https://
	// selects TLS, as does a non-empty TLS. Empty disables PushGRPC.
	OTLPGRPC string
	// Tenant is sent as X-Scope-OrgID on HTTP and as x-scope-orgid gRPC
	// metadata when set.
	Tenant string
	// Token is sent as "Authorization: Bearer TOKEN".
	Token string
	TLS   httpx.TLS
	// Timeout bounds each attempt of each request; 0 means
	// httpx.DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one request, retries included; 0
	// means httpx.DefaultMaxAttempts.
	MaxAttempts int
	// Sleep waits between attempts. Tests replace it to run without delay.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one Tempo. It is safe for concurrent use.
type Client struct {
	cfg  Config
	api  *httpx.Client
	otlp *httpx.Client // nil without Config.OTLPHTTP

	grpcConn   *grpc.ClientConn // nil without Config.OTLPGRPC
	grpcClient ptraceotlp.GRPCClient

	// noTracesV2 records that /api/v2/traces is not routed (Tempo before
	// 2.6), so TraceByID goes straight to the v1 path.
	noTracesV2 atomic.Bool
}

// New returns a Client for cfg. It checks the URLs and reads the TLS files,
// so a bad setting fails here rather than on the first request. The gRPC
// connection is opened on the first PushGRPC.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = httpx.DefaultMaxAttempts
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}

	if strings.TrimSpace(cfg.URL) == "" {
		return nil, errors.New("tempo: missing URL of the HTTP API: set targets.tempo.url, such as http://tempo:3200")
	}
	header := http.Header{}
	if cfg.Tenant != "" {
		header.Set(tenantHeader, cfg.Tenant)
	}

	c := &Client{cfg: cfg}
	var err error
	c.api, err = httpx.New(c.httpConfig(cfg.URL, header))
	if err != nil {
		return nil, err
	}

	if cfg.OTLPHTTP != "" {
		base := strings.TrimSuffix(strings.TrimRight(cfg.OTLPHTTP, "/"), "/v1/traces")
		c.otlp, err = httpx.New(c.httpConfig(base, header))
		if err != nil {
			return nil, fmt.Errorf("OTLP/HTTP: %w", err)
		}
	}
	if cfg.OTLPGRPC != "" {
		if err := c.dialGRPC(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) httpConfig(base string, header http.Header) httpx.Config {
	return httpx.Config{
		System:      system,
		BaseURL:     base,
		Auth:        httpx.Auth{Token: c.cfg.Token},
		TLS:         c.cfg.TLS,
		Header:      header,
		Timeout:     c.cfg.Timeout,
		MaxAttempts: c.cfg.MaxAttempts,
		Sleep:       c.cfg.Sleep,
	}
}

// Close closes the gRPC connection, if one was set up.
func (c *Client) Close() error {
	if c.grpcConn == nil {
		return nil
	}
	return c.grpcConn.Close()
}

// Ready returns nil when GET /ready returns 200. It does not retry, so a
// caller that waits for Tempo to start polls Ready itself.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/ready", Classifier: acceptOnly2xx})
	if err != nil {
		return wrapHTTPError("readiness check", err)
	}
	return nil
}

// BuildInfo is Tempo's version, from /api/status/buildinfo.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	GoVersion string `json:"goVersion"`
}

// BuildInfo reads Tempo's version.
func (c *Client) BuildInfo(ctx context.Context) (BuildInfo, error) {
	var info BuildInfo
	resp, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/api/status/buildinfo", Header: acceptJSON})
	if err != nil {
		return info, wrapHTTPError("build info", err)
	}
	if err := json.Unmarshal(resp.Body, &info); err != nil {
		return info, fmt.Errorf("tempo: build info: invalid JSON from /api/status/buildinfo: %w", err)
	}
	if info.Version == "" {
		return info, errors.New("tempo: build info: /api/status/buildinfo has no version; check that targets.tempo.url points at Tempo's HTTP API")
	}
	return info, nil
}

var acceptJSON = http.Header{"Accept": {"application/json"}}

// acceptOnly2xx accepts 2xx and returns every other status at once.
func acceptOnly2xx(status int, _ http.Header, _ []byte) httpx.Decision {
	if status >= 200 && status < 300 {
		return httpx.Accept
	}
	return httpx.Permanent
}

// acceptNotFound is httpx.DefaultClassifier that also accepts 404, for
// look-ups where 404 means "no such thing" or "no such endpoint".
func acceptNotFound(status int, header http.Header, body []byte) httpx.Decision {
	if status == http.StatusNotFound {
		return httpx.Accept
	}
	return httpx.DefaultClassifier(status, header, body)
}

// timeRange adds start and end in unix seconds, as Tempo's query API takes
// them. The start is rounded down and the end up, so the range covers the
// given instants.
func timeRange(q url.Values, start, end time.Time) error {
	if !start.IsZero() && !end.IsZero() && start.After(end) {
		return fmt.Errorf("start %s is after end %s: swap them", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	if !start.IsZero() {
		q.Set("start", fmt.Sprint(start.Unix()))
	}
	if !end.IsZero() {
		secs := end.Unix()
		if end.After(time.Unix(secs, 0)) {
			secs++
		}
		q.Set("end", fmt.Sprint(secs))
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
