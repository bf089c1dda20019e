package loki

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/google/go-cmp/cmp"
	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/internal/recording"
)

// decodePushBody reverses EncodePush: snappy block format, then protobuf.
func decodePushBody(t testing.TB, body []byte) push.PushRequest {
	t.Helper()
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatalf("push body is not snappy block data: %v", err)
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		t.Fatalf("push body is not a PushRequest: %v", err)
	}
	return req
}

// streamsFromPushRequest turns a decoded PushRequest back into Streams.
// Its label strings have the {a="1", b="2"} form that LabelString writes.
func streamsFromPushRequest(t testing.TB, req push.PushRequest) []Stream {
	t.Helper()
	var streams []Stream
	for _, s := range req.Streams {
		labels := map[string]string{}
		inner := strings.TrimSuffix(strings.TrimPrefix(s.Labels, "{"), "}")
		for _, pair := range strings.Split(inner, ", ") {
			name, value, ok := strings.Cut(pair, "=")
			if !ok {
				t.Fatalf("label pair %q in %q", pair, s.Labels)
			}
			labels[name] = strings.Trim(value, `"`)
		}
		streams = append(streams, Stream{Labels: labels, Entries: s.Entries})
	}
	return streams
}

func TestEncodePushRoundTrip(t *testing.T) {
	base := time.Date(2026, 12, 4, 16, 0, 0, 500, time.UTC)
	streams := []Stream{
		{
			Labels: map[string]string{"job": "api", "env": `pr"od`},
			Entries: []push.Entry{
				{Timestamp: base.Add(time.Second), Line: "second"},
				{Timestamp: base, Line: "first", StructuredMetadata: push.LabelsAdapter{
					{Name: "trace_id", Value: "0af7651916cd43dd8448eb211c80319c"},
					{Name: "user", Value: "alice"},
				}},
				{Timestamp: base.Add(time.Second), Line: "second, same time"},
			},
		},
		{Labels: map[string]string{"job": "empty"}},
	}
	body, entries, err := EncodePush(streams)
	if err != nil {
		t.Fatal(err)
	}
	if entries != 3 {
		t.Errorf("entries = %d, want 3", entries)
	}
	got := decodePushBody(t, body)
	want := push.PushRequest{Streams: []push.Stream{{
		Labels: `{env="pr\"od", job="api"}`,
		Entries: []push.Entry{
			streams[0].Entries[1],
			streams[0].Entries[0],
			streams[0].Entries[2],
		},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded push differs (-want +got):\n%s", diff)
	}
	if streams[0].Entries[0].Line != "second" {
		t.Error("EncodePush reordered the caller's entries")
	}
}

func TestEncodePushMatchesRecording(t *testing.T) {
	ex := load(t, "push_protobuf_snappy_ok")
	recorded := decodePushBody(t, ex.Request.Body)
	if len(recorded.Streams) == 0 {
		t.Fatal("recorded push has no streams")
	}
	body, _, err := EncodePush(streamsFromPushRequest(t, recorded))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(recorded, decodePushBody(t, body)); diff != "" {
		t.Errorf("re-encoded recorded push differs (-recorded +encoded):\n%s", diff)
	}
	hasMetadata := false
	for _, s := range recorded.Streams {
		for _, e := range s.Entries {
			hasMetadata = hasMetadata || len(e.StructuredMetadata) > 0
		}
	}
	if !hasMetadata {
		t.Error("recorded push carries no structured metadata, so the round trip did not check it")
	}
}

func TestEncodePushMergesSameLabels(t *testing.T) {
	base := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	streams := []Stream{
		{Labels: map[string]string{"job": "api"}, Entries: []push.Entry{{Timestamp: base.Add(2 * time.Hour), Line: "new"}}},
		{Labels: map[string]string{"job": "db"}, Entries: []push.Entry{{Timestamp: base, Line: "db"}}},
		{Labels: map[string]string{"job": "api"}, Entries: []push.Entry{{Timestamp: base, Line: "old"}}},
	}
	body, entries, err := EncodePush(streams)
	if err != nil {
		t.Fatal(err)
	}
	if entries != 3 {
		t.Errorf("entries = %d, want 3", entries)
	}
	got := decodePushBody(t, body)
	want := push.PushRequest{Streams: []push.Stream{
		{Labels: `{job="api"}`, Entries: []push.Entry{streams[2].Entries[0], streams[0].Entries[0]}},
		{Labels: `{job="db"}`, Entries: streams[1].Entries},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded push differs (-want +got):\n%s", diff)
	}
	if streams[0].Entries[0].Line != "new" {
		t.Error("EncodePush changed the caller's entries")
	}
}

func TestEncodePushRejectsStreamWithoutLabels(t *testing.T) {
	_, _, err := EncodePush([]Stream{{Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "x"}}}})
	if err == nil || !strings.Contains(err.Error(), "stream 0 has no labels") {
		t.Errorf("err = %v, want an error naming stream 0", err)
	}
}

func TestPushSendsRecordedHeaders(t *testing.T) {
	ex := load(t, "push_protobuf_snappy_ok")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	streams := streamsFromPushRequest(t, decodePushBody(t, ex.Request.Body))
	if err := c.Push(context.Background(), streams); err != nil {
		t.Fatal(err)
	}
	reqs, bodies := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	want := ex.Request.Header.Get("Content-Type")
	if got := reqs[0].Header.Get("Content-Type"); got != want {
		t.Errorf("Content-Type = %q, want %q as recorded", got, want)
	}
	if got := reqs[0].Header.Get("Content-Encoding"); got != "" {
		t.Errorf("Content-Encoding = %q, want none: the snappy block is the protobuf body's own encoding", got)
	}
	if diff := cmp.Diff(decodePushBody(t, ex.Request.Body), decodePushBody(t, bodies[0])); diff != "" {
		t.Errorf("sent push differs from the recorded one (-recorded +sent):\n%s", diff)
	}
}

func TestPushWithoutEntriesSendsNothing(t *testing.T) {
	srv := recording.NewServer(t)
	c, _ := newTestClient(t, srv.URL, nil)
	if err := c.Push(context.Background(), []Stream{{Labels: map[string]string{"job": "x"}}}); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := srv.Requests(); len(reqs) != 0 {
		t.Errorf("%d requests sent for an empty push", len(reqs))
	}
}

// defaultsLimits returns the limits of the "defaults-like" Loki that
// recorded the rate-limit responses, read from its recorded /config.
func defaultsLimits(t testing.TB) Limits {
	t.Helper()
	l, err := ParseConfig(load(t, "defaults_status_config_yaml").Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func withHeader(resp *recording.Response, key, value string) *recording.Response {
	copied := *resp
	copied.Header = resp.Header.Clone()
	copied.Header.Set(key, value)
	return &copied
}

var noContent = &recording.Response{Status: http.StatusNoContent, Header: http.Header{}}

func TestPushRetries(t *testing.T) {
	rateLimited := load(t, "err_push_ingestion_rate_limit_429").Response
	tests := []struct {
		name      string
		responses []*recording.Response
		minWait   time.Duration
	}{
		{"rate limit then success", []*recording.Response{rateLimited, noContent}, 0},
		{"Retry-After honoured", []*recording.Response{withHeader(rateLimited, "Retry-After", "3"), noContent}, 3 * time.Second},
		{"500 then success", []*recording.Response{{Status: 500, Header: http.Header{}, Body: []byte("internal error")}, noContent}, 0},
		{"503 then success", []*recording.Response{load(t, "defaults_status_ready_not_ready_503").Response, noContent}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Handle(http.MethodPost, pushPath, tc.responses...)
			c, sleeps := newTestClient(t, srv.URL, nil)
			c.SetLimits(defaultsLimits(t))
			streams := streamsFromJSONPush(t, load(t, "err_push_ingestion_rate_limit_429").Request.Body)
			if err := c.Push(context.Background(), streams); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if reqs, _ := srv.Requests(); len(reqs) != 2 {
				t.Errorf("%d requests, want 2", len(reqs))
			}
			waits := sleeps.recorded()
			if len(waits) != 1 {
				t.Fatalf("waits %v, want 1", waits)
			}
			if waits[0] < tc.minWait {
				t.Errorf("waited %v, want at least %v", waits[0], tc.minWait)
			}
		})
	}
}

func TestPushRejections(t *testing.T) {
	tests := []struct {
		recording string
		// knownLimits gives the client the defaults-like Loki's limits.
		knownLimits bool
		reason      Reason
		retryable   bool
		partial     bool
		requests    int
		ignored     int
	}{
		{"err_push_stream_limit_429", true, ReasonStreamLimit, false, true, 1, 0},
		{"err_push_stream_limit_new_stream_429", true, ReasonStreamLimit, false, false, 1, 0},
		{"err_push_batch_larger_than_burst_429", true, ReasonBatchLargerThanBurst, false, false, 1, 0},
		{"err_push_batch_larger_than_burst_429", false, ReasonRateLimited, true, false, 3, 0},
		{"err_push_ingestion_rate_limit_429", true, ReasonRateLimited, true, false, 3, 0},
		{"err_push_per_stream_rate_limit_429", true, ReasonPerStreamRateLimit, false, false, 1, 6},
		{"err_push_per_stream_rate_limit_429", false, ReasonPerStreamRateLimit, true, false, 3, 6},
		{"err_push_entry_too_far_behind_main_400", true, ReasonTooFarBehind, false, true, 1, 1},
		{"err_push_entry_too_far_behind_400", true, ReasonTooFarBehind, false, false, 1, 1},
		{"err_push_mixed_batch_partial_400", true, ReasonGreaterThanMaxSampleAge, false, true, 1, 2},
		{"err_push_greater_than_max_sample_age_400", true, ReasonGreaterThanMaxSampleAge, false, false, 1, 1},
		{"err_push_too_far_in_future_400", true, ReasonTooFarInFuture, false, false, 1, 1},
		{"err_push_line_too_long_400", true, ReasonLineTooLong, false, false, 1, 1},
		{"err_push_invalid_label_name_400", true, ReasonInvalidLabels, false, false, 1, 0},
		{"err_push_label_value_too_long_400", true, ReasonLabelValueTooLong, false, false, 1, 0},
		{"err_push_too_many_label_names_16_400", true, ReasonMaxLabelNamesPerSeries, false, false, 1, 0},
		{"err_push_too_many_structured_metadata_entries_400", true, ReasonStructuredMetadataTooMany, false, false, 1, 1},
	}
	for _, tc := range tests {
		name := tc.recording
		if !tc.knownLimits {
			name += "/limits unknown"
		}
		t.Run(name, func(t *testing.T) {
			ex := load(t, tc.recording)
			srv := recording.NewServer(t)
			srv.Replay(ex)
			c, _ := newTestClient(t, srv.URL, nil)
			if tc.knownLimits {
				c.SetLimits(defaultsLimits(t))
			}
			streams := streamsFromJSONPush(t, ex.Request.Body)
			err := c.Push(context.Background(), streams)
			var pe *PushError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), want *PushError", err, err)
			}
			if pe.Reason != tc.reason {
				t.Errorf("Reason = %s, want %s", pe.Reason, tc.reason)
			}
			if pe.Retryable != tc.retryable {
				t.Errorf("Retryable = %v, want %v", pe.Retryable, tc.retryable)
			}
			if pe.Partial != tc.partial {
				t.Errorf("Partial = %v, want %v (ignored %d of %d entries)", pe.Partial, tc.partial, pe.Ignored, pe.Entries)
			}
			if pe.Ignored != tc.ignored {
				t.Errorf("Ignored = %d, want %d", pe.Ignored, tc.ignored)
			}
			if pe.Status != ex.Response.Status {
				t.Errorf("Status = %d, want %d", pe.Status, ex.Response.Status)
			}
			if reqs, _ := srv.Requests(); len(reqs) != tc.requests {
				t.Errorf("%d requests, want %d", len(reqs), tc.requests)
			}
			if want := strings.TrimSpace(string(ex.Response.Body)); pe.Message != want {
				t.Errorf("Message = %q, want Loki's text %q", cut(pe.Message, 200), cut(want, 200))
			}
			var se *httpx.StatusError
			if !errors.As(err, &se) || se.Status != ex.Response.Status {
				t.Errorf("PushError does not unwrap to the StatusError of status %d", ex.Response.Status)
			}
			if msg := err.Error(); !strings.Contains(msg, string(tc.reason)) {
				t.Errorf("Error() %q does not name the reason", msg)
			}
		})
	}
}

func TestPushBatchLargerThanBurstFigures(t *testing.T) {
	ex := load(t, "err_push_batch_larger_than_burst_429")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	c.SetLimits(defaultsLimits(t))
	streams := streamsFromJSONPush(t, ex.Request.Body)
	var pe *PushError
	if err := c.Push(context.Background(), streams); !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PushError", err)
	}
	if pe.AttemptedBytes != BatchSize(streams) {
		t.Errorf("AttemptedBytes = %d, want the batch size %d", pe.AttemptedBytes, BatchSize(streams))
	}
	if pe.BurstBytes != 1<<20 {
		t.Errorf("BurstBytes = %d, want %d (ingestion_burst_size_mb 1)", pe.BurstBytes, 1<<20)
	}
	if !pe.Err.Permanent {
		t.Error("StatusError.Permanent is false for a push that can never succeed")
	}
	if !strings.Contains(pe.Error(), "split") {
		t.Errorf("Error() %q does not tell the caller to split the push", pe.Error())
	}
}

func TestPushOtherStatusesArePermanent(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity} {
		srv := recording.NewServer(t)
		srv.Handle(http.MethodPost, pushPath, &recording.Response{Status: status, Header: http.Header{}, Body: []byte("rejected")})
		c, sleeps := newTestClient(t, srv.URL, nil)
		err := c.Push(context.Background(), []Stream{{Labels: map[string]string{"job": "x"}, Entries: []push.Entry{{Timestamp: time.Unix(1, 0), Line: "l"}}}})
		var pe *PushError
		if !errors.As(err, &pe) {
			t.Fatalf("status %d: err = %v, want *PushError", status, err)
		}
		if pe.Retryable || len(sleeps.recorded()) != 0 {
			t.Errorf("status %d: Retryable %v after %d waits, want a permanent error", status, pe.Retryable, len(sleeps.recorded()))
		}
		if pe.Reason != ReasonUnknown {
			t.Errorf("status %d: Reason = %s, want unknown", status, pe.Reason)
		}
	}
}

func TestBatchSizeCountsMetadata(t *testing.T) {
	streams := []Stream{{Labels: map[string]string{"job": "x"}, Entries: []push.Entry{
		{Line: "12345", StructuredMetadata: push.LabelsAdapter{{Name: "ab", Value: "cde"}}},
		{Line: "1"},
	}}}
	if got := BatchSize(streams); got != 11 {
		t.Errorf("BatchSize = %d, want 11 (lines 6 + metadata 5)", got)
	}
}
