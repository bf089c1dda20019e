package tempo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Reasons an Error carries. The first three are the prefixes Tempo puts in
// its messages (modules/overrides in Tempo 3.0.3). The others are the
// google.rpc.Code names of the gRPC code, or of the HTTP status when the
// message names no reason.
const (
	ReasonRateLimited          = "RATE_LIMITED"
	ReasonTraceTooLarge        = "TRACE_TOO_LARGE"
	ReasonLiveTracesExceeded   = "LIVE_TRACES_EXCEEDED"
	ReasonInvalidArgument      = "INVALID_ARGUMENT"
	ReasonUnauthenticated      = "UNAUTHENTICATED"
	ReasonPermissionDenied     = "PERMISSION_DENIED"
	ReasonNotFound             = "NOT_FOUND"
	ReasonResourceExhausted    = "RESOURCE_EXHAUSTED"
	ReasonUnavailable          = "UNAVAILABLE"
	ReasonInternal             = "INTERNAL"
	ReasonPayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	ReasonUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
)

// Sentinels for errors.Is: errors.Is(err, ErrRateLimited) is true for an
// *Error whose Reason is ReasonRateLimited.
var (
	ErrRateLimited        error = reasonSentinel(ReasonRateLimited)
	ErrTraceTooLarge      error = reasonSentinel(ReasonTraceTooLarge)
	ErrLiveTracesExceeded error = reasonSentinel(ReasonLiveTracesExceeded)
	ErrInvalidArgument    error = reasonSentinel(ReasonInvalidArgument)

	// ErrConfigUnavailable is wrapped by Limits when Tempo does not serve
	// /status/config, as behind a gateway that exposes only the query API.
	ErrConfigUnavailable = errors.New("tempo: /status/config is not available")
)

type reasonSentinel string

func (r reasonSentinel) Error() string { return "tempo: " + string(r) }

// Error is a request Tempo rejected, or one that got no response. It never
// contains a credential: URLs pass through httpx.Redact and headers are not
// kept.
type Error struct {
	// Op names the operation, such as "push (OTLP/HTTP)" or "search".
	Op string
	// Reason is Tempo's reason (RATE_LIMITED, TRACE_TOO_LARGE,
	// LIVE_TRACES_EXCEEDED) when the message names one, else the code name
	// of the gRPC code or HTTP status. It is empty when no response arrived.
	Reason string
	// Status is the HTTP status, 0 for gRPC and transport failures.
	Status int
	// Code is the gRPC code of a gRPC call, or the code in the
	// google.rpc.Status body of an OTLP/HTTP response. It is codes.OK when
	// neither applies.
	Code codes.Code
	// Message is Tempo's message as sent: the google.rpc.Status message, or
	// the text body.
	Message string
	// RetryAfter is the wait Tempo asked for (Retry-After or RetryInfo), 0
	// when it asked for none.
	RetryAfter time.Duration
	Attempts   int
	// Permanent is true when sending the same request again cannot succeed.
	Permanent bool
	// Err is the underlying *httpx.StatusError, *httpx.TransportError or
	// gRPC status error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("tempo: ")
	b.WriteString(e.Op)
	if e.Status == 0 && e.Code == codes.OK && e.Reason == "" {
		// No response arrived, and the transport error describes the failure.
		fmt.Fprintf(&b, ": %s", strings.TrimPrefix(e.Err.Error(), system+": "))
		return b.String()
	}

	b.WriteString(" failed")
	var what []string
	if where := requestLine(e.Err); where != "" {
		what = append(what, where)
	}
	if e.Status != 0 {
		what = append(what, fmt.Sprintf("HTTP %d", e.Status))
	} else {
		what = append(what, "gRPC "+e.Code.String())
	}
	if e.Attempts > 1 {
		what = append(what, fmt.Sprintf("after %d attempts", e.Attempts))
	}
	fmt.Fprintf(&b, " (%s)", strings.Join(what, ", "))

	// The reason is left out when the message or the gRPC code already
	// names it.
	if e.Reason != "" && !strings.Contains(e.Message, e.Reason) && (e.Status != 0 || e.Reason != codeName(e.Code)) {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = "empty body"
	}
	fmt.Fprintf(&b, ": %s", msg)
	if hint := e.hint(); hint != "" {
		if !strings.HasSuffix(msg, ".") {
			b.WriteString(".")
		}
		b.WriteString(" ")
		b.WriteString(hint)
	}
	return b.String()
}

func (e *Error) hint() string {
	switch {
	case e.Reason == ReasonRateLimited && e.Permanent:
		return "The batch alone exceeds the burst, so split it below the tenant's burst_size_bytes."
	case e.Reason == ReasonRateLimited:
		return "Lower the send rate or raise the tenant's ingestion rate_limit_bytes and burst_size_bytes."
	case e.Reason == ReasonTraceTooLarge:
		return "Raise the tenant's max_bytes_per_trace or drop spans from this trace."
	case e.Reason == ReasonLiveTracesExceeded:
		return "Raise the tenant's max_traces_per_user or send fewer traces at once."
	case e.Reason == ReasonUnauthenticated, e.Reason == ReasonPermissionDenied:
		return "Check targets.tempo.token and targets.tempo.tenant."
	}
	return ""
}

// configUnavailableError is a failed GET /status/config that means Tempo
// does not serve its configuration to this client.
type configUnavailableError struct{ err *Error }

func (e *configUnavailableError) Error() string {
	return e.err.Error() + ". Tempo does not serve /status/config here, so give the limits in targets.tempo.limits."
}

func (e *configUnavailableError) Unwrap() []error { return []error{ErrConfigUnavailable, e.err} }

// requestLine returns "METHOD URL" of a status error, without the query,
// which can be long (a TraceQL query) and is in the caller's hands anyway.
func requestLine(err error) string {
	var se *httpx.StatusError
	if !errors.As(err, &se) {
		return ""
	}
	target := se.URL
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	return se.Method + " " + target
}

// Unwrap returns the underlying error, so httpx.IsTimeout, httpx.IsTLS and
// errors.As for *httpx.StatusError see through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the Err* reason sentinels.
func (e *Error) Is(target error) bool {
	r, ok := target.(reasonSentinel)
	return ok && e.Reason == string(r)
}

// IsRetryable reports whether err is worth sending again later: a rate
// limit or an unavailable server that outlasted the attempts, or a
// transport failure other than TLS.
func IsRetryable(err error) bool {
	var te *Error
	if !errors.As(err, &te) {
		return false
	}
	if te.Status == 0 && te.Code == codes.OK && te.Reason == "" {
		return !httpx.IsTLS(err)
	}
	return !te.Permanent
}

// wrapHTTPError turns an error of httpx.Client.Do into an *Error.
func wrapHTTPError(op string, err error) error {
	var se *httpx.StatusError
	if errors.As(err, &se) {
		e := &Error{
			Op: op, Status: se.Status, Attempts: se.Attempts,
			Permanent: se.Permanent, RetryAfter: se.RetryAfter, Err: err,
		}
		var retryDelay time.Duration
		e.Code, e.Message, retryDelay = parseRPCStatus([]byte(se.Body))
		if e.RetryAfter == 0 {
			e.RetryAfter = retryDelay
		}
		e.Reason = reasonOf(e.Message, e.Code, e.Status)
		return e
	}
	var tr *httpx.TransportError
	if errors.As(err, &tr) {
		return &Error{Op: op, Attempts: tr.Attempts, Permanent: httpx.IsTLS(err), Err: err}
	}
	return fmt.Errorf("tempo: %s: %w", op, err)
}

// wrapGRPCError turns a gRPC status error into an *Error.
func wrapGRPCError(op string, err error, attempts int, permanent bool) error {
	st := status.Convert(err)
	e := &Error{
		Op: op, Code: st.Code(), Message: st.Message(), Attempts: attempts,
		Permanent: permanent, RetryAfter: retryInfoDelay(st), Err: err,
	}
	e.Reason = reasonOf(e.Message, e.Code, 0)
	return e
}

// rpcStatusJSON is google.rpc.Status in JSON, as Tempo 3.0.3 sends it on
// OTLP/HTTP errors.
type rpcStatusJSON struct {
	Code    *int            `json:"code"`
	Message string          `json:"message"`
	Details []rpcDetailJSON `json:"details"`
}

type rpcDetailJSON struct {
	Type       string `json:"@type"`
	RetryDelay string `json:"retryDelay"`
}

// parseRPCStatus reads a google.rpc.Status JSON body. For any other body it
// returns codes.OK and the body's text as the message.
func parseRPCStatus(body []byte) (codes.Code, string, time.Duration) {
	text := strings.TrimSpace(string(body))
	if !strings.HasPrefix(text, "{") {
		return codes.OK, text, 0
	}
	var st rpcStatusJSON
	if err := json.Unmarshal(body, &st); err != nil || st.Code == nil {
		return codes.OK, text, 0
	}
	var delay time.Duration
	for _, d := range st.Details {
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			if v, err := time.ParseDuration(d.RetryDelay); err == nil && v > 0 {
				delay = v
			}
		}
	}
	code := codes.Code(*st.Code)
	if *st.Code < 0 || *st.Code > int(codes.Unauthenticated) {
		code = codes.Unknown
	}
	return code, st.Message, delay
}

func retryInfoDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// reasonOf names the reason of a rejection: a Tempo prefix found in the
// message, else the google.rpc.Code name of code, else of the HTTP status.
func reasonOf(message string, code codes.Code, httpStatus int) string {
	for _, prefix := range []string{ReasonRateLimited, ReasonTraceTooLarge, ReasonLiveTracesExceeded} {
		if strings.Contains(message, prefix) {
			return prefix
		}
	}
	if code != codes.OK {
		return codeName(code)
	}
	switch httpStatus {
	case http.StatusBadRequest:
		return ReasonInvalidArgument
	case http.StatusUnauthorized:
		return ReasonUnauthenticated
	case http.StatusForbidden:
		return ReasonPermissionDenied
	case http.StatusNotFound:
		return ReasonNotFound
	case http.StatusRequestEntityTooLarge:
		return ReasonPayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return ReasonUnsupportedMediaType
	case http.StatusTooManyRequests:
		return ReasonResourceExhausted
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return ReasonUnavailable
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if httpStatus >= 500 {
		return ReasonInternal
	}
	return ""
}

// codeName returns the google.rpc.Code name of c, such as
// "INVALID_ARGUMENT".
func codeName(c codes.Code) string {
	names := map[codes.Code]string{
		codes.Canceled:           "CANCELLED",
		codes.Unknown:            "UNKNOWN",
		codes.InvalidArgument:    ReasonInvalidArgument,
		codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
		codes.NotFound:           ReasonNotFound,
		codes.AlreadyExists:      "ALREADY_EXISTS",
		codes.PermissionDenied:   ReasonPermissionDenied,
		codes.ResourceExhausted:  ReasonResourceExhausted,
		codes.FailedPrecondition: "FAILED_PRECONDITION",
		codes.Aborted:            "ABORTED",
		codes.OutOfRange:         "OUT_OF_RANGE",
		codes.Unimplemented:      "UNIMPLEMENTED",
		codes.Internal:           ReasonInternal,
		codes.Unavailable:        ReasonUnavailable,
		codes.DataLoss:           "DATA_LOSS",
		codes.Unauthenticated:    ReasonUnauthenticated,
	}
	if name, ok := names[c]; ok {
		return name
	}
	return "UNKNOWN"
}

// batchOverBurst reports whether a RATE_LIMITED message states that the
// batch alone is larger than the burst, which no retry can fix. Tempo 3.0.3 words it
// "RATE_LIMITED: batch size (32025 bytes) exceeds ingestion limit ...".
func batchOverBurst(message string) bool {
	return strings.Contains(message, ReasonRateLimited) && strings.Contains(message, "batch size") &&
		strings.Contains(message, "exceeds ingestion limit")
}
