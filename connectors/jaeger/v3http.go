package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// searchDepthError starts the error Jaeger v1.75.0 returns for a NumTraces
// (search depth) of zero or not below the storage's max_traces.
const (
	searchDepthError = "search depth must be"
	searchDepthHint  = "lower NumTraces below the storage's max_traces setting"
)

// api_v3 HTTP paths of Jaeger v1.75.0. Bodies are JSON although the server
// labels them text/plain.
const (
	pathServices   = "/api/v3/services"
	pathOperations = "/api/v3/operations"
	pathTraces     = "/api/v3/traces"
)

type httpBackend struct {
	client *httpx.Client
}

func newHTTPBackend(cfg Config) (*httpBackend, error) {
	client, err := httpx.New(httpx.Config{
		System:      "jaeger",
		BaseURL:     cfg.HTTP,
		Auth:        httpx.Auth{Token: cfg.Token},
		TLS:         cfg.TLS,
		Timeout:     cfg.Timeout,
		MaxAttempts: cfg.MaxAttempts,
	})
	if err != nil {
		return nil, err
	}
	return &httpBackend{client: client}, nil
}

func (*httpBackend) close() error { return nil }

func (b *httpBackend) services(ctx context.Context) ([]string, error) {
	resp, err := b.client.Do(ctx, httpx.Request{Method: http.MethodGet, Path: pathServices})
	if err != nil {
		return nil, err
	}
	services, err := decodeServices(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("jaeger: GET %s: %w", pathServices, err)
	}
	return services, nil
}

func (b *httpBackend) operations(ctx context.Context, service string) ([]Operation, error) {
	resp, err := b.client.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: pathOperations,
		Query: url.Values{"service": {service}},
	})
	if err != nil {
		return nil, err
	}
	ops, err := decodeOperations(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("jaeger: GET %s for service %q: %w", pathOperations, service, err)
	}
	return ops, nil
}

func (b *httpBackend) findTraces(ctx context.Context, q TraceQuery) ([]ptrace.Traces, error) {
	if len(q.Tags) > 0 {
		keys := make([]string, 0, len(q.Tags))
		for k := range q.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("jaeger: find traces with tags %s: the api_v3 HTTP API of Jaeger v1.75.0 ignores tag filters, so configure the gRPC address to search by tag", strings.Join(keys, ", "))
	}
	query := url.Values{
		"query.service_name":   {q.Service},
		"query.start_time_min": {q.StartMin.UTC().Format(time.RFC3339Nano)},
		"query.start_time_max": {q.StartMax.UTC().Format(time.RFC3339Nano)},
		// Jaeger v1.75.0 returns 500 when num_traces is missing.
		"query.num_traces": {strconv.Itoa(q.NumTraces)},
		"query.raw_traces": {"true"},
	}
	if q.Operation != "" {
		query.Set("query.operation_name", q.Operation)
	}
	if q.DurationMin > 0 {
		query.Set("query.duration_min", q.DurationMin.String())
	}
	if q.DurationMax > 0 {
		query.Set("query.duration_max", q.DurationMax.String())
	}
	resp, err := b.client.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: pathTraces, Query: query, Classifier: classifyV3,
	})
	if err != nil {
		if httpx.StatusOf(err) == http.StatusInternalServerError && strings.Contains(err.Error(), searchDepthError) {
			return nil, fmt.Errorf("find traces of service %q with NumTraces %d: %w; %s", q.Service, q.NumTraces, err, searchDepthHint)
		}
		return nil, fmt.Errorf("find traces of service %q: %w", q.Service, err)
	}
	if resp.Status == http.StatusNotFound {
		if isNoTraces(resp.Body) {
			return []ptrace.Traces{}, nil
		}
		return nil, unexpected404(b.client, pathTraces, resp.Body)
	}
	traces, err := decodeTraces(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("jaeger: GET %s for service %q: %w", pathTraces, q.Service, err)
	}
	return traces, nil
}

func (b *httpBackend) getTrace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, bool, error) {
	path := pathTraces + "/" + id.String()
	resp, err := b.client.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: path,
		Query:      url.Values{"raw_traces": {"true"}},
		Classifier: classifyV3,
	})
	if err != nil {
		return ptrace.NewTraces(), false, fmt.Errorf("get trace %s: %w", id, err)
	}
	if resp.Status == http.StatusNotFound {
		if isNoTraces(resp.Body) {
			return ptrace.NewTraces(), false, nil
		}
		return ptrace.NewTraces(), false, unexpected404(b.client, path, resp.Body)
	}
	traces, err := decodeTraces(resp.Body)
	if err != nil {
		return ptrace.NewTraces(), false, fmt.Errorf("jaeger: GET %s: %w", path, err)
	}
	switch len(traces) {
	case 0:
		return ptrace.NewTraces(), false, nil
	case 1:
		return traces[0], true, nil
	default:
		return ptrace.NewTraces(), false, fmt.Errorf("jaeger: GET %s returned spans of %d traces, expected 1", path, len(traces))
	}
}

// classifyV3 accepts 404, which Jaeger sends when no trace matches, and
// treats the 500 that Jaeger v1.75.0 sends for an invalid num_traces as
// permanent.
func classifyV3(status int, header http.Header, body []byte) httpx.Decision {
	if status == http.StatusNotFound {
		return httpx.Accept
	}
	if status == http.StatusInternalServerError && bytes.Contains(body, []byte(searchDepthError)) {
		return httpx.Permanent
	}
	return httpx.DefaultClassifier(status, header, body)
}

func unexpected404(client *httpx.Client, path string, body []byte) error {
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return fmt.Errorf("jaeger: GET %s%s returned 404 (%s): check that the HTTP URL is jaeger-query's HTTP API (port 16686 by default), including any base path", client.BaseURL(), path, text)
}

// v3Error is the error envelope of Jaeger's api_v3 gateway.
type v3Error struct {
	HTTPCode int    `json:"httpCode"`
	Message  string `json:"message"`
}

// isNoTraces reports whether a 404 body is Jaeger's "no trace found"
// error rather than a 404 from some other server.
func isNoTraces(body []byte) bool {
	var envelope struct {
		Error *v3Error `json:"error"`
	}
	if json.Unmarshal(body, &envelope) != nil || envelope.Error == nil {
		return false
	}
	return envelope.Error.HTTPCode == http.StatusNotFound
}

// decodeServices decodes the body of /api/v3/services. The server omits
// the list when there are no services.
func decodeServices(body []byte) ([]string, error) {
	var resp struct {
		Services []string `json:"services"`
		Error    *v3Error `json:"error"`
	}
	if err := decodeJSON(body, &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error.err()
	}
	if resp.Services == nil {
		return []string{}, nil
	}
	return resp.Services, nil
}

// decodeOperations decodes the body of /api/v3/operations.
func decodeOperations(body []byte) ([]Operation, error) {
	var resp struct {
		Operations []struct {
			Name     string `json:"name"`
			SpanKind string `json:"spanKind"`
		} `json:"operations"`
		Error *v3Error `json:"error"`
	}
	if err := decodeJSON(body, &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error.err()
	}
	ops := make([]Operation, 0, len(resp.Operations))
	for _, op := range resp.Operations {
		ops = append(ops, Operation{Name: op.Name, SpanKind: op.SpanKind})
	}
	return ops, nil
}

// decodeTraces decodes the body of /api/v3/traces and /api/v3/traces/{id}:
// {"result": <OTLP JSON TracesData>}. It returns one ptrace.Traces per
// trace ID.
func decodeTraces(body []byte) ([]ptrace.Traces, error) {
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *v3Error        `json:"error"`
	}
	if err := decodeJSON(body, &resp); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return nil, resp.Error.err()
	}
	if len(resp.Result) == 0 || string(resp.Result) == "null" {
		return []ptrace.Traces{}, nil
	}
	var unmarshaler ptrace.JSONUnmarshaler
	td, err := unmarshaler.UnmarshalTraces(resp.Result)
	if err != nil {
		return nil, fmt.Errorf("decoding OTLP JSON in result: %w", err)
	}
	return splitByTrace(td), nil
}

func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("invalid JSON response (%w): %s", err, snippet(body))
	}
	return nil
}

func (e *v3Error) err() error {
	return fmt.Errorf("server error %d: %s", e.HTTPCode, e.Message)
}

// snippet returns the start of body for an error message.
func snippet(body []byte) string {
	const limit = 120
	if len(body) > limit {
		return strconv.Quote(string(body[:limit])) + "…"
	}
	return strconv.Quote(string(body))
}
