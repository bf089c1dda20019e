package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// PrecisionThreshold is the precision_threshold of every cardinality
// aggregation, the maximum Elasticsearch accepts (larger values are
// clamped to it). Below about this many distinct values a count is
// expected to be close to exact; above it, it is a HyperLogLog++ estimate.
const PrecisionThreshold = 40000

// NotAggregatableError lists fields that Cardinality could not count. The
// counts of the other fields are still returned with it.
type NotAggregatableError struct {
	Pattern string
	Fields  []NotAggregatableField
}

// NotAggregatableField is one field Cardinality could not count.
type NotAggregatableField struct {
	Field string
	// Types are the field's mapped types, empty when it is mapped nowhere.
	Types  []string
	Reason string
}

func (e *NotAggregatableError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Reason)
	}
	return fmt.Sprintf("elasticsearch: cannot count the distinct values of %d field(s) in %s: %s",
		len(e.Fields), e.Pattern, strings.Join(parts, "; "))
}

// Reasons returns each field's reason, keyed by field.
func (e *NotAggregatableError) Reasons() map[string]string {
	out := make(map[string]string, len(e.Fields))
	for _, f := range e.Fields {
		out[f.Field] = f.Reason
	}
	return out
}

// aggregatableField returns the field that counts the distinct values of
// name: name itself when it is aggregatable, or its .keyword multi-field
// when name is text and that sub-field is aggregatable.
func aggregatableField(name string, caps map[string]FieldCap) (string, *NotAggregatableField) {
	fc, ok := caps[name]
	if !ok {
		return "", &NotAggregatableField{Field: name, Reason: "not mapped in any matching index"}
	}
	if fc.Aggregatable {
		return name, nil
	}
	if slices.Contains(fc.Types, "text") || slices.Contains(fc.Types, "match_only_text") {
		if kw, ok := caps[name+".keyword"]; ok && kw.Aggregatable {
			return name + ".keyword", nil
		}
		return "", &NotAggregatableField{Field: name, Types: fc.Types, Reason: "text field without an aggregatable .keyword sub-field"}
	}
	if len(fc.Types) > 1 {
		return "", &NotAggregatableField{Field: name, Types: fc.Types, Reason: "mapped as " + strings.Join(fc.Types, " and ") + " in different indices, and not aggregatable in all of them"}
	}
	return "", &NotAggregatableField{Field: name, Types: fc.Types, Reason: "field of type " + strings.Join(fc.Types, ", ") + " is not aggregatable"}
}

// Cardinality returns the distinct-value counts of fields among the
// documents with timeField in [from, to), from one search with size 0 and a
// cardinality aggregation per field. The counts are HyperLogLog++
// estimates (see PrecisionThreshold), not exact values.
//
// Only aggregatable fields are counted. A text field is counted through
// its .keyword multi-field when one exists. The other fields are left out
// of the map and listed in a *NotAggregatableError, returned with the
// counts of the rest.
func (c *Client) Cardinality(ctx context.Context, pattern, timeField string, fields []string, from, to time.Time) (map[string]int64, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return map[string]int64{}, nil
	}
	filters, err := filterClauses(nil, timeField, from, to)
	if err != nil {
		return nil, err
	}
	lookup := make([]string, 0, 2*len(fields))
	for _, f := range fields {
		lookup = append(lookup, f, f+".keyword")
	}
	caps, err := c.FieldCaps(ctx, pattern, lookup)
	if err != nil {
		return nil, err
	}

	aggs := map[string]any{}
	aggNames := map[string]string{}
	var skipped []NotAggregatableField
	for i, f := range fields {
		target, problem := aggregatableField(f, caps)
		if problem != nil {
			skipped = append(skipped, *problem)
			continue
		}
		// Aggregation names are positional: field paths may contain
		// characters such as '>' that aggregation names cannot.
		name := "f" + strconv.Itoa(i)
		aggs[name] = map[string]any{"cardinality": map[string]any{"field": target, "precision_threshold": PrecisionThreshold}}
		aggNames[name] = f
	}
	var notAgg error
	if len(skipped) > 0 {
		notAgg = &NotAggregatableError{Pattern: pattern, Fields: skipped}
	}
	out := map[string]int64{}
	if len(aggs) == 0 {
		return out, notAgg
	}

	op := "POST /" + pattern + "/_search"
	results, err := c.searchAggregations(ctx, op, names, filters, aggs)
	if err != nil {
		return nil, err
	}
	for name, field := range aggNames {
		raw, ok := results[name]
		if !ok {
			return nil, fmt.Errorf("elasticsearch: %s: the response has no aggregation for field %s", op, field)
		}
		var v struct {
			Value *float64 `json:"value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("elasticsearch: %s: decoding the cardinality of %s: %w", op, field, err)
		}
		if v.Value == nil || *v.Value < 0 || *v.Value > math.MaxInt64/2 {
			return nil, fmt.Errorf("elasticsearch: %s: the cardinality of %s is missing or invalid: %s", op, field, raw)
		}
		out[field] = int64(*v.Value)
	}
	return out, notAgg
}

// searchResponseAggs is a search response as the aggregation helpers read
// it.
type searchResponseAggs struct {
	TimedOut     bool                       `json:"timed_out"`
	Shards       shardsHeader               `json:"_shards"`
	Aggregations map[string]json.RawMessage `json:"aggregations"`
}

// searchAggregations runs a size-0 search with aggs and returns the
// aggregation results by name. typed_keys prefixes ("cardinality#f0") are
// removed, so either form of response decodes. Shard failures and a timed
// out search are errors, because their aggregations are incomplete.
func (c *Client) searchAggregations(ctx context.Context, op string, index []string, filters []any, aggs map[string]any) (map[string]json.RawMessage, error) {
	body := map[string]any{"size": 0, "track_total_hits": false, "aggs": aggs}
	if len(filters) > 0 {
		body["query"] = boolFilter(filters)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %s: encoding the request: %w", op, err)
	}
	respBody, err := c.do(ctx, op, esapi.SearchRequest{
		Index: index, Body: bytes.NewReader(data), AllowPartialSearchResults: new(false),
	})
	if err != nil {
		return nil, err
	}
	return decodeAggregations(op, respBody)
}

func decodeAggregations(op string, body []byte) (map[string]json.RawMessage, error) {
	var r searchResponseAggs
	if err := decodeJSON(op, body, &r); err != nil {
		return nil, err
	}
	if err := r.Shards.check(op); err != nil {
		return nil, err
	}
	if r.TimedOut {
		return nil, fmt.Errorf("elasticsearch: %s timed out on the server, so the aggregations are incomplete: narrow the time range", op)
	}
	out := make(map[string]json.RawMessage, len(r.Aggregations))
	for key, raw := range r.Aggregations {
		if _, name, typed := strings.Cut(key, "#"); typed {
			key = name
		}
		out[key] = raw
	}
	return out, nil
}

// DayVolume is the volume of one UTC day.
type DayVolume struct {
	// Day is the start of the day, midnight UTC.
	Day  time.Time
	Docs int64
	// EstimatedBytes is Docs times the average primary store bytes per
	// document of the matching indices: an estimate of on-disk size
	// (compressed, with index structures), not of the raw log bytes.
	EstimatedBytes int64
}

// DailyVolume returns the documents per UTC day among those with timeField
// in [from, to), from a date_histogram with calendar_interval 1d. Days
// without documents between the first and last day (or between from and to
// when both are set) are included with zero counts. The byte figures are
// estimates, as DayVolume documents.
func (c *Client) DailyVolume(ctx context.Context, pattern, timeField string, from, to time.Time) ([]DayVolume, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	if timeField == "" {
		return nil, errors.New("elasticsearch: daily volume needs a time field: pass one, or find it with DetectTimeField")
	}
	filters, err := filterClauses(nil, timeField, from, to)
	if err != nil {
		return nil, err
	}
	indices, err := c.Indices(ctx, pattern)
	if err != nil {
		return nil, err
	}
	bytesPerDoc := averageDocBytes(indices)

	histogram := map[string]any{
		"field": timeField, "calendar_interval": "1d", "time_zone": "UTC", "min_doc_count": 0,
	}
	if !from.IsZero() && !to.IsZero() {
		histogram["extended_bounds"] = map[string]any{"min": from.UnixMilli(), "max": to.UnixMilli() - 1}
	}
	op := "POST /" + pattern + "/_search"
	results, err := c.searchAggregations(ctx, op, names, filters, map[string]any{"days": map[string]any{"date_histogram": histogram}})
	if err != nil {
		return nil, err
	}
	raw, ok := results["days"]
	if !ok {
		return nil, fmt.Errorf("elasticsearch: %s: the response has no date histogram", op)
	}
	days, err := decodeDayBuckets(raw)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %s: %w", op, err)
	}
	for i := range days {
		days[i].EstimatedBytes = int64(math.Round(float64(days[i].Docs) * bytesPerDoc))
	}
	return days, nil
}

// averageDocBytes returns the primary store bytes per document over the
// indices that hold documents, or 0 when none does.
func averageDocBytes(indices []Index) float64 {
	var docs, size int64
	for _, idx := range indices {
		if idx.Docs > 0 {
			docs += idx.Docs
			size += idx.PrimaryStoreBytes
		}
	}
	if docs == 0 {
		return 0
	}
	return float64(size) / float64(docs)
}

// decodeDayBuckets reads a date_histogram result. Keys are epoch
// milliseconds, sent as integers or, by some versions, as floats.
func decodeDayBuckets(raw json.RawMessage) ([]DayVolume, error) {
	var h struct {
		Buckets []struct {
			Key      json.Number `json:"key"`
			DocCount int64       `json:"doc_count"`
		} `json:"buckets"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("decoding the date histogram: %w", err)
	}
	out := make([]DayVolume, 0, len(h.Buckets))
	for _, b := range h.Buckets {
		millis, err := b.Key.Float64()
		if err != nil || math.IsNaN(millis) || math.Abs(millis) > 1e15 {
			return nil, fmt.Errorf("date histogram bucket key %q is not epoch milliseconds", b.Key)
		}
		out = append(out, DayVolume{Day: time.UnixMilli(int64(millis)).UTC(), Docs: b.DocCount})
	}
	return out, nil
}
