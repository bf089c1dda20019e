// Package grafana is a client of the Grafana 10+ HTTP API for a migration:
// it lists data sources, folders and dashboards, finds the dashboards that
// use given data source types, imports dashboards and reads alert rules.
//
// Dashboards stay raw JSON from the server to the caller and back: the
// client never decodes them into Go structs, because a struct drops every
// field it does not declare. For the same reason it uses
// github.com/grafana-tools/sdk (the 2022 version pinned in go.mod) only for
// the response types whose fields are all it needs (health, data source,
// folder, search hit and save status). All requests go through
// connectors/httpx for timeouts, retries and typed errors; the sdk's own
// client has none of these.
package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/grafana-tools/sdk"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Paging of /api/search and /api/folders.
const (
	DefaultPageSize = 1000
	// MaxPageSize is the largest limit /api/search accepts (Grafana 10).
	MaxPageSize = 5000
	// maxPages stops paging of a server that never returns an empty page.
	maxPages = 10000
)

// Config configures a Client. Set Token or Username, not both.
type Config struct {
	// URL is Grafana's base URL, with the sub path if Grafana is served
	// from one: https://host/grafana.
	URL string
	// Token is a service account token, sent as "Authorization: Bearer".
	Token string
	// Username and Password are sent as HTTP basic authentication.
	Username, Password string
	// OrgID, when above 0, is sent as X-Grafana-Org-Id to select the
	// organization. Service account tokens belong to one organization and
	// need no OrgID.
	OrgID int64
	TLS   httpx.TLS
	// Timeout bounds each attempt; zero means httpx.DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one request; zero means
	// httpx.DefaultMaxAttempts.
	MaxAttempts int
	// PageSize is the limit of each /api/search and /api/folders page;
	// zero means DefaultPageSize. It is capped at MaxPageSize.
	PageSize int
	// Sleep waits between attempts. Tests replace it to run without delay.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls one Grafana. It is safe for concurrent use.
type Client struct {
	http     *httpx.Client
	pageSize int
}

// New returns a Client for cfg. It fails on an invalid URL, on a token
// together with a username, and on unreadable TLS files.
func New(cfg Config) (*Client, error) {
	if cfg.Token != "" && cfg.Username != "" {
		return nil, errors.New("grafana: both a token and a username are set: keep one of them")
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("grafana: a password is set without a username: set the username too")
	}
	if cfg.OrgID < 0 {
		return nil, fmt.Errorf("grafana: invalid organization ID %d: use the positive ID from Grafana's organization list, or 0 for the user's current one", cfg.OrgID)
	}
	header := http.Header{"Accept": {"application/json"}}
	if cfg.OrgID > 0 {
		header.Set("X-Grafana-Org-Id", strconv.FormatInt(cfg.OrgID, 10))
	}
	h, err := httpx.New(httpx.Config{
		System:      "grafana",
		BaseURL:     cfg.URL,
		Auth:        httpx.Auth{Username: cfg.Username, Password: cfg.Password, Token: cfg.Token},
		TLS:         cfg.TLS,
		Header:      header,
		Timeout:     cfg.Timeout,
		MaxAttempts: cfg.MaxAttempts,
		Sleep:       cfg.Sleep,
	})
	if err != nil {
		return nil, err
	}
	pageSize := cfg.PageSize
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return &Client{http: h, pageSize: min(pageSize, MaxPageSize)}, nil
}

// call is one request and the Grafana role it needs, for error hints.
type call struct {
	method, path string
	query        url.Values
	body         []byte
	// role is the sentence naming the Grafana role the request needs by
	// default (Viewer, Editor or Admin), for the hint of a 403.
	role string
	// classifier overrides httpx's default.
	classifier httpx.Classifier
}

func (c *Client) do(ctx context.Context, r call) (*httpx.Response, error) {
	req := httpx.Request{Method: r.method, Path: r.path, Query: r.query, Body: r.body, Classifier: r.classifier}
	if r.body != nil {
		req.Header = http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return nil, apiError(err, r)
	}
	return resp, nil
}

// getJSON sends a GET and decodes the JSON response into out.
func (c *Client) getJSON(ctx context.Context, r call, out any) error {
	r.method = http.MethodGet
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("grafana: GET %s returned JSON of an unexpected shape: %w; check that the URL points at Grafana 10 or later", r.path, err)
	}
	return nil
}

// retryOnlyTooManyRequests retries 429 and nothing else, for requests that
// create something: after a 5xx the first attempt may have succeeded, and
// sending it again could create a second copy.
func retryOnlyTooManyRequests(status int, header http.Header, body []byte) httpx.Decision {
	if status >= 500 {
		return httpx.Permanent
	}
	return httpx.DefaultClassifier(status, header, body)
}

// Health is the response of GET /api/health.
type Health struct {
	Version  string
	Database string
	Commit   string
}

// Health reads GET /api/health, which needs no authentication. Grafana
// responds with 503 and database "failing" when its database is down.
// Health returns that response without an error, so the caller checks
// Database.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h sdk.HealthResponse
	err := c.getJSON(ctx, call{
		path:       "/api/health",
		classifier: acceptHealthDocument,
	}, &h)
	if err != nil {
		return Health{}, err
	}
	if h.Database == "" {
		return Health{}, errors.New("grafana: GET /api/health returned no database state; check that the URL points at Grafana")
	}
	return Health{Version: h.Version, Database: h.Database, Commit: h.Commit}, nil
}

// acceptHealthDocument accepts a 503 that carries a health document, and
// otherwise classifies as httpx does.
func acceptHealthDocument(status int, header http.Header, body []byte) httpx.Decision {
	if status == http.StatusServiceUnavailable {
		var h sdk.HealthResponse
		if json.Unmarshal(body, &h) == nil && h.Database != "" {
			return httpx.Accept
		}
	}
	return httpx.DefaultClassifier(status, header, body)
}

// DataSource is one data source of the organization.
type DataSource struct {
	ID int64
	// UID is the data source's stable ID (Grafana 7.1 and later).
	UID  string
	Name string
	// Type is the plugin ID: "elasticsearch", "grafana-opensearch-datasource",
	// "jaeger", "loki" and so on.
	Type      string
	URL       string
	IsDefault bool
}

// DataSources reads GET /api/datasources.
func (c *Client) DataSources(ctx context.Context) ([]DataSource, error) {
	var list []sdk.Datasource
	if err := c.getJSON(ctx, call{path: "/api/datasources", role: roleDataSources}, &list); err != nil {
		return nil, err
	}
	out := make([]DataSource, 0, len(list))
	for _, d := range list {
		out = append(out, DataSource{ID: int64(d.ID), UID: d.UID, Name: d.Name, Type: d.Type, URL: d.URL, IsDefault: d.IsDefault})
	}
	return out, nil
}

// AlertRules reads GET /api/v1/provisioning/alert-rules: every
// Grafana-managed alert rule of the organization, each as the raw JSON
// object the server sent.
func (c *Client) AlertRules(ctx context.Context) ([]json.RawMessage, error) {
	var rules []json.RawMessage
	if err := c.getJSON(ctx, call{path: "/api/v1/provisioning/alert-rules", role: roleProvisioning}, &rules); err != nil {
		return nil, err
	}
	return rules, nil
}
