package tempo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/internal/recording"
)

// recordedTraceID returns the trace id in a recording's request path.
func recordedTraceID(t *testing.T, ex *recording.Exchange) pcommon.TraceID {
	t.Helper()
	return mustTraceID(t, ex.Request.Path[strings.LastIndexByte(ex.Request.Path, '/')+1:])
}

// checkRecordedTrace checks the trace of the by-id recordings: 3 spans in 2
// resources, all with the requested id, a client span with an error status
// and a parent, and enum names decoded.
func checkRecordedTrace(t *testing.T, td ptrace.Traces, id pcommon.TraceID) {
	t.Helper()
	if td.ResourceSpans().Len() != 2 || td.SpanCount() != 3 {
		t.Fatalf("decoded %d resources and %d spans, expected 2 and 3", td.ResourceSpans().Len(), td.SpanCount())
	}
	var errorSpans, withParent int
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		if _, ok := rs.Resource().Attributes().Get("service.name"); !ok {
			t.Errorf("resource %d has no service.name", i)
		}
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if span.TraceID() != id {
					t.Errorf("span %q trace id %s, expected %s", span.Name(), span.TraceID(), id)
				}
				if span.SpanID().IsEmpty() {
					t.Errorf("span %q has no span id", span.Name())
				}
				if span.Kind() == ptrace.SpanKindUnspecified {
					t.Errorf("span %q kind was not decoded", span.Name())
				}
				if span.StartTimestamp() == 0 || span.EndTimestamp() <= span.StartTimestamp() {
					t.Errorf("span %q times %d..%d", span.Name(), span.StartTimestamp(), span.EndTimestamp())
				}
				if span.Status().Code() == ptrace.StatusCodeError {
					errorSpans++
				}
				if !span.ParentSpanID().IsEmpty() {
					withParent++
				}
			}
		}
	}
	if errorSpans != 1 || withParent != 2 {
		t.Errorf("%d error spans and %d spans with a parent, expected 1 and 2", errorSpans, withParent)
	}
}

func TestTraceByIDRecorded(t *testing.T) {
	v2 := load(t, "trace_by_id_v2_json")
	v1 := load(t, "trace_by_id_v1_json")
	routeMissing := &recording.Response{Status: 404, Body: []byte("404 page not found\n")}
	tests := []struct {
		name      string
		serve     func(s *recording.Server)
		id        pcommon.TraceID
		wantFound bool
		wantAPI   string
		wantPaths []string
	}{
		{
			name:      "v2 JSON",
			serve:     func(s *recording.Server) { s.Replay(v2) },
			id:        recordedTraceID(t, v2),
			wantFound: true, wantAPI: "v2",
			wantPaths: []string{v2.Request.Path},
		},
		{
			name: "v1 JSON after v2 is not routed",
			serve: func(s *recording.Server) {
				s.Handle("GET", v2.Request.Path, routeMissing)
				s.Replay(v1)
			},
			id:        recordedTraceID(t, v1),
			wantFound: true, wantAPI: "v1",
			wantPaths: []string{v2.Request.Path, v1.Request.Path},
		},
		{
			name:      "v2 unknown id is 200 with an empty trace",
			serve:     func(s *recording.Server) { s.Replay(load(t, "trace_by_id_v2_not_found_returns_200_empty")) },
			id:        recordedTraceID(t, load(t, "trace_by_id_v2_not_found_returns_200_empty")),
			wantAPI:   "v2",
			wantPaths: []string{"/api/v2/traces/0123456789abcdef0123456789abcdee"},
		},
		{
			name: "v1 unknown id is 404 with an empty body",
			serve: func(s *recording.Server) {
				s.Handle("GET", "/api/v2/traces/0123456789abcdef0123456789abcdee", routeMissing)
				s.Replay(load(t, "trace_by_id_v1_not_found_404"))
			},
			id:        recordedTraceID(t, load(t, "trace_by_id_v1_not_found_404")),
			wantAPI:   "v1",
			wantPaths: []string{"/api/v2/traces/0123456789abcdef0123456789abcdee", "/api/traces/0123456789abcdef0123456789abcdee"},
		},
		{
			name:      "dropped trace on v2",
			serve:     func(s *recording.Server) { s.Replay(load(t, "err_trace_too_large_readback_v2_200_empty")) },
			id:        mustTraceID(t, "4b71e43a0c00c43ad9539bd6c03fed41"),
			wantAPI:   "v2",
			wantPaths: []string{"/api/v2/traces/4b71e43a0c00c43ad9539bd6c03fed41"},
		},
		{
			name: "dropped trace is 404 on both paths",
			serve: func(s *recording.Server) {
				s.Handle("GET", "/api/v2/traces/4b71e43a0c00c43ad9539bd6c03fed41", &recording.Response{Status: 404})
				s.Replay(load(t, "err_trace_too_large_readback_404"))
			},
			id:        mustTraceID(t, "4b71e43a0c00c43ad9539bd6c03fed41"),
			wantAPI:   "v1",
			wantPaths: []string{"/api/v2/traces/4b71e43a0c00c43ad9539bd6c03fed41", "/api/traces/4b71e43a0c00c43ad9539bd6c03fed41"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			tt.serve(srv)
			c, _ := newTestClient(t, srv.URL, nil)
			r, err := c.TraceByIDResult(context.Background(), tt.id, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Found != tt.wantFound || r.API != tt.wantAPI {
				t.Errorf("Found %v API %q, expected %v and %q", r.Found, r.API, tt.wantFound, tt.wantAPI)
			}
			if tt.wantFound {
				checkRecordedTrace(t, r.Traces, tt.id)
			} else if r.Traces.SpanCount() != 0 {
				t.Errorf("not found, yet %d spans", r.Traces.SpanCount())
			}
			reqs, _ := srv.Requests()
			var paths []string
			for _, req := range reqs {
				paths = append(paths, req.URL.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tt.wantPaths, " ") {
				t.Errorf("requested %v, expected %v", paths, tt.wantPaths)
			}
		})
	}
}

func TestTraceByIDRemembersMissingV2(t *testing.T) {
	v1 := load(t, "trace_by_id_v1_json")
	srv := recording.NewServer(t)
	srv.Handle("GET", "/api/v2/traces/"+recordedTraceID(t, v1).String(), &recording.Response{Status: 404, Body: []byte("404 page not found\n")})
	srv.Replay(v1)
	c, _ := newTestClient(t, srv.URL, nil)
	for i := 0; i < 2; i++ {
		td, found, err := c.TraceByID(context.Background(), recordedTraceID(t, v1), time.Time{}, time.Time{})
		if err != nil || !found || td.SpanCount() != 3 {
			t.Fatalf("call %d: found %v, %d spans, error %v", i, found, td.SpanCount(), err)
		}
	}
	if reqs, _ := srv.Requests(); len(reqs) != 3 {
		t.Errorf("sent %d requests, expected 3: v2 once, then v1 twice", len(reqs))
	}
}

func TestTraceByIDTimeRange(t *testing.T) {
	ex := load(t, "trace_by_id_v1_with_time_range")
	srv := recording.NewServer(t)
	srv.Handle("GET", strings.Replace(ex.Request.Path, "/api/", "/api/v2/", 1), &recording.Response{Status: 404, Body: []byte("404 page not found")})
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	start := time.Unix(mustAtoi(t, ex.Request.Query["start"][0]), 0)
	// An end 300 ms after a whole second is rounded up, so the range still
	// covers it.
	end := time.Unix(mustAtoi(t, ex.Request.Query["end"][0])-1, 300_000_000)
	_, found, err := c.TraceByID(context.Background(), recordedTraceID(t, ex), start, end)
	if err != nil || !found {
		t.Fatalf("found %v, error %v", found, err)
	}
	reqs, _ := srv.Requests()
	for _, req := range reqs {
		q := req.URL.Query()
		if q.Get("start") != ex.Request.Query["start"][0] || q.Get("end") != ex.Request.Query["end"][0] {
			t.Errorf("%s: start=%s end=%s, expected %v", req.URL.Path, q.Get("start"), q.Get("end"), ex.Request.Query)
		}
	}
	if _, _, err := c.TraceByID(context.Background(), recordedTraceID(t, ex), end, start); err == nil || !strings.Contains(err.Error(), "after end") {
		t.Errorf("start after end: error %v", err)
	}
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(r-'0')
	}
	return n
}

func TestTraceByIDErrors(t *testing.T) {
	t.Run("zero id", func(t *testing.T) {
		c, _ := newTestClient(t, "http://127.0.0.1:1", nil)
		if _, _, err := c.TraceByID(context.Background(), pcommon.NewTraceIDEmpty(), time.Time{}, time.Time{}); err == nil {
			t.Error("TraceByID accepted an all-zero id")
		}
	})
	t.Run("400 keeps Tempo's text", func(t *testing.T) {
		bad := load(t, "err_trace_by_id_invalid_id_400")
		srv := recording.NewServer(t)
		srv.Handle("GET", "/api/v2/traces/0123456789abcdef0123456789abcdee", bad.Response)
		c, s := newTestClient(t, srv.URL, nil)
		_, _, err := c.TraceByID(context.Background(), mustTraceID(t, "0123456789abcdef0123456789abcdee"), time.Time{}, time.Time{})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("error = %v, expected ErrInvalidArgument", err)
		}
		if !strings.Contains(err.Error(), strings.TrimSpace(string(bad.Response.Body))) {
			t.Errorf("error %q does not keep Tempo's text", err)
		}
		if len(s.all()) != 0 {
			t.Errorf("a 400 was retried")
		}
	})
	t.Run("invalid JSON", func(t *testing.T) {
		srv := recording.NewServer(t)
		srv.Handle("GET", "/api/v2/traces/0123456789abcdef0123456789abcdee", &recording.Response{Status: 200, Body: []byte(`{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"bad"}]}]}]}}`)})
		c, _ := newTestClient(t, srv.URL, nil)
		_, _, err := c.TraceByID(context.Background(), mustTraceID(t, "0123456789abcdef0123456789abcdee"), time.Time{}, time.Time{})
		if err == nil || !strings.Contains(err.Error(), `invalid id "bad"`) {
			t.Errorf("error = %v, expected one naming the invalid id", err)
		}
	})
}

func TestTraceByIDProtobufRecorded(t *testing.T) {
	ex := load(t, "trace_by_id_v1_protobuf")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	id := recordedTraceID(t, ex)
	td, found, err := c.TraceByIDProtobuf(context.Background(), id, time.Time{}, time.Time{})
	if err != nil || !found {
		t.Fatalf("found %v, error %v", found, err)
	}
	checkRecordedTrace(t, td, id)
	reqs, _ := srv.Requests()
	if got := reqs[0].Header.Get("Accept"); got != "application/protobuf" {
		t.Errorf("Accept = %q", got)
	}
	fromJSON, err := DecodeTraceJSON(load(t, "trace_by_id_v1_json").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := tracesJSON(t, td), tracesJSON(t, fromJSON.Traces); a != b {
		t.Errorf("protobuf and JSON decodings differ:\nprotobuf %s\nJSON     %s", a, b)
	}

	missing := recording.NewServer(t)
	missing.Replay(load(t, "trace_by_id_v1_not_found_404"))
	c, _ = newTestClient(t, missing.URL, nil)
	if _, found, err := c.TraceByIDProtobuf(context.Background(), mustTraceID(t, "0123456789abcdef0123456789abcdee"), time.Time{}, time.Time{}); found || err != nil {
		t.Errorf("unknown id: found %v, error %v", found, err)
	}
}

func TestDecodeTraceJSONRecordedForms(t *testing.T) {
	v2, err := DecodeTraceJSON(load(t, "trace_by_id_v2_json").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := DecodeTraceJSON(load(t, "trace_by_id_v1_json").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := tracesJSON(t, v2.Traces), tracesJSON(t, v1.Traces); a != b {
		t.Errorf("v1 and v2 decodings of the same trace differ:\nv2 %s\nv1 %s", a, b)
	}
	partial, err := DecodeTraceJSON(load(t, "err_trace_too_large_split_readback_partial").Response.Body)
	if err != nil || !partial.Found || partial.Traces.SpanCount() != 2 {
		t.Errorf("split read-back: found %v, %d spans, error %v; expected the 2 spans of the first push", partial.Found, partial.Traces.SpanCount(), err)
	}
	truncated, err := DecodeTraceJSON(load(t, "limits_push_attribute_over_2048_bytes_readback").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := truncated.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("payload")
	if len(payload.Str()) != 2048 {
		t.Errorf("truncated attribute has %d bytes, expected 2048", len(payload.Str()))
	}
}

func TestDecodeTraceJSONForms(t *testing.T) {
	const hexTrace = `{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[{"traceId":"328B03945EEC531A94387FE58DBBA983","spanId":"328b03945eec531a","name":"a","kind":2,
		"links":[{"traceId":"/wEAAAAAAAAAAAAAAAAAAA==","spanId":"7gIAAAAAAAA="}]}]}]}]}`
	tests := []struct {
		name        string
		body        string
		wantFound   bool
		wantPartial bool
		wantMessage string
		check       func(t *testing.T, td ptrace.Traces)
	}{
		{"OTLP JSON with hex ids and base64 link ids", hexTrace, true, false, "", func(t *testing.T, td ptrace.Traces) {
			span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			want(t, "trace id", span.TraceID().String(), "328b03945eec531a94387fe58dbba983")
			want(t, "link trace id", span.Links().At(0).TraceID().String(), "ff010000000000000000000000000000")
			want(t, "link span id", span.Links().At(0).SpanID().String(), "ee02000000000000")
			want(t, "kind", span.Kind(), ptrace.SpanKindServer)
		}},
		{"Tempo 1.x names", `{"batches":[{"instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"lib"},"spans":[{"traceId":"MosDlF7sUxqUOH/ljbupgw==","spanId":"MosDlF7sUxo="}]}]}]}`, true, false, "", func(t *testing.T, td ptrace.Traces) {
			want(t, "scope name", td.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Name(), "lib")
		}},
		{"partial v2", `{"trace":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"MosDlF7sUxqUOH/ljbupgw==","spanId":"MosDlF7sUxo="}]}]}]},"status":"PARTIAL","message":"trace exceeds max size"}`, true, true, "trace exceeds max size", nil},
		{"v2 null trace", `{"trace":null}`, false, false, "", nil},
		{"v2 empty trace", `{"trace":{},"metrics":{}}`, false, false, "", nil},
		{"v1 empty batches", `{"batches":[]}`, false, false, "", nil},
		{"resource without spans", `{"resourceSpans":[{"resource":{"attributes":[]}}]}`, false, false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeTraceJSON([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.Found != tt.wantFound || r.Partial != tt.wantPartial || r.Message != tt.wantMessage {
				t.Errorf("Found %v Partial %v Message %q", r.Found, r.Partial, r.Message)
			}
			if tt.check != nil {
				tt.check(t, r.Traces)
			}
		})
	}
}

func TestDecodeTraceJSONErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not JSON", `<html>`, "invalid trace JSON"},
		{"array", `[]`, "expected an object"},
		{"trailing data", `{} {}`, "data after"},
		{"trace is a string", `{"trace":"x"}`, `"trace" is a string`},
		{"batches is an object", `{"batches":{}}`, `"batches" is an object`},
		{"span id too short", `{"batches":[{"scopeSpans":[{"spans":[{"spanId":"AAE="}]}]}]}`, "spanId"},
		{"numeric id", `{"batches":[{"scopeSpans":[{"spans":[{"traceId":5}]}]}]}`, "traceId is a number"},
		{"resource spans not an object", `{"resourceSpans":[1]}`, "resource spans 0"},
		{"bad kind", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SIDEWAYS"}]}]}]}`, "invalid trace JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeTraceJSON([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, expected it to contain %q", err, tt.want)
			}
		})
	}
}
