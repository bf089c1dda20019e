package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	// The gzip codec: OpenTelemetry Collector exporters compress gRPC
	// requests with gzip by default.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/obs-migrate/migrate/delivery"
)

// traceError is the response to a trace push that was not accepted, as a
// gRPC status; OTLP/HTTP maps it to its HTTP status.
type traceError struct {
	code       codes.Code
	msg        string
	retryAfter time.Duration
}

func (e *traceError) status() *status.Status {
	st := status.New(e.code, e.msg)
	if e.retryAfter > 0 {
		// The OTLP specification retries ResourceExhausted only with a
		// RetryInfo.
		if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.retryAfter)}); err == nil {
			st = withInfo
		}
	}
	return st
}

// httpStatus maps the code as the OTLP/HTTP specification pairs them.
func (e *traceError) httpStatus() int {
	switch e.code {
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// otlpServer is the OTLP gRPC trace service.
type otlpServer struct {
	ptraceotlp.UnimplementedGRPCServer
	g *Gateway
}

func (s *otlpServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	start := time.Now()
	// gRPC has read the message already; holding its size in the byte
	// budget bounds what waits for the primary and the queue at once.
	size := int64((&ptrace.ProtoMarshaler{}).TracesSize(req.Traces()))
	var resp ptraceotlp.ExportResponse
	var terr *traceError
	if s.g.budget.acquire(size) {
		resp, terr = s.g.ingestTraces(ctx, req, nil)
		s.g.budget.release(size)
	} else {
		s.g.metrics.rejected.WithLabelValues("traces", "inflight_bytes").Inc()
		resp = ptraceotlp.NewExportResponse()
		terr = &traceError{code: codes.ResourceExhausted, msg: fmt.Sprintf("the migrate gateway has reached its limit of %d in-flight request bytes; retry later", s.g.cfg.MaxInflightBytes), retryAfter: time.Second}
	}
	code := http.StatusOK
	if terr != nil {
		code = terr.httpStatus()
	}
	s.g.metrics.duration.WithLabelValues("otlp_grpc").Observe(time.Since(start).Seconds())
	s.g.metrics.requests.WithLabelValues("otlp_grpc", fmt.Sprint(code)).Inc()
	if terr != nil {
		return resp, terr.status().Err()
	}
	return resp, nil
}

func (g *Gateway) newGRPCServer() *grpc.Server {
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(int(g.cfg.MaxBodyBytes)), grpc.MaxConcurrentStreams(256))
	ptraceotlp.RegisterGRPCServer(srv, &otlpServer{g: g})
	return srv
}

// ingestTraces writes a trace push to the mode's primary and queues it for
// the secondary. raw is the request as protobuf when the client sent it
// so, which saves encoding it again.
func (g *Gateway) ingestTraces(ctx context.Context, req ptraceotlp.ExportRequest, raw []byte) (ptraceotlp.ExportResponse, *traceError) {
	resp := ptraceotlp.NewExportResponse()
	td := req.Traces()
	spans := td.SpanCount()
	if spans == 0 {
		return resp, nil
	}
	mode := g.Mode()
	primary, secondary := destJaeger, destTempo
	switch mode {
	case ModeNewPrimary:
		primary, secondary = destTempo, destJaeger
	case ModeNewOnly:
		primary, secondary = destTempo, ""
	}
	sec := g.dests[secondary]
	if primary == destJaeger && g.cfg.Jaeger == nil || primary == destTempo && g.cfg.Tempo == nil {
		return resp, &traceError{code: codes.Unavailable, msg: fmt.Sprintf("the migrate gateway has no %s writer, the primary in %s mode: add it to the plan", primary, mode)}
	}

	var records [][]byte
	if sec != nil {
		var err error
		if records, err = g.traceRecords(req, raw); err != nil {
			return resp, &traceError{code: codes.InvalidArgument, msg: "encoding the traces failed: " + err.Error()}
		}
		size := int64(0)
		for _, r := range records {
			size += int64(len(r))
		}
		res := sec.reserve(size, len(records))
		if res == nil {
			g.metrics.rejected.WithLabelValues("traces", "queue_full").Inc()
			return resp, &traceError{code: codes.ResourceExhausted, msg: "the migrate gateway's " + secondary + " queue is full; retry later", retryAfter: time.Second}
		}
		defer res.release()
	}

	ctx, cancel := context.WithTimeout(ctx, g.cfg.RequestTimeout)
	defer cancel()
	g.metrics.received.WithLabelValues(primary).Add(float64(spans))
	var rejected int64
	var message string
	if primary == destJaeger {
		er, err := g.cfg.Jaeger.Export(ctx, td)
		if err != nil {
			g.metrics.failed.WithLabelValues(destJaeger, failureReason(err)).Inc()
			return resp, exportError(err)
		}
		rejected, message = er.RejectedSpans, er.Message
		g.metrics.sent.WithLabelValues(destJaeger).Add(float64(int64(spans) - rejected))
	} else {
		r, err := g.cfg.Tempo.Write(ctx, td)
		g.metrics.addResult(destTempo, r)
		if err != nil {
			g.metrics.failed.WithLabelValues(destTempo, failureReason(err)).Inc()
			return resp, &traceError{code: codes.Unavailable, msg: "Tempo did not accept the spans; retry later: " + err.Error(), retryAfter: retryAfterOf(err)}
		}
		rejected = int64(r.Total() - r.Written)
		if rejected > 0 {
			g.log.Warn("spans dead-lettered by Tempo, the primary", "spans", rejected, "reasons", r.DeadLettered)
			message = fmt.Sprintf("Tempo cannot store %d spans (%s); they are in the gateway's dead-letter file", rejected, reasonsOf(r.DeadLettered))
		}
	}

	if sec != nil {
		if err := sec.queue.Append(records...); err != nil {
			g.log.Error("queueing copies failed after the primary accepted them; the client is asked to retry", "destination", secondary, "spans", spans, "err", err)
			if errors.Is(err, errQueueFull) {
				g.metrics.rejected.WithLabelValues("traces", "queue_full").Inc()
				return resp, &traceError{code: codes.ResourceExhausted, msg: "the migrate gateway's " + secondary + " queue is full; retry later", retryAfter: time.Second}
			}
			return resp, &traceError{code: codes.Unavailable, msg: "the migrate gateway could not queue the " + secondary + " copy: " + err.Error(), retryAfter: time.Second}
		}
		g.metrics.received.WithLabelValues(secondary).Add(float64(spans))
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(message)
	}
	return resp, nil
}

// traceRecords returns the queue records of a push: one, or several when
// the push is larger than a record may be.
func (g *Gateway) traceRecords(req ptraceotlp.ExportRequest, raw []byte) ([][]byte, error) {
	limit := int(min(maxTraceRecord, g.cfg.QueueMaxBytes/8))
	now := time.Now()
	if raw != nil && len(raw) <= limit {
		return [][]byte{encodeTraces(raw, now)}, nil
	}
	parts := splitTraces(req.Traces(), limit)
	records := make([][]byte, 0, len(parts))
	for _, td := range parts {
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			return nil, err
		}
		records = append(records, encodeTraces(b, now))
	}
	return records, nil
}

// maxTraceRecord bounds the payload of one traces record; a larger push is
// split. The queue's records must fit in a segment (64 MiB by default).
const maxTraceRecord = 8 << 20

// exportError passes the primary's rejection on: a permanent one as
// InvalidArgument, so the client does not retry it, and any other as
// Unavailable with the primary's retry delay.
func exportError(err error) *traceError {
	var oe *delivery.OTLPError
	if errors.As(err, &oe) && oe.Permanent {
		return &traceError{code: codes.InvalidArgument, msg: "Jaeger rejected the spans: " + oe.Message}
	}
	return &traceError{code: codes.Unavailable, msg: "Jaeger did not accept the spans; retry later: " + err.Error(), retryAfter: max(retryAfterOf(err), time.Second)}
}

func reasonsOf(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for reason, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, reason))
	}
	return strings.Join(parts, ", ")
}

// OTLPHandler returns the OTLP/HTTP trace receiver: POST /v1/traces with a
// protobuf or JSON body, with the response in the same encoding.
func (g *Gateway) OTLPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", g.handleOTLPHTTP)
	return mux
}

func (g *Gateway) handleOTLPHTTP(w http.ResponseWriter, r *http.Request) {
	rec, done := g.track(w, "otlp_http")
	defer done()
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	isJSON := strings.HasPrefix(ct, "application/json")
	if !isJSON && !strings.HasPrefix(ct, "application/x-protobuf") && !strings.HasPrefix(ct, "application/protobuf") {
		writeOTLPError(rec, false, http.StatusUnsupportedMediaType, &traceError{code: codes.InvalidArgument, msg: fmt.Sprintf("unsupported Content-Type %q: send application/x-protobuf or application/json", ct)})
		return
	}
	body, eerr := g.readBody(r, "traces")
	if eerr != nil {
		code := codes.InvalidArgument
		if eerr.status == http.StatusTooManyRequests {
			code = codes.ResourceExhausted
		}
		writeOTLPError(rec, isJSON, eerr.status, &traceError{code: code, msg: eerr.reason, retryAfter: eerr.retryAfter})
		return
	}
	defer body.release()
	req := ptraceotlp.NewExportRequest()
	var raw []byte
	var err error
	if isJSON {
		err = req.UnmarshalJSON(body.plain)
	} else {
		err = req.UnmarshalProto(body.plain)
		raw = body.plain
	}
	if err != nil {
		writeOTLPError(rec, isJSON, http.StatusBadRequest, &traceError{code: codes.InvalidArgument, msg: "decoding the OTLP request failed: " + err.Error()})
		return
	}
	resp, terr := g.ingestTraces(r.Context(), req, raw)
	if terr != nil {
		writeOTLPError(rec, isJSON, terr.httpStatus(), terr)
		return
	}
	var out []byte
	if isJSON {
		out, err = resp.MarshalJSON()
		rec.Header().Set("Content-Type", "application/json")
	} else {
		out, err = resp.MarshalProto()
		rec.Header().Set("Content-Type", "application/x-protobuf")
	}
	if err != nil {
		writeOTLPError(rec, isJSON, http.StatusInternalServerError, &traceError{code: codes.Internal, msg: err.Error()})
		return
	}
	rec.WriteHeader(http.StatusOK)
	_, _ = rec.Write(out)
}

// writeOTLPError responds with a google.rpc.Status body in the request's
// encoding, and Retry-After for a retryable status.
func writeOTLPError(w http.ResponseWriter, isJSON bool, httpStatus int, e *traceError) {
	st := e.status().Proto()
	var body []byte
	if isJSON {
		body, _ = json.Marshal(struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		}{st.GetCode(), st.GetMessage()})
		w.Header().Set("Content-Type", "application/json")
	} else {
		body, _ = proto.Marshal((*spb.Status)(st))
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}
