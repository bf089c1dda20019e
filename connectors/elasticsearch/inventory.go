package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Index is one concrete index, as _cat/indices and GET /{index} report it.
type Index struct {
	Name string
	// DataStream is the data stream that owns this backing index, or "".
	DataStream string
	// Health is green, yellow or red; Status is open or close.
	Health, Status string
	// Docs is the primaries' document count at the Lucene level: each
	// nested object counts as a document, and deleted documents do not.
	Docs int64
	// StoreBytes counts primaries and replicas; PrimaryStoreBytes counts
	// the primaries only.
	StoreBytes, PrimaryStoreBytes int64
	Hidden                        bool
}

// catIndicesColumns are the _cat/indices columns Indices reads.
var catIndicesColumns = []string{"health", "status", "index", "docs.count", "store.size", "pri.store.size"}

type catIndexRow struct {
	Health       string  `json:"health"`
	Status       string  `json:"status"`
	Index        string  `json:"index"`
	DocsCount    catText `json:"docs.count"`
	StoreSize    catText `json:"store.size"`
	PriStoreSize catText `json:"pri.store.size"`
}

// catText is a _cat column or settings value. The cat APIs send strings,
// null for a closed index's statistics, and numbers in some versions.
// Settings values are strings, and booleans in some versions.
type catText string

func (t *catText) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		*t = ""
	case bytes.Equal(data, []byte("true")), bytes.Equal(data, []byte("false")):
		*t = catText(data)
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*t = catText(s)
	default:
		var n json.Number
		if err := json.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("cat value %s is neither a string nor a number", data)
		}
		*t = catText(n)
	}
	return nil
}

// indexState is the part of GET /{index} that Indices reads.
type indexState struct {
	DataStream string `json:"data_stream"`
	Settings   struct {
		Index struct {
			Hidden catText `json:"hidden"`
		} `json:"index"`
	} `json:"settings"`
}

// Indices lists the concrete indices that pattern matches ("filebeat-*", or
// a comma-separated list), sorted by name. A data stream name or pattern
// expands to its backing indices, each with DataStream set. Hidden and
// closed indices are included (expand_wildcards=all), flagged by Hidden and
// Status.
func (c *Client) Indices(ctx context.Context, pattern string) ([]Index, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	op := "GET /_cat/indices/" + pattern
	body, err := c.do(ctx, op, esapi.CatIndicesRequest{
		Index: names, Format: "json", Bytes: "b", ExpandWildcards: "all",
		H: catIndicesColumns, S: []string{"index"},
	})
	if err != nil {
		return nil, err
	}
	var rows []catIndexRow
	if err := decodeJSON(op, body, &rows); err != nil {
		return nil, err
	}

	op = "GET /" + pattern
	body, err = c.do(ctx, op, esapi.IndicesGetRequest{
		Index: names, ExpandWildcards: "all",
		FilterPath: []string{"*.data_stream", "*.settings.index.hidden"},
	})
	if err != nil {
		return nil, err
	}
	states := map[string]indexState{}
	if err := decodeJSON(op, body, &states); err != nil {
		return nil, err
	}

	out := make([]Index, 0, len(rows))
	for _, row := range rows {
		idx := Index{Name: strings.TrimSpace(row.Index), Health: row.Health, Status: row.Status}
		if idx.Docs, err = parseCatCount(row.DocsCount); err != nil {
			return nil, fmt.Errorf("elasticsearch: index %s: docs.count: %w", idx.Name, err)
		}
		if idx.StoreBytes, err = parseByteSize(string(row.StoreSize)); err != nil {
			return nil, fmt.Errorf("elasticsearch: index %s: store.size: %w", idx.Name, err)
		}
		if idx.PrimaryStoreBytes, err = parseByteSize(string(row.PriStoreSize)); err != nil {
			return nil, fmt.Errorf("elasticsearch: index %s: pri.store.size: %w", idx.Name, err)
		}
		if st, ok := states[idx.Name]; ok {
			idx.DataStream = st.DataStream
			idx.Hidden = string(st.Settings.Index.Hidden) == "true"
		}
		out = append(out, idx)
	}
	slices.SortFunc(out, func(a, b Index) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func parseCatCount(v catText) (int64, error) {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid count %q", s)
	}
	return n, nil
}

// byteUnits are the suffixes of Elasticsearch's human-readable sizes, which
// are powers of 1024.
var byteUnits = []struct {
	suffix string
	factor float64
}{
	{"pb", 1 << 50}, {"tb", 1 << 40}, {"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"b", 1},
}

// parseByteSize reads a cat size: plain bytes ("90214", what bytes=b
// returns) or a human-readable size ("88.1kb"), which is rounded to whole
// bytes. An empty value (a closed index) is 0.
func parseByteSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	for _, unit := range byteUnits {
		number, ok := strings.CutSuffix(s, unit.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(number), 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*unit.factor > math.MaxInt64/2 {
			break
		}
		return int64(math.Round(f * unit.factor)), nil
	}
	return 0, fmt.Errorf("invalid size %q", s)
}

// DataStream is one data stream and its backing indices, oldest first.
type DataStream struct {
	Name           string
	TimestampField string
	Indices        []string
	// Status is the health of the backing indices: GREEN, YELLOW or RED.
	Status   string
	Template string
	Hidden   bool
}

type dataStreamsResponse struct {
	DataStreams []struct {
		Name           string `json:"name"`
		TimestampField struct {
			Name string `json:"name"`
		} `json:"timestamp_field"`
		Indices []struct {
			IndexName string `json:"index_name"`
		} `json:"indices"`
		Status   string `json:"status"`
		Template string `json:"template"`
		Hidden   bool   `json:"hidden"`
	} `json:"data_streams"`
}

// DataStreams lists the data streams that pattern matches, sorted by name.
// A wildcard that matches none returns an empty list; a concrete name that
// is not a data stream returns an *Error with status 404.
func (c *Client) DataStreams(ctx context.Context, pattern string) ([]DataStream, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	op := "GET /_data_stream/" + pattern
	body, err := c.do(ctx, op, esapi.IndicesGetDataStreamRequest{Name: names})
	if err != nil {
		return nil, err
	}
	var r dataStreamsResponse
	if err := decodeJSON(op, body, &r); err != nil {
		return nil, err
	}
	out := make([]DataStream, 0, len(r.DataStreams))
	for _, ds := range r.DataStreams {
		d := DataStream{
			Name: ds.Name, TimestampField: ds.TimestampField.Name,
			Status: ds.Status, Template: ds.Template, Hidden: ds.Hidden,
		}
		for _, idx := range ds.Indices {
			d.Indices = append(d.Indices, idx.IndexName)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b DataStream) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// FieldCap is one field's capabilities across the indices of a pattern.
type FieldCap struct {
	// Types are the mapped types, sorted; more than one is a conflict.
	Types []string
	// Searchable and Aggregatable are true when the field is searchable
	// (aggregatable) in every index that maps it.
	Searchable, Aggregatable bool
	// Metadata marks a metadata field such as _id or _index.
	Metadata bool
}

type fieldCapsResponse struct {
	Fields map[string]map[string]struct {
		Searchable    bool `json:"searchable"`
		Aggregatable  bool `json:"aggregatable"`
		MetadataField bool `json:"metadata_field"`
	} `json:"fields"`
}

// fieldCapsURLBudget bounds the bytes of field names in one _field_caps
// URL. Elasticsearch rejects a request line longer than
// http.max_initial_line_length, 4 KiB by default.
const fieldCapsURLBudget = 2500

// FieldCaps returns the capabilities of fields (all fields when empty) in
// the indices that pattern matches. A field mapped nowhere is absent from
// the map. Long field lists are sent in several requests.
func (c *Client) FieldCaps(ctx context.Context, pattern string, fields []string) (map[string]FieldCap, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		fields = []string{"*"}
	}
	out := map[string]FieldCap{}
	for _, batch := range batchFields(fields, fieldCapsURLBudget) {
		op := "POST /" + pattern + "/_field_caps"
		body, err := c.do(ctx, op, esapi.FieldCapsRequest{Index: names, Fields: batch})
		if err != nil {
			return nil, err
		}
		var r fieldCapsResponse
		if err := decodeJSON(op, body, &r); err != nil {
			return nil, err
		}
		for name, byType := range r.Fields {
			fc := FieldCap{Searchable: true, Aggregatable: true}
			for typ, caps := range byType {
				if typ == "unmapped" {
					continue
				}
				fc.Types = append(fc.Types, typ)
				fc.Searchable = fc.Searchable && caps.Searchable
				fc.Aggregatable = fc.Aggregatable && caps.Aggregatable
				fc.Metadata = fc.Metadata || caps.MetadataField
			}
			if len(fc.Types) == 0 {
				continue
			}
			slices.Sort(fc.Types)
			out[name] = fc
		}
	}
	return out, nil
}

// batchFields splits fields into groups whose comma-joined length stays
// within budget. A single longer name gets a group of its own.
func batchFields(fields []string, budget int) [][]string {
	var batches [][]string
	var current []string
	size := 0
	for _, f := range fields {
		if len(current) > 0 && size+1+len(f) > budget {
			batches = append(batches, current)
			current, size = nil, 0
		}
		if len(current) > 0 {
			size++
		}
		current = append(current, f)
		size += len(f)
	}
	if len(current) > 0 {
		batches = append(batches, current)
	}
	return batches
}

type countResponse struct {
	Count  int64        `json:"count"`
	Shards shardsHeader `json:"_shards"`
}

// Count returns the number of documents that match query (all documents
// when query is empty) within [from, to) on timeField. With timeField empty
// no time filter applies; a zero from or to leaves that side open. A count
// with shard failures is an error, not a partial count.
func (c *Client) Count(ctx context.Context, pattern string, query json.RawMessage, timeField string, from, to time.Time) (int64, error) {
	names, err := splitPattern(pattern)
	if err != nil {
		return 0, err
	}
	filters, err := filterClauses(query, timeField, from, to)
	if err != nil {
		return 0, err
	}
	op := "POST /" + pattern + "/_count"
	req := esapi.CountRequest{Index: names}
	if len(filters) > 0 {
		data, err := json.Marshal(map[string]any{"query": boolFilter(filters)})
		if err != nil {
			return 0, fmt.Errorf("elasticsearch: %s: encoding the query: %w", op, err)
		}
		req.Body = bytes.NewReader(data)
	}
	body, err := c.do(ctx, op, req)
	if err != nil {
		return 0, err
	}
	var r countResponse
	if err := decodeJSON(op, body, &r); err != nil {
		return 0, err
	}
	if err := r.Shards.check(op); err != nil {
		return 0, err
	}
	return r.Count, nil
}
