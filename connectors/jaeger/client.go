// Package jaeger reads traces from a Jaeger query service (jaeger-query, or
// the query extension of the Jaeger v2 binary) and returns them as OTLP
// ptrace.Traces.
//
// The primary path is the api_v2 QueryService over gRPC. Its spans are
// Jaeger model spans, which the OpenTelemetry collector's Jaeger translator
// converts to OTLP. The conversion keeps span references (parent and
// links), process tags (as resource attributes), logs (as span events), the
// status and the trace state. The Jaeger model has no place for scope
// attributes, span flags, dropped-attribute counts or link attributes, so
// this path loses them, and each link gets the attribute
// opentracing.ref_type instead.
//
// When only an HTTP address is configured the client uses the api_v3 HTTP
// API, which returns OTLP JSON and keeps those fields, but cannot filter
// by tag. Both paths were tested against Jaeger v1.75.0 with memory
// storage.
package jaeger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Defaults for a Config that leaves them zero.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 3
	// DefaultNumTraces is the number of traces FindTraces requests when
	// TraceQuery.NumTraces is zero. The Jaeger UI uses the same default.
	DefaultNumTraces = 20
)

// Config configures a Client. At least one of GRPC and HTTP must be set;
// when both are, GRPC is used.
type Config struct {
	// GRPC is the host:port of the query service's gRPC API (api_v2),
	// 16685 by default in Jaeger.
	GRPC string
	// HTTP is the base URL of the query service's HTTP API, used for the
	// api_v3 endpoints under /api/v3, such as http://jaeger:16686.
	HTTP string
	// TLS applies to both paths. Over gRPC the connection uses TLS when any
	// TLS field is set and is plaintext otherwise, so TLS with the system
	// roots needs CAFile set to the system bundle. Over HTTP the URL scheme
	// decides.
	TLS httpx.TLS
	// Token is sent as "Authorization: Bearer TOKEN", as gRPC metadata or
	// as an HTTP header.
	Token string
	// Timeout bounds each attempt of a call, including reading a whole
	// stream of spans.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of a call that fails with a transient
	// error (gRPC Unavailable or ResourceExhausted, HTTP 429 or 5xx).
	MaxAttempts int
}

// Operation is an operation (span name) of a service with the span kind
// Jaeger recorded for it: "server", "client", "producer", "consumer",
// "internal" or "" when the storage has no kind.
type Operation struct {
	Name     string
	SpanKind string
}

// TraceQuery selects traces. Service, StartMin and StartMax are required.
// Jaeger searches spans whose start time lies in [StartMin, StartMax].
type TraceQuery struct {
	Service   string
	Operation string
	// Tags match span tags (attributes), process tags (resource
	// attributes) and log fields, all on the same span. Only the gRPC path
	// supports them, because Jaeger v1.75.0's api_v3 HTTP gateway ignores
	// attribute filters.
	Tags        map[string]string
	StartMin    time.Time
	StartMax    time.Time
	DurationMin time.Duration
	DurationMax time.Duration
	// NumTraces is the maximum number of traces returned, DefaultNumTraces
	// when zero. Jaeger's memory storage rejects a value that is not below
	// its max_traces setting.
	NumTraces int
}

// backend is one of the two query APIs.
type backend interface {
	services(ctx context.Context) ([]string, error)
	operations(ctx context.Context, service string) ([]Operation, error)
	findTraces(ctx context.Context, q TraceQuery) ([]ptrace.Traces, error)
	getTrace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, bool, error)
	close() error
}

// Client queries one Jaeger query service. It is safe for concurrent use.
type Client struct {
	backend backend
}

// New returns a Client for cfg. It reads the TLS files, so a missing or
// invalid file fails here. It does not connect: the first call does.
func New(cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	switch {
	case cfg.GRPC != "":
		b, err := newGRPCBackend(cfg)
		if err != nil {
			return nil, err
		}
		return &Client{backend: b}, nil
	case cfg.HTTP != "":
		b, err := newHTTPBackend(cfg)
		if err != nil {
			return nil, err
		}
		return &Client{backend: b}, nil
	default:
		return nil, errors.New("jaeger: no query address: set grpc (host:port of jaeger-query's gRPC API, port 16685 by default) or http (its HTTP URL, port 16686 by default)")
	}
}

// Close releases the gRPC connection.
func (c *Client) Close() error { return c.backend.close() }

// Services returns the names of the services Jaeger has spans for, sorted.
func (c *Client) Services(ctx context.Context) ([]string, error) {
	services, err := c.backend.services(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(services)
	return services, nil
}

// Operations returns the operations of service, sorted by name and then
// span kind. An unknown service has no operations.
func (c *Client) Operations(ctx context.Context, service string) ([]Operation, error) {
	if service == "" {
		return nil, errors.New("jaeger: operations: the service name is empty")
	}
	ops, err := c.backend.operations(ctx, service)
	if err != nil {
		return nil, err
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Name != ops[j].Name {
			return ops[i].Name < ops[j].Name
		}
		return ops[i].SpanKind < ops[j].SpanKind
	})
	return ops, nil
}

// FindTraces returns the traces that match q, each as one ptrace.Traces
// holding all the trace's spans, in the order the server sent them. No
// match returns an empty slice and no error.
//
// NOTE: jaeger-query on Elasticsearch or OpenSearch storage looks back only
// es.max-span-age (max_span_age in the v2 config, 72h by default in Jaeger
// v1.75.0, unlimited with es.use-aliases). In the v1.75.0 source FindTraces
// picks its indices from StartMin and StartMax, but Services, Operations
// and GetTrace read only the indices of the last max-span-age. A service
// with no recent spans is missing from Services, and GetTrace of an older
// trace returns found=false. Migrating older data needs a larger
// max-span-age on the query service. This was read from the source, not run against Elasticsearch.
func (c *Client) FindTraces(ctx context.Context, q TraceQuery) ([]ptrace.Traces, error) {
	q, err := normalizeQuery(q)
	if err != nil {
		return nil, err
	}
	return c.backend.findTraces(ctx, q)
}

// GetTrace returns the trace with id. found is false, with no error, when
// Jaeger has no such trace. See the note on FindTraces about Elasticsearch
// storage: a trace older than es.max-span-age is not found there.
func (c *Client) GetTrace(ctx context.Context, id pcommon.TraceID) (td ptrace.Traces, found bool, err error) {
	if id.IsEmpty() {
		return ptrace.NewTraces(), false, errors.New("jaeger: get trace: the trace ID is all zeros")
	}
	return c.backend.getTrace(ctx, id)
}

// normalizeQuery checks q and fills in the default NumTraces.
func normalizeQuery(q TraceQuery) (TraceQuery, error) {
	var problems []string
	if q.Service == "" {
		problems = append(problems, "the service is empty (Jaeger requires one)")
	}
	if q.StartMin.IsZero() || q.StartMax.IsZero() {
		problems = append(problems, "StartMin and StartMax must both be set")
	} else if q.StartMax.Before(q.StartMin) {
		problems = append(problems, fmt.Sprintf("StartMax %s is before StartMin %s", q.StartMax.Format(time.RFC3339Nano), q.StartMin.Format(time.RFC3339Nano)))
	}
	if q.DurationMin < 0 || q.DurationMax < 0 {
		problems = append(problems, fmt.Sprintf("durations must not be negative (DurationMin %s, DurationMax %s)", q.DurationMin, q.DurationMax))
	} else if q.DurationMax > 0 && q.DurationMin > q.DurationMax {
		problems = append(problems, fmt.Sprintf("DurationMin %s is greater than DurationMax %s", q.DurationMin, q.DurationMax))
	}
	if q.NumTraces < 0 {
		problems = append(problems, fmt.Sprintf("NumTraces %d is negative", q.NumTraces))
	}
	if len(problems) > 0 {
		return q, fmt.Errorf("jaeger: invalid trace query: %s", strings.Join(problems, "; "))
	}
	if q.NumTraces == 0 {
		q.NumTraces = DefaultNumTraces
	}
	return q, nil
}
