// Package elasticsearch reads an Elasticsearch 7.17 or 8.x cluster for a
// migration: the inventory (indices, data streams, mappings, field
// capabilities, cardinality and daily volume) and the documents themselves,
// through a point-in-time Reader that survives an expired point in time
// without gaps or duplicates.
//
// Requests go through github.com/elastic/go-elasticsearch/v8 (esapi
// requests) with its own retry disabled: an httpx.RetryTransport retries
// 429, 502, 503 and 504 responses and transport errors, honouring
// Retry-After, and bounds each attempt with Config.Timeout. Error responses
// become *Error values; credentials never appear in errors or logs.
package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	es8 "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// system names Elasticsearch in transport errors and logs.
const system = "elasticsearch"

// Config configures a Client. Set at most one of Username (with Password),
// APIKey and Token.
type Config struct {
	// URLs are the nodes, as http://host:9200 or https://host:9200.
	// Requests rotate over them.
	URLs []string
	// Username and Password are sent with HTTP basic authentication.
	Username, Password string
	// APIKey is the base64 "id:api_key" value, sent as
	// "Authorization: APIKey KEY".
	APIKey string
	// Token is a bearer token (a service account token, for example), sent
	// as "Authorization: Bearer TOKEN".
	Token string
	TLS   httpx.TLS
	// Timeout bounds each attempt, from sending to reading the whole body.
	// Zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts counts the first attempt and the retries. Zero means
	// httpx.DefaultMaxAttempts.
	MaxAttempts int
	// Sleep waits between attempts. Tests replace it to run without delay.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives retries and point-in-time resumes. Nil disables
	// logging.
	Logger *slog.Logger
}

// Client reads one Elasticsearch cluster. It is safe for concurrent use.
type Client struct {
	es     *es8.Client
	logger *slog.Logger
	// secrets are redacted from error bodies a server may echo them in.
	secrets []string
}

// New returns a Client for cfg. It reads the TLS files, so a missing or
// invalid file fails here, not on the first request. New sends no request.
func New(cfg Config) (*Client, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("elasticsearch: no URL: set at least one node URL, such as https://host:9200")
	}
	for _, raw := range cfg.URLs {
		if err := checkURL(raw); err != nil {
			return nil, err
		}
	}
	if err := checkAuth(cfg); err != nil {
		return nil, err
	}

	tlsConfig, err := httpx.TLSConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsConfig
	base.MaxIdleConnsPerHost = 16
	transport := &httpx.RetryTransport{
		Base:        base,
		System:      system,
		Timeout:     cfg.Timeout,
		MaxAttempts: cfg.MaxAttempts,
		Sleep:       cfg.Sleep,
		Logger:      cfg.Logger,
		Permanent:   permanentResponse,
	}

	client, err := es8.NewClient(es8.Config{
		Addresses:    cfg.URLs,
		Username:     cfg.Username,
		Password:     cfg.Password,
		APIKey:       cfg.APIKey,
		ServiceToken: cfg.Token,
		Transport:    transport,
		DisableRetry: true,
	})
	if err != nil {
		// go-elasticsearch's messages name the URL, which checkURL has
		// already checked for credentials.
		return nil, fmt.Errorf("elasticsearch: creating the client: %w", err)
	}
	secrets := httpx.Auth{Username: cfg.Username, Password: cfg.Password, Token: cfg.Token, APIKey: cfg.APIKey}.Secrets()
	return &Client{es: client, logger: cfg.Logger, secrets: secrets}, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("elasticsearch: invalid URL %q: write it as http://host:9200 or https://host:9200", httpx.Redact(raw))
	}
	if u.User != nil {
		return fmt.Errorf("elasticsearch: URL %s carries credentials: set username and password, api_key or token instead", httpx.Redact(raw))
	}
	return nil
}

func checkAuth(cfg Config) error {
	methods := 0
	for _, set := range []bool{cfg.Username != "", cfg.APIKey != "", cfg.Token != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		return errors.New("elasticsearch: more than one of username, api_key and token is set: keep one")
	}
	if cfg.Password != "" && cfg.Username == "" {
		return errors.New("elasticsearch: password is set without username")
	}
	if cfg.Username != "" && cfg.Password == "" {
		return errors.New("elasticsearch: username is set without password")
	}
	return nil
}

// permanentResponse keeps RetryTransport from retrying a 503 that
// Elasticsearch sends for too_many_buckets_exception, which fails again
// on every attempt.
func permanentResponse(status int, _ http.Header, body []byte) bool {
	return status == http.StatusServiceUnavailable && strings.Contains(string(body), typeTooManyBuckets)
}

// maxResponseBody bounds the bytes read from one response.
const maxResponseBody = httpx.DefaultMaxBody

// do sends req and returns the response body. A status above 299 becomes an
// *Error; op names the request in errors, as "GET /_mapping".
func (c *Client) do(ctx context.Context, op string, req esapi.Request) ([]byte, error) {
	body, _, err := c.doStatus(ctx, op, req)
	return body, err
}

// doStatus is do that also returns the status, for callers that accept a
// documented non-2xx response.
func (c *Client) doStatus(ctx context.Context, op string, req esapi.Request) ([]byte, int, error) {
	res, err := req.Do(ctx, c.es)
	if err != nil {
		var te *httpx.TransportError
		switch {
		case errors.As(err, &te):
			// It already names the system, method and URL.
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("elasticsearch: %s: %w", op, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBody+1))
	if err != nil {
		return nil, res.StatusCode, fmt.Errorf("elasticsearch: %s: reading the response: %w", op, err)
	}
	if int64(len(body)) > maxResponseBody {
		return nil, res.StatusCode, fmt.Errorf("elasticsearch: %s: response is larger than %d bytes: narrow the request", op, int64(maxResponseBody))
	}
	if res.IsError() {
		redacted := []byte(httpx.RedactSecrets(string(body), c.secrets...))
		return body, res.StatusCode, decodeError(op, res.StatusCode, redacted)
	}
	return body, res.StatusCode, nil
}

// decodeJSON decodes a response body into v, naming op on failure.
func decodeJSON(op string, body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("elasticsearch: %s: decoding the response: %w", op, err)
	}
	return nil
}

// Info describes the cluster behind GET /.
type Info struct {
	ClusterName string
	// Version is the version number, such as "8.17.0". It is empty for
	// Elastic Cloud Serverless, which reports a fixed placeholder.
	Version string
	// Distribution is version.build_flavor ("default", "oss" or
	// "serverless"), or version.distribution when a server sets it (as
	// OpenSearch does).
	Distribution string
	Name         string
	ClusterUUID  string
}

// Serverless reports whether the cluster is Elastic Cloud Serverless.
func (i Info) Serverless() bool { return i.Distribution == "serverless" }

// CheckVersion returns an error unless the cluster supports everything
// this package sends: point in time (7.10), the _shard_doc sort (7.12) and
// formatted date sort values (7.13). The supported floor is 7.17, the last
// 7.x release. Serverless passes.
func (i Info) CheckVersion() error {
	if i.Serverless() {
		return nil
	}
	major, minor, ok := parseVersion(i.Version)
	if !ok {
		return fmt.Errorf("elasticsearch: cannot read version %q: this tool supports Elasticsearch 7.17 and 8.x", i.Version)
	}
	if major < 7 || (major == 7 && minor < 17) {
		return fmt.Errorf("elasticsearch: version %s is older than 7.17: upgrade the cluster to 7.17 or later", i.Version)
	}
	return nil
}

func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

type infoResponse struct {
	Name        string `json:"name"`
	ClusterName string `json:"cluster_name"`
	ClusterUUID string `json:"cluster_uuid"`
	Version     struct {
		Number       string `json:"number"`
		BuildFlavor  string `json:"build_flavor"`
		Distribution string `json:"distribution"`
	} `json:"version"`
}

// Info returns the cluster name, version and distribution from GET /. It is
// also the first request that go-elasticsearch checks for the
// X-Elastic-Product header, so a server that is not Elasticsearch 7.14 or
// later fails here.
func (c *Client) Info(ctx context.Context) (Info, error) {
	const op = "GET /"
	body, err := c.do(ctx, op, esapi.InfoRequest{})
	if err != nil {
		return Info{}, err
	}
	var r infoResponse
	if err := decodeJSON(op, body, &r); err != nil {
		return Info{}, err
	}
	info := Info{
		ClusterName:  r.ClusterName,
		Version:      r.Version.Number,
		Distribution: r.Version.BuildFlavor,
		Name:         r.Name,
		ClusterUUID:  r.ClusterUUID,
	}
	if r.Version.Distribution != "" {
		info.Distribution = r.Version.Distribution
	}
	if info.Serverless() {
		info.Version = ""
	}
	return info, nil
}

// splitPattern turns "a-*,b" into the index list esapi expects.
func splitPattern(pattern string) ([]string, error) {
	var out []string
	for part := range strings.SplitSeq(pattern, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("elasticsearch: empty index pattern %q: name an index, data stream or pattern, such as logs-* (use * for all)", pattern)
	}
	return out, nil
}
