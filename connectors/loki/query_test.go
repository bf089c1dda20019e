package loki

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/internal/recording"
)

// replay serves one recording and returns a client for it.
func replay(t *testing.T, name string) (*Client, *recording.Server, *recording.Exchange) {
	t.Helper()
	ex := load(t, name)
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	return c, srv, ex
}

// recordedTime reads a recorded nanosecond query parameter.
func recordedTime(t *testing.T, ex *recording.Exchange, key string) time.Time {
	t.Helper()
	values := ex.Request.Query[key]
	if len(values) != 1 {
		t.Fatalf("recording has %d %s parameters", len(values), key)
	}
	ns, err := strconv.ParseInt(values[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, ns)
}

// checkSentQuery compares the query parameters sent with the recorded ones.
func checkSentQuery(t *testing.T, srv *recording.Server, ex *recording.Exchange) {
	t.Helper()
	reqs, _ := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	got := map[string][]string(reqs[0].URL.Query())
	if diff := cmp.Diff(ex.Request.Query, got); diff != "" {
		t.Errorf("query parameters differ from the recording (-recorded +sent):\n%s", diff)
	}
}

func TestQueryRangeStreams(t *testing.T) {
	c, srv, ex := replay(t, "query_range_streams")
	res, err := c.QueryRange(context.Background(), QueryRangeRequest{
		Query: ex.Request.Query["query"][0], Start: recordedTime(t, ex, "start"), End: recordedTime(t, ex, "end"),
		Limit: 100, Direction: Forward,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)
	if res.ResultType != ResultStreams || len(res.Streams) == 0 {
		t.Fatalf("resultType %q with %d streams, want streams", res.ResultType, len(res.Streams))
	}
	if len(res.Stats) == 0 {
		t.Error("Stats were dropped")
	}
	var raw struct {
		Data struct {
			Result []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(ex.Response.Body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Data.Result) != len(res.Streams) {
		t.Fatalf("%d streams decoded, %d recorded", len(res.Streams), len(raw.Data.Result))
	}
	for i, s := range raw.Data.Result {
		got := res.Streams[i]
		if diff := cmp.Diff(s.Stream, got.Labels); diff != "" {
			t.Errorf("stream %d labels (-recorded +decoded):\n%s", i, diff)
		}
		if len(got.Entries) != len(s.Values) {
			t.Fatalf("stream %d: %d entries, %d recorded", i, len(got.Entries), len(s.Values))
		}
		for j, v := range s.Values {
			if ts := strconv.FormatInt(got.Entries[j].Timestamp.UnixNano(), 10); ts != v[0] || got.Entries[j].Line != v[1] {
				t.Errorf("stream %d entry %d = %s %q, recorded %s %q", i, j, ts, got.Entries[j].Line, v[0], v[1])
			}
		}
	}
}

func TestQueryRangeCategorizeLabels(t *testing.T) {
	c, srv, ex := replay(t, "query_range_streams_categorize_labels")
	res, err := c.QueryRange(context.Background(), QueryRangeRequest{
		Query: ex.Request.Query["query"][0], Start: recordedTime(t, ex, "start"), End: recordedTime(t, ex, "end"),
		Limit: 100, Direction: Forward, CategorizeLabels: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)

	reqs, _ := srv.Requests()
	if got := reqs[0].Header.Get("X-Loki-Response-Encoding-Flags"); got != "categorize-labels" {
		t.Errorf("X-Loki-Response-Encoding-Flags = %q, want categorize-labels", got)
	}
	if !slices.Equal(res.EncodingFlags, []string{"categorize-labels"}) {
		t.Errorf("EncodingFlags = %v", res.EncodingFlags)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("%d streams, want the one pushed stream", len(res.Streams))
	}

	wantLabels := map[string]string{"job": "rec-sm", "run": "rec1", "service_name": "rec-sm"}
	if diff := cmp.Diff(wantLabels, res.Streams[0].Labels); diff != "" {
		t.Errorf("stream labels (-want +got):\n%s", diff)
	}

	first := res.Streams[0].Entries[0]
	wantMeta := push.LabelsAdapter{
		{Name: "detected_level", Value: "unknown"},
		{Name: "span_id", Value: "eee19b7ec3c1b174"},
		{Name: "trace_id", Value: "5b8efff798038103d269b633813fc60c"},
		{Name: "user", Value: "alice"},
	}
	if diff := cmp.Diff(wantMeta, first.StructuredMetadata); diff != "" {
		t.Errorf("structured metadata of the first entry (-want +got):\n%s", diff)
	}
}

func TestQueryRangeCategorizeLabelsParsed(t *testing.T) {
	c, _, ex := replay(t, "query_range_streams_categorize_labels_json_parsed")
	res, err := c.QueryRange(context.Background(), QueryRangeRequest{Query: ex.Request.Query["query"][0], CategorizeLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Streams[0].Entries[0]
	if len(e.Parsed) != 5 || e.Parsed[0].Name != "duration_ms" || e.Parsed[1] != (push.LabelAdapter{Name: "level", Value: "error"}) {
		t.Errorf("Parsed = %v, want 5 sorted labels with level=error", e.Parsed)
	}
	if len(e.StructuredMetadata) != 1 || e.StructuredMetadata[0].Name != "detected_level" {
		t.Errorf("StructuredMetadata = %v, want detected_level only", e.StructuredMetadata)
	}
}

func TestQueryRangeOTLPMetadata(t *testing.T) {
	c, _, ex := replay(t, "query_range_otlp_logs_categorize_labels")
	res, err := c.QueryRange(context.Background(), QueryRangeRequest{Query: ex.Request.Query["query"][0], CategorizeLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Streams[0].Entries[0]
	if e.Timestamp.UnixNano()%1000 == 0 {
		t.Errorf("timestamp %d lost its nanoseconds", e.Timestamp.UnixNano())
	}
	names := make([]string, 0, len(e.StructuredMetadata))
	for _, l := range e.StructuredMetadata {
		names = append(names, l.Name)
	}
	if !slices.Contains(names, "trace_id") || !slices.Contains(names, "severity_text") || !slices.IsSorted(names) {
		t.Errorf("structured metadata names %v, want sorted with trace_id and severity_text", names)
	}
}

func TestQueryRangeMatrix(t *testing.T) {
	c, srv, ex := replay(t, "query_range_matrix_sum_count_over_time")
	res, err := c.QueryRange(context.Background(), QueryRangeRequest{
		Query: ex.Request.Query["query"][0], Start: recordedTime(t, ex, "start"), End: recordedTime(t, ex, "end"),
		Step: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)
	want := []Series{
		{Metric: map[string]string{"env": "prod"}, Samples: []Sample{{time.Unix(1796399400, 0).UTC(), 3}}},
		{Metric: map[string]string{"env": "test"}, Samples: []Sample{{time.Unix(1796399340, 0).UTC(), 1}, {time.Unix(1796399400, 0).UTC(), 2}}},
	}
	if res.ResultType != ResultMatrix {
		t.Errorf("ResultType = %q, want matrix", res.ResultType)
	}
	if diff := cmp.Diff(want, res.Series); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

func TestQueryRangeInvalidDirection(t *testing.T) {
	srv := recording.NewServer(t)
	c, _ := newTestClient(t, srv.URL, nil)
	if _, err := c.QueryRange(context.Background(), QueryRangeRequest{Query: `{job="x"}`, Direction: "sideways"}); err == nil {
		t.Error("direction sideways was accepted")
	}
	if reqs, _ := srv.Requests(); len(reqs) != 0 {
		t.Errorf("%d requests sent for an invalid request", len(reqs))
	}
}

func TestQueryInstantVector(t *testing.T) {
	c, srv, ex := replay(t, "query_instant_vector")
	res, err := c.Query(context.Background(), ex.Request.Query["query"][0], recordedTime(t, ex, "time"))
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)
	if res.ResultType != ResultVector || len(res.Series) != 2 {
		t.Fatalf("resultType %q with %d series, want a vector of 2", res.ResultType, len(res.Series))
	}
	for _, s := range res.Series {
		if len(s.Samples) != 1 || s.Samples[0].Value != 3 || !s.Samples[0].Timestamp.Equal(time.Unix(1796399640, 0)) {
			t.Errorf("series %v: samples %v, want one sample of 3 at 1796399640", s.Metric, s.Samples)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		recording string
		reason    Reason
	}{
		{"err_query_instant_log_query_400", ReasonInstantLogQuery},
		{"err_query_max_query_series_instant_400", ReasonMaxQuerySeries},
		{"err_query_instant_bad_time_400", ReasonInvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.recording, func(t *testing.T) {
			c, srv, ex := replay(t, tc.recording)
			_, err := c.Query(context.Background(), ex.Request.Query["query"][0], time.Unix(1796399640, 0))
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("err = %v, want *QueryError", err)
			}
			if qe.Reason != tc.reason || qe.Status != 400 || qe.Retryable {
				t.Errorf("QueryError %s %d retryable %v, want %s 400 not retryable", qe.Reason, qe.Status, qe.Retryable, tc.reason)
			}
			if reqs, _ := srv.Requests(); len(reqs) != 1 {
				t.Errorf("%d requests, want 1: a 400 is not retried", len(reqs))
			}
		})
	}
}

func TestQueryRangeErrorTooLong(t *testing.T) {
	c, _, ex := replay(t, "err_query_max_query_length_exceeded_400")
	_, err := c.QueryRange(context.Background(), QueryRangeRequest{Query: ex.Request.Query["query"][0]})
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Reason != ReasonQueryTooLong {
		t.Fatalf("err = %v, want a QueryError with reason query_too_long", err)
	}
	if qe.Message != string(ex.Response.Body) {
		t.Errorf("Message = %q, want Loki's text", qe.Message)
	}
}

func TestLabels(t *testing.T) {
	c, srv, ex := replay(t, "labels")
	got, err := c.Labels(context.Background(), recordedTime(t, ex, "start"), recordedTime(t, ex, "end"))
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)
	if !slices.Contains(got, "job") || !slices.Contains(got, "service_name") {
		t.Errorf("labels %v, want job and service_name", got)
	}
}

func TestLabelValues(t *testing.T) {
	c, srv, ex := replay(t, "label_values_job")
	got, err := c.LabelValues(context.Background(), "job", recordedTime(t, ex, "start"), recordedTime(t, ex, "end"))
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)
	if !slices.Contains(got, "rec-json") {
		t.Errorf("values %v, want rec-json", got)
	}
}

func TestLabelValuesMatching(t *testing.T) {
	c, srv, ex := replay(t, "label_values_job_with_query")
	got, err := c.LabelValuesMatching(context.Background(), "env", ex.Request.Query["query"][0],
		recordedTime(t, ex, "start"), recordedTime(t, ex, "end"))
	if err != nil {
		t.Fatal(err)
	}
	checkSentQuery(t, srv, ex)
	if !slices.Equal(got, []string{"prod", "test"}) {
		t.Errorf("values %v, want [prod test]", got)
	}
}

func TestLabelValuesInvalidName(t *testing.T) {
	srv := recording.NewServer(t)
	c, _ := newTestClient(t, srv.URL, nil)
	for _, name := range []string{"", "a/b", "1abc", "x?y"} {
		if _, err := c.LabelValues(context.Background(), name, time.Time{}, time.Time{}); err == nil {
			t.Errorf("label name %q accepted", name)
		}
	}
}

func TestSeries(t *testing.T) {
	tests := []struct {
		recording string
		wantLen   int
	}{
		{"series", 4},
		{"series_two_matchers", 3},
		{"series_without_match_param_ok", 6},
	}
	for _, tc := range tests {
		t.Run(tc.recording, func(t *testing.T) {
			c, srv, ex := replay(t, tc.recording)
			got, err := c.Series(context.Background(), ex.Request.Query["match[]"], recordedTime(t, ex, "start"), recordedTime(t, ex, "end"))
			if err != nil {
				t.Fatal(err)
			}
			checkSentQuery(t, srv, ex)
			if len(got) != tc.wantLen {
				t.Errorf("%d series, want %d", len(got), tc.wantLen)
			}
			for i, s := range got {
				if s["service_name"] == "" {
					t.Errorf("series %d %v has no service_name", i, s)
				}
			}
		})
	}
}

func TestIndexStats(t *testing.T) {
	tests := []struct {
		recording string
		want      IndexStats
	}{
		{"index_stats", IndexStats{}},
		{"defaults_index_stats_single_stream_after_flush", IndexStats{Streams: 1, Chunks: 1, Bytes: 1024, Entries: 60}},
	}
	for _, tc := range tests {
		t.Run(tc.recording, func(t *testing.T) {
			c, srv, ex := replay(t, tc.recording)
			got, err := c.IndexStats(context.Background(), ex.Request.Query["query"][0], recordedTime(t, ex, "start"), recordedTime(t, ex, "end"))
			if err != nil {
				t.Fatal(err)
			}
			checkSentQuery(t, srv, ex)
			if got != tc.want {
				t.Errorf("IndexStats = %+v, want %+v", got, tc.want)
			}
		})
	}
	c, _, _ := replay(t, "defaults_index_stats_after_flush")
	got, err := c.IndexStats(context.Background(), `{job=~"def-.*"}`, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Streams == 0 || got.Chunks == 0 || got.Bytes == 0 || got.Entries == 0 {
		t.Errorf("IndexStats after flush = %+v, want non-zero counts", got)
	}
}

func TestIndexVolume(t *testing.T) {
	tests := []struct {
		recording  string
		req        func(ex *recording.Exchange) VolumeRequest
		resultType string
		series     int
		samples    int
	}{
		{"index_volume", func(*recording.Exchange) VolumeRequest { return VolumeRequest{} }, ResultVector, 3, 1},
		{"index_volume_aggregate_by_labels", func(*recording.Exchange) VolumeRequest { return VolumeRequest{AggregateBy: "labels"} }, ResultVector, 4, 1},
		{"index_volume_targetlabels", func(*recording.Exchange) VolumeRequest {
			return VolumeRequest{TargetLabels: []string{"env"}, AggregateBy: "labels"}
		}, ResultVector, 1, 1},
		{"index_volume_range", func(*recording.Exchange) VolumeRequest { return VolumeRequest{Step: time.Minute} }, ResultVector, 3, 1},
		{"index_volume_range_matrix", func(*recording.Exchange) VolumeRequest { return VolumeRequest{Step: time.Minute} }, ResultMatrix, 1, 6},
	}
	for _, tc := range tests {
		t.Run(tc.recording, func(t *testing.T) {
			c, srv, ex := replay(t, tc.recording)
			req := tc.req(ex)
			req.Query = ex.Request.Query["query"][0]
			req.Start, req.End = recordedTime(t, ex, "start"), recordedTime(t, ex, "end")
			res, err := c.IndexVolume(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkSentQuery(t, srv, ex)
			reqs, _ := srv.Requests()
			if reqs[0].URL.Path != ex.Request.Path {
				t.Errorf("path %s, want %s", reqs[0].URL.Path, ex.Request.Path)
			}
			if res.ResultType != tc.resultType || len(res.Series) != tc.series {
				t.Fatalf("resultType %q with %d series, want %s with %d", res.ResultType, len(res.Series), tc.resultType, tc.series)
			}
			for _, s := range res.Series {
				if len(s.Samples) != tc.samples {
					t.Errorf("series %v has %d samples, want %d", s.Metric, len(s.Samples), tc.samples)
				}
			}
		})
	}
}

func TestIndexVolumeRangeMillisecondTimes(t *testing.T) {
	c, _, ex := replay(t, "index_volume_range_matrix")
	res, err := c.IndexVolume(context.Background(), VolumeRequest{Query: ex.Request.Query["query"][0], Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	first := res.Series[0].Samples[0]
	if want := time.Unix(1796399519, 999_000_000); !first.Timestamp.Equal(want) || first.Value != 37 {
		t.Errorf("first sample %v %v, want %v 37", first.Timestamp, first.Value, want)
	}
}

func TestReady(t *testing.T) {
	c, _, _ := replay(t, "status_ready")
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	c, srv, _ := replay(t, "defaults_status_ready_not_ready_503")
	err := c.Ready(context.Background())
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Reason != ReasonNotReady || qe.Status != http.StatusServiceUnavailable {
		t.Errorf("err = %v, want a QueryError not_ready 503", err)
	}
	if reqs, _ := srv.Requests(); len(reqs) != 1 {
		t.Errorf("%d requests, want 1: Ready leaves waiting to the caller", len(reqs))
	}
	srv2 := recording.NewServer(t)
	srv2.Handle(http.MethodGet, "/ready", &recording.Response{Status: 200, Header: http.Header{}, Body: []byte("<html>proxy</html>")})
	c2, _ := newTestClient(t, srv2.URL, nil)
	if err := c2.Ready(context.Background()); err == nil {
		t.Error("a 200 without \"ready\" was accepted")
	}
}

func TestBuildInfo(t *testing.T) {
	c, _, _ := replay(t, "status_buildinfo")
	info, err := c.BuildInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := BuildInfo{Version: "3.7.6", Revision: "5003600d", Branch: "v3.7.6", BuildDate: "2026-12-04T15:26:20Z"}
	if info != want {
		t.Errorf("BuildInfo = %+v, want %+v", info, want)
	}
}

func TestDecodeQueryResponseErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"not JSON", "parse error at line 1"},
		{"error status", `{"status":"error","errorType":"bad_data","error":"boom"}`},
		{"no data", `{"status":"success"}`},
		{"unknown type", `{"status":"success","data":{"resultType":"tables","result":[]}}`},
		{"short value", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1"]]}]}}`},
		{"numeric ts", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[[1,"x"]]}]}}`},
		{"bad sample", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}`},
		{"string time", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeQueryResponse([]byte(tc.body)); err == nil {
				t.Error("decoded without error")
			}
		})
	}
}

func TestDecodeScalar(t *testing.T) {
	res, err := DecodeQueryResponse([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1796399640.5,"NaN"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Scalar == nil || !res.Scalar.Timestamp.Equal(time.Unix(1796399640, 5e8)) || res.Scalar.Value == res.Scalar.Value {
		t.Errorf("Scalar = %+v, want NaN at 1796399640.5", res.Scalar)
	}
}
