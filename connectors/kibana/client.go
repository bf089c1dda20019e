// Package kibana reads Kibana 7.x and 8.x: the server status and the saved
// objects export API, and it parses export files (NDJSON) the same way.
package kibana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// DefaultSpace is the ID of the space Kibana serves without a /s/ prefix.
const DefaultSpace = "default"

// Config configures a Client. Set at most one of Username and APIKey.
type Config struct {
	// URL is Kibana's base URL, for example https://kibana:5601. A base
	// path (server.basePath) is kept: https://host/kibana.
	URL string
	// Space is the space ID. Empty or "default" means the default space.
	Space string
	// Username and Password are sent as HTTP basic authentication.
	Username, Password string
	// APIKey is sent as "Authorization: ApiKey KEY", the encoded key
	// Elasticsearch returns when it creates an API key.
	APIKey string
	TLS    httpx.TLS
	// Timeout bounds each attempt; zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one request; zero means
	// httpx.DefaultMaxAttempts.
	MaxAttempts int
	// Sleep waits between attempts. Tests replace it to run without delay.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls one Kibana. It is safe for concurrent use.
type Client struct {
	http  *httpx.Client
	space string
}

// Kibana accepts space IDs of lowercase letters, digits, "_" and "-"
// (Kibana 7.x and 8.x spaces API).
var spaceID = regexp.MustCompile(`^[a-z0-9_-]+$`)

// New returns a Client for cfg. It fails on an invalid URL or space ID, on
// both basic authentication and an API key, and on unreadable TLS files.
func New(cfg Config) (*Client, error) {
	space := cfg.Space
	if space == "" {
		space = DefaultSpace
	}
	if !spaceID.MatchString(space) {
		return nil, fmt.Errorf("kibana: invalid space ID %q: use the space's ID (lowercase letters, digits, _ and -), not its display name", space)
	}
	if cfg.Username != "" && cfg.APIKey != "" {
		return nil, errors.New("kibana: both a username and an API key are set: keep one of them")
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("kibana: a password is set without a username: set the username too")
	}
	h, err := httpx.New(httpx.Config{
		System:      "kibana",
		BaseURL:     cfg.URL,
		Auth:        httpx.Auth{Username: cfg.Username, Password: cfg.Password, APIKey: cfg.APIKey},
		TLS:         cfg.TLS,
		Timeout:     cfg.Timeout,
		MaxAttempts: cfg.MaxAttempts,
		Sleep:       cfg.Sleep,
	})
	if err != nil {
		return nil, err
	}
	return &Client{http: h, space: space}, nil
}

// Space returns the space ID the client exports from.
func (c *Client) Space() string { return c.space }

// spacePath prefixes an API path with /s/SPACE, except in the default
// space, whose APIs Kibana serves at the root.
func (c *Client) spacePath(path string) string {
	if c.space == DefaultSpace {
		return path
	}
	return "/s/" + c.space + path
}

// Status is the part of GET /api/status a migration needs.
type Status struct {
	// Version is the Kibana version, for example "8.14.3".
	Version string
	// Overall is the overall level: "available", "degraded",
	// "unavailable" or "critical" in Kibana 8.x, or the legacy state
	// "green", "yellow" or "red" that Kibana 7.x returns by default.
	Overall string
}

type statusDocument struct {
	Version struct {
		Number string `json:"number"`
	} `json:"version"`
	Status struct {
		Overall struct {
			Level string `json:"level"`
			State string `json:"state"`
		} `json:"overall"`
	} `json:"status"`
}

// Status reads GET /api/status. Kibana responds with 503 while its overall
// status is unavailable or red. That response still carries a status document, so
// Status returns it without an error and the caller checks Overall.
func (c *Client) Status(ctx context.Context) (Status, error) {
	resp, err := c.http.Do(ctx, httpx.Request{
		Method:     http.MethodGet,
		Path:       "/api/status",
		Header:     http.Header{"Accept": {"application/json"}},
		Classifier: acceptStatusDocument,
	})
	if err != nil {
		return Status{}, c.apiError(err)
	}
	var doc statusDocument
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return Status{}, fmt.Errorf("kibana: GET /api/status returned invalid JSON: %w; check that the URL points at Kibana, not Elasticsearch or a proxy page", err)
	}
	st := Status{Version: doc.Version.Number, Overall: doc.Status.Overall.Level}
	if st.Overall == "" {
		st.Overall = doc.Status.Overall.State
	}
	if st.Version == "" {
		return st, errors.New("kibana: GET /api/status returned no version.number; check that the URL points at Kibana 7.x or 8.x")
	}
	return st, nil
}

// acceptStatusDocument accepts a 503 that carries Kibana's status document,
// and otherwise classifies as httpx does.
func acceptStatusDocument(status int, header http.Header, body []byte) httpx.Decision {
	if status == http.StatusServiceUnavailable {
		var doc statusDocument
		if json.Unmarshal(body, &doc) == nil && doc.Version.Number != "" {
			return httpx.Accept
		}
	}
	return httpx.DefaultClassifier(status, header, body)
}
