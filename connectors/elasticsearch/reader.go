package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Reader defaults and limits.
const (
	DefaultPageSize  = 1000
	DefaultKeepAlive = 5 * time.Minute
	// MaxPageSize is index.max_result_window's default; a larger size
	// fails on the server.
	MaxPageSize = 10000
	// maxResumesWithoutProgress bounds the point-in-time reopenings in one
	// Next call that return no hit, so a keep-alive shorter than one page
	// fails instead of looping.
	maxResumesWithoutProgress = 3
)

// ReadRequest selects the documents a Reader returns.
type ReadRequest struct {
	// Index is an index, data stream or pattern, as for Indices.
	Index string
	// TimeField is the date or date_nanos field the reader sorts and
	// filters on. Documents without it are not read.
	TimeField string
	// From and To bound TimeField to [From, To). A zero value leaves that
	// side open.
	From, To time.Time
	// Query, when set, is a query DSL object that documents must also
	// match.
	Query json.RawMessage
	// PageSize is the number of hits per search: DefaultPageSize when zero,
	// at most MaxPageSize.
	PageSize int
	// KeepAlive is how long the point in time lives between two searches:
	// DefaultKeepAlive when zero.
	KeepAlive time.Duration
	// SourceFields, when set, limits _source to these fields (wildcards
	// allowed).
	SourceFields []string
}

// Cursor is the position of a Reader. It encodes to JSON, so a caller can
// checkpoint it and pass it to NewReader in another process.
type Cursor struct {
	// PIT is the open point in time, or "" before the first search and
	// after Close.
	PIT string `json:"pit,omitempty"`
	// SearchAfter is the sort of the last hit seen in PIT, for the next
	// search_after. It is meaningful only in that point in time.
	SearchAfter []json.RawMessage `json:"search_after,omitempty"`
	// LastTime is the time sort value of the last returned hit, in the
	// strict_date_optional_time_nanos format the server sorted with.
	LastTime string `json:"last_time,omitempty"`
	// SeenAtLastTime are the _ids of the hits already returned at
	// LastTime.
	SeenAtLastTime []string `json:"seen_at_last_time,omitempty"`
}

// Hit is one document.
type Hit struct {
	ID, Index string
	// Source is the document's _source, as the server sent it.
	Source json.RawMessage
	// Sort is [time, _shard_doc]: the time as a quoted
	// strict_date_optional_time_nanos string, then the tiebreaker.
	Sort []json.RawMessage
}

// Reader returns the documents of a ReadRequest in time order, one page
// per Next call, through a point in time (PIT) and search_after. It is not
// safe for concurrent use.
//
// Each search sorts by the time field (formatted as
// strict_date_optional_time_nanos with numeric_type date_nanos, so values
// stay exact to the nanosecond on date and date_nanos fields) and then by
// _shard_doc, a unique tiebreaker within one PIT.
//
// When the PIT expires (404 search_context_missing_exception), the
// _shard_doc values of the old PIT mean nothing in a new one, so the reader
// does not reuse search_after. It opens a new PIT and searches again from
// the last returned timestamp, inclusive (range gte LastTime, in the same
// format), and skips the hits at that timestamp whose _id is in
// SeenAtLastTime. A reader restarted from a saved Cursor does the same when
// the cursor's PIT is gone, and continues with search_after when it is
// still open. So no document is returned twice and none is skipped, with
// these limits:
//
//   - Each PIT is a snapshot. After a resume, documents indexed since the
//     old PIT opened are read if their time is at or after LastTime;
//     earlier late arrivals are not.
//   - Two documents with the same _id and the same timestamp in different
//     indices count as one when a resume or restart falls on that
//     timestamp.
//   - SeenAtLastTime grows with the number of documents that share one
//     timestamp, and the cursor with it.
//
// A 200 response with shard failures is an error (*ShardFailureError), not
// a short page, except when every failure is a lost search context, which
// counts as an expired PIT.
type Reader struct {
	client *Client
	req    ReadRequest
	cursor Cursor
	seen   map[string]struct{}
	// skipTime is the LastTime at which the reader resumed or restarted,
	// or "". Only at that timestamp can a hit have been returned before,
	// so only there are seen ids skipped.
	skipTime string
	done     bool
	closed   bool
	resumes  int
}

// NewReader returns a reader for req, starting at from when it is not nil
// (a Cursor saved from an earlier reader) or at the beginning. It sends no
// request; an invalid req fails on the first Next.
func (c *Client) NewReader(req ReadRequest, from *Cursor) *Reader {
	r := &Reader{client: c, req: req, seen: map[string]struct{}{}}
	if from != nil {
		r.cursor = cloneCursor(*from)
		r.skipTime = r.cursor.LastTime
		for _, id := range r.cursor.SeenAtLastTime {
			r.seen[id] = struct{}{}
		}
	}
	return r
}

// Cursor returns the reader's position after the hits returned so far.
func (r *Reader) Cursor() Cursor { return cloneCursor(r.cursor) }

// Resumes returns how many times the reader reopened an expired point in
// time.
func (r *Reader) Resumes() int { return r.resumes }

func cloneCursor(c Cursor) Cursor {
	out := c
	out.SearchAfter = nil
	for _, v := range c.SearchAfter {
		out.SearchAfter = append(out.SearchAfter, bytes.Clone(v))
	}
	out.SeenAtLastTime = append([]string(nil), c.SeenAtLastTime...)
	return out
}

func (r *Reader) validate() error {
	if r.req.Index == "" {
		return errors.New("elasticsearch: reader: no index: set ReadRequest.Index")
	}
	if r.req.TimeField == "" {
		return errors.New("elasticsearch: reader: no time field: set ReadRequest.TimeField (DetectTimeField finds it)")
	}
	if r.req.PageSize < 0 || r.req.PageSize > MaxPageSize {
		return fmt.Errorf("elasticsearch: reader: page size %d is outside 1..%d", r.req.PageSize, MaxPageSize)
	}
	if r.req.KeepAlive < 0 {
		return fmt.Errorf("elasticsearch: reader: negative keep-alive %s", r.req.KeepAlive)
	}
	_, err := filterClauses(r.req.Query, r.req.TimeField, r.req.From, r.req.To)
	return err
}

// Next returns the next page of hits, in time order, or io.EOF after the
// last one. It never returns an empty page without an error.
func (r *Reader) Next(ctx context.Context) ([]Hit, error) {
	if r.closed {
		return nil, errors.New("elasticsearch: reader: Next after Close: create a new reader from the saved Cursor")
	}
	if r.done {
		return nil, io.EOF
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	resumesWithoutProgress := 0
	for {
		if r.cursor.PIT == "" {
			id, err := r.openPIT(ctx)
			if err != nil {
				return nil, err
			}
			r.cursor.PIT, r.cursor.SearchAfter = id, nil
		}
		page, err := r.search(ctx)
		if IsSearchContextMissing(err) {
			resumesWithoutProgress++
			if resumesWithoutProgress > maxResumesWithoutProgress {
				return nil, fmt.Errorf("elasticsearch: reader: the point in time expired %d times in a row before a page came back: raise ReadRequest.KeepAlive (now %s) or lower PageSize: %w",
					resumesWithoutProgress, r.keepAlive(), err)
			}
			r.resume(err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if page.PITID != "" {
			r.cursor.PIT = page.PITID
		}
		if len(page.Hits.Hits) == 0 {
			r.done = true
			return nil, io.EOF
		}
		hits, err := r.accept(page.Hits.Hits)
		if err != nil {
			return nil, err
		}
		if len(hits) > 0 {
			return hits, nil
		}
		// Every hit of the page was returned before a resume; read on.
		resumesWithoutProgress = 0
	}
}

// resume drops the expired point in time. The next search opens a new one
// and starts from LastTime, without search_after.
func (r *Reader) resume(cause error) {
	r.resumes++
	if r.client.logger != nil {
		r.client.logger.Warn("point in time expired; resuming from the last timestamp with a new one",
			"index", r.req.Index, "last_time", r.cursor.LastTime, "seen_at_last_time", len(r.seen), "error", cause)
	}
	r.cursor.PIT, r.cursor.SearchAfter = "", nil
	r.skipTime = r.cursor.LastTime
}

// accept returns the hits that were not returned before and moves the
// cursor past the whole page.
func (r *Reader) accept(raw []rawHit) ([]Hit, error) {
	hits := make([]Hit, 0, len(raw))
	for _, h := range raw {
		if len(h.Sort) < 2 {
			return nil, fmt.Errorf("elasticsearch: reader: hit %s of %s has %d sort values, want 2 (time and _shard_doc)", h.ID, h.Index, len(h.Sort))
		}
		ts, err := sortTime(h.Sort[0])
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: reader: hit %s of %s: %w", h.ID, h.Index, err)
		}
		order, known := compareSortTimes(ts, r.cursor.LastTime)
		switch {
		case known && order < 0:
			// Sorted before the last returned timestamp, so returned
			// before a resume. Only a document with several time values
			// does this: it sorts by the earliest but matches the range
			// by any.
			continue
		case known && order == 0:
			if _, dup := r.seen[h.ID]; dup && r.skipTime != "" {
				continue
			}
		default:
			r.skipTime = ""
			r.cursor.LastTime = ts
			r.cursor.SeenAtLastTime = r.cursor.SeenAtLastTime[:0]
			clear(r.seen)
		}
		r.cursor.SeenAtLastTime = append(r.cursor.SeenAtLastTime, h.ID)
		r.seen[h.ID] = struct{}{}
		hits = append(hits, Hit{ID: h.ID, Index: h.Index, Source: h.Source, Sort: h.Sort})
	}
	r.cursor.SearchAfter = slices.Clone(raw[len(raw)-1].Sort)
	return hits, nil
}

// compareSortTimes compares two time sort values as instants, returning
// -1, 0 or +1, and false when they differ and either does not parse (such
// as an empty LastTime). The server prints one
// instant the same way each time, so equal strings are the usual case.
// Parsing covers a cursor saved by a server that printed trailing fraction
// zeros differently.
func compareSortTimes(a, b string) (int, bool) {
	if a == b {
		return 0, true
	}
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA != nil || errB != nil {
		return 0, false
	}
	return ta.Compare(tb), true
}

// sortTime returns the time sort value, which the request's format makes a
// JSON string.
func sortTime(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || s == "" {
		return "", fmt.Errorf("time sort value %s is not a formatted date: the server ignored the sort format, which needs Elasticsearch 7.13 or later", raw)
	}
	return s, nil
}

func (r *Reader) keepAlive() time.Duration {
	if r.req.KeepAlive == 0 {
		return DefaultKeepAlive
	}
	return r.req.KeepAlive
}

// keepAliveParam writes the keep-alive in Elasticsearch time units.
func (r *Reader) keepAliveParam() string {
	return strconv.FormatInt(max(r.keepAlive().Milliseconds(), 1), 10) + "ms"
}

func (r *Reader) pageSize() int {
	if r.req.PageSize == 0 {
		return DefaultPageSize
	}
	return r.req.PageSize
}

func (r *Reader) openPIT(ctx context.Context) (string, error) {
	names, err := splitPattern(r.req.Index)
	if err != nil {
		return "", err
	}
	op := "POST /" + r.req.Index + "/_pit"
	body, err := r.client.do(ctx, op, esapi.OpenPointInTimeRequest{Index: names, KeepAlive: r.keepAliveParam()})
	if err != nil {
		return "", err
	}
	var resp struct {
		ID     string       `json:"id"`
		Shards shardsHeader `json:"_shards"`
	}
	if err := decodeJSON(op, body, &resp); err != nil {
		return "", err
	}
	if err := resp.Shards.check(op); err != nil {
		return "", err
	}
	if resp.ID == "" {
		return "", fmt.Errorf("elasticsearch: %s: the response has no point-in-time id", op)
	}
	return resp.ID, nil
}

// searchBody builds the request of the next page. Once a hit was returned,
// a second range starts at LastTime, inclusive: that is where a new PIT,
// searched without search_after, resumes.
func (r *Reader) searchBody() ([]byte, error) {
	filters, err := filterClauses(r.req.Query, "", time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	filters = append(filters, timeRange(r.req.TimeField, r.req.From, r.req.To))
	if r.cursor.LastTime != "" {
		filters = append(filters, map[string]any{"range": map[string]any{
			r.req.TimeField: map[string]any{"gte": r.cursor.LastTime, "format": nanosFormat},
		}})
	}
	body := map[string]any{
		"size":             r.pageSize(),
		"pit":              map[string]any{"id": r.cursor.PIT, "keep_alive": r.keepAliveParam()},
		"query":            boolFilter(filters),
		"sort":             sortClause(r.req.TimeField),
		"track_total_hits": false,
	}
	if len(r.cursor.SearchAfter) > 0 {
		body["search_after"] = r.cursor.SearchAfter
	}
	if len(r.req.SourceFields) > 0 {
		body["_source"] = r.req.SourceFields
	}
	return json.Marshal(body)
}

// sortClause sorts by the time field, formatted so its values keep
// nanoseconds, and then by _shard_doc.
func sortClause(timeField string) []any {
	return []any{
		map[string]any{timeField: map[string]any{"order": "asc", "format": nanosFormat, "numeric_type": "date_nanos"}},
		map[string]any{"_shard_doc": "asc"},
	}
}

// rawHit is one hit as the search response sends it.
type rawHit struct {
	Index  string            `json:"_index"`
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// searchPage is a search response as the reader reads it.
type searchPage struct {
	PITID    string       `json:"pit_id"`
	TimedOut bool         `json:"timed_out"`
	Shards   shardsHeader `json:"_shards"`
	Hits     struct {
		Hits []rawHit `json:"hits"`
	} `json:"hits"`
}

func (r *Reader) search(ctx context.Context) (*searchPage, error) {
	const op = "POST /_search"
	data, err := r.searchBody()
	if err != nil {
		return nil, err
	}
	body, err := r.client.do(ctx, op, esapi.SearchRequest{Body: bytes.NewReader(data), AllowPartialSearchResults: new(false)})
	if err != nil {
		return nil, err
	}
	return decodeSearchPage(op, body)
}

// decodeSearchPage decodes a reader page with goccy/go-json: _source and
// the sort values stay raw bytes, never decoded and encoded again. A page
// with shard failures, or one that timed out on the server, is an error.
func decodeSearchPage(op string, body []byte) (*searchPage, error) {
	var page searchPage
	if err := gojson.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("elasticsearch: %s: decoding the hits: %w", op, err)
	}
	if err := page.Shards.check(op); err != nil {
		return nil, err
	}
	if page.TimedOut {
		return nil, fmt.Errorf("elasticsearch: %s timed out on the server, so the page may be incomplete: lower the page size", op)
	}
	return &page, nil
}

// Close closes the point in time. It is safe to call more than once, and
// a point in time that already expired is not an error. The reader cannot
// be used after Close, but its Cursor can start a new reader.
func (r *Reader) Close(ctx context.Context) error {
	r.closed = true
	if r.cursor.PIT == "" {
		return nil
	}
	const op = "DELETE /_pit"
	data, err := json.Marshal(map[string]string{"id": r.cursor.PIT})
	if err != nil {
		return fmt.Errorf("elasticsearch: %s: encoding the request: %w", op, err)
	}
	r.cursor.PIT, r.cursor.SearchAfter = "", nil
	_, status, err := r.client.doStatus(ctx, op, esapi.ClosePointInTimeRequest{Body: bytes.NewReader(data)})
	if err != nil && status != 404 {
		return err
	}
	return nil
}
