package jaeger

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// fakeQuery is an api_v2 QueryService whose responses a test scripts.
type fakeQuery struct {
	api_v2.UnimplementedQueryServiceServer

	mu sync.Mutex
	// failures are returned, one per call, before the normal response.
	failures []error
	calls    int
	// delay is waited before responding.
	delay time.Duration
	// authorization holds the authorization metadata of each call.
	authorization [][]string
	services      []string
	operations    []*api_v2.Operation
	// chunks is the FindTraces and GetTrace stream.
	chunks    [][]model.Span
	lastQuery *api_v2.TraceQueryParameters
	lastGet   *api_v2.GetTraceRequest
}

func (f *fakeQuery) begin(ctx context.Context) error {
	f.mu.Lock()
	f.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	f.authorization = append(f.authorization, md.Get("authorization"))
	var err error
	if len(f.failures) > 0 {
		err, f.failures = f.failures[0], f.failures[1:]
	}
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (f *fakeQuery) GetServices(ctx context.Context, _ *api_v2.GetServicesRequest) (*api_v2.GetServicesResponse, error) {
	if err := f.begin(ctx); err != nil {
		return nil, err
	}
	return &api_v2.GetServicesResponse{Services: f.services}, nil
}

func (f *fakeQuery) GetOperations(ctx context.Context, _ *api_v2.GetOperationsRequest) (*api_v2.GetOperationsResponse, error) {
	if err := f.begin(ctx); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(f.operations))
	for _, op := range f.operations {
		names = append(names, op.Name)
	}
	return &api_v2.GetOperationsResponse{OperationNames: names, Operations: f.operations}, nil
}

func (f *fakeQuery) FindTraces(req *api_v2.FindTracesRequest, stream api_v2.QueryService_FindTracesServer) error {
	if err := f.begin(stream.Context()); err != nil {
		return err
	}
	f.mu.Lock()
	f.lastQuery = req.Query
	f.mu.Unlock()
	for _, chunk := range f.chunks {
		if err := stream.Send(&api_v2.SpansResponseChunk{Spans: chunk}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeQuery) GetTrace(req *api_v2.GetTraceRequest, stream api_v2.QueryService_GetTraceServer) error {
	if err := f.begin(stream.Context()); err != nil {
		return err
	}
	f.mu.Lock()
	f.lastGet = req
	f.mu.Unlock()
	for _, chunk := range f.chunks {
		if err := stream.Send(&api_v2.SpansResponseChunk{Spans: chunk}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeQuery) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// startFake serves fake on a loopback port, with TLS when cert is not nil,
// and returns its address.
func startFake(t *testing.T, fake *fakeQuery, cert *tls.Certificate) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := []grpc.ServerOption{grpc.ForceServerCodecV2(gogoCodec{fallback: encoding.GetCodecV2("proto")})}
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})))
	}
	server := grpc.NewServer(opts...)
	api_v2.RegisterQueryServiceServer(server, fake)
	go func() { _ = server.Serve(lis) }()
	t.Cleanup(server.Stop)
	return lis.Addr().String()
}

// newFakeClient returns a client for addr that does not wait between
// retries.
func newFakeClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := c.backend.(*grpcBackend); ok {
		b.sleep = func(context.Context, time.Duration) error { return nil }
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func modelSpan(trace, span uint64, name string) model.Span {
	return model.Span{
		TraceID:       model.NewTraceID(0, trace),
		SpanID:        model.NewSpanID(span),
		OperationName: name,
		StartTime:     time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).Add(time.Duration(span) * time.Millisecond),
		Duration:      time.Millisecond,
		Process:       &model.Process{ServiceName: "svc-" + name, Tags: []model.KeyValue{model.String("host.name", "host-"+name)}},
	}
}

func TestGRPCMergesChunksPerTrace(t *testing.T) {
	fake := &fakeQuery{chunks: [][]model.Span{
		{modelSpan(1, 11, "a1"), modelSpan(2, 21, "b1")},
		{modelSpan(1, 12, "a2")},
		{modelSpan(2, 22, "b2"), modelSpan(1, 13, "a3")},
	}}
	c := newFakeClient(t, Config{GRPC: startFake(t, fake, nil)})
	q := TraceQuery{
		Service: "svc", Operation: "op", Tags: map[string]string{"k": "v"},
		StartMin: time.Unix(100, 0), StartMax: time.Unix(200, 0),
		DurationMin: time.Millisecond, DurationMax: time.Second,
	}
	traces, err := c.FindTraces(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 2 {
		t.Fatalf("FindTraces returned %d traces, want 2", len(traces))
	}
	wantSpans := [][]string{{"a1", "a2", "a3"}, {"b1", "b2"}}
	for i, td := range traces {
		var names []string
		for _, rec := range spansOf(td) {
			names = append(names, rec.span.Name())
		}
		if diff := cmp.Diff(wantSpans[i], names, cmpSorted); diff != "" {
			t.Errorf("trace %d spans differ (-want +got):\n%s", i, diff)
		}
		// Each span has its own process, so each gets its own resource,
		// sorted by service name.
		var services []string
		for r := range td.ResourceSpans().Len() {
			services = append(services, serviceName(td.ResourceSpans().At(r)))
		}
		var wantServices []string
		for _, name := range wantSpans[i] {
			wantServices = append(wantServices, "svc-"+name)
		}
		if diff := cmp.Diff(wantServices, services); diff != "" {
			t.Errorf("trace %d resources differ (-want +got):\n%s", i, diff)
		}
	}

	got := fake.lastQuery
	want := &api_v2.TraceQueryParameters{
		ServiceName: "svc", OperationName: "op", Tags: map[string]string{"k": "v"},
		StartTimeMin: q.StartMin, StartTimeMax: q.StartMax,
		DurationMin: time.Millisecond, DurationMax: time.Second,
		SearchDepth: DefaultNumTraces, RawTraces: true,
	}
	if diff := cmp.Diff(want, got, cmpQuery); diff != "" {
		t.Errorf("request query differs (-want +got):\n%s", diff)
	}
}

var (
	cmpSorted = cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		sort.Strings(out)
		return out
	})
	cmpQuery = cmp.Comparer(func(a, b *api_v2.TraceQueryParameters) bool {
		return a.ServiceName == b.ServiceName && a.OperationName == b.OperationName &&
			cmp.Equal(a.Tags, b.Tags) && a.StartTimeMin.Equal(b.StartTimeMin) && a.StartTimeMax.Equal(b.StartTimeMax) &&
			a.DurationMin == b.DurationMin && a.DurationMax == b.DurationMax &&
			a.SearchDepth == b.SearchDepth && a.RawTraces == b.RawTraces
	})
)

func TestGRPCGetTrace(t *testing.T) {
	id := pcommon.TraceID{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}
	tests := []struct {
		name      string
		failures  []error
		chunks    [][]model.Span
		wantFound bool
		wantSpans int
		wantErr   string
	}{
		{"found over two chunks", nil, [][]model.Span{{modelSpan(7, 1, "x1")}, {modelSpan(7, 2, "x2")}}, true, 2, ""},
		{"not found status", []error{status.Error(codes.NotFound, "trace not found")}, nil, false, 0, ""},
		{"empty stream", nil, nil, false, 0, ""},
		{"spans of two traces", nil, [][]model.Span{{modelSpan(7, 1, "x1"), modelSpan(8, 2, "y1")}}, false, 0, "spans of 2 traces"},
		{"internal error", []error{status.Error(codes.Internal, "backend down")}, nil, false, 0, "Internal: backend down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeQuery{failures: tt.failures, chunks: tt.chunks}
			c := newFakeClient(t, Config{GRPC: startFake(t, fake, nil)})
			td, found, err := c.GetTrace(t.Context(), id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("GetTrace error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.wantFound || td.SpanCount() != tt.wantSpans {
				t.Errorf("GetTrace = found %v with %d spans, want %v with %d", found, td.SpanCount(), tt.wantFound, tt.wantSpans)
			}
			if fake.lastGet != nil && (fake.lastGet.TraceID != model.NewTraceID(0, 7) || !fake.lastGet.RawTraces) {
				t.Errorf("request = trace %v raw %v, want trace 7 with raw traces", fake.lastGet.TraceID, fake.lastGet.RawTraces)
			}
		})
	}
}

func TestGRPCRetries(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "connection reset")
	exhausted := status.Error(codes.ResourceExhausted, "too many requests")
	tests := []struct {
		name        string
		failures    []error
		maxAttempts int
		wantCalls   int
		wantErr     string
	}{
		{"unavailable then ok", []error{unavailable, unavailable}, 3, 3, ""},
		{"exhausted then ok", []error{exhausted}, 3, 2, ""},
		{"unavailable past max attempts", []error{unavailable, unavailable, unavailable}, 2, 2, "after 2 attempts: Unavailable: connection reset"},
		{"invalid argument is permanent", []error{status.Error(codes.InvalidArgument, "bad query")}, 3, 1, "GetServices on"},
		{"internal is permanent", []error{status.Error(codes.Internal, "storage failed")}, 3, 1, "Internal: storage failed"},
		{"unimplemented names the port", []error{status.Error(codes.Unimplemented, "unknown service")}, 3, 1, "does not serve jaeger.api_v2.QueryService"},
		{"unauthenticated hints at token", []error{status.Error(codes.Unauthenticated, "no token")}, 3, 1, "check the token"},
		{"search depth hints at NumTraces", []error{status.Error(codes.Internal, "failed when searching for traces: search depth must be greater than 0 and less than max traces")}, 3, 1, "lower NumTraces below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeQuery{failures: tt.failures, services: []string{"b", "a"}}
			c := newFakeClient(t, Config{GRPC: startFake(t, fake, nil), MaxAttempts: tt.maxAttempts})
			services, err := c.Services(t.Context())
			if got := fake.callCount(); got != tt.wantCalls {
				t.Errorf("server saw %d calls, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{"a", "b"}, services); diff != "" {
					t.Errorf("Services differ (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			var grpcErr *GRPCError
			if !errors.As(err, &grpcErr) || grpcErr.Attempts != tt.wantCalls {
				t.Errorf("error %v is not a *GRPCError with %d attempts", err, tt.wantCalls)
			}
		})
	}
}

func TestGRPCOperationsSorted(t *testing.T) {
	fake := &fakeQuery{operations: []*api_v2.Operation{
		{Name: "b", SpanKind: "server"}, {Name: "a", SpanKind: "server"}, {Name: "a", SpanKind: "client"},
	}}
	c := newFakeClient(t, Config{GRPC: startFake(t, fake, nil)})
	got, err := c.Operations(t.Context(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	want := []Operation{{"a", "client"}, {"a", "server"}, {"b", "server"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Operations differ (-want +got):\n%s", diff)
	}
	if _, err := c.Operations(t.Context(), ""); err == nil {
		t.Error("Operations with an empty service returned no error")
	}
}

func TestGRPCSendsToken(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		token string
		want  []string
	}{
		{token, []string{"Bearer " + token}},
		{"", nil},
	}
	for _, tt := range tests {
		fake := &fakeQuery{failures: []error{status.Error(codes.InvalidArgument, "rejected")}}
		c := newFakeClient(t, Config{GRPC: startFake(t, fake, nil), Token: tt.token})
		_, err := c.Services(t.Context())
		if err == nil {
			t.Fatal("Services returned no error for a rejected call")
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("error %q contains the token", err)
		}
		if _, err := c.Services(t.Context()); err != nil {
			t.Fatal(err)
		}
		for i, got := range fake.authorization {
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("token %q, call %d: authorization metadata differs (-want +got):\n%s", tt.token, i, diff)
			}
		}
	}
}

func TestGRPCCallTimesOut(t *testing.T) {
	// A server that accepts TCP connections and never speaks HTTP/2.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		lis.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			conn.Close()
		}
	})
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	slow := &fakeQuery{delay: 5 * time.Second}
	for name, addr := range map[string]string{"silent listener": lis.Addr().String(), "slow server": startFake(t, slow, nil)} {
		t.Run(name, func(t *testing.T) {
			c := newFakeClient(t, Config{GRPC: addr, Timeout: 300 * time.Millisecond})
			start := time.Now()
			_, err := c.Services(t.Context())
			if err == nil {
				t.Fatal("Services returned no error")
			}
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("Services took %s with a 300ms timeout", elapsed)
			}
			for _, want := range []string{"DeadlineExceeded", "timed out after 300ms", addr, "check that jaeger-query runs"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestGRPCUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens on addr now
	c := newFakeClient(t, Config{GRPC: addr, Timeout: 2 * time.Second, MaxAttempts: 2})
	_, err = c.FindTraces(t.Context(), TraceQuery{Service: "s", StartMin: time.Unix(1, 0), StartMax: time.Unix(2, 0)})
	if err == nil {
		t.Fatal("FindTraces to a closed port returned no error")
	}
	for _, want := range []string{"FindTraces on " + addr, "after 2 attempts", "Unavailable", "check that jaeger-query runs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestGRPCTLS(t *testing.T) {
	ca := newTestCA(t)
	serverCert := ca.issue(t, "127.0.0.1")
	otherCA := newTestCA(t)
	fake := &fakeQuery{services: []string{"secure"}}
	addr := startFake(t, fake, &serverCert)

	t.Run("trusted", func(t *testing.T) {
		c := newFakeClient(t, Config{GRPC: addr, TLS: httpx.TLS{CAFile: ca.file}})
		got, err := c.Services(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"secure"}, got); diff != "" {
			t.Errorf("Services differ (-want +got):\n%s", diff)
		}
	})
	t.Run("unknown authority", func(t *testing.T) {
		c := newFakeClient(t, Config{GRPC: addr, TLS: httpx.TLS{CAFile: otherCA.file}, MaxAttempts: 3})
		_, err := c.Services(t.Context())
		if err == nil {
			t.Fatal("Services with an untrusted server certificate returned no error")
		}
		if !strings.Contains(err.Error(), "TLS failed") {
			t.Errorf("error %q does not say TLS failed", err)
		}
		var grpcErr *GRPCError
		if !errors.As(err, &grpcErr) || grpcErr.Attempts != 1 {
			t.Errorf("error %v: want one attempt, since a TLS failure cannot heal", err)
		}
	})
	t.Run("plaintext client", func(t *testing.T) {
		c := newFakeClient(t, Config{GRPC: addr, Timeout: time.Second, MaxAttempts: 1})
		if _, err := c.Services(t.Context()); err == nil {
			t.Error("a plaintext client talking to a TLS server returned no error")
		}
	})
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no address", Config{}, "no query address"},
		{"URL as gRPC address", Config{GRPC: "http://jaeger:16685"}, "write it as host:port"},
		{"gRPC address without port", Config{GRPC: "jaeger"}, "write it as host:port"},
		{"missing CA file", Config{GRPC: "127.0.0.1:1", TLS: httpx.TLS{CAFile: "/no/such/ca.pem"}}, "tls.ca_file"},
		{"invalid HTTP URL", Config{HTTP: "jaeger:16686"}, "invalid URL"},
		{"HTTP URL with credentials", Config{HTTP: "http://user:pw@jaeger:16686"}, "carries credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestNormalizeQuery(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	valid := TraceQuery{Service: "s", StartMin: t0, StartMax: t0.Add(time.Hour)}
	tests := []struct {
		name    string
		change  func(*TraceQuery)
		wantErr string
		wantNum int
	}{
		{"valid gets default num traces", func(*TraceQuery) {}, "", DefaultNumTraces},
		{"explicit num traces kept", func(q *TraceQuery) { q.NumTraces = 5 }, "", 5},
		{"missing service", func(q *TraceQuery) { q.Service = "" }, "service is empty", 0},
		{"missing start", func(q *TraceQuery) { q.StartMin = time.Time{} }, "StartMin and StartMax must both be set", 0},
		{"reversed window", func(q *TraceQuery) { q.StartMin, q.StartMax = q.StartMax, q.StartMin }, "is before StartMin", 0},
		{"negative duration", func(q *TraceQuery) { q.DurationMin = -time.Second }, "must not be negative", 0},
		{"min above max duration", func(q *TraceQuery) { q.DurationMin, q.DurationMax = time.Second, time.Millisecond }, "greater than DurationMax", 0},
		{"negative num traces", func(q *TraceQuery) { q.NumTraces = -1 }, "NumTraces -1 is negative", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := valid
			tt.change(&q)
			got, err := normalizeQuery(q)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.NumTraces != tt.wantNum {
				t.Errorf("NumTraces = %d, want %d", got.NumTraces, tt.wantNum)
			}
		})
	}
}

func TestClearInferredStatus(t *testing.T) {
	withTags := func(id uint64, name string, tags ...model.KeyValue) model.Span {
		s := modelSpan(1, id, name)
		s.Tags = tags
		return s
	}
	spans := []model.Span{
		withTags(1, "http-only", model.Int64("http.status_code", 503), model.String("span.kind", "server")),
		withTags(2, "error-tag", model.Bool("error", true), model.Int64("http.status_code", 503)),
		withTags(3, "otel-status", model.String("otel.status_code", "ERROR"), model.String("otel.status_description", "boom")),
		withTags(4, "error-false", model.Bool("error", false), model.Int64("http.status_code", 500), model.String("span.kind", "server")),
	}
	traces, err := spansToTraces(spans)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ptrace.StatusCode{
		"http-only":   ptrace.StatusCodeUnset,
		"error-tag":   ptrace.StatusCodeError,
		"otel-status": ptrace.StatusCodeError,
		"error-false": ptrace.StatusCodeUnset,
	}
	for _, rec := range spansOf(traces[0]) {
		if got := rec.span.Status().Code(); got != want[rec.span.Name()] {
			t.Errorf("span %q: status %s, want %s", rec.span.Name(), got, want[rec.span.Name()])
		}
	}
}
