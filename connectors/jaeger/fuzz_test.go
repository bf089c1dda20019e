package jaeger

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/internal/recording"
)

// FuzzDecodeV3 feeds arbitrary bodies to the api_v3 response decoders. They
// must not panic, and a decoded trace list must hold every span of the
// response, one trace ID per ptrace.Traces.
func FuzzDecodeV3(f *testing.F) {
	seeds := []string{
		``,
		`{}`,
		`null`,
		`{"result":null}`,
		`{"result":{}}`,
		`{"result":{"resourceSpans":[]}}`,
		`{"error":{"httpCode":404,"message":"No traces found"}}`,
		`{"services":["a","b"]}`,
		`{"operations":[{"name":"x","spanKind":"server"}]}`,
		`{"result":{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[` +
			`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"a"},` +
			`{"traceId":"1102030405060708090a0b0c0d0e0f10","spanId":"1102030405060708","name":"b"},` +
			`{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"2102030405060708","name":"c"}]}]}]}}`,
		`{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"01"}]}]}]}}`,
		`{"result":"text"}`,
		`{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SERVER","status":{"code":"STATUS_CODE_ERROR"}}]}]}]}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	names, _ := filepath.Glob(filepath.Join(recording.Dir(recordings), "v3_*.json"))
	for _, name := range names {
		if ex, err := recording.Load(name); err == nil && ex.Response != nil {
			f.Add(ex.Response.Body)
		}
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decodeServices(body)
		_, _ = decodeOperations(body)
		_ = isNoTraces(body)
		traces, err := decodeTraces(body)
		if err != nil {
			return
		}
		whole := wholeResult(t, body)
		total := 0
		for i, td := range traces {
			ids := map[pcommon.TraceID]bool{}
			for _, rec := range spansOf(td) {
				ids[rec.span.TraceID()] = true
			}
			if len(ids) != 1 {
				t.Fatalf("part %d holds %d trace IDs", i, len(ids))
			}
			total += td.SpanCount()
		}
		if total != whole.SpanCount() {
			t.Fatalf("parts hold %d spans, the response %d", total, whole.SpanCount())
		}
	})
}

// wholeResult decodes the result of a body that decodeTraces accepted.
func wholeResult(t *testing.T, body []byte) ptrace.Traces {
	t.Helper()
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decodeTraces accepted a body that is not JSON: %v", err)
	}
	if len(resp.Result) == 0 || strings.TrimSpace(string(resp.Result)) == "null" {
		return ptrace.NewTraces()
	}
	var unmarshaler ptrace.JSONUnmarshaler
	td, err := unmarshaler.UnmarshalTraces(resp.Result)
	if err != nil {
		t.Fatalf("decodeTraces accepted a result that does not decode: %v", err)
	}
	return td
}
