package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/obs-migrate/migrate/internal/jaegertest"
	"github.com/obs-migrate/migrate/internal/recording"
)

// otlpTestTraces returns one trace with n spans.
func otlpTestTraces(id byte, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "otlp-writer-test")
	ss := rs.ScopeSpans().AppendEmpty()
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	for i := range n {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{id, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5})
		s.SetSpanID(pcommon.SpanID{id, byte(i + 1), 1, 1, 1, 1, 1, 1})
		s.SetName(fmt.Sprintf("op-%d", i))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	}
	return td
}

// otlpDeadLetters records dead-lettered records in memory.
type otlpDeadLetters struct {
	mu      sync.Mutex
	reasons []string
	details []string
	records [][]byte
	fail    error
}

func (d *otlpDeadLetters) Put(_, reason, detail string, record []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	d.reasons = append(d.reasons, reason)
	d.details = append(d.details, detail)
	d.records = append(d.records, record)
	return nil
}

// otlpScriptedReceiver answers OTLP gRPC exports from a script of
// outcomes, repeating the last one.
type otlpScriptedReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	mu     sync.Mutex
	script []func() (ptraceotlp.ExportResponse, error)
	calls  int
	spans  int
}

func (r *otlpScriptedReceiver) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	step := r.script[min(r.calls, len(r.script)-1)]
	r.calls++
	resp, err := step()
	if err == nil {
		r.spans += req.Traces().SpanCount() - int(resp.PartialSuccess().RejectedSpans())
	}
	return resp, err
}

func startOTLPReceiver(t *testing.T, r *otlpScriptedReceiver) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, r)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

func otlpOK() (ptraceotlp.ExportResponse, error) { return ptraceotlp.NewExportResponse(), nil }

func otlpFail(code codes.Code, msg string, retry time.Duration) func() (ptraceotlp.ExportResponse, error) {
	return func() (ptraceotlp.ExportResponse, error) {
		st := status.New(code, msg)
		if retry > 0 {
			st, _ = st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)})
		}
		return ptraceotlp.NewExportResponse(), st.Err()
	}
}

// otlpSleeps records the waits of a writer instead of sleeping.
type otlpSleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *otlpSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestOTLPWriterGRPCOutcomes(t *testing.T) {
	partial := func() (ptraceotlp.ExportResponse, error) {
		resp := ptraceotlp.NewExportResponse()
		resp.PartialSuccess().SetRejectedSpans(2)
		resp.PartialSuccess().SetErrorMessage("2 spans too old")
		return resp, nil
	}
	tests := []struct {
		name        string
		script      []func() (ptraceotlp.ExportResponse, error)
		wantErr     bool
		wantWritten int
		wantDead    map[string]int
		wantCalls   int
		minWait     time.Duration
	}{
		{name: "ok", script: []func() (ptraceotlp.ExportResponse, error){otlpOK}, wantWritten: 5, wantCalls: 1},
		{
			name:        "unavailable then ok",
			script:      []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.Unavailable, "down", 0), otlpOK},
			wantWritten: 5, wantCalls: 2,
		},
		{
			name:        "resource exhausted waits for RetryInfo",
			script:      []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.ResourceExhausted, "RATE_LIMITED", 7*time.Second), otlpOK},
			wantWritten: 5, wantCalls: 2, minWait: 7 * time.Second,
		},
		{
			name:     "invalid argument is dead-lettered",
			script:   []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.InvalidArgument, "bad span", 0)},
			wantDead: map[string]int{OTLPReasonRejected: 5}, wantCalls: 1,
		},
		{
			name:     "message too large is dead-lettered",
			script:   []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.ResourceExhausted, "grpc: received message larger than max (9 vs. 4)", 0)},
			wantDead: map[string]int{OTLPReasonTooLarge: 5}, wantCalls: 1,
		},
		{
			name:        "partial success",
			script:      []func() (ptraceotlp.ExportResponse, error){partial},
			wantWritten: 3, wantDead: map[string]int{OTLPReasonPartialSuccess: 2}, wantCalls: 1,
		},
		{
			name:    "unavailable until attempts run out",
			script:  []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.Unavailable, "down", 0)},
			wantErr: true, wantCalls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := &otlpScriptedReceiver{script: tt.script}
			addr := startOTLPReceiver(t, recv)
			dl := &otlpDeadLetters{}
			sleeps := &otlpSleeps{}
			w, err := NewOTLPWriter(OTLPConfig{Destination: "jaeger", GRPC: addr, MaxAttempts: 3, Sleep: sleeps.sleep, Timeout: 5 * time.Second}, dl)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()

			r, err := w.Write(context.Background(), otlpTestTraces(1, 5))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Write error = %v, want error %v", err, tt.wantErr)
			}
			if r.Written != tt.wantWritten {
				t.Errorf("Written = %d, want %d", r.Written, tt.wantWritten)
			}
			if fmt.Sprint(r.DeadLettered) != fmt.Sprint(tt.wantDead) && (len(r.DeadLettered) != 0 || len(tt.wantDead) != 0) {
				t.Errorf("DeadLettered = %v, want %v", r.DeadLettered, tt.wantDead)
			}
			if !tt.wantErr && r.Total() != 5 {
				t.Errorf("Total = %d, want every one of 5 spans accounted", r.Total())
			}
			if recv.calls != tt.wantCalls {
				t.Errorf("receiver calls = %d, want %d", recv.calls, tt.wantCalls)
			}
			if tt.minWait > 0 && (len(sleeps.waits) == 0 || sleeps.waits[0] < tt.minWait) {
				t.Errorf("waits = %v, want a first wait of at least %s", sleeps.waits, tt.minWait)
			}
			if len(tt.wantDead) > 0 {
				if len(dl.records) != 1 {
					t.Fatalf("dead-letter records = %d, want 1 holding the push", len(dl.records))
				}
				td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(dl.records[0])
				if err != nil || td.SpanCount() != 5 {
					t.Errorf("dead-letter record decodes to %d spans (%v), want the 5 spans as OTLP JSON", td.SpanCount(), err)
				}
			}
		})
	}
}

func TestOTLPWriterDeadLetterFailureIsRetryable(t *testing.T) {
	recv := &otlpScriptedReceiver{script: []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.InvalidArgument, "bad", 0)}}
	addr := startOTLPReceiver(t, recv)
	dl := &otlpDeadLetters{fail: errors.New("disk full")}
	w, err := NewOTLPWriter(OTLPConfig{GRPC: addr, Destination: "jaeger"}, dl)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = w.Write(context.Background(), otlpTestTraces(2, 1))
	if !errors.Is(err, ErrDeadLetterUnavailable) {
		t.Errorf("Write error = %v, want ErrDeadLetterUnavailable so the caller retries", err)
	}
}

func TestOTLPWriterExportDoesNotDeadLetter(t *testing.T) {
	recv := &otlpScriptedReceiver{script: []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.InvalidArgument, "bad span", 0)}}
	addr := startOTLPReceiver(t, recv)
	dl := &otlpDeadLetters{}
	w, err := NewOTLPWriter(OTLPConfig{GRPC: addr, Destination: "jaeger"}, dl)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = w.Export(context.Background(), otlpTestTraces(3, 2))
	var oe *OTLPError
	if !errors.As(err, &oe) {
		t.Fatalf("Export error = %v, want *OTLPError", err)
	}
	if !oe.Permanent || oe.Code != codes.InvalidArgument {
		t.Errorf("OTLPError = %+v, want permanent InvalidArgument", oe)
	}
	if len(dl.records) != 0 {
		t.Errorf("Export dead-lettered %d records, want none", len(dl.records))
	}
}

func TestOTLPWriterHTTPRecordings(t *testing.T) {
	tests := []struct {
		name      string
		dir, file string
		wantErr   bool
		wantDead  string
		minWait   time.Duration
	}{
		{name: "jaeger ok", dir: "jaeger-1.75.0", file: "otlp_http_json_push_ok"},
		{name: "tempo 429 with Retry-After", dir: "tempo-3.0.3", file: "err_rate_limit_429_retry_after", wantErr: true, minWait: 5 * time.Second},
		{name: "tempo 400", dir: "tempo-3.0.3", file: "err_otlp_http_json_malformed_400", wantDead: OTLPReasonRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := recording.MustLoad(t, tt.dir, tt.file)
			srv := recording.NewServer(t)
			srv.Replay(ex)
			dl := &otlpDeadLetters{}
			sleeps := &otlpSleeps{}
			w, err := NewOTLPWriter(OTLPConfig{Destination: "test", HTTP: srv.URL, MaxAttempts: 2, Sleep: sleeps.sleep}, dl)
			if err != nil {
				t.Fatal(err)
			}
			r, err := w.Write(context.Background(), otlpTestTraces(4, 3))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Write error = %v, want error %v", err, tt.wantErr)
			}
			if tt.minWait > 0 && (len(sleeps.waits) == 0 || sleeps.waits[0] < tt.minWait) {
				t.Errorf("waits = %v, want at least the recorded Retry-After %s", sleeps.waits, tt.minWait)
			}
			if tt.wantDead != "" && r.DeadLettered[tt.wantDead] != 3 {
				t.Errorf("DeadLettered = %v, want 3 spans for %s", r.DeadLettered, tt.wantDead)
			}
			if tt.wantDead != "" && !strings.Contains(dl.details[0], "ReadObject") {
				t.Errorf("dead-letter detail %q does not carry the receiver's message", dl.details[0])
			}
			if !tt.wantErr && tt.wantDead == "" && r.Written != 3 {
				t.Errorf("Written = %d, want 3", r.Written)
			}
			reqs, _ := srv.Requests()
			for _, req := range reqs {
				if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
					t.Errorf("request %s %s (Content-Type %q), want POST /v1/traces as protobuf", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
				}
			}
		})
	}
}

func TestOTLPWriterRejectsBadConfig(t *testing.T) {
	for _, cfg := range []OTLPConfig{
		{},
		{GRPC: "no-port"},
		{GRPC: "user:pw@host:4317"},
		{HTTP: "not a url"},
	} {
		if _, err := NewOTLPWriter(cfg, nil); err == nil {
			t.Errorf("NewOTLPWriter(%+v) returned no error", cfg)
		}
	}
}

func TestOTLPWriterRealJaeger(t *testing.T) {
	j := jaegertest.Start(t)
	w, err := NewOTLPWriter(OTLPConfig{Destination: "jaeger", GRPC: j.OTLPGRPC}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	td := otlpTestTraces(0x5a, 4)
	r, err := w.Write(context.Background(), td)
	if err != nil || r.Written != 4 {
		t.Fatalf("Write = %+v, %v; want 4 spans written", r, err)
	}
	id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := otlpJaegerSpans(j.QueryHTTP, id)
		if err == nil && n == 4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger returned %d spans (%v), want 4", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func otlpJaegerSpans(queryHTTP string, id pcommon.TraceID) (int, error) {
	resp, err := http.Get(queryHTTP + "/api/v3/traces/" + id.String())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, err
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(env.Result)
	if err != nil {
		return 0, err
	}
	return td.SpanCount(), nil
}

func TestOTLPWriterFileDeadLetter(t *testing.T) {
	recv := &otlpScriptedReceiver{script: []func() (ptraceotlp.ExportResponse, error){otlpFail(codes.InvalidArgument, "bad span", 0)}}
	addr := startOTLPReceiver(t, recv)
	path := filepath.Join(t.TempDir(), "deadletter-jaeger.jsonl")
	dl, err := OpenFileDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	w, err := NewOTLPWriter(OTLPConfig{GRPC: addr, Destination: "jaeger"}, dl)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(context.Background(), otlpTestTraces(6, 2)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Destination, Reason, Detail string
		Record                      json.RawMessage
	}
	if err := json.Unmarshal(data, &line); err != nil {
		t.Fatalf("dead-letter line %q: %v", data, err)
	}
	if line.Destination != "jaeger" || line.Reason != OTLPReasonRejected || !strings.Contains(line.Detail, "bad span") {
		t.Errorf("dead-letter line = %+v, want destination jaeger, reason rejected, the receiver's message", line)
	}
	if !strings.Contains(string(line.Record), "resourceSpans") {
		t.Errorf("dead-letter record %s is not OTLP JSON", line.Record)
	}
}
