package tempo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// PushResult is Tempo's response to an accepted push.
//
// NOTE: a zero RejectedSpans does not prove that Tempo stored the spans.
// Tempo 3.0.3 returns 200 with an empty partialSuccess when it drops a
// trace over max_bytes_per_trace. Discards or a read-back shows the drop.
type PushResult struct {
	// RejectedSpans and Message are the OTLP partialSuccess fields
	// rejected_spans and error_message.
	RejectedSpans int64
	Message       string
	// Reason is the Tempo reason named in Message (TRACE_TOO_LARGE,
	// LIVE_TRACES_EXCEEDED...), empty when it names none.
	Reason string
	// Attempts counts the requests sent, retries included.
	Attempts int
}

const (
	opPushHTTP = "push (OTLP/HTTP)"
	opPushGRPC = "push (OTLP gRPC)"
)

// PushHTTP sends td to the OTLP/HTTP endpoint as protobuf. It retries 429
// and 5xx as httpx does, waiting at least Tempo's Retry-After. A 429 whose
// batch alone exceeds the burst, and 400, 413 and 415, fail at once.
func (c *Client) PushHTTP(ctx context.Context, td ptrace.Traces) (PushResult, error) {
	if c.otlp == nil {
		return PushResult{}, errors.New("tempo: push (OTLP/HTTP): no OTLP/HTTP URL: set targets.tempo.otlp_http, such as http://tempo:4318")
	}
	if td.SpanCount() == 0 {
		return PushResult{}, nil
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return PushResult{}, fmt.Errorf("tempo: push (OTLP/HTTP): encoding the traces as protobuf: %w", err)
	}
	resp, err := c.otlp.Do(ctx, httpx.Request{
		Method: http.MethodPost,
		Path:   "/v1/traces",
		Header: http.Header{"Content-Type": {"application/x-protobuf"}, "Accept": {"application/x-protobuf"}},
		Body:   body, Classifier: pushClassifier,
	})
	if err != nil {
		return PushResult{}, wrapHTTPError(opPushHTTP, err)
	}
	result, err := parseExportResponse(resp.Header.Get("Content-Type"), resp.Body)
	if err != nil {
		return PushResult{}, fmt.Errorf("tempo: push (OTLP/HTTP): %w", err)
	}
	result.Attempts = resp.Attempts
	return result, nil
}

// pushClassifier is httpx.DefaultClassifier, except that a RATE_LIMITED
// 429 for a batch larger than the burst is permanent: Tempo 3.0.3 still
// sends Retry-After, but the same batch can never fit.
func pushClassifier(status int, header http.Header, body []byte) httpx.Decision {
	if status == http.StatusTooManyRequests {
		if _, msg, _ := parseRPCStatus(body); batchOverBurst(msg) {
			return httpx.Permanent
		}
	}
	return httpx.DefaultClassifier(status, header, body)
}

// parseExportResponse reads an ExportTraceServiceResponse in JSON or
// protobuf, following the Content-Type. Tempo responds in the request's
// encoding.
func parseExportResponse(contentType string, body []byte) (PushResult, error) {
	if len(body) == 0 {
		return PushResult{}, nil
	}
	resp := ptraceotlp.NewExportResponse()
	if strings.Contains(contentType, "json") {
		if err := resp.UnmarshalJSON(body); err != nil {
			return PushResult{}, fmt.Errorf("invalid OTLP JSON response (%d bytes): %w", len(body), err)
		}
	} else if err := resp.UnmarshalProto(body); err != nil {
		return PushResult{}, fmt.Errorf("invalid OTLP protobuf response (%d bytes, Content-Type %q): %w", len(body), contentType, err)
	}
	return exportResult(resp), nil
}

func exportResult(resp ptraceotlp.ExportResponse) PushResult {
	ps := resp.PartialSuccess()
	r := PushResult{RejectedSpans: ps.RejectedSpans(), Message: ps.ErrorMessage()}
	if r.Message != "" {
		r.Reason = reasonOf(r.Message, codes.OK, 0)
	}
	return r
}

// dialGRPC sets up the gRPC connection. grpc.NewClient connects on the
// first call, so an unreachable Tempo fails in PushGRPC, not here.
func (c *Client) dialGRPC() error {
	target := strings.TrimSpace(c.cfg.OTLPGRPC)
	useTLS := c.cfg.TLS != (httpx.TLS{})
	switch {
	case strings.HasPrefix(target, "https://"):
		target, useTLS = strings.TrimPrefix(target, "https://"), true
	case strings.HasPrefix(target, "http://"):
		target = strings.TrimPrefix(target, "http://")
	}
	target = strings.TrimRight(target, "/")

	if strings.Contains(target, "@") {
		return errors.New("tempo: the OTLP gRPC address carries credentials: move them to targets.tempo.token")
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		return fmt.Errorf("tempo: invalid OTLP gRPC address %q: write it as host:port, such as tempo:4317", target)
	}

	creds := insecure.NewCredentials()
	if useTLS {
		tlsConfig, err := httpx.TLSConfig(c.cfg.TLS)
		if err != nil {
			return fmt.Errorf("tempo: OTLP gRPC: %w", err)
		}
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return fmt.Errorf("tempo: OTLP gRPC address %q: %w", target, err)
	}
	c.grpcConn = conn
	c.grpcClient = ptraceotlp.NewGRPCClient(conn)
	return nil
}

// PushGRPC sends td over OTLP gRPC. It retries ResourceExhausted (unless
// the batch alone exceeds the burst or the message size limit),
// Unavailable, DeadlineExceeded, Aborted, OutOfRange and DataLoss with
// jittered exponential backoff, waiting at least the RetryInfo delay Tempo
// sends. Every other code, InvalidArgument among them, fails at once.
func (c *Client) PushGRPC(ctx context.Context, td ptrace.Traces) (PushResult, error) {
	if c.grpcClient == nil {
		return PushResult{}, errors.New("tempo: push (OTLP gRPC): no OTLP gRPC address: set targets.tempo.otlp, such as tempo:4317")
	}
	if td.SpanCount() == 0 {
		return PushResult{}, nil
	}
	req := ptraceotlp.NewExportRequestFromTraces(td)
	var md []string
	if c.cfg.Tenant != "" {
		md = append(md, strings.ToLower(tenantHeader), c.cfg.Tenant)
	}
	if c.cfg.Token != "" {
		md = append(md, "authorization", "Bearer "+c.cfg.Token)
	}
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		if len(md) > 0 {
			callCtx = metadata.AppendToOutgoingContext(callCtx, md...)
		}
		resp, err := c.grpcClient.Export(callCtx, req)
		cancel()
		if err == nil {
			result := exportResult(resp)
			result.Attempts = attempt
			return result, nil
		}
		retry := ctx.Err() == nil && retryableGRPC(status.Convert(err))
		if !retry {
			return PushResult{}, wrapGRPCError(opPushGRPC, err, attempt, ctx.Err() == nil)
		}
		if attempt >= c.cfg.MaxAttempts {
			return PushResult{}, wrapGRPCError(opPushGRPC, err, attempt, false)
		}
		wait := max(retryInfoDelay(status.Convert(err)), backoff(attempt))
		if sleepErr := c.cfg.Sleep(ctx, wait); sleepErr != nil {
			return PushResult{}, wrapGRPCError(opPushGRPC, err, attempt, false)
		}
	}
}

// retryableGRPC follows the OTLP specification's list of retryable codes,
// and adds ResourceExhausted, which Tempo returns for RATE_LIMITED with a
// RetryInfo.
func retryableGRPC(st *status.Status) bool {
	msg := st.Message()
	switch st.Code() {
	case codes.ResourceExhausted:
		// grpc-go words an oversized message "received message larger than
		// max"; neither that nor a batch over the burst can ever pass.
		return !batchOverBurst(msg) && !strings.Contains(msg, "larger than max")
	case codes.Unavailable:
		// A failed TLS handshake also shows as Unavailable.
		return !strings.Contains(msg, "x509:") && !strings.Contains(msg, "tls:") &&
			!strings.Contains(msg, "authentication handshake failed")
	case codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.DataLoss:
		return true
	}
	return false
}

// backoff returns the wait before a gRPC retry: full jitter over an
// exponential ceiling, with httpx's bounds.
func backoff(attempt int) time.Duration {
	ceiling := httpx.DefaultMinBackoff << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > httpx.DefaultMaxBackoff {
		ceiling = httpx.DefaultMaxBackoff
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}
