package loki

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// Result types of a QueryResult, as Loki names them.
const (
	ResultStreams = "streams"
	ResultMatrix  = "matrix"
	ResultVector  = "vector"
	ResultScalar  = "scalar"
)

// Directions of a log query.
const (
	Forward  = "forward"
	Backward = "backward"
)

// QueryRangeRequest is a /loki/api/v1/query_range request. Zero Start,
// End, Limit and Step are left out, so Loki's defaults apply.
type QueryRangeRequest struct {
	Query      string
	Start, End time.Time
	// Limit bounds the entries of a log query.
	Limit int
	// Step is the resolution of a metric query.
	Step time.Duration
	// Direction is Forward or Backward (Loki's default).
	Direction string
	// CategorizeLabels requests that Loki return stream labels, structured
	// metadata and parsed labels apart (the header
	// X-Loki-Response-Encoding-Flags: categorize-labels). Without it Loki
	// merges structured metadata into the stream labels, so one pushed
	// stream comes back as several.
	CategorizeLabels bool
}

// QueryResult is the data of a query or index/volume response. Streams is
// set for resultType streams, Series for matrix and vector (a vector
// series has one sample), and Scalar for scalar.
type QueryResult struct {
	ResultType    string
	EncodingFlags []string
	Streams       []StreamResult
	Series        []Series
	Scalar        *Sample
	// Stats is Loki's statistics object as sent, or nil.
	Stats json.RawMessage
}

// StreamResult is one stream of a log query. With categorize-labels each
// entry keeps its structured metadata and parsed labels apart from the
// stream labels, sorted by name.
type StreamResult struct {
	Labels  map[string]string
	Entries []push.Entry
}

// Series is one series of a metric query or a volume request.
type Series struct {
	Metric  map[string]string
	Samples []Sample
}

// Sample is one value of a series. Loki sends the time as unix seconds
// with millisecond fractions, such as 1796399399.999.
type Sample struct {
	Timestamp time.Time
	Value     float64
}

// QueryRange runs a log or metric query over a time range.
func (c *Client) QueryRange(ctx context.Context, req QueryRangeRequest) (*QueryResult, error) {
	q := url.Values{"query": {req.Query}}
	setTime(q, "start", req.Start)
	setTime(q, "end", req.End)
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if req.Step > 0 {
		q.Set("step", seconds(req.Step))
	}
	if req.Direction != "" {
		if req.Direction != Forward && req.Direction != Backward {
			return nil, fmt.Errorf("loki query_range: invalid direction %q: use %q or %q", req.Direction, Forward, Backward)
		}
		q.Set("direction", req.Direction)
	}
	var header http.Header
	if req.CategorizeLabels {
		header = http.Header{"X-Loki-Response-Encoding-Flags": {"categorize-labels"}}
	}
	body, err := c.get(ctx, "/loki/api/v1/query_range", q, header)
	if err != nil {
		return nil, err
	}
	return decodeAt("/loki/api/v1/query_range", body)
}

// Query runs an instant metric query at one time; a zero time means now.
// Loki rejects log queries here (ReasonInstantLogQuery).
func (c *Client) Query(ctx context.Context, query string, at time.Time) (*QueryResult, error) {
	q := url.Values{"query": {query}}
	setTime(q, "time", at)
	body, err := c.get(ctx, "/loki/api/v1/query", q, nil)
	if err != nil {
		return nil, err
	}
	return decodeAt("/loki/api/v1/query", body)
}

// Labels returns the label names seen between start and end. Structured
// metadata names are not included (Loki 3.7.6).
func (c *Client) Labels(ctx context.Context, start, end time.Time) ([]string, error) {
	q := url.Values{}
	setTime(q, "start", start)
	setTime(q, "end", end)
	return c.stringList(ctx, "/loki/api/v1/labels", q)
}

// LabelValues returns the values of one label between start and end.
func (c *Client) LabelValues(ctx context.Context, name string, start, end time.Time) ([]string, error) {
	return c.LabelValuesMatching(ctx, name, "", start, end)
}

var labelNamePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// LabelValuesMatching returns the values of one label within the streams
// that selector matches, such as {job="api"}; an empty selector matches
// every stream.
func (c *Client) LabelValuesMatching(ctx context.Context, name, selector string, start, end time.Time) ([]string, error) {
	if !labelNamePattern.MatchString(name) {
		return nil, fmt.Errorf("loki label values: invalid label name %q: names match [a-zA-Z_][a-zA-Z0-9_]*", name)
	}
	q := url.Values{}
	setTime(q, "start", start)
	setTime(q, "end", end)
	if selector != "" {
		q.Set("query", selector)
	}
	return c.stringList(ctx, "/loki/api/v1/label/"+name+"/values", q)
}

// Series returns the label sets of the streams that any of matchers
// selects between start and end. Without matchers Loki 3.7.6 returns every
// stream.
func (c *Client) Series(ctx context.Context, matchers []string, start, end time.Time) ([]map[string]string, error) {
	q := url.Values{}
	for _, m := range matchers {
		q.Add("match[]", m)
	}
	setTime(q, "start", start)
	setTime(q, "end", end)
	const path = "/loki/api/v1/series"
	body, err := c.get(ctx, path, q, nil)
	if err != nil {
		return nil, err
	}
	var series []map[string]string
	if err := decodeEnvelope(body, &series); err != nil {
		return nil, fmt.Errorf("loki: decoding %s response: %w", path, err)
	}
	return series, nil
}

// IndexStats is the /loki/api/v1/index/stats response. Loki 3.7.6 counts
// only flushed data here: right after a push it returns zeros.
type IndexStats struct {
	Streams int64 `json:"streams"`
	Chunks  int64 `json:"chunks"`
	Bytes   int64 `json:"bytes"`
	Entries int64 `json:"entries"`
}

// IndexStats returns the streams, chunks, bytes and entries that the index
// holds for the selector between start and end.
func (c *Client) IndexStats(ctx context.Context, query string, start, end time.Time) (IndexStats, error) {
	q := url.Values{"query": {query}}
	setTime(q, "start", start)
	setTime(q, "end", end)
	const path = "/loki/api/v1/index/stats"
	var stats IndexStats
	body, err := c.get(ctx, path, q, nil)
	if err != nil {
		return stats, err
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		return stats, fmt.Errorf("loki: decoding %s response: %w", path, err)
	}
	return stats, nil
}

// VolumeRequest is an /index/volume request, or /index/volume_range when
// Step is set.
type VolumeRequest struct {
	Query      string
	Start, End time.Time
	// Limit bounds the series returned; 0 leaves Loki's default.
	Limit int
	// TargetLabels are the labels to aggregate by.
	TargetLabels []string
	// AggregateBy is "series" (Loki's default) or "labels". With "labels"
	// Loki 3.7.6 returns one series per label name, with an empty value.
	AggregateBy string
	Step        time.Duration
}

// IndexVolume returns the bytes per series that the selector matches. The
// result is a vector for /index/volume. For /index/volume_range it is a
// matrix, or a vector when every series fits one step (Loki 3.7.6).
func (c *Client) IndexVolume(ctx context.Context, req VolumeRequest) (*QueryResult, error) {
	q := url.Values{"query": {req.Query}}
	setTime(q, "start", req.Start)
	setTime(q, "end", req.End)
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if len(req.TargetLabels) > 0 {
		q.Set("targetLabels", strings.Join(req.TargetLabels, ","))
	}
	if req.AggregateBy != "" {
		q.Set("aggregateBy", req.AggregateBy)
	}
	path := "/loki/api/v1/index/volume"
	if req.Step > 0 {
		path = "/loki/api/v1/index/volume_range"
		q.Set("step", seconds(req.Step))
	}
	body, err := c.get(ctx, path, q, nil)
	if err != nil {
		return nil, err
	}
	return decodeAt(path, body)
}

func (c *Client) get(ctx context.Context, path string, q url.Values, header http.Header) ([]byte, error) {
	resp, err := c.http.Do(ctx, httpx.Request{Method: http.MethodGet, Path: path, Query: q, Header: header})
	if err != nil {
		return nil, readError(err)
	}
	return resp.Body, nil
}

func (c *Client) stringList(ctx context.Context, path string, q url.Values) ([]string, error) {
	body, err := c.get(ctx, path, q, nil)
	if err != nil {
		return nil, err
	}
	var list []string
	if err := decodeEnvelope(body, &list); err != nil {
		return nil, fmt.Errorf("loki: decoding %s response: %w", path, err)
	}
	return list, nil
}

func decodeAt(path string, body []byte) (*QueryResult, error) {
	result, err := DecodeQueryResponse(body)
	if err != nil {
		return nil, fmt.Errorf("loki: decoding %s response: %w", path, err)
	}
	return result, nil
}

// setTime adds t as unix nanoseconds, the form Loki reads without loss.
func setTime(q url.Values, key string, t time.Time) {
	if !t.IsZero() {
		q.Set(key, strconv.FormatInt(t.UnixNano(), 10))
	}
}

// seconds formats d as Loki's step parameter: seconds, with a fraction
// when needed.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// envelope is Loki's JSON response wrapper.
type envelope struct {
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
	Error  string          `json:"error"`
}

// decodeEnvelope checks status "success" and decodes data into out.
func decodeEnvelope(body []byte, out any) error {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return err
	}
	if env.Status != "success" {
		return fmt.Errorf("status is %q, not \"success\": %s", env.Status, cut(env.Error, maxMessageInError))
	}
	if len(env.Data) == 0 {
		return fmt.Errorf("response has no data")
	}
	return json.Unmarshal(env.Data, out)
}

type queryData struct {
	ResultType    string          `json:"resultType"`
	EncodingFlags []string        `json:"encodingFlags"`
	Result        json.RawMessage `json:"result"`
	Stats         json.RawMessage `json:"stats"`
}

type rawStream struct {
	Stream map[string]string   `json:"stream"`
	Values [][]json.RawMessage `json:"values"`
}

type rawSeries struct {
	Metric map[string]string   `json:"metric"`
	Values [][]json.RawMessage `json:"values"`
	Value  []json.RawMessage   `json:"value"`
}

// entryLabels is the third element of a stream value with
// categorize-labels.
type entryLabels struct {
	StructuredMetadata map[string]string `json:"structuredMetadata"`
	Parsed             map[string]string `json:"parsed"`
}

// DecodeQueryResponse decodes the JSON of a query_range, query, or
// index/volume response.
func DecodeQueryResponse(body []byte) (*QueryResult, error) {
	var data queryData
	if err := decodeEnvelope(body, &data); err != nil {
		return nil, err
	}
	result := &QueryResult{ResultType: data.ResultType, EncodingFlags: data.EncodingFlags}
	if len(data.Stats) > 0 && string(data.Stats) != "null" {
		result.Stats = data.Stats
	}
	var err error
	switch data.ResultType {
	case ResultStreams:
		result.Streams, err = decodeStreams(data.Result)
	case ResultMatrix, ResultVector:
		result.Series, err = decodeSeries(data.ResultType, data.Result)
	case ResultScalar:
		var pair []json.RawMessage
		if err = json.Unmarshal(data.Result, &pair); err == nil {
			var s Sample
			s, err = decodeSample(pair)
			result.Scalar = &s
		}
	default:
		return nil, fmt.Errorf("unknown resultType %q: expected streams, matrix, vector or scalar", data.ResultType)
	}
	if err != nil {
		return nil, fmt.Errorf("%s result: %w", data.ResultType, err)
	}
	return result, nil
}

func decodeStreams(raw json.RawMessage) ([]StreamResult, error) {
	var streams []rawStream
	if err := json.Unmarshal(raw, &streams); err != nil {
		return nil, err
	}
	out := make([]StreamResult, 0, len(streams))
	for i, s := range streams {
		sr := StreamResult{Labels: s.Stream, Entries: make([]push.Entry, 0, len(s.Values))}
		for j, value := range s.Values {
			entry, err := decodeEntry(value)
			if err != nil {
				return nil, fmt.Errorf("stream %d value %d: %w", i, j, err)
			}
			sr.Entries = append(sr.Entries, entry)
		}
		out = append(out, sr)
	}
	return out, nil
}

// decodeEntry decodes [ts, line] or [ts, line, {structuredMetadata, parsed}].
func decodeEntry(value []json.RawMessage) (push.Entry, error) {
	var e push.Entry
	if len(value) != 2 && len(value) != 3 {
		return e, fmt.Errorf("has %d elements, expected [timestamp, line] or [timestamp, line, labels]", len(value))
	}
	var ts string
	if err := json.Unmarshal(value[0], &ts); err != nil {
		return e, fmt.Errorf("timestamp: expected nanoseconds as a string: %w", err)
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return e, fmt.Errorf("invalid timestamp %q: expected unix nanoseconds", ts)
	}
	e.Timestamp = time.Unix(0, ns).UTC()
	if err := json.Unmarshal(value[1], &e.Line); err != nil {
		return e, fmt.Errorf("line: %w", err)
	}
	if len(value) == 3 {
		var labels entryLabels
		if err := json.Unmarshal(value[2], &labels); err != nil {
			return e, fmt.Errorf("entry labels: %w", err)
		}
		e.StructuredMetadata = sortedLabels(labels.StructuredMetadata)
		e.Parsed = sortedLabels(labels.Parsed)
	}
	return e, nil
}

func sortedLabels(m map[string]string) push.LabelsAdapter {
	if len(m) == 0 {
		return nil
	}
	out := make(push.LabelsAdapter, 0, len(m))
	for name, value := range m {
		out = append(out, push.LabelAdapter{Name: name, Value: value})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func decodeSeries(resultType string, raw json.RawMessage) ([]Series, error) {
	var series []rawSeries
	if err := json.Unmarshal(raw, &series); err != nil {
		return nil, err
	}
	out := make([]Series, 0, len(series))
	for i, s := range series {
		pairs := s.Values
		if resultType == ResultVector {
			pairs = [][]json.RawMessage{s.Value}
		}
		sr := Series{Metric: s.Metric, Samples: make([]Sample, 0, len(pairs))}
		for j, pair := range pairs {
			sample, err := decodeSample(pair)
			if err != nil {
				return nil, fmt.Errorf("series %d sample %d: %w", i, j, err)
			}
			sr.Samples = append(sr.Samples, sample)
		}
		out = append(out, sr)
	}
	return out, nil
}

// decodeSample decodes [unix seconds as a number, "value"].
func decodeSample(pair []json.RawMessage) (Sample, error) {
	var s Sample
	if len(pair) != 2 {
		return s, fmt.Errorf("has %d elements, expected [time, value]", len(pair))
	}
	var ts json.Number
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return s, fmt.Errorf("time: expected unix seconds: %w", err)
	}
	t, err := parseUnixSeconds(string(ts))
	if err != nil {
		return s, err
	}
	var value string
	if err := json.Unmarshal(pair[1], &value); err != nil {
		return s, fmt.Errorf("value: expected a string: %w", err)
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return s, fmt.Errorf("invalid value %q: expected a number", value)
	}
	s.Timestamp, s.Value = t, v
	return s, nil
}

// parseUnixSeconds parses "1796399399.999" without the rounding of a
// float, keeping up to nanosecond digits.
func parseUnixSeconds(text string) (time.Time, error) {
	whole, frac, _ := strings.Cut(text, ".")
	secs, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || secs > math.MaxInt64/int64(time.Second) || secs < math.MinInt64/int64(time.Second) {
		return time.Time{}, fmt.Errorf("invalid time %q: expected unix seconds", text)
	}
	var nanos int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid time %q: expected unix seconds", text)
		}
		nanos = int64(n)
		if strings.HasPrefix(whole, "-") {
			nanos = -nanos
		}
	}
	return time.Unix(secs, nanos).UTC(), nil
}
