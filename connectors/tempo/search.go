package tempo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

// SearchRequest is a TraceQL search on /api/search.
type SearchRequest struct {
	// Query is TraceQL, such as { resource.service.name = "checkout" }.
	Query string
	// Start and End bound the search, sent in whole seconds with Start
	// rounded down and End up. A zero value leaves Tempo's default. Tempo
	// rejects a range longer than Limits.MaxSearchDuration with 400.
	Start, End time.Time
	// Limit is the maximum number of traces; 0 leaves Tempo's default (20
	// in Tempo 3.0.3).
	Limit int
	// SpansPerSpanSet is the maximum number of spans per span set (spss); 0
	// leaves Tempo's default (3 in Tempo 3.0.3).
	SpansPerSpanSet int
}

// TraceSummary is one trace of a search result.
type TraceSummary struct {
	// TraceID is 32 lower-case hex digits. Tempo 3.0.3 drops the leading
	// zeros of search ids unless left_pad_trace_ids is set, so they are put
	// back here.
	TraceID         string
	RootServiceName string
	RootTraceName   string
	Start           time.Time
	// Duration has millisecond precision, as Tempo reports it.
	Duration time.Duration
	// SpanSets are the span sets that matched; Tempo before 2.2 sent only
	// one (spanSet).
	SpanSets []SpanSet
	// ServiceStats counts spans per service.
	ServiceStats map[string]ServiceStats
}

// SpanSet is one set of spans that matched a TraceQL query.
type SpanSet struct {
	Spans []SpanSummary
	// Matched is the number of spans that matched, which can exceed
	// len(Spans).
	Matched int
	// Attributes are the span set's own attributes, such as the result of
	// a TraceQL aggregate.
	Attributes map[string]any
}

// SpanSummary is one span of a span set.
type SpanSummary struct {
	// SpanID is 16 lower-case hex digits.
	SpanID   string
	Name     string
	Start    time.Time
	Duration time.Duration
	// Attributes holds the attributes the query matched or selected, with
	// values as pcommon.Value.AsRaw returns them: string, bool, int64,
	// float64, []byte, []any or map[string]any.
	Attributes map[string]any
}

// ServiceStats is a service's span and error count in a trace.
type ServiceStats struct {
	SpanCount  int `json:"spanCount"`
	ErrorCount int `json:"errorCount"`
}

// Search runs a TraceQL search.
func (c *Client) Search(ctx context.Context, req SearchRequest) ([]TraceSummary, error) {
	if req.Limit < 0 || req.SpansPerSpanSet < 0 {
		return nil, fmt.Errorf("tempo: search: limit %d and spans per span set %d must not be negative", req.Limit, req.SpansPerSpanSet)
	}
	q := url.Values{}
	if req.Query != "" {
		q.Set("q", req.Query)
	}
	if err := timeRange(q, req.Start, req.End); err != nil {
		return nil, fmt.Errorf("tempo: search: %w", err)
	}
	if req.Limit > 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if req.SpansPerSpanSet > 0 {
		q.Set("spss", strconv.Itoa(req.SpansPerSpanSet))
	}
	resp, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/api/search", Query: q, Header: acceptJSON})
	if err != nil {
		return nil, wrapHTTPError("search", err)
	}
	traces, err := DecodeSearch(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("tempo: search: %w", err)
	}
	return traces, nil
}

type searchResponseJSON struct {
	Traces []traceSearchJSON `json:"traces"`
}

type traceSearchJSON struct {
	TraceID           string                  `json:"traceID"`
	RootServiceName   string                  `json:"rootServiceName"`
	RootTraceName     string                  `json:"rootTraceName"`
	StartTimeUnixNano flexUint                `json:"startTimeUnixNano"`
	DurationMs        flexUint                `json:"durationMs"`
	SpanSet           *spanSetJSON            `json:"spanSet"`
	SpanSets          []spanSetJSON           `json:"spanSets"`
	ServiceStats      map[string]ServiceStats `json:"serviceStats"`
}

type spanSetJSON struct {
	Spans      []spanJSON     `json:"spans"`
	Matched    flexUint       `json:"matched"`
	Attributes []keyValueJSON `json:"attributes"`
}

type spanJSON struct {
	SpanID            string         `json:"spanID"`
	Name              string         `json:"name"`
	StartTimeUnixNano flexUint       `json:"startTimeUnixNano"`
	DurationNanos     flexUint       `json:"durationNanos"`
	Attributes        []keyValueJSON `json:"attributes"`
}

// DecodeSearch decodes the JSON of /api/search. Tempo writes hex ids
// without leading zeros, 64-bit numbers as strings and attribute values in
// OTLP JSON.
func DecodeSearch(body []byte) ([]TraceSummary, error) {
	var resp searchResponseJSON
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("invalid search JSON: %w", err)
	}
	out := make([]TraceSummary, 0, len(resp.Traces))
	for i, t := range resp.Traces {
		s, err := t.summary()
		if err != nil {
			return nil, fmt.Errorf("invalid search JSON: trace %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (t traceSearchJSON) summary() (TraceSummary, error) {
	id, err := padHexID(t.TraceID, 16)
	if err != nil {
		return TraceSummary{}, fmt.Errorf("traceID: %w", err)
	}
	start, err := t.StartTimeUnixNano.time()
	if err != nil {
		return TraceSummary{}, fmt.Errorf("startTimeUnixNano: %w", err)
	}
	if t.DurationMs > math.MaxInt64/flexUint(time.Millisecond) {
		return TraceSummary{}, fmt.Errorf("durationMs %d is too large", t.DurationMs)
	}
	s := TraceSummary{
		TraceID: id, RootServiceName: t.RootServiceName, RootTraceName: t.RootTraceName,
		Start: start, Duration: time.Duration(t.DurationMs) * time.Millisecond,
		ServiceStats: t.ServiceStats,
	}
	sets := t.SpanSets
	if len(sets) == 0 && t.SpanSet != nil {
		sets = []spanSetJSON{*t.SpanSet}
	}
	for j, set := range sets {
		ss, err := set.spanSet()
		if err != nil {
			return TraceSummary{}, fmt.Errorf("span set %d: %w", j, err)
		}
		s.SpanSets = append(s.SpanSets, ss)
	}
	return s, nil
}

func (set spanSetJSON) spanSet() (SpanSet, error) {
	attrs, err := attributeMap(set.Attributes)
	if err != nil {
		return SpanSet{}, err
	}
	if set.Matched > math.MaxInt32 {
		return SpanSet{}, fmt.Errorf("matched %d is too large", set.Matched)
	}
	out := SpanSet{Matched: int(set.Matched), Attributes: attrs}
	for k, sp := range set.Spans {
		span, err := sp.summary()
		if err != nil {
			return SpanSet{}, fmt.Errorf("span %d: %w", k, err)
		}
		out.Spans = append(out.Spans, span)
	}
	return out, nil
}

func (sp spanJSON) summary() (SpanSummary, error) {
	id, err := padHexID(sp.SpanID, 8)
	if err != nil {
		return SpanSummary{}, fmt.Errorf("spanID: %w", err)
	}
	start, err := sp.StartTimeUnixNano.time()
	if err != nil {
		return SpanSummary{}, fmt.Errorf("startTimeUnixNano: %w", err)
	}
	if sp.DurationNanos > math.MaxInt64 {
		return SpanSummary{}, fmt.Errorf("durationNanos %d is too large", sp.DurationNanos)
	}
	attrs, err := attributeMap(sp.Attributes)
	if err != nil {
		return SpanSummary{}, err
	}
	return SpanSummary{SpanID: id, Name: sp.Name, Start: start, Duration: time.Duration(sp.DurationNanos), Attributes: attrs}, nil
}

// padHexID checks a hex id of at most size bytes and left-pads it with
// zeros to 2*size digits.
func padHexID(s string, size int) (string, error) {
	if s == "" {
		return "", errors.New("missing id")
	}
	if len(s) > 2*size {
		return "", fmt.Errorf("id %q is longer than %d hex digits", s, 2*size)
	}
	padded := strings.Repeat("0", 2*size-len(s)) + strings.ToLower(s)
	if _, err := hex.DecodeString(padded); err != nil {
		return "", fmt.Errorf("id %q is not hex", s)
	}
	return padded, nil
}

// flexUint is an unsigned 64-bit number written as a JSON number or, as
// protobuf's JSON mapping writes 64-bit integers, a string.
type flexUint uint64

func (f *flexUint) UnmarshalJSON(b []byte) error {
	text, err := numberText(b)
	if err != nil || text == "" {
		return err
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid unsigned integer %s", b)
	}
	*f = flexUint(n)
	return nil
}

func (f flexUint) time() (time.Time, error) {
	if f > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("%d ns is out of range", f)
	}
	if f == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, int64(f)).UTC(), nil
}

// numberText returns the text of a JSON number or numeric string, "" for
// null.
func numberText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return "", nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	return string(b), nil
}

type keyValueJSON struct {
	Key   string       `json:"key"`
	Value anyValueJSON `json:"value"`
}

// anyValueJSON is an OTLP AnyValue in protobuf's JSON mapping.
type anyValueJSON struct {
	StringValue *string         `json:"stringValue"`
	BoolValue   *bool           `json:"boolValue"`
	IntValue    json.RawMessage `json:"intValue"`
	DoubleValue json.RawMessage `json:"doubleValue"`
	BytesValue  *string         `json:"bytesValue"`
	ArrayValue  *struct {
		Values []anyValueJSON `json:"values"`
	} `json:"arrayValue"`
	KvlistValue *struct {
		Values []keyValueJSON `json:"values"`
	} `json:"kvlistValue"`
}

func attributeMap(kvs []keyValueJSON) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		v, err := kv.Value.raw()
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", kv.Key, err)
		}
		m[kv.Key] = v
	}
	return m, nil
}

// raw returns the value as pcommon.Value.AsRaw would, nil for an empty
// AnyValue.
func (v anyValueJSON) raw() (any, error) {
	switch {
	case v.StringValue != nil:
		return *v.StringValue, nil
	case v.BoolValue != nil:
		return *v.BoolValue, nil
	case v.IntValue != nil:
		text, err := numberText(v.IntValue)
		if err != nil {
			return nil, fmt.Errorf("invalid intValue %s", v.IntValue)
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid intValue %s", v.IntValue)
		}
		return n, nil
	case v.DoubleValue != nil:
		text, err := numberText(v.DoubleValue)
		if err != nil {
			return nil, fmt.Errorf("invalid doubleValue %s", v.DoubleValue)
		}
		// protobuf's JSON mapping writes non-finite doubles as "NaN",
		// "Infinity" and "-Infinity", which ParseFloat reads.
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid doubleValue %s", v.DoubleValue)
		}
		return f, nil
	case v.BytesValue != nil:
		b, err := base64.StdEncoding.DecodeString(*v.BytesValue)
		if err != nil {
			return nil, fmt.Errorf("invalid bytesValue: %w", err)
		}
		return b, nil
	case v.ArrayValue != nil:
		out := make([]any, 0, len(v.ArrayValue.Values))
		for i, item := range v.ArrayValue.Values {
			r, err := item.raw()
			if err != nil {
				return nil, fmt.Errorf("array item %d: %w", i, err)
			}
			out = append(out, r)
		}
		return out, nil
	case v.KvlistValue != nil:
		m, err := attributeMap(v.KvlistValue.Values)
		if m == nil && err == nil {
			m = map[string]any{}
		}
		return m, err
	}
	return nil, nil
}

// TagsRequest selects tag names on /api/v2/search/tags.
type TagsRequest struct {
	// Scope is resource, span, intrinsic, event, link or instrumentation;
	// empty for all.
	Scope string
	// Query is a TraceQL filter that narrows the spans whose tags count.
	Query string
	// Start and End bound the blocks searched; zero values search only
	// recent data.
	Start, End time.Time
}

// Tags returns the tag names by scope, from /api/v2/search/tags. A Tempo
// before 2.2, which has only /api/search/tags, returns unscoped names under
// the key "".
func (c *Client) Tags(ctx context.Context, scope string) (map[string][]string, error) {
	return c.SearchTags(ctx, TagsRequest{Scope: scope})
}

// SearchTags is Tags with a query and a time range.
func (c *Client) SearchTags(ctx context.Context, req TagsRequest) (map[string][]string, error) {
	q := url.Values{}
	if req.Scope != "" {
		q.Set("scope", req.Scope)
	}
	if req.Query != "" {
		q.Set("q", req.Query)
	}
	if err := timeRange(q, req.Start, req.End); err != nil {
		return nil, fmt.Errorf("tempo: tags: %w", err)
	}
	resp, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/api/v2/search/tags", Query: q, Header: acceptJSON, Classifier: acceptNotFound})
	if err == nil && resp.Status == http.StatusNotFound {
		resp, err = c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/api/search/tags", Query: q, Header: acceptJSON})
	}
	if err != nil {
		return nil, wrapHTTPError("tags", err)
	}
	tags, err := DecodeTags(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("tempo: tags: %w", err)
	}
	return tags, nil
}

// DecodeTags decodes the JSON of /api/v2/search/tags ({"scopes": [{"name",
// "tags"}]}) or of /api/search/tags ({"tagNames": [...]}, returned under
// the key "").
func DecodeTags(body []byte) (map[string][]string, error) {
	var resp struct {
		Scopes []struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		} `json:"scopes"`
		TagNames []string `json:"tagNames"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("invalid tags JSON: %w", err)
	}
	out := map[string][]string{}
	for _, s := range resp.Scopes {
		out[s.Name] = append(out[s.Name], s.Tags...)
	}
	if len(resp.TagNames) > 0 {
		out[""] = append(out[""], resp.TagNames...)
	}
	return out, nil
}

// TagValue is one value of a tag, with its TraceQL type (string, int,
// float, bool, duration, status, kind, keyword).
type TagValue struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// TagValuesRequest narrows a tag values look-up.
type TagValuesRequest struct {
	// Query is a TraceQL filter, such as { resource.service.name = "db" }.
	Query string
	// Start and End bound the blocks searched; zero values search only
	// recent data.
	Start, End time.Time
}

// TagValues returns the values of a scoped tag (resource.service.name,
// span.http.method, name) from /api/v2/search/tag/{tag}/values, narrowed
// by a TraceQL query when query is not empty.
func (c *Client) TagValues(ctx context.Context, tag, query string) ([]TagValue, error) {
	return c.SearchTagValues(ctx, tag, TagValuesRequest{Query: query})
}

// SearchTagValues is TagValues with a time range.
func (c *Client) SearchTagValues(ctx context.Context, tag string, req TagValuesRequest) ([]TagValue, error) {
	if tag == "" || strings.ContainsAny(tag, "/?#") {
		return nil, fmt.Errorf("tempo: tag values: invalid tag name %q: give a scoped name such as resource.service.name", tag)
	}
	q := url.Values{}
	if req.Query != "" {
		q.Set("q", req.Query)
	}
	if err := timeRange(q, req.Start, req.End); err != nil {
		return nil, fmt.Errorf("tempo: tag values of %s: %w", tag, err)
	}
	resp, err := c.api.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/api/v2/search/tag/" + tag + "/values", Query: q, Header: acceptJSON})
	if err != nil {
		return nil, wrapHTTPError("tag values of "+tag, err)
	}
	values, err := DecodeTagValues(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("tempo: tag values of %s: %w", tag, err)
	}
	return values, nil
}

// DecodeTagValues decodes the JSON of /api/v2/search/tag/{tag}/values
// ({"tagValues": [{"type", "value"}]}) or of the v1 path, whose values are
// plain strings and get an empty Type.
func DecodeTagValues(body []byte) ([]TagValue, error) {
	var resp struct {
		TagValues []json.RawMessage `json:"tagValues"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("invalid tag values JSON: %w", err)
	}
	out := make([]TagValue, 0, len(resp.TagValues))
	for i, raw := range resp.TagValues {
		var tv TagValue
		if err := json.Unmarshal(raw, &tv); err != nil {
			if err := json.Unmarshal(raw, &tv.Value); err != nil {
				return nil, fmt.Errorf("invalid tag values JSON: value %d is neither an object nor a string", i)
			}
		}
		out = append(out, tv)
	}
	return out, nil
}
