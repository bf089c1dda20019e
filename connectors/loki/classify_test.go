package loki

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/recording"
)

// classifyCases maps every error recording of Loki 3.7.6 to the reason
// Classify must return for it. TestClassifyRecordings fails when a
// recording is added without a row here.
var classifyCases = []struct {
	recording string
	status    int
	reason    Reason
}{
	{"err_labels_max_query_length_400", 400, ReasonQueryTooLong},
	{"err_push_batch_larger_than_burst_429", 429, ReasonRateLimited},
	{"err_push_entry_too_far_behind_400", 400, ReasonTooFarBehind},
	{"err_push_entry_too_far_behind_main_400", 400, ReasonTooFarBehind},
	{"err_push_greater_than_max_sample_age_400", 400, ReasonGreaterThanMaxSampleAge},
	{"err_push_ingestion_rate_limit_429", 429, ReasonRateLimited},
	{"err_push_invalid_label_name_400", 400, ReasonInvalidLabels},
	{"err_push_json_empty_streams_422", 422, ReasonEmptyPush},
	{"err_push_json_malformed_400", 400, ReasonMalformed},
	{"err_push_json_numeric_timestamp_400", 400, ReasonMalformed},
	{"err_push_label_value_too_long_400", 400, ReasonLabelValueTooLong},
	{"err_push_line_too_long_400", 400, ReasonLineTooLong},
	{"err_push_mixed_batch_partial_400", 400, ReasonGreaterThanMaxSampleAge},
	{"err_push_per_stream_rate_limit_429", 429, ReasonPerStreamRateLimit},
	{"err_push_protobuf_bad_snappy_400", 400, ReasonMalformed},
	{"err_push_protobuf_duplicate_label_400", 400, ReasonDuplicateLabel},
	{"err_push_protobuf_unparsable_labels_400", 400, ReasonInvalidLabels},
	{"err_push_stream_limit_429", 429, ReasonStreamLimit},
	{"err_push_stream_limit_new_stream_429", 429, ReasonStreamLimit},
	{"err_push_too_far_in_future_400", 400, ReasonTooFarInFuture},
	{"err_push_too_many_label_names_16_400", 400, ReasonMaxLabelNamesPerSeries},
	{"err_push_too_many_structured_metadata_entries_400", 400, ReasonStructuredMetadataTooMany},
	{"err_push_unsupported_content_encoding_400", 400, ReasonUnsupportedContentEncoding},
	{"err_query_empty_compatible_matcher_400", 400, ReasonEmptyCompatibleMatcher},
	{"err_query_empty_selector_400", 400, ReasonEmptyCompatibleMatcher},
	{"err_query_end_before_start_400", 400, ReasonInvalidTimeRange},
	{"err_query_instant_bad_time_400", 400, ReasonInvalidParameter},
	{"err_query_instant_log_query_400", 400, ReasonInstantLogQuery},
	{"err_query_limit_over_max_entries_400", 400, ReasonMaxEntriesLimit},
	{"err_query_logql_parse_error_400", 400, ReasonQueryParseError},
	{"err_query_logql_parse_error_pipeline_400", 400, ReasonQueryParseError},
	{"err_query_max_query_length_exceeded_400", 400, ReasonQueryTooLong},
	{"err_query_max_query_series_exceeded_400", 400, ReasonMaxQuerySeries},
	{"err_query_max_query_series_instant_400", 400, ReasonMaxQuerySeries},
	{"err_query_too_many_points_400", 400, ReasonTooManyPoints},
	{"defaults_status_ready_not_ready_503", 503, ReasonNotReady},
}

func TestClassifyRecordings(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range classifyCases {
		covered[tc.recording] = true
		t.Run(tc.recording, func(t *testing.T) {
			ex := load(t, tc.recording)
			if ex.Response.Status != tc.status {
				t.Errorf("recorded status %d, table says %d", ex.Response.Status, tc.status)
			}
			if got := Classify(ex.Response.Status, string(ex.Response.Body)); got != tc.reason {
				t.Errorf("Classify = %s, want %s; body %q", got, tc.reason, cut(string(ex.Response.Body), 300))
			}
		})
	}
	files, err := filepath.Glob(filepath.Join(recording.Dir(recordings), "err_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no err_*.json recordings found")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !covered[name] {
			t.Errorf("recording %s has no row in classifyCases: add its expected reason", name)
		}
	}
}

func TestClassifyEveryFragmentRecorded(t *testing.T) {
	// Each fragment must occur in at least one recorded body, so the table
	// holds only text Loki 3.7.6 sent.
	var bodies []string
	for _, tc := range classifyCases {
		bodies = append(bodies, string(load(t, tc.recording).Response.Body))
	}
	for _, f := range fragments {
		found := slices.ContainsFunc(bodies, func(b string) bool { return strings.Contains(b, f.text) })
		if !found {
			t.Errorf("fragment %q (%s) occurs in no recorded body", f.text, f.reason)
		}
	}
}

func TestClassifySuccessAndUnknown(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Reason
	}{
		{"2xx with a fragment", 204, "ingestion rate limit exceeded", ReasonUnknown},
		{"empty body", 500, "", ReasonUnknown},
		{"unrecorded text", 429, "too many requests", ReasonUnknown},
		{"fragment with another status", 500, "rpc error: entry too far behind", ReasonTooFarBehind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.status, tc.body); got != tc.want {
				t.Errorf("Classify(%d, %q) = %s, want %s", tc.status, tc.body, got, tc.want)
			}
		})
	}
}

func TestClassifyAllMixedBatch(t *testing.T) {
	ex := load(t, "err_push_mixed_batch_partial_400")
	got := classifyAll(string(ex.Response.Body))
	want := []Reason{ReasonGreaterThanMaxSampleAge, ReasonTooFarInFuture}
	if !slices.Equal(got, want) {
		t.Errorf("classifyAll = %v, want %v", got, want)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		status int
		reason Reason
		want   bool
	}{
		{429, ReasonRateLimited, true},
		{429, ReasonPerStreamRateLimit, true},
		{429, ReasonStreamLimit, false},
		{429, ReasonBatchLargerThanBurst, false},
		{429, ReasonUnknown, true},
		{503, ReasonNotReady, true},
		{500, ReasonUnknown, true},
		{502, ReasonTooFarBehind, true},
		{400, ReasonTooFarBehind, false},
		{400, ReasonUnknown, false},
		{413, ReasonUnknown, false},
		{422, ReasonEmptyPush, false},
	}
	for _, tc := range tests {
		if got := Retryable(tc.status, tc.reason); got != tc.want {
			t.Errorf("Retryable(%d, %s) = %v, want %v", tc.status, tc.reason, got, tc.want)
		}
	}
}

// TestErrorsDocMatchesTable keeps docs/loki-errors.md in step with the
// classification table: each fragment, reason and recording must appear.
func TestErrorsDocMatchesTable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "loki-errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, f := range fragments {
		if !strings.Contains(doc, "`"+f.text+"`") {
			t.Errorf("docs/loki-errors.md does not show the fragment `%s`", f.text)
		}
		if !strings.Contains(doc, "`"+string(f.reason)+"`") {
			t.Errorf("docs/loki-errors.md does not name the reason `%s`", f.reason)
		}
	}
	for _, tc := range classifyCases {
		if !strings.Contains(doc, tc.recording) {
			t.Errorf("docs/loki-errors.md does not name the recording %s", tc.recording)
		}
	}
}
