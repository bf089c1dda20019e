package delivery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	spb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Reasons an OTLPWriter dead-letters spans for.
const (
	// OTLPReasonPartialSuccess is a push the receiver accepted while reporting
	// rejected spans in the OTLP partialSuccess field.
	OTLPReasonPartialSuccess = "partial_success"
	// OTLPReasonRejected is a push the receiver rejected with a status that
	// cannot succeed on a retry, such as gRPC InvalidArgument or HTTP 400.
	OTLPReasonRejected = "rejected"
	// OTLPReasonTooLarge is a push over the receiver's message size limit
	// (gRPC ResourceExhausted "larger than max", HTTP 413).
	OTLPReasonTooLarge = "too_large"
)

// OTLPConfig configures an OTLPWriter. Set GRPC or HTTP.
type OTLPConfig struct {
	// Destination names the receiver in errors, logs and dead letters,
	// such as "jaeger".
	Destination string
	// GRPC is the OTLP gRPC address, host:port. A leading https://
	// selects TLS, as does a non-empty TLS.
	GRPC string
	// HTTP is the OTLP/HTTP base URL, such as http://jaeger-collector:4318;
	// pushes go to its /v1/traces as protobuf. It is used when GRPC is
	// empty.
	HTTP string
	TLS  httpx.TLS
	// Header is sent with every push: as HTTP headers, or as gRPC
	// metadata with lower-case keys.
	Header http.Header
	// Timeout bounds each attempt; 0 means httpx.DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one push, retries included; 0
	// means httpx.DefaultMaxAttempts.
	MaxAttempts int
	// MaxBackoff bounds the wait between attempts; 0 means
	// httpx.DefaultMaxBackoff.
	MaxBackoff time.Duration
	// Sleep waits between attempts. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ExportResult is a receiver's response to an accepted push.
type ExportResult struct {
	// RejectedSpans and Message are the OTLP partialSuccess fields
	// rejected_spans and error_message.
	RejectedSpans int64
	Message       string
	// Attempts counts the pushes sent, retries included.
	Attempts int
}

// OTLPError is a push that the receiver rejected or that got no response.
// It never contains a credential.
type OTLPError struct {
	Destination string
	// Code is the gRPC code, or the code in the google.rpc.Status body of
	// an OTLP/HTTP response; codes.Unavailable when no response arrived.
	Code codes.Code
	// Status is the HTTP status, 0 over gRPC.
	Status  int
	Message string
	// RetryAfter is the wait the receiver asked for (RetryInfo or
	// Retry-After), 0 when it asked for none.
	RetryAfter time.Duration
	Attempts   int
	// Permanent is true when sending the same push again cannot succeed.
	Permanent bool
	Err       error
}

func (e *OTLPError) Error() string {
	kind := "retryable"
	if e.Permanent {
		kind = "permanent"
	}
	where := e.Code.String()
	if e.Status != 0 {
		where = fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s: OTLP push failed after %d attempt(s) (%s, %s): %s", e.Destination, e.Attempts, where, kind, e.Message)
}

func (e *OTLPError) Unwrap() error { return e.Err }

// Reason returns the dead-letter reason of a permanent error.
func (e *OTLPError) Reason() string {
	if e.Status == http.StatusRequestEntityTooLarge ||
		(e.Code == codes.ResourceExhausted && strings.Contains(e.Message, "larger than max")) {
		return OTLPReasonTooLarge
	}
	return OTLPReasonRejected
}

// OTLPWriter pushes traces to an OTLP receiver, such as a Jaeger collector,
// over gRPC or HTTP. It is safe for concurrent use.
type OTLPWriter struct {
	cfg  OTLPConfig
	dl   DeadLetter
	conn *grpc.ClientConn
	grpc ptraceotlp.GRPCClient
	md   []string
	http *httpx.Client
}

// NewOTLPWriter returns a writer for cfg that gives what can never be
// written to dl. It checks the address; the gRPC connection is made on the
// first push.
func NewOTLPWriter(cfg OTLPConfig, dl DeadLetter) (*OTLPWriter, error) {
	if cfg.Destination == "" {
		cfg.Destination = "otlp"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = httpx.DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = httpx.DefaultMaxAttempts
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = httpx.DefaultMaxBackoff
	}
	if cfg.Sleep == nil {
		cfg.Sleep = otlpSleep
	}
	w := &OTLPWriter{cfg: cfg, dl: dl}
	switch {
	case strings.TrimSpace(cfg.GRPC) != "":
		if err := w.dial(); err != nil {
			return nil, err
		}
	case strings.TrimSpace(cfg.HTTP) != "":
		c, err := httpx.New(httpx.Config{
			System: cfg.Destination, BaseURL: cfg.HTTP, TLS: cfg.TLS, Header: cfg.Header,
			Timeout: cfg.Timeout, MaxAttempts: cfg.MaxAttempts, MaxBackoff: cfg.MaxBackoff,
			Classifier: otlpHTTPClassifier, Sleep: cfg.Sleep,
		})
		if err != nil {
			return nil, err
		}
		w.http = c
	default:
		return nil, fmt.Errorf("%s: no OTLP address: set an OTLP gRPC host:port or an OTLP/HTTP URL", cfg.Destination)
	}
	return w, nil
}

func (w *OTLPWriter) dial() error {
	target := strings.TrimSpace(w.cfg.GRPC)
	useTLS := w.cfg.TLS != (httpx.TLS{})
	switch {
	case strings.HasPrefix(target, "https://"):
		target, useTLS = strings.TrimPrefix(target, "https://"), true
	case strings.HasPrefix(target, "http://"):
		target = strings.TrimPrefix(target, "http://")
	}
	target = strings.TrimRight(target, "/")
	if strings.Contains(target, "@") {
		return fmt.Errorf("%s: the OTLP gRPC address carries credentials: move them to a header", w.cfg.Destination)
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		return fmt.Errorf("%s: invalid OTLP gRPC address %q: write it as host:port, such as jaeger-collector:4317", w.cfg.Destination, target)
	}
	creds := insecure.NewCredentials()
	if useTLS {
		tlsConfig, err := httpx.TLSConfig(w.cfg.TLS)
		if err != nil {
			return fmt.Errorf("%s: OTLP gRPC: %w", w.cfg.Destination, err)
		}
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return fmt.Errorf("%s: OTLP gRPC address %q: %w", w.cfg.Destination, target, err)
	}
	w.conn = conn
	w.grpc = ptraceotlp.NewGRPCClient(conn)
	for k, vs := range w.cfg.Header {
		for _, v := range vs {
			w.md = append(w.md, strings.ToLower(k), v)
		}
	}
	return nil
}

// Close closes the gRPC connection, if one was made.
func (w *OTLPWriter) Close() error {
	if w.conn != nil {
		return w.conn.Close()
	}
	return nil
}

// Destination returns the receiver's name.
func (w *OTLPWriter) Destination() string { return w.cfg.Destination }

// Export pushes td, retrying unavailable receivers, rate limits and
// timeouts with jittered backoff that waits at least the delay the
// receiver asked for. It returns an *OTLPError when the push failed;
// the error's Permanent field tells whether a later retry can succeed.
// A gateway that forwards a client's push calls Export and returns the
// outcome to the client; nothing is dead-lettered.
func (w *OTLPWriter) Export(ctx context.Context, td ptrace.Traces) (ExportResult, error) {
	if td.SpanCount() == 0 {
		return ExportResult{}, nil
	}
	if w.grpc != nil {
		return w.exportGRPC(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	}
	return w.exportHTTP(ctx, td)
}

func (w *OTLPWriter) exportGRPC(ctx context.Context, req ptraceotlp.ExportRequest) (ExportResult, error) {
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
		if len(w.md) > 0 {
			callCtx = metadata.AppendToOutgoingContext(callCtx, w.md...)
		}
		resp, err := w.grpc.Export(callCtx, req)
		cancel()
		if err == nil {
			ps := resp.PartialSuccess()
			return ExportResult{RejectedSpans: ps.RejectedSpans(), Message: ps.ErrorMessage(), Attempts: attempt}, nil
		}
		st := status.Convert(err)
		oe := &OTLPError{
			Destination: w.cfg.Destination, Code: st.Code(), Message: st.Message(),
			RetryAfter: otlpRetryInfoDelay(st.Details()), Attempts: attempt, Err: err,
		}
		oe.Permanent = !otlpRetryableGRPC(st.Code(), st.Message())
		if oe.Permanent || ctx.Err() != nil || attempt >= w.cfg.MaxAttempts {
			return ExportResult{}, oe
		}
		wait := max(oe.RetryAfter, w.backoff(attempt))
		if w.cfg.Sleep(ctx, wait) != nil {
			return ExportResult{}, oe
		}
	}
}

func (w *OTLPWriter) exportHTTP(ctx context.Context, td ptrace.Traces) (ExportResult, error) {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return ExportResult{}, &OTLPError{Destination: w.cfg.Destination, Code: codes.InvalidArgument, Message: "encoding the traces as protobuf: " + err.Error(), Permanent: true, Err: err}
	}
	resp, err := w.http.Do(ctx, httpx.Request{
		Method: http.MethodPost, Path: "/v1/traces", Body: body,
		Header: http.Header{"Content-Type": {"application/x-protobuf"}},
	})
	if err != nil {
		return ExportResult{}, w.httpError(err)
	}
	result := ExportResult{Attempts: resp.Attempts}
	if len(resp.Body) > 0 {
		er := ptraceotlp.NewExportResponse()
		if strings.Contains(resp.Header.Get("Content-Type"), "json") {
			err = er.UnmarshalJSON(resp.Body)
		} else {
			err = er.UnmarshalProto(resp.Body)
		}
		if err != nil {
			// The receiver accepted the push (2xx); an unreadable body
			// only hides a partial success, so it is reported in Message.
			result.Message = fmt.Sprintf("unreadable OTLP response (%d bytes): %v", len(resp.Body), err)
			return result, nil
		}
		result.RejectedSpans = er.PartialSuccess().RejectedSpans()
		result.Message = er.PartialSuccess().ErrorMessage()
	}
	return result, nil
}

func (w *OTLPWriter) httpError(err error) *OTLPError {
	oe := &OTLPError{Destination: w.cfg.Destination, Code: codes.Unavailable, Err: err, Message: err.Error()}
	var se *httpx.StatusError
	var te *httpx.TransportError
	switch {
	case errors.As(err, &se):
		oe.Status, oe.Attempts, oe.RetryAfter = se.Status, se.Attempts, se.RetryAfter
		oe.Permanent = se.Permanent
		oe.Code = otlpHTTPStatusCode(se.Status)
		oe.Message = se.Body
		if code, msg, ok := otlpStatusBody(se.Header.Get("Content-Type"), []byte(se.Body)); ok {
			oe.Code, oe.Message = code, msg
		}
	case errors.As(err, &te):
		oe.Attempts = te.Attempts
		oe.Permanent = httpx.IsTLS(err)
		oe.Message = te.Error()
	}
	return oe
}

// Write pushes td and accounts for every span: written, or dead-lettered
// with a reason when the receiver rejects the push for good or reports
// rejected spans in a partial success. It returns an error only when a
// later retry of the same traces may succeed: the receiver is down, rate
// limited or timed out, or the dead letter failed. The caller then sends
// the same traces again.
func (w *OTLPWriter) Write(ctx context.Context, td ptrace.Traces) (Result, error) {
	spans := td.SpanCount()
	if spans == 0 {
		return Result{}, nil
	}
	size := int64((&ptrace.ProtoMarshaler{}).TracesSize(td))
	res, err := w.Export(ctx, td)
	if err != nil {
		var oe *OTLPError
		if !errors.As(err, &oe) || !oe.Permanent {
			return Result{}, err
		}
		var r Result
		if dlErr := w.deadLetter(td, oe.Reason(), oe.Message); dlErr != nil {
			return Result{}, dlErr
		}
		r.AddDeadLettered(oe.Reason(), spans)
		return r, nil
	}
	rejected := int(min(max(res.RejectedSpans, 0), int64(spans)))
	r := Result{Written: spans - rejected, Bytes: size}
	if rejected > 0 {
		detail := fmt.Sprintf("%d of %d spans rejected: %s", rejected, spans, res.Message)
		if dlErr := w.deadLetter(td, OTLPReasonPartialSuccess, detail); dlErr != nil {
			return Result{}, dlErr
		}
		r.AddDeadLettered(OTLPReasonPartialSuccess, rejected)
	}
	return r, nil
}

// deadLetter stores the whole push as OTLP JSON, because a partial success
// does not name the rejected spans.
func (w *OTLPWriter) deadLetter(td ptrace.Traces, reason, detail string) error {
	if w.dl == nil {
		return fmt.Errorf("%s: %w: no dead letter configured for %d spans with reason %s", w.cfg.Destination, ErrDeadLetterUnavailable, td.SpanCount(), reason)
	}
	record, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return fmt.Errorf("%s: encoding %d spans for the dead letter: %w", w.cfg.Destination, td.SpanCount(), err)
	}
	if err := w.dl.Put(w.cfg.Destination, reason, detail, record); err != nil {
		return fmt.Errorf("%s: %w: %v", w.cfg.Destination, ErrDeadLetterUnavailable, err)
	}
	return nil
}

// otlpStatusBody reads the google.rpc.Status body of an OTLP/HTTP error,
// in JSON or protobuf as the Content-Type selects.
func otlpStatusBody(contentType string, body []byte) (codes.Code, string, bool) {
	if strings.Contains(contentType, "json") {
		var st struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &st) != nil || st.Message == "" {
			return 0, "", false
		}
		return codes.Code(st.Code), st.Message, true
	}
	st := new(spb.Status)
	if proto.Unmarshal(body, st) != nil || st.GetMessage() == "" {
		return 0, "", false
	}
	return codes.Code(st.GetCode()), st.GetMessage(), true
}

// backoff returns full jitter over an exponential ceiling.
func (w *OTLPWriter) backoff(attempt int) time.Duration {
	ceiling := httpx.DefaultMinBackoff << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > w.cfg.MaxBackoff {
		ceiling = w.cfg.MaxBackoff
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}

// otlpHTTPClassifier follows the OTLP/HTTP specification: 429, 502, 503
// and 504 are retryable, and every other failure is permanent.
func otlpHTTPClassifier(status int, _ http.Header, _ []byte) httpx.Decision {
	switch {
	case status >= 200 && status < 300:
		return httpx.Accept
	case httpx.RetryableStatus(status):
		return httpx.Retry
	default:
		return httpx.Permanent
	}
}

// otlpRetryableGRPC follows the OTLP specification's retryable codes,
// with ResourceExhausted retried unless the message is over gRPC's size
// limit, and Unavailable not retried for a TLS failure.
func otlpRetryableGRPC(code codes.Code, msg string) bool {
	switch code {
	case codes.ResourceExhausted:
		return !strings.Contains(msg, "larger than max")
	case codes.Unavailable:
		return !strings.Contains(msg, "x509:") && !strings.Contains(msg, "tls:") &&
			!strings.Contains(msg, "authentication handshake failed")
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.DataLoss:
		return true
	}
	return false
}

func otlpRetryInfoDelay(details []any) time.Duration {
	for _, d := range details {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// otlpHTTPStatusCode maps an OTLP/HTTP status to the gRPC code the OTLP
// specification pairs with it.
func otlpHTTPStatusCode(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusTooManyRequests, http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}

func otlpSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
