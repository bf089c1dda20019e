package tempo

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/obs-migrate/migrate/internal/recording"
)

func TestPushHTTPSendsProtobuf(t *testing.T) {
	ex := load(t, "otlp_http_json_push_ok")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Tenant = "team-a" })

	td := sampleTraces()
	result, err := c.PushHTTP(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	if result.RejectedSpans != 0 || result.Attempts != 1 {
		t.Errorf("PushHTTP result = %+v, expected no rejected spans after one attempt", result)
	}
	reqs, bodies := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, expected 1", len(reqs))
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/x-protobuf" {
		t.Errorf("Content-Type = %q, expected application/x-protobuf", ct)
	}
	got := ptraceotlp.NewExportRequest()
	if err := got.UnmarshalProto(bodies[0]); err != nil {
		t.Fatalf("the server cannot decode the body as OTLP protobuf: %v", err)
	}
	if want, have := tracesJSON(t, td), tracesJSON(t, got.Traces()); want != have {
		t.Errorf("decoded traces differ from the pushed ones:\nsent %s\ngot  %s", want, have)
	}
}

func TestPushHTTPSkipsEmptyTraces(t *testing.T) {
	srv := recording.NewServer(t)
	c, _ := newTestClient(t, srv.URL, nil)
	if _, err := c.PushHTTP(context.Background(), ptrace.NewTraces()); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := srv.Requests(); len(reqs) != 0 {
		t.Errorf("an empty push sent %d requests", len(reqs))
	}
}

func TestPushHTTPPartialSuccess(t *testing.T) {
	protoResponse := ptraceotlp.NewExportResponse()
	protoResponse.PartialSuccess().SetRejectedSpans(4)
	protoResponse.PartialSuccess().SetErrorMessage("LIVE_TRACES_EXCEEDED: max live traces per tenant exceeded")
	protoBody, err := protoResponse.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		response *recording.Response
		want     PushResult
	}{
		{
			// Tempo 3.0.3 dropped this over-limit trace and still sent an
			// empty partialSuccess, so the response rejects nothing.
			name:     "recorded trace too large",
			response: load(t, "err_trace_too_large_push_returns_200").Response,
			want:     PushResult{Attempts: 1},
		},
		{
			name: "JSON with rejected spans",
			response: &recording.Response{
				Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}},
				Body: []byte(`{"partialSuccess":{"rejectedSpans":"3","errorMessage":"TRACE_TOO_LARGE: max size of trace (5000) exceeded"}}`),
			},
			want: PushResult{RejectedSpans: 3, Message: "TRACE_TOO_LARGE: max size of trace (5000) exceeded", Reason: ReasonTraceTooLarge, Attempts: 1},
		},
		{
			name:     "protobuf with rejected spans",
			response: &recording.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/x-protobuf"}}, Body: protoBody},
			want:     PushResult{RejectedSpans: 4, Message: "LIVE_TRACES_EXCEEDED: max live traces per tenant exceeded", Reason: ReasonLiveTracesExceeded, Attempts: 1},
		},
		{
			name:     "empty body",
			response: &recording.Response{Status: 200},
			want:     PushResult{Attempts: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle("POST", "/v1/traces", tt.response)
			c, _ := newTestClient(t, srv.URL, nil)
			got, err := c.PushHTTP(context.Background(), sampleTraces())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PushHTTP = %+v, expected %+v", got, tt.want)
			}
		})
	}
}

func TestPushHTTPInvalidResponse(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Handle("POST", "/v1/traces", &recording.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"partialSuccess":`)})
	c, _ := newTestClient(t, srv.URL, nil)
	if _, err := c.PushHTTP(context.Background(), sampleTraces()); err == nil || !strings.Contains(err.Error(), "invalid OTLP JSON response") {
		t.Errorf("PushHTTP error = %v, expected an invalid response error", err)
	}
}

func TestPushHTTPRetriesRateLimit(t *testing.T) {
	limited := load(t, "err_rate_limit_429_retry_after")
	srv := recording.NewServer(t)
	srv.Handle("POST", "/v1/traces", limited.Response, load(t, "otlp_http_json_push_ok").Response)
	c, s := newTestClient(t, srv.URL, nil)

	result, err := c.PushHTTP(context.Background(), sampleTraces())
	if err != nil {
		t.Fatalf("PushHTTP after a 429: %v", err)
	}
	if result.Attempts != 2 {
		t.Errorf("Attempts = %d, expected 2", result.Attempts)
	}
	waits := s.all()
	if len(waits) != 1 || waits[0] < 5*time.Second {
		t.Errorf("waits = %v, expected one wait of at least Retry-After (5s)", waits)
	}
}

func TestPushHTTPRateLimitExhausted(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Replay(load(t, "err_rate_limit_429_retry_after"))
	c, s := newTestClient(t, srv.URL, nil)

	_, err := c.PushHTTP(context.Background(), sampleTraces())
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("PushHTTP error = %v, expected ErrRateLimited", err)
	}
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("error is %T, expected *Error", err)
	}
	if te.Status != 429 || te.Code != codes.ResourceExhausted || te.RetryAfter != 5*time.Second || te.Attempts != 3 {
		t.Errorf("error status %d code %v retry after %s attempts %d", te.Status, te.Code, te.RetryAfter, te.Attempts)
	}
	if te.Permanent || !IsRetryable(err) {
		t.Errorf("a rate limit should stay retryable later: Permanent %v", te.Permanent)
	}
	if !strings.HasPrefix(te.Message, "RATE_LIMITED: ingestion rate limit") {
		t.Errorf("Message = %q, expected Tempo's message from the google.rpc.Status body", te.Message)
	}
	if len(s.all()) != 2 {
		t.Errorf("waits = %v, expected 2", s.all())
	}
}

func TestPushHTTPPermanentErrors(t *testing.T) {
	tests := []struct {
		recording   string
		reason      string
		code        codes.Code
		sentinel    error
		messageHead string
	}{
		{"err_otlp_http_json_malformed_400", ReasonInvalidArgument, codes.InvalidArgument, ErrInvalidArgument, "ReadObject: expect"},
		{"err_otlp_http_unsupported_content_type_415", ReasonUnsupportedMediaType, codes.OK, nil, "415 unsupported media type"},
		{"err_rate_limit_batch_larger_than_burst_429", ReasonRateLimited, codes.ResourceExhausted, ErrRateLimited, "RATE_LIMITED: batch size"},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Replay(load(t, tt.recording))
			c, s := newTestClient(t, srv.URL, nil)
			_, err := c.PushHTTP(context.Background(), sampleTraces())
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("PushHTTP error = %v, expected *Error", err)
			}
			if te.Reason != tt.reason || te.Code != tt.code {
				t.Errorf("Reason %q code %v, expected %q and %v", te.Reason, te.Code, tt.reason, tt.code)
			}
			if !te.Permanent || IsRetryable(err) {
				t.Errorf("error is not permanent: %+v", te)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tt.sentinel)
			}
			if !strings.HasPrefix(te.Message, tt.messageHead) || !strings.Contains(err.Error(), tt.messageHead) {
				t.Errorf("Tempo's text %q is not kept: message %q, error %q", tt.messageHead, te.Message, err)
			}
			if reqs, _ := srv.Requests(); len(reqs) != 1 || len(s.all()) != 0 {
				t.Errorf("sent %d requests and waited %v, expected one request and no retry", len(reqs), s.all())
			}
		})
	}
}

func TestPushWithoutEndpoints(t *testing.T) {
	c, err := New(Config{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.PushHTTP(context.Background(), sampleTraces()); err == nil || !strings.Contains(err.Error(), "targets.tempo.otlp_http") {
		t.Errorf("PushHTTP without OTLPHTTP: %v", err)
	}
	if _, err := c.PushGRPC(context.Background(), sampleTraces()); err == nil || !strings.Contains(err.Error(), "targets.tempo.otlp") {
		t.Errorf("PushGRPC without OTLPGRPC: %v", err)
	}
}

// fakeOTLP is an OTLP gRPC trace service that returns scripted errors, then
// success.
type fakeOTLP struct {
	ptraceotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	script   []error
	calls    int
	metadata []metadata.MD
	received []ptrace.Traces
	response ptraceotlp.ExportResponse
}

func (f *fakeOTLP) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	f.metadata = append(f.metadata, md)
	td := ptrace.NewTraces()
	req.Traces().CopyTo(td)
	f.received = append(f.received, td)
	if len(f.script) > 0 {
		err := f.script[0]
		f.script = f.script[1:]
		if err != nil {
			return ptraceotlp.NewExportResponse(), err
		}
	}
	if f.response == (ptraceotlp.ExportResponse{}) {
		return ptraceotlp.NewExportResponse(), nil
	}
	return f.response, nil
}

func startOTLPServer(t *testing.T, f *fakeOTLP) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(s, f)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func rateLimited(t *testing.T, delay time.Duration) error {
	t.Helper()
	st, err := status.New(codes.ResourceExhausted, "RATE_LIMITED: ingestion rate limit (local: 20000 bytes/s, global: 0 bytes/s, burst: 20000 bytes) exceeded").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestPushGRPC(t *testing.T) {
	rejected := ptraceotlp.NewExportResponse()
	rejected.PartialSuccess().SetRejectedSpans(1)
	rejected.PartialSuccess().SetErrorMessage("TRACE_TOO_LARGE: dropped")
	tests := []struct {
		name        string
		script      []error
		response    ptraceotlp.ExportResponse
		wantCalls   int
		wantErr     error
		wantCode    codes.Code
		wantMinWait time.Duration
		permanent   bool
		wantResult  PushResult
	}{
		{
			name:        "rate limited then OK",
			script:      []error{rateLimited(t, 7*time.Second), nil},
			wantCalls:   2,
			wantMinWait: 7 * time.Second,
			wantResult:  PushResult{Attempts: 2},
		},
		{
			name:       "unavailable then OK",
			script:     []error{status.Error(codes.Unavailable, "ingester restarting"), nil},
			wantCalls:  2,
			wantResult: PushResult{Attempts: 2},
		},
		{
			name:      "invalid argument is not retried",
			script:    []error{status.Error(codes.InvalidArgument, "invalid trace id")},
			wantCalls: 1, wantErr: ErrInvalidArgument, wantCode: codes.InvalidArgument, permanent: true,
		},
		{
			name:      "batch over the burst is not retried",
			script:    []error{status.Error(codes.ResourceExhausted, "RATE_LIMITED: batch size (32025 bytes) exceeds ingestion limit (local: 20000 bytes/s)")},
			wantCalls: 1, wantErr: ErrRateLimited, wantCode: codes.ResourceExhausted, permanent: true,
		},
		{
			name: "rate limited on every attempt",
			script: []error{
				rateLimited(t, time.Second), rateLimited(t, time.Second), rateLimited(t, time.Second),
			},
			wantCalls: 3, wantErr: ErrRateLimited, wantCode: codes.ResourceExhausted, wantMinWait: time.Second,
		},
		{
			name:       "partial success",
			response:   rejected,
			wantCalls:  1,
			wantResult: PushResult{RejectedSpans: 1, Message: "TRACE_TOO_LARGE: dropped", Reason: ReasonTraceTooLarge, Attempts: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeOTLP{script: tt.script, response: tt.response}
			addr := startOTLPServer(t, f)
			s := &sleeps{}
			c, err := New(Config{
				URL: "http://127.0.0.1:1", OTLPGRPC: addr, Tenant: "team-a", Token: "grpc-secret",
				Timeout: 5 * time.Second, MaxAttempts: 3, Sleep: s.sleep,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			td := sampleTraces()
			result, err := c.PushGRPC(context.Background(), td)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("PushGRPC: %v", err)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("PushGRPC error = %v, expected %v", err, tt.wantErr)
				}
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("error is %T, expected *Error", err)
				}
				if te.Code != tt.wantCode || te.Permanent != tt.permanent || te.Attempts != tt.wantCalls {
					t.Errorf("error code %v permanent %v attempts %d", te.Code, te.Permanent, te.Attempts)
				}
				if strings.Contains(err.Error(), "grpc-secret") {
					t.Errorf("error contains the token: %v", err)
				}
			}
			if result != tt.wantResult {
				t.Errorf("result = %+v, expected %+v", result, tt.wantResult)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.calls != tt.wantCalls {
				t.Errorf("server got %d calls, expected %d", f.calls, tt.wantCalls)
			}
			waits := s.all()
			if len(waits) != tt.wantCalls-1 {
				t.Errorf("waits = %v, expected %d", waits, tt.wantCalls-1)
			}
			for _, w := range waits {
				if w < tt.wantMinWait {
					t.Errorf("wait %s is shorter than the RetryInfo delay %s", w, tt.wantMinWait)
				}
			}
			md := f.metadata[0]
			if got := md.Get("x-scope-orgid"); len(got) != 1 || got[0] != "team-a" {
				t.Errorf("x-scope-orgid = %v", got)
			}
			if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer grpc-secret" {
				t.Errorf("authorization = %v", got)
			}
			if want, have := tracesJSON(t, td), tracesJSON(t, f.received[0]); want != have {
				t.Errorf("received traces differ:\nsent %s\ngot  %s", want, have)
			}
		})
	}
}

func TestPushGRPCUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	s := &sleeps{}
	c, err := New(Config{URL: "http://127.0.0.1:1", OTLPGRPC: addr, Timeout: time.Second, MaxAttempts: 2, Sleep: s.sleep})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.PushGRPC(context.Background(), sampleTraces())
	var te *Error
	if !errors.As(err, &te) || te.Code != codes.Unavailable || te.Attempts != 2 {
		t.Fatalf("PushGRPC error = %v, expected Unavailable after 2 attempts", err)
	}
	if !IsRetryable(err) {
		t.Error("an unreachable Tempo should be retryable later")
	}
}
