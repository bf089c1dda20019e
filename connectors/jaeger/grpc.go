package jaeger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

const (
	// maxRecvMsgSize bounds one gRPC message. Jaeger v1.75.0 sends at most
	// 10 spans per chunk, but a span with large tags or logs can exceed
	// gRPC's default of 4 MiB.
	maxRecvMsgSize = 64 << 20
	minBackoff     = 200 * time.Millisecond
	maxBackoff     = 5 * time.Second
)

// GRPCError is a failed call to the api_v2 QueryService.
type GRPCError struct {
	// Method is the QueryService method, such as "FindTraces".
	Method string
	Addr   string
	Code   codes.Code
	// Attempts counts the calls made, retries included.
	Attempts int
	// Timeout is the per-attempt timeout in force.
	Timeout time.Duration
	Err     error
}

func (e *GRPCError) Error() string {
	retried := ""
	if e.Attempts > 1 {
		retried = fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	message := status.Convert(e.Err).Message()
	return fmt.Sprintf("jaeger: %s on %s failed%s: %s: %s%s", e.Method, e.Addr, retried, e.Code, message, e.hint(message))
}

func (e *GRPCError) hint(message string) string {
	const serves = "check that jaeger-query runs at %s and serves its gRPC API there (port 16685 by default)"
	switch {
	case e.Code == codes.DeadlineExceeded:
		return fmt.Sprintf("; timed out after %s: "+serves+", and raise the timeout if it is slow", e.Timeout, e.Addr)
	case isTLSFailure(message):
		return "; TLS failed: check the plan's tls.ca_file, cert_file and key_file, and whether the server expects TLS"
	case e.Code == codes.Unavailable:
		return "; " + fmt.Sprintf(serves, e.Addr)
	case e.Code == codes.Unimplemented:
		return fmt.Sprintf("; %s does not serve jaeger.api_v2.QueryService: use jaeger-query's gRPC port (16685 by default), not the collector's", e.Addr)
	case e.Code == codes.Unauthenticated, e.Code == codes.PermissionDenied:
		return "; check the token"
	case strings.Contains(message, searchDepthError):
		return "; " + searchDepthHint
	}
	return ""
}

func (e *GRPCError) Unwrap() error { return e.Err }

// isTLSFailure reports whether a gRPC status message comes from a failed
// TLS handshake; grpc-go reports those as Unavailable with this text.
func isTLSFailure(message string) bool {
	return strings.Contains(message, "authentication handshake failed") ||
		strings.Contains(message, "tls: ") || strings.Contains(message, "x509: ")
}

// retryable reports whether a call that failed with err may succeed when
// sent again.
func retryable(err error) bool {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable:
		return !isTLSFailure(st.Message())
	case codes.ResourceExhausted:
		return true
	default:
		return false
	}
}

type grpcBackend struct {
	addr        string
	conn        *grpc.ClientConn
	client      api_v2.QueryServiceClient
	token       string
	timeout     time.Duration
	maxAttempts int
	sleep       func(ctx context.Context, d time.Duration) error
}

func newGRPCBackend(cfg Config) (*grpcBackend, error) {
	if _, _, err := net.SplitHostPort(cfg.GRPC); err != nil || strings.Contains(cfg.GRPC, "/") {
		return nil, fmt.Errorf("jaeger: invalid gRPC address %q: write it as host:port, such as jaeger-query:16685", httpx.Redact(cfg.GRPC))
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != (httpx.TLS{}) {
		tlsConfig, err := httpx.TLSConfig(cfg.TLS)
		if err != nil {
			return nil, fmt.Errorf("jaeger: %w", err)
		}
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient(cfg.GRPC,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(gogoCodec{fallback: encoding.GetCodecV2("proto")}),
			grpc.MaxCallRecvMsgSize(maxRecvMsgSize),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("jaeger: gRPC client for %s: %w", cfg.GRPC, err)
	}
	return &grpcBackend{
		addr:        cfg.GRPC,
		conn:        conn,
		client:      api_v2.NewQueryServiceClient(conn),
		token:       cfg.Token,
		timeout:     cfg.Timeout,
		maxAttempts: cfg.MaxAttempts,
		sleep:       sleep,
	}, nil
}

func (b *grpcBackend) close() error { return b.conn.Close() }

// call runs fn with a per-attempt timeout and the bearer token, retrying
// Unavailable and ResourceExhausted with jittered exponential backoff.
func (b *grpcBackend) call(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	if b.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+b.token)
	}
	for attempt := 1; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, b.timeout)
		err := fn(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		callErr := &GRPCError{Method: method, Addr: b.addr, Code: status.Code(err), Attempts: attempt, Timeout: b.timeout, Err: err}
		if ctx.Err() != nil || !retryable(err) || attempt >= b.maxAttempts {
			return callErr
		}
		if b.sleep(ctx, backoff(attempt)) != nil {
			return callErr
		}
	}
}

// backoff returns the wait before attempt+1: full jitter over the upper
// half of an exponential ceiling.
func backoff(attempt int) time.Duration {
	ceiling := minBackoff << min(attempt-1, 10)
	if ceiling > maxBackoff {
		ceiling = maxBackoff
	}
	half := ceiling / 2
	return half + rand.N(half+1)
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

func (b *grpcBackend) services(ctx context.Context) ([]string, error) {
	var services []string
	err := b.call(ctx, "GetServices", func(ctx context.Context) error {
		resp, err := b.client.GetServices(ctx, &api_v2.GetServicesRequest{})
		if err != nil {
			return err
		}
		services = resp.Services
		return nil
	})
	return services, err
}

func (b *grpcBackend) operations(ctx context.Context, service string) ([]Operation, error) {
	var ops []Operation
	err := b.call(ctx, "GetOperations", func(ctx context.Context) error {
		resp, err := b.client.GetOperations(ctx, &api_v2.GetOperationsRequest{Service: service})
		if err != nil {
			return err
		}
		ops = make([]Operation, 0, len(resp.Operations))
		for _, op := range resp.Operations {
			ops = append(ops, Operation{Name: op.Name, SpanKind: op.SpanKind})
		}
		// Servers that predate the operations field fill only the names.
		if len(resp.Operations) == 0 {
			for _, name := range resp.OperationNames {
				ops = append(ops, Operation{Name: name})
			}
		}
		return nil
	})
	return ops, err
}

func (b *grpcBackend) findTraces(ctx context.Context, q TraceQuery) ([]ptrace.Traces, error) {
	req := &api_v2.FindTracesRequest{Query: &api_v2.TraceQueryParameters{
		ServiceName:   q.Service,
		OperationName: q.Operation,
		Tags:          q.Tags,
		StartTimeMin:  q.StartMin,
		StartTimeMax:  q.StartMax,
		DurationMin:   q.DurationMin,
		DurationMax:   q.DurationMax,
		SearchDepth:   int32(min(q.NumTraces, math.MaxInt32)), //nolint:gosec // bounded above
		// Raw traces skip the query service's adjusters (clock skew and
		// others), so the migration copies spans as stored.
		RawTraces: true,
	}}
	var spans []model.Span
	err := b.call(ctx, "FindTraces", func(ctx context.Context) error {
		stream, err := b.client.FindTraces(ctx, req)
		if err != nil {
			return err
		}
		spans, err = readChunks(stream)
		return err
	})
	if err != nil {
		return nil, err
	}
	return spansToTraces(spans)
}

func (b *grpcBackend) getTrace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, bool, error) {
	req := &api_v2.GetTraceRequest{TraceID: modelTraceID(id), RawTraces: true}
	var spans []model.Span
	notFound := false
	err := b.call(ctx, "GetTrace", func(ctx context.Context) error {
		stream, err := b.client.GetTrace(ctx, req)
		if err == nil {
			spans, err = readChunks(stream)
		}
		if status.Code(err) == codes.NotFound {
			notFound = true
			return nil
		}
		return err
	})
	if err != nil {
		return ptrace.NewTraces(), false, err
	}
	if notFound || len(spans) == 0 {
		return ptrace.NewTraces(), false, nil
	}
	traces, err := spansToTraces(spans)
	if err != nil {
		return ptrace.NewTraces(), false, err
	}
	if len(traces) != 1 {
		return ptrace.NewTraces(), false, fmt.Errorf("jaeger: GetTrace %s on %s returned spans of %d traces, expected 1", id, b.addr, len(traces))
	}
	return traces[0], true, nil
}

// chunkStream is the receiving side of the FindTraces and GetTrace streams.
type chunkStream interface {
	Recv() (*api_v2.SpansResponseChunk, error)
}

// readChunks reads a span stream to its end.
func readChunks(stream chunkStream) ([]model.Span, error) {
	var spans []model.Span
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return spans, nil
		}
		if err != nil {
			return nil, err
		}
		spans = append(spans, chunk.Spans...)
	}
}

// gogoMessage is a message generated by gogo/protobuf, as the jaeger-idl
// api_v2 types are. The standard protobuf codec cannot encode them, because
// they use custom types (trace IDs) and time.Time fields.
type gogoMessage interface {
	Reset()
	Marshal() ([]byte, error)
	Unmarshal(data []byte) error
}

// gogoCodec encodes gogo messages with their generated methods and every
// other message with the standard codec.
type gogoCodec struct {
	fallback encoding.CodecV2
}

func (gogoCodec) Name() string { return "proto" }

func (c gogoCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(gogoMessage); ok {
		data, err := m.Marshal()
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(data)}, nil
	}
	return c.fallback.Marshal(v)
}

func (c gogoCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(gogoMessage); ok {
		m.Reset()
		return m.Unmarshal(data.Materialize())
	}
	return c.fallback.Unmarshal(data, v)
}
