package tempo

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc/codes"
)

// addRecordedSeeds adds the response bodies of the named recordings.
func addRecordedSeeds(f *testing.F, names ...string) {
	for _, name := range names {
		f.Add(load(f, name).Response.Body)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(recordedConfigSections(f))
	for _, seed := range []string{
		"GET /status/config\n---\noverrides: {defaults: {global: {max_bytes_per_trace: 5MB}}}\n",
		"overrides: {ingestion_rate_limit_bytes: 15000000, max_search_duration: 1w}\ningester: {}\nstorage: {trace: {wal: {ingestion_time_range_slack: 2m}}}\n",
		"target: x\nlive_store: {wal: {ingestion_time_range_slack: 1y}}\nblock_builder: {wal: {ingestion_time_range_slack: 1.5h}}\noverrides: {}\n",
		"overrides: {defaults: {ingestion: {max_traces_per_user: 1e3, rate_strategy: global}, read: {max_search_duration: 0}}}\n",
		"overrides: [1, 2]\n",
		"GET /status/config\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseConfig(data)
		if err != nil {
			return
		}
		if l.MaxBytesPerTrace < 0 || l.IngestionRateLimitBytes < 0 || l.IngestionBurstSizeBytes < 0 ||
			l.MaxTracesPerUser < 0 || l.MaxGlobalTracesPerUser < 0 || l.MaxAttributeBytes < 0 ||
			l.IngestionTimeRangeSlack < 0 || l.MaxSearchDuration < 0 {
			t.Errorf("negative limit from %q: %+v", data, l)
		}
		if l.Source != "/status/config" {
			t.Errorf("Source = %q", l.Source)
		}
	})
}

// recordedConfigSections returns the recorded /status/config cut down to
// the sections ParseConfig reads. The whole 1,000-line file parses so slowly
// that the fuzzer spends its time minimizing it.
func recordedConfigSections(f *testing.F) []byte {
	body := load(f, "status_config_yaml").Response.Body
	_, doc, _ := strings.Cut(string(body), "\n---\n")
	var root map[string]any
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		f.Fatal(err)
	}

	kept := map[string]any{}
	for _, key := range []string{"target", "overrides", "live_store", "block_builder", "storage", "query_frontend", "distributor"} {
		kept[key] = root[key]
	}
	kept["overrides"] = map[string]any{"defaults": root["overrides"].(map[string]any)["defaults"]}
	for key, path := range map[string][]string{"live_store": {"wal"}, "block_builder": {"wal"}, "storage": {"trace", "wal"}, "query_frontend": {"search"}} {
		section := root[key].(map[string]any)
		for _, p := range path[:len(path)-1] {
			section = section[p].(map[string]any)
		}
		kept[key] = nest(path, section[path[len(path)-1]])
	}
	kept["distributor"] = map[string]any{"max_attribute_bytes": root["distributor"].(map[string]any)["max_attribute_bytes"]}

	out, err := yaml.Marshal(kept)
	if err != nil {
		f.Fatal(err)
	}
	want, err := ParseConfig(body)
	if err != nil {
		f.Fatal(err)
	}
	if got, err := ParseConfig(out); err != nil || got != want {
		f.Fatalf("the cut-down configuration parses as %+v, %v; the whole one as %+v", got, err, want)
	}
	return append([]byte("GET /status/config\n---\n"), out...)
}

func nest(path []string, leaf any) any {
	if len(path) == 0 {
		return leaf
	}
	return map[string]any{path[0]: nest(path[1:], leaf)}
}

func FuzzLimitValues(f *testing.F) {
	for _, seed := range []string{"50MiB", "1.5 GiB", "5e6", "0", "87600h0m0s", "10y", "1w2d", "90s", "-1", "5 parsecs", "1e400", "0.5B", "63KiB1023B"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseBytes(s); err == nil && n < 0 {
			t.Errorf("parseBytes(%q) = %d", s, n)
		}
		if n, err := parseCount(s); err == nil && n < 0 {
			t.Errorf("parseCount(%q) = %d", s, n)
		}
		d, err := parseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("parseDuration(%q) = %s", s, d)
		}
		again, err := parseDuration(d.String())
		if err != nil || again != d {
			t.Errorf("parseDuration(%q) = %s, but its String %q parses as %s, %v", s, d, d.String(), again, err)
		}
	})
}

func FuzzDecodeSearch(f *testing.F) {
	addRecordedSeeds(f, "search_traceql_found", "search_traceql_empty", "search_traceql_spanset_filter", "search_tags_legacy_param")
	f.Add([]byte(`{"traces":[{"traceID":"abc","spanSet":{"spans":[{"spanID":"1","attributes":[{"key":"a","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[{"key":"b","value":{"doubleValue":"Infinity"}}]}}]}}}]}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		traces, err := DecodeSearch(body)
		if err != nil {
			return
		}
		for _, tr := range traces {
			if b, err := hex.DecodeString(tr.TraceID); err != nil || len(b) != 16 {
				t.Errorf("TraceID %q is not 32 hex digits", tr.TraceID)
			}
			if tr.Duration < 0 {
				t.Errorf("negative duration %s", tr.Duration)
			}
			for _, set := range tr.SpanSets {
				for _, span := range set.Spans {
					if b, err := hex.DecodeString(span.SpanID); err != nil || len(b) != 8 {
						t.Errorf("SpanID %q is not 16 hex digits", span.SpanID)
					}
				}
			}
		}
	})
}

func FuzzDecodeTraceJSON(f *testing.F) {
	addRecordedSeeds(f, "trace_by_id_v2_json", "trace_by_id_v1_json", "trace_by_id_v2_not_found_returns_200_empty")
	f.Add([]byte(`{"batches":[{"instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"x"},"spans":[{"traceId":"MosDlF7sUxqUOH/ljbupgw==","spanId":"MosDlF7sUxo=","links":[{"traceId":"328b03945eec531a94387fe58dbba983"}]}]}]}]}`))
	f.Add([]byte(`{"trace":{"resourceSpans":[]},"status":"PARTIAL","message":"m"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeTraceJSON(body)
		if err != nil {
			return
		}
		if r.Found != (r.Traces.SpanCount() > 0) {
			t.Fatalf("Found %v with %d spans", r.Found, r.Traces.SpanCount())
		}
		// pdata writes OTLP JSON with hex ids, which must decode to the same
		// traces.
		otlp, err := (&ptrace.JSONMarshaler{}).MarshalTraces(r.Traces)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeTraceJSON(otlp)
		if err != nil {
			t.Fatalf("re-decoding pdata's own JSON failed: %v\n%s", err, otlp)
		}
		if again.Traces.SpanCount() != r.Traces.SpanCount() {
			t.Errorf("span count changed from %d to %d", r.Traces.SpanCount(), again.Traces.SpanCount())
		}
	})
}

func FuzzDecodeTagAnswers(f *testing.F) {
	addRecordedSeeds(f, "search_tags_v2", "search_tags_v1", "search_tag_values_v2_resource_service_name", "search_tag_values_v1_service_name")
	f.Fuzz(func(t *testing.T, body []byte) {
		if tags, err := DecodeTags(body); err == nil && tags == nil {
			t.Error("DecodeTags returned a nil map without an error")
		}
		if values, err := DecodeTagValues(body); err == nil && values == nil {
			t.Error("DecodeTagValues returned nil without an error")
		}
	})
}

func FuzzParseDiscards(f *testing.F) {
	addRecordedSeeds(f, "limits_metrics_discarded_spans_evidence")
	f.Add([]byte("tempo_discarded_spans_total{reason=\"a\\\\b\",tenant=\"single-tenant\"} 1e3 17\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		d, err := ParseDiscards(text, singleTenant)
		if err != nil {
			return
		}
		for reason, n := range d.Spans {
			if n < 0 {
				t.Errorf("Spans[%q] = %d", reason, n)
			}
		}
		for scope, n := range d.TruncatedAttributes {
			if n < 0 {
				t.Errorf("TruncatedAttributes[%q] = %d", scope, n)
			}
		}
	})
}

func FuzzParseExportResponse(f *testing.F) {
	resp := ptraceotlp.NewExportResponse()
	resp.PartialSuccess().SetRejectedSpans(3)
	resp.PartialSuccess().SetErrorMessage("TRACE_TOO_LARGE")
	protoBody, err := resp.MarshalProto()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("application/x-protobuf", protoBody)
	f.Add("application/json", load(f, "err_trace_too_large_push_returns_200").Response.Body)
	f.Add("application/json", []byte(`{"partialSuccess":{"rejectedSpans":"-1","errorMessage":"x"}}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, err := parseExportResponse(contentType, body)
		if err != nil {
			return
		}
		if r.Message == "" && r.Reason != "" {
			t.Errorf("reason %q without a message", r.Reason)
		}
	})
}

func FuzzParseRPCStatus(f *testing.F) {
	addRecordedSeeds(f, "err_rate_limit_429_retry_after", "err_otlp_http_json_malformed_400", "err_otlp_http_unsupported_content_type_415")
	f.Add([]byte(`{"code":99,"message":"LIVE_TRACES_EXCEEDED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"-5s"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		code, message, delay := parseRPCStatus(body)
		if code > codes.Unauthenticated {
			t.Errorf("code %d is outside google.rpc.Code", code)
		}
		if delay < 0 || delay > 1<<62*time.Nanosecond {
			t.Errorf("delay %s", delay)
		}
		if reason := reasonOf(message, code, 429); reason == "" || strings.ContainsAny(reason, " \n") {
			t.Errorf("reason %q for message %q", reason, message)
		}
	})
}
