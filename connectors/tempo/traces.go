package tempo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// TraceResult is a trace read back by id.
type TraceResult struct {
	Traces ptrace.Traces
	// Found is false when Tempo has no span of the trace: a 404 on the v1
	// path, or a 200 with an empty trace on the v2 path.
	Found bool
	// Partial is true when Tempo returned only part of the trace (v2
	// "status": "PARTIAL", with the reason in Message).
	Partial bool
	Message string
	// API names the path that returned the result: "v2" (/api/v2/traces) or
	// "v1" (/api/traces).
	API string
}

// TraceByID reads a trace by id. A zero start or end leaves that side of
// the range open. Tempo 3.0.3 returns a stored trace even when the range
// does not cover it, so the range only narrows where Tempo looks.
//
// It requests /api/v2/traces/{id} and falls back to /api/traces/{id} when
// that path returns 404, as Tempo before 2.6 does. An unknown trace returns an
// empty ptrace.Traces, false and no error.
func (c *Client) TraceByID(ctx context.Context, id pcommon.TraceID, start, end time.Time) (ptrace.Traces, bool, error) {
	r, err := c.TraceByIDResult(ctx, id, start, end)
	return r.Traces, r.Found, err
}

// TraceByIDResult reads a trace by id as TraceByID does, and also returns
// the partial-result status and the path that returned it.
func (c *Client) TraceByIDResult(ctx context.Context, id pcommon.TraceID, start, end time.Time) (TraceResult, error) {
	notFound := TraceResult{Traces: ptrace.NewTraces()}
	if id.IsEmpty() {
		return notFound, errors.New("tempo: trace by id: the trace id is all zeros")
	}
	hexID := hex.EncodeToString(id[:])
	q := url.Values{}
	if err := timeRange(q, start, end); err != nil {
		return notFound, fmt.Errorf("tempo: trace by id %s: %w", hexID, err)
	}

	if !c.noTracesV2.Load() {
		path := "/api/v2/traces/" + hexID
		resp, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: path, Query: q, Header: acceptJSON, Classifier: acceptNotFound})
		if err != nil {
			return notFound, wrapHTTPError("trace by id "+hexID, err)
		}
		if resp.Status != http.StatusNotFound {
			r, err := DecodeTraceJSON(resp.Body)
			if err != nil {
				return notFound, fmt.Errorf("tempo: trace by id %s: GET %s: %w", hexID, path, err)
			}
			r.API = "v2"
			return r, nil
		}
		if routeNotFound(resp.Body) {
			c.noTracesV2.Store(true)
		}
	}

	path := "/api/traces/" + hexID
	resp, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: path, Query: q, Header: acceptJSON, Classifier: acceptNotFound})
	if err != nil {
		return notFound, wrapHTTPError("trace by id "+hexID, err)
	}
	if resp.Status == http.StatusNotFound {
		notFound.API = "v1"
		return notFound, nil
	}
	r, err := DecodeTraceJSON(resp.Body)
	if err != nil {
		return notFound, fmt.Errorf("tempo: trace by id %s: GET %s: %w", hexID, path, err)
	}
	r.API = "v1"
	return r, nil
}

// TraceByIDProtobuf reads a trace by id from /api/traces/{id} with Accept:
// application/protobuf. Tempo returns a tempopb.Trace, whose field 1
// (batches) has the wire form of OTLP TracesData.resource_spans, so it
// decodes as OTLP. It is smaller to transfer than JSON for large traces.
func (c *Client) TraceByIDProtobuf(ctx context.Context, id pcommon.TraceID, start, end time.Time) (ptrace.Traces, bool, error) {
	empty := ptrace.NewTraces()
	if id.IsEmpty() {
		return empty, false, errors.New("tempo: trace by id: the trace id is all zeros")
	}
	hexID := hex.EncodeToString(id[:])
	q := url.Values{}
	if err := timeRange(q, start, end); err != nil {
		return empty, false, fmt.Errorf("tempo: trace by id %s: %w", hexID, err)
	}

	resp, err := c.api.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: "/api/traces/" + hexID, Query: q,
		Header: http.Header{"Accept": {"application/protobuf"}}, Classifier: acceptNotFound,
	})
	if err != nil {
		return empty, false, wrapHTTPError("trace by id "+hexID, err)
	}
	if resp.Status == http.StatusNotFound {
		return empty, false, nil
	}

	if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "json") {
		r, err := DecodeTraceJSON(resp.Body)
		if err != nil {
			return empty, false, fmt.Errorf("tempo: trace by id %s: %w", hexID, err)
		}
		return r.Traces, r.Found, nil
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(resp.Body)
	if err != nil {
		return empty, false, fmt.Errorf("tempo: trace by id %s: invalid protobuf trace (%d bytes): %w", hexID, len(resp.Body), err)
	}
	return td, td.SpanCount() > 0, nil
}

// routeNotFound reports whether a 404 body is the router's "404 page not
// found", which Tempo sends for a path it does not serve.
func routeNotFound(body []byte) bool {
	return bytes.Contains(body, []byte("page not found"))
}

// DecodeTraceJSON decodes a trace as Tempo's by-id API sends it: the v2
// envelope {"trace": {...}, "status": ..., "message": ...}, the v1
// {"batches": [...]}, or OTLP JSON {"resourceSpans": [...]}. Tempo writes
// ids in base64 and enums as names (SPAN_KIND_SERVER); OTLP JSON writes ids
// in hex. Both decode. A trace without spans is returned as not found.
func DecodeTraceJSON(body []byte) (TraceResult, error) {
	r := TraceResult{Traces: ptrace.NewTraces()}
	root, err := decodeObject(body)
	if err != nil {
		return r, err
	}
	trace := root
	if envelope, ok := root["trace"]; ok {
		r.Partial = isPartial(root["status"])
		r.Message, _ = root["message"].(string)
		if envelope == nil {
			return r, nil
		}
		trace, ok = envelope.(map[string]any)
		if !ok {
			return r, fmt.Errorf("invalid trace JSON: \"trace\" is %s, expected an object", jsonKind(envelope))
		}
	}

	list, err := resourceSpansOf(trace)
	if err != nil || len(list) == 0 {
		return r, err
	}
	if err := normalizeResourceSpans(list); err != nil {
		return r, err
	}

	otlp, err := json.Marshal(map[string]any{"resourceSpans": list})
	if err != nil {
		return r, fmt.Errorf("invalid trace JSON: %w", err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(otlp)
	if err != nil {
		return r, fmt.Errorf("invalid trace JSON: %w", err)
	}
	r.Traces = td
	r.Found = td.SpanCount() > 0
	return r, nil
}

// decodeObject decodes one JSON object, keeping numbers as json.Number so
// 64-bit nanosecond timestamps keep every digit.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid trace JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid trace JSON: data after the top-level value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("invalid trace JSON: the top-level value is %s, expected an object", jsonKind(v))
	}
	return m, nil
}

func isPartial(status any) bool {
	switch s := status.(type) {
	case string:
		return s == "PARTIAL"
	case json.Number:
		return s.String() == "1"
	}
	return false
}

// resourceSpansOf returns the resource spans list: "resourceSpans" in OTLP
// and v2, "batches" in v1.
func resourceSpansOf(trace map[string]any) ([]any, error) {
	for _, key := range []string{"resourceSpans", "resource_spans", "batches"} {
		v, ok := trace[key]
		if !ok || v == nil {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("invalid trace JSON: %q is %s, expected an array", key, jsonKind(v))
		}
		return list, nil
	}
	return nil, nil
}

// normalizeResourceSpans rewrites Tempo's JSON in place into OTLP JSON as
// pdata reads it: ids from base64 to hex, and the names of Tempo 1.x
// (instrumentationLibrarySpans, instrumentationLibrary) to scopeSpans and
// scope.
func normalizeResourceSpans(list []any) error {
	for i, rsValue := range list {
		rs, ok := rsValue.(map[string]any)
		if !ok {
			return fmt.Errorf("invalid trace JSON: resource spans %d is %s, expected an object", i, jsonKind(rsValue))
		}
		rename(rs, "instrumentationLibrarySpans", "scopeSpans")
		scopes, _ := rs["scopeSpans"].([]any)
		for j, ssValue := range scopes {
			ss, ok := ssValue.(map[string]any)
			if !ok {
				return fmt.Errorf("invalid trace JSON: resource spans %d, scope spans %d is %s, expected an object", i, j, jsonKind(ssValue))
			}
			rename(ss, "instrumentationLibrary", "scope")
			spans, _ := ss["spans"].([]any)
			for k, spanValue := range spans {
				span, ok := spanValue.(map[string]any)
				if !ok {
					return fmt.Errorf("invalid trace JSON: span %d of resource spans %d is %s, expected an object", k, i, jsonKind(spanValue))
				}
				if err := normalizeSpanIDs(span); err != nil {
					return fmt.Errorf("invalid trace JSON: span %d of resource spans %d: %w", k, i, err)
				}
			}
		}
	}
	return nil
}

func normalizeSpanIDs(span map[string]any) error {
	fields := []struct {
		key  string
		size int
	}{{"traceId", 16}, {"spanId", 8}, {"parentSpanId", 8}}
	for _, f := range fields {
		if err := normalizeIDField(span, f.key, f.size); err != nil {
			return err
		}
	}
	links, _ := span["links"].([]any)
	for i, linkValue := range links {
		link, ok := linkValue.(map[string]any)
		if !ok {
			continue
		}
		for _, f := range fields[:2] {
			if err := normalizeIDField(link, f.key, f.size); err != nil {
				return fmt.Errorf("link %d: %w", i, err)
			}
		}
	}
	return nil
}

func normalizeIDField(m map[string]any, key string, size int) error {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%s is %s, expected a string", key, jsonKind(v))
	}
	id, err := idToHex(s, size)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	m[key] = id
	return nil
}

// idToHex returns an id of size bytes as lower-case hex, from hex or from
// standard base64. The lengths differ (32 hex digits against 24 base64
// characters for a trace id), so the two forms cannot be confused.
func idToHex(s string, size int) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) == 2*size {
		if _, err := hex.DecodeString(s); err == nil {
			return strings.ToLower(s), nil
		}
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil || len(raw) != size {
		return "", fmt.Errorf("invalid id %q: expected %d bytes as hex or base64", s, size)
	}
	return hex.EncodeToString(raw), nil
}

func rename(m map[string]any, from, to string) {
	if v, ok := m[from]; ok {
		if _, exists := m[to]; !exists {
			m[to] = v
		}
		delete(m, from)
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
