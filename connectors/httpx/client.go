// Package httpx is the HTTP layer every connector shares: per-request
// timeouts, TLS and authentication from the plan, retries of 429 and 5xx
// responses with jittered exponential backoff that honours Retry-After, and
// typed errors that carry the server's status and body but never a
// credential.
package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults for a Config that leaves them zero.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 5
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	// DefaultMaxBody bounds how much of a response body is read.
	DefaultMaxBody = 256 << 20
	// DefaultMaxRetryAfter is the longest Retry-After the client waits for;
	// a longer one ends the retries and is returned in the StatusError.
	DefaultMaxRetryAfter = 5 * time.Minute
	maxRetryAfterSeconds = 24 * 60 * 60
	// errorBodyLimit bounds the body kept in a StatusError.
	errorBodyLimit = 4 << 10
)

// Decision is the client's next action for a response.
type Decision int

// Decisions a Classifier returns.
const (
	// Accept returns the response to the caller as a success.
	Accept Decision = iota
	// Retry waits and sends the request again, while attempts remain.
	Retry
	// Permanent returns a StatusError at once: sending the same request
	// again cannot succeed.
	Permanent
)

// Classifier decides what a response means. DefaultClassifier is used when
// a Config has none.
type Classifier func(status int, header http.Header, body []byte) Decision

// DefaultClassifier accepts 2xx, retries 429, 500, 502, 503 and 504, and
// treats every other status as permanent.
func DefaultClassifier(status int, _ http.Header, _ []byte) Decision {
	switch {
	case status >= 200 && status < 300:
		return Accept
	case status == http.StatusTooManyRequests,
		status == http.StatusInternalServerError,
		status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable,
		status == http.StatusGatewayTimeout:
		return Retry
	default:
		return Permanent
	}
}

// TLS names the PEM files of a client's TLS settings.
type TLS struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool
}

// Auth is one way to authenticate. At most one of Username, Token and
// APIKey is expected.
type Auth struct {
	Username, Password string
	// Token is sent as "Authorization: Bearer TOKEN".
	Token string
	// APIKey is sent as "Authorization: ApiKey KEY", as Elasticsearch and
	// Kibana expect it.
	APIKey string
}

// Config configures a Client.
type Config struct {
	// System names the server in errors and logs: "loki", "tempo".
	System string
	// BaseURL is the server's URL; request paths are joined to it.
	BaseURL string
	Auth    Auth
	TLS     TLS
	// Header is sent with every request, for example X-Scope-OrgID.
	Header http.Header
	// Timeout bounds each attempt, from sending to reading the whole body.
	Timeout     time.Duration
	MaxAttempts int
	MinBackoff  time.Duration
	MaxBackoff  time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for.
	MaxRetryAfter time.Duration
	// MaxBody bounds the bytes read from one response body.
	MaxBody    int64
	Classifier Classifier
	// Transport replaces the default transport, in tests.
	Transport http.RoundTripper
	// Sleep waits between attempts. Tests replace it to run without delay.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client sends requests to one server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// New returns a Client for cfg. It reads the TLS files, so a missing or
// invalid file fails here, not on the first request.
func New(cfg Config) (*Client, error) {
	if cfg.System == "" {
		cfg.System = "server"
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("%s: invalid URL %q: write it as http://host:port or https://host:port", cfg.System, Redact(cfg.BaseURL))
	}
	if base.User != nil {
		return nil, fmt.Errorf("%s: URL %s carries credentials: move them to the plan's username and password (env:NAME or file:PATH)", cfg.System, Redact(cfg.BaseURL))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Classifier == nil {
		cfg.Classifier = DefaultClassifier
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	transport := cfg.Transport
	if transport == nil {
		tlsConfig, err := TLSConfig(cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.System, err)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		t.MaxIdleConnsPerHost = 16
		transport = t
	}
	return &Client{cfg: cfg, base: base, http: &http.Client{Transport: transport}}, nil
}

// TLSConfig builds a tls.Config from PEM files. It returns nil for an empty
// TLS, so the system roots apply.
func TLSConfig(t TLS) (*tls.Config, error) {
	if t == (TLS{}) {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // set only by the plan's insecure_skip_verify
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s contains no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("tls.cert_file and tls.key_file must be set together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading tls.cert_file and tls.key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// System returns the name the client uses in errors.
func (c *Client) System() string { return c.cfg.System }

// BaseURL returns the server URL without credentials.
func (c *Client) BaseURL() string { return c.base.String() }

// Request is one HTTP request relative to the base URL.
type Request struct {
	Method string
	// Path is joined to the base URL's path.
	Path   string
	Query  url.Values
	Header http.Header
	// Body is sent as is; it is kept in memory so a retry can resend it.
	Body []byte
	// Classifier overrides the client's for this request.
	Classifier Classifier
}

// Response is a response whose body has been read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Attempts counts the requests sent, retries included.
	Attempts int
}

// Do sends req and retries as the classifier decides. It returns a *StatusError
// for a status the classifier does not accept, and a *TransportError when
// no response arrived: a timeout, a refused connection or a TLS failure.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	classify := req.Classifier
	if classify == nil {
		classify = c.cfg.Classifier
	}
	target := c.url(req.Path, req.Query)
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, req, target)
		var wait time.Duration
		if err != nil {
			lastErr = &TransportError{System: c.cfg.System, Method: req.Method, URL: Redact(target), Attempts: attempt, Err: err}
			if ctx.Err() != nil || !retryableTransport(err) {
				return nil, lastErr
			}
		} else {
			resp.Attempts = attempt
			decision := classify(resp.Status, resp.Header, resp.Body)
			if decision == Accept {
				return resp, nil
			}
			statusErr := &StatusError{
				System: c.cfg.System, Method: req.Method, URL: Redact(target),
				Status: resp.Status, Body: RedactSecrets(truncate(resp.Body), c.cfg.Auth.Secrets()...), Header: resp.Header,
				Attempts: attempt, Permanent: decision == Permanent,
			}
			statusErr.RetryAfter, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
			if decision == Permanent {
				return resp, statusErr
			}
			lastErr = statusErr
			wait = statusErr.RetryAfter
			if wait > c.cfg.MaxRetryAfter {
				return nil, lastErr
			}
		}
		if attempt >= c.cfg.MaxAttempts {
			return nil, lastErr
		}
		if backoff := c.backoff(attempt); backoff > wait {
			wait = backoff
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, lastErr
		}
	}
}

func (c *Client) once(ctx context.Context, req Request, target string) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.cfg.Header {
		hreq.Header[k] = vs
	}
	for k, vs := range req.Header {
		hreq.Header[k] = vs
	}
	c.authorize(hreq)
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, c.cfg.MaxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > c.cfg.MaxBody {
		return nil, fmt.Errorf("response body is larger than %d bytes", c.cfg.MaxBody)
	}
	return &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: data}, nil
}

func (c *Client) authorize(req *http.Request) {
	a := c.cfg.Auth
	switch {
	case a.Username != "":
		req.SetBasicAuth(a.Username, a.Password)
	case a.Token != "":
		req.Header.Set("Authorization", "Bearer "+a.Token)
	case a.APIKey != "":
		req.Header.Set("Authorization", "ApiKey "+a.APIKey)
	}
}

func (c *Client) url(path string, query url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(path, "/")
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// backoff returns the attempt's wait; see jitteredBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	return jitteredBackoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff)
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

// retryableTransport reports whether a request that got no response may be
// sent again. TLS and certificate failures and invalid URLs cannot heal,
// and a request that timed out is likely to time out again while loading
// the server, such as a slow aggregation, so it is not resent either.
func retryableTransport(err error) bool {
	if IsTLS(err) || IsTimeout(err) {
		return false
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) && urlErr.Err != nil {
		var opErr *net.OpError
		var dnsErr *net.DNSError
		return errors.As(err, &opErr) || errors.As(err, &dnsErr) || urlErr.Timeout() ||
			errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
			errors.Is(err, context.DeadlineExceeded)
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// ParseRetryAfter reads a Retry-After value, in seconds or as an HTTP date.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// A wait longer than a day is treated as a day, which also keeps
		// the Duration from overflowing.
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		d := at.Sub(now)
		if d <= 0 {
			return 0, true
		}
		return min(d, maxRetryAfterSeconds*time.Second), true
	}
	return 0, false
}

func truncate(body []byte) string {
	if len(body) > errorBodyLimit {
		return string(body[:errorBodyLimit]) + "…"
	}
	return string(body)
}

// Redact returns rawURL without user information or credential-like query
// parameters, for messages and logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "[invalid URL]"
	}
	if u.User != nil {
		u.User = url.User("[redacted]")
	}
	q := u.Query()
	changed := false
	for key := range q {
		switch strings.ToLower(key) {
		case "token", "api_key", "apikey", "password", "access_token", "auth":
			q.Set(key, "[redacted]")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Redact removes the client's own credentials from text taken from a
// response, for messages built outside Do.
func (c *Client) Redact(text string) string {
	return RedactSecrets(text, c.cfg.Auth.Secrets()...)
}
