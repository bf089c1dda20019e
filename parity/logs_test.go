package parity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/plans"
)

// ---------------------------------------------------------------------------
// Elasticsearch stand-in

// esStandIn is a stand-in for Elasticsearch 8, written for these tests. It is
// neither Elasticsearch nor a recording: it keeps documents in memory and
// implements what the parity checks send, which are GET /_cat/indices/P,
// GET /P, POST /P/_count, POST /P/_pit, POST /_search with a point in time
// and DELETE /_pit. Queries may combine bool (filter, must, must_not,
// should), range on the time field, term, match, match_phrase, match_all,
// match_none, exists, a query_string of one field:value term and a
// multi_match phrase on the message field. Anything else gets the recorded
// parsing_exception. Every response
// reuses the status, headers and body shape of a recorded exchange:
// cat_indices__format_json, count__term_query, open_point_in_time__ok,
// search__pit_search_after_page1, close_point_in_time__ok and
// error__parsing_exception_400.
type esStandIn struct {
	*httptest.Server
	t         testing.TB
	timeField string

	catIndices, count, openPIT, page, closePIT, parsing *recording.Response

	mu   sync.Mutex
	docs []esDoc // sorted by time
	// indexBytes is the primary store size of each index; replicas double it.
	indexBytes map[string]int64
	delay      time.Duration
	counts     int
	pits       int
	// bodies keeps the _count bodies received.
	bodies []string
}

type esDoc struct {
	id, index string
	at        time.Time
	fields    map[string]string
}

func newESStandIn(t testing.TB, timeField string, docs []esDoc) *esStandIn {
	t.Helper()
	load := func(name string) *recording.Response {
		return recording.MustLoad(t, "elasticsearch-8", name).Response
	}
	s := &esStandIn{
		t: t, timeField: timeField,
		catIndices: load("cat_indices__format_json"),
		count:      load("count__term_query"),
		openPIT:    load("open_point_in_time__ok"),
		page:       load("search__pit_search_after_page1"),
		closePIT:   load("close_point_in_time__ok"),
		parsing:    load("error__parsing_exception_400"),
		indexBytes: map[string]int64{},
	}
	s.setDocs(docs)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *esStandIn) setDocs(docs []esDoc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs = slices.Clone(docs)
	slices.SortStableFunc(s.docs, func(a, b esDoc) int { return a.at.Compare(b.at) })
}

func (s *esStandIn) client(t testing.TB, timeout time.Duration) *elasticsearch.Client {
	t.Helper()
	c, err := elasticsearch.New(elasticsearch.Config{
		URLs: []string{s.URL}, Timeout: timeout, MaxAttempts: 1,
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *esStandIn) countRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

func (s *esStandIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/_cat/indices/"):
		s.serveCat(w, strings.TrimPrefix(p, "/_cat/indices/"))
	case strings.HasSuffix(p, "/_count"):
		s.counts++
		s.bodies = append(s.bodies, string(body))
		s.serveCount(w, strings.Trim(strings.TrimSuffix(p, "/_count"), "/"), body)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/_pit"):
		s.pits++
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s|%d", strings.Trim(strings.TrimSuffix(p, "/_pit"), "/"), s.pits))
		s.writeJSON(w, s.openPIT, map[string]any{"id": id, "_shards": map[string]int{"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
	case r.Method == http.MethodDelete && p == "/_pit":
		s.write(w, s.closePIT, s.closePIT.Body)
	case r.Method == http.MethodPost && p == "/_search":
		s.serveSearch(w, body)
	case r.Method == http.MethodGet && strings.Count(p, "/") == 1:
		// GET /P with filter_path *.data_stream,*.settings.index.hidden:
		// plain visible indices have neither, and Elasticsearch then sends
		// an empty object.
		s.write(w, s.catIndices, []byte("{}"))
	default:
		http.Error(w, "stand-in: no handler for "+r.Method+" "+p, http.StatusNotImplemented)
	}
}

func (s *esStandIn) write(w http.ResponseWriter, rec *recording.Response, body []byte) {
	(&recording.Response{Status: rec.Status, Header: rec.Header.Clone(), Body: body}).Write(w)
}

func (s *esStandIn) writeJSON(w http.ResponseWriter, rec *recording.Response, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.t.Errorf("stand-in: %v", err)
	}
	s.write(w, rec, data)
}

// matchIndex reports whether index matches a comma-separated pattern list.
func matchIndex(pattern, index string) bool {
	for _, p := range strings.Split(pattern, ",") {
		if ok, _ := path.Match(p, index); ok {
			return true
		}
	}
	return false
}

func (s *esStandIn) serveCat(w http.ResponseWriter, pattern string) {
	perIndex := map[string]int{}
	for _, d := range s.docs {
		if matchIndex(pattern, d.index) {
			perIndex[d.index]++
		}
	}
	for name := range s.indexBytes {
		if _, ok := perIndex[name]; !ok && matchIndex(pattern, name) {
			perIndex[name] = 0
		}
	}
	rows := []map[string]string{}
	for _, name := range sortedKeys(perIndex) {
		primary := s.indexBytes[name]
		rows = append(rows, map[string]string{
			"health": "green", "status": "open", "index": name,
			"docs.count":     strconv.Itoa(perIndex[name]),
			"store.size":     strconv.FormatInt(2*primary, 10),
			"pri.store.size": strconv.FormatInt(primary, 10),
		})
	}
	s.writeJSON(w, s.catIndices, rows)
}

// matching returns the documents of pattern that query matches.
func (s *esStandIn) matching(pattern string, query json.RawMessage) ([]esDoc, bool) {
	pred, ok := s.compile(query)
	if !ok {
		return nil, false
	}
	// Narrow by the time range first: the 100,000-document test counts
	// every bucket.
	lo, hi := 0, len(s.docs)
	if from, to, ok := s.timeBounds(query); ok {
		lo = sort.Search(len(s.docs), func(i int) bool { return !s.docs[i].at.Before(from) })
		hi = sort.Search(len(s.docs), func(i int) bool { return !s.docs[i].at.Before(to) })
	}
	var out []esDoc
	for _, d := range s.docs[lo:max(lo, hi)] {
		if matchIndex(pattern, d.index) && pred(d) {
			out = append(out, d)
		}
	}
	return out, true
}

// tokens splits text as Elasticsearch's standard analyzer does for plain
// ASCII words and numbers: at every other character, lowercased.
func tokens(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// timeBounds finds a [gte, lt) range on the time field among the top-level
// bool filters.
func (s *esStandIn) timeBounds(query json.RawMessage) (time.Time, time.Time, bool) {
	var q struct {
		Bool struct {
			Filter []map[string]map[string]map[string]string `json:"filter"`
		} `json:"bool"`
	}
	if json.Unmarshal(query, &q) != nil {
		return time.Time{}, time.Time{}, false
	}
	for _, f := range q.Bool.Filter {
		if b, ok := f["range"][s.timeField]; ok && b["gte"] != "" && b["lt"] != "" {
			from, err1 := time.Parse(time.RFC3339Nano, b["gte"])
			to, err2 := time.Parse(time.RFC3339Nano, b["lt"])
			if err1 == nil && err2 == nil {
				return from, to, true
			}
		}
	}
	return time.Time{}, time.Time{}, false
}

type esPredicate func(esDoc) bool

// compile turns one query clause into a predicate; ok is false for a
// clause the stand-in does not implement.
func (s *esStandIn) compile(raw json.RawMessage) (esPredicate, bool) {
	var q map[string]json.RawMessage
	if json.Unmarshal(raw, &q) != nil || len(q) != 1 {
		return nil, false
	}
	for kind, body := range q {
		switch kind {
		case "match_all":
			return func(esDoc) bool { return true }, true
		case "match_none":
			return func(esDoc) bool { return false }, true
		case "bool":
			return s.compileBool(body)
		case "range":
			return s.compileRange(body)
		case "query_string":
			// Only a single field:value term, which the tests send.
			var qs struct{ Query string }
			if json.Unmarshal(body, &qs) != nil {
				return nil, false
			}
			field, value, ok := strings.Cut(qs.Query, ":")
			if !ok || strings.ContainsAny(value, ` *?()\"`) {
				return nil, false
			}
			return func(d esDoc) bool { return d.fields[field] == value }, true
		case "multi_match":
			// Free text on the default field, message: a phrase of
			// lowercased alphanumeric tokens.
			var mm struct {
				Query  string   `json:"query"`
				Type   string   `json:"type"`
				Fields []string `json:"fields"`
			}
			if json.Unmarshal(body, &mm) != nil || mm.Type != "phrase" || len(mm.Fields) > 0 {
				return nil, false
			}
			want := tokens(mm.Query)
			return func(d esDoc) bool {
				have := tokens(d.fields["message"])
				for i := 0; i+len(want) <= len(have); i++ {
					if slices.Equal(have[i:i+len(want)], want) {
						return true
					}
				}
				return false
			}, true
		case "term", "match", "match_phrase":
			var m map[string]json.RawMessage
			if json.Unmarshal(body, &m) != nil || len(m) != 1 {
				return nil, false
			}
			for field, v := range m {
				var value string
				if json.Unmarshal(v, &value) != nil {
					var obj struct {
						Value *string `json:"value"`
						Query *string `json:"query"`
					}
					if json.Unmarshal(v, &obj) != nil {
						return nil, false
					}
					switch {
					case obj.Value != nil:
						value = *obj.Value
					case obj.Query != nil:
						value = *obj.Query
					default:
						return nil, false
					}
				}
				return func(d esDoc) bool { return d.fields[field] == value }, true
			}
		case "exists":
			var e struct{ Field string }
			if json.Unmarshal(body, &e) != nil {
				return nil, false
			}
			return func(d esDoc) bool {
				_, ok := d.fields[e.Field]
				return ok || e.Field == s.timeField
			}, true
		}
	}
	return nil, false
}

func (s *esStandIn) compileBool(body json.RawMessage) (esPredicate, bool) {
	var b map[string]json.RawMessage
	if json.Unmarshal(body, &b) != nil {
		return nil, false
	}
	compiled := map[string][]esPredicate{}
	for key, raw := range b {
		switch key {
		case "minimum_should_match":
			continue
		case "filter", "must", "must_not", "should":
		default:
			return nil, false
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			list = []json.RawMessage{raw}
		}
		for _, c := range list {
			p, ok := s.compile(c)
			if !ok {
				return nil, false
			}
			compiled[key] = append(compiled[key], p)
		}
	}
	return func(d esDoc) bool {
		for _, key := range []string{"filter", "must"} {
			for _, p := range compiled[key] {
				if !p(d) {
					return false
				}
			}
		}
		for _, p := range compiled["must_not"] {
			if p(d) {
				return false
			}
		}
		if len(compiled["should"]) == 0 {
			return true
		}
		for _, p := range compiled["should"] {
			if p(d) {
				return true
			}
		}
		return false
	}, true
}

func (s *esStandIn) compileRange(body json.RawMessage) (esPredicate, bool) {
	var r map[string]map[string]string
	if json.Unmarshal(body, &r) != nil || len(r) != 1 {
		return nil, false
	}
	b, ok := r[s.timeField]
	if !ok {
		return nil, false
	}
	var tests []func(time.Time) bool
	for op, v := range b {
		if op == "format" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, false
		}
		switch op {
		case "gte":
			tests = append(tests, func(t time.Time) bool { return !t.Before(at) })
		case "gt":
			tests = append(tests, func(t time.Time) bool { return t.After(at) })
		case "lt":
			tests = append(tests, func(t time.Time) bool { return t.Before(at) })
		case "lte":
			tests = append(tests, func(t time.Time) bool { return !t.After(at) })
		default:
			return nil, false
		}
	}
	return func(d esDoc) bool {
		for _, test := range tests {
			if !test(d.at) {
				return false
			}
		}
		return true
	}, true
}

func (s *esStandIn) serveCount(w http.ResponseWriter, pattern string, body []byte) {
	var req struct {
		Query json.RawMessage `json:"query"`
	}
	if len(body) > 0 && json.Unmarshal(body, &req) != nil {
		s.write(w, s.parsing, s.parsing.Body)
		return
	}
	if req.Query == nil {
		req.Query = json.RawMessage(`{"match_all":{}}`)
	}
	docs, ok := s.matching(pattern, req.Query)
	if !ok {
		s.write(w, s.parsing, s.parsing.Body)
		return
	}
	s.writeJSON(w, s.count, map[string]any{
		"count":   len(docs),
		"_shards": map[string]int{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
	})
}

func (s *esStandIn) serveSearch(w http.ResponseWriter, body []byte) {
	var req struct {
		Size int `json:"size"`
		PIT  struct {
			ID string `json:"id"`
		} `json:"pit"`
		Query       json.RawMessage `json:"query"`
		SearchAfter []any           `json:"search_after"`
	}
	if json.Unmarshal(body, &req) != nil || req.PIT.ID == "" || req.Size <= 0 {
		s.write(w, s.parsing, s.parsing.Body)
		return
	}
	decoded, err := base64.StdEncoding.DecodeString(req.PIT.ID)
	if err != nil {
		s.write(w, s.parsing, s.parsing.Body)
		return
	}
	pattern, _, _ := strings.Cut(string(decoded), "|")
	if len(req.SearchAfter) > 0 {
		s.t.Errorf("stand-in: the parity sample sent search_after, which it should not need")
	}
	docs, ok := s.matching(pattern, req.Query)
	if !ok {
		s.write(w, s.parsing, s.parsing.Body)
		return
	}
	docs = docs[:min(len(docs), req.Size)]
	hits := make([]map[string]any, len(docs))
	for i, d := range docs {
		ts := d.at.UTC().Format("2006-01-02T15:04:05.000000000Z")
		hits[i] = map[string]any{
			"_index": d.index, "_id": d.id, "_score": nil,
			"_source": map[string]any{s.timeField: ts},
			"sort":    []any{ts, i},
		}
	}
	var page map[string]any
	if err := json.Unmarshal(s.page.Body, &page); err != nil {
		s.t.Fatal(err)
	}
	page["pit_id"] = req.PIT.ID
	block := page["hits"].(map[string]any)
	delete(block, "total")
	block["hits"] = hits
	s.writeJSON(w, s.page, page)
}

// ---------------------------------------------------------------------------
// Loki stand-in

// lokiStandIn is a stand-in for Loki 3.7.6, written for these tests. It is
// neither Loki nor a recording: it keeps entries in memory and serves the
// queries the parity checks send. It reproduces the behaviour the checks
// depend on, as recorded or documented for Loki 3.7.6:
//
//   - An entry with the same stream, timestamp, line and structured metadata
//     is stored once (query_range_duplicates_deduplicated).
//   - count_over_time over [RANGE] offset O at time t counts entries in
//     (t-O-RANGE, t-O].
//   - The query frontend rounds a range query's start down and its end up to
//     multiples of the step before it evaluates.
//   - max_query_length and the 11,000-point limit reject a request with the
//     recorded 400 messages.
//
// It reads only the query forms the checks write: sum(count_over_time(LOG
// [RANGE] offset 1ns)), and log queries of a stream selector followed by
// `|= "text"`, `|~ "regex"` and `| es_id=~"..."` stages. Responses reuse the recorded
// bodies of query_instant_vector, query_range_matrix_sum_count_over_time,
// query_range_streams_categorize_labels, index_stats,
// err_query_logql_parse_error_400, err_query_max_query_length_exceeded_400
// and err_query_too_many_points_400.
type lokiStandIn struct {
	*httptest.Server
	t testing.TB

	vector, matrix, streams, stats, parseError, tooLong, tooManyPoints *recording.Response

	mu      sync.Mutex
	entries map[string]lokiEntry
	// sorted caches the entries in time order; nil after a push.
	sorted         []lokiEntry
	maxQueryLength time.Duration
	delay          time.Duration
	queries        []string
}

type lokiEntry struct {
	labels map[string]string
	at     time.Time
	line   string
	esID   string
}

func newLokiStandIn(t testing.TB) *lokiStandIn {
	t.Helper()
	load := func(name string) *recording.Response {
		return recording.MustLoad(t, "loki-3.7.6", name).Response
	}
	s := &lokiStandIn{
		t:             t,
		vector:        load("query_instant_vector"),
		matrix:        load("query_range_matrix_sum_count_over_time"),
		streams:       load("query_range_streams_categorize_labels"),
		stats:         load("index_stats"),
		parseError:    load("err_query_logql_parse_error_400"),
		tooLong:       load("err_query_max_query_length_exceeded_400"),
		tooManyPoints: load("err_query_too_many_points_400"),
		entries:       map[string]lokiEntry{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *lokiStandIn) client(t testing.TB, timeout time.Duration) *loki.Client {
	t.Helper()
	c, err := loki.New(loki.Config{
		URL: s.URL, Timeout: timeout, MaxAttempts: 1,
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// push stores an entry unless an identical one is stored.
func (s *lokiStandIn) push(e lokiEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", loki.LabelString(e.labels), e.at.UnixNano(), e.line, e.esID)
	s.entries[key] = e
	s.sorted = nil
}

func (s *lokiStandIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *lokiStandIn) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

func (s *lokiStandIn) inOrder() []lokiEntry {
	if s.sorted == nil {
		for _, e := range s.entries {
			s.sorted = append(s.sorted, e)
		}
		slices.SortFunc(s.sorted, func(a, b lokiEntry) int { return a.at.Compare(b.at) })
	}
	return s.sorted
}

var countPattern = regexp.MustCompile(`^sum\(count_over_time\((.+) \[([0-9]+(?:ms|s|m|h))\] offset 1ns\)\)$`)

// lokiLogQuery is a parsed log query of the forms the stand-in reads.
type lokiLogQuery struct {
	matchers    []matcher
	contains    []string
	lineRegexps []*regexp.Regexp
	esID        *regexp.Regexp
}

func parseLokiLogQuery(q string) (lokiLogQuery, bool) {
	matchers, rest, err := parseSelector(q)
	if err != nil {
		return lokiLogQuery{}, false
	}
	out := lokiLogQuery{matchers: matchers}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		switch {
		case strings.HasPrefix(rest, "|="):
			v, r, err := readQuoted(strings.TrimSpace(rest[2:]))
			if err != nil {
				return lokiLogQuery{}, false
			}
			out.contains, rest = append(out.contains, v), r
		case strings.HasPrefix(rest, "|~"):
			v, r, err := readQuoted(strings.TrimSpace(rest[2:]))
			if err != nil {
				return lokiLogQuery{}, false
			}
			re, err := regexp.Compile(v)
			if err != nil {
				return lokiLogQuery{}, false
			}
			out.lineRegexps, rest = append(out.lineRegexps, re), r
		case strings.HasPrefix(rest, "| es_id=~"):
			v, r, err := readQuoted(strings.TrimSpace(strings.TrimPrefix(rest, "| es_id=~")))
			if err != nil {
				return lokiLogQuery{}, false
			}
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				return lokiLogQuery{}, false
			}
			out.esID, rest = re, r
		default:
			return lokiLogQuery{}, false
		}
	}
	return out, true
}

func (q lokiLogQuery) matches(e lokiEntry) bool {
	for _, m := range q.matchers {
		v := e.labels[m.name]
		switch m.op {
		case "=":
			if v != m.value {
				return false
			}
		case "!=":
			if v == m.value {
				return false
			}
		case "=~", "!~":
			re := regexp.MustCompile("^(?:" + m.value + ")$")
			if re.MatchString(v) != (m.op == "=~") {
				return false
			}
		}
	}
	for _, c := range q.contains {
		if !strings.Contains(e.line, c) {
			return false
		}
	}
	for _, re := range q.lineRegexps {
		if !re.MatchString(e.line) {
			return false
		}
	}
	return q.esID == nil || q.esID.MatchString(e.esID)
}

// countIn counts matching entries with time in (from, to].
func (s *lokiStandIn) countIn(q lokiLogQuery, from, to time.Time) int {
	all := s.inOrder()
	lo := sort.Search(len(all), func(i int) bool { return all[i].at.After(from) })
	n := 0
	for _, e := range all[lo:] {
		if e.at.After(to) {
			break
		}
		if q.matches(e) {
			n++
		}
	}
	return n
}

func (s *lokiStandIn) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	s.queries = append(s.queries, q.Get("query"))
	switch r.URL.Path {
	case "/loki/api/v1/query":
		s.serveInstant(w, q)
	case "/loki/api/v1/query_range":
		s.serveRange(w, r, q)
	case "/loki/api/v1/index/stats":
		s.serveStats(w, q)
	default:
		http.Error(w, "stand-in: no handler for "+r.URL.Path, http.StatusNotImplemented)
	}
}

func (s *lokiStandIn) writeData(w http.ResponseWriter, rec *recording.Response, update func(data map[string]any)) {
	var body map[string]any
	if err := json.Unmarshal(rec.Body, &body); err != nil {
		s.t.Fatal(err)
	}
	update(body["data"].(map[string]any))
	data, err := json.Marshal(body)
	if err != nil {
		s.t.Fatal(err)
	}
	(&recording.Response{Status: rec.Status, Header: rec.Header.Clone(), Body: data}).Write(w)
}

func nanosParam(v string) (time.Time, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n).UTC(), true
}

func parseCount(query string) (lokiLogQuery, time.Duration, bool) {
	m := countPattern.FindStringSubmatch(query)
	if m == nil {
		return lokiLogQuery{}, 0, false
	}
	q, ok := parseLokiLogQuery(m[1])
	if !ok {
		return lokiLogQuery{}, 0, false
	}
	rng, err := time.ParseDuration(m[2])
	return q, rng, err == nil
}

func (s *lokiStandIn) tooLongFor(length time.Duration) bool {
	return s.maxQueryLength > 0 && length > s.maxQueryLength
}

func (s *lokiStandIn) serveInstant(w http.ResponseWriter, params map[string][]string) {
	get := func(k string) string {
		if v := params[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	q, rng, ok := parseCount(get("query"))
	at, okTime := nanosParam(get("time"))
	if !ok || !okTime {
		s.parseError.Write(w)
		return
	}
	if s.tooLongFor(rng + time.Nanosecond) {
		s.tooLong.Write(w)
		return
	}
	evalAt := at.Add(-time.Nanosecond)
	n := s.countIn(q, evalAt.Add(-rng), evalAt)
	s.writeData(w, s.vector, func(data map[string]any) {
		result := []any{}
		if n > 0 {
			result = append(result, map[string]any{"metric": map[string]any{}, "value": []any{float64(at.UnixMilli()) / 1000, strconv.Itoa(n)}})
		}
		data["result"] = result
	})
}

func (s *lokiStandIn) serveRange(w http.ResponseWriter, r *http.Request, params map[string][]string) {
	get := func(k string) string {
		if v := params[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	start, ok1 := nanosParam(get("start"))
	end, ok2 := nanosParam(get("end"))
	if !ok1 || !ok2 {
		s.parseError.Write(w)
		return
	}
	if q, rng, ok := parseCount(get("query")); ok {
		stepSeconds, err := strconv.ParseFloat(get("step"), 64)
		if err != nil || stepSeconds <= 0 {
			s.parseError.Write(w)
			return
		}
		step := time.Duration(stepSeconds * float64(time.Second))
		// The query frontend's step alignment.
		start = time.Unix(0, floorDiv(start.UnixNano(), int64(step))*int64(step)).UTC()
		if mod := end.UnixNano() % int64(step); mod != 0 {
			end = end.Add(step - time.Duration(mod))
		}
		if s.tooLongFor(end.Sub(start) + rng + time.Nanosecond) {
			s.tooLong.Write(w)
			return
		}
		if end.Sub(start)/step+1 > lokiMaxPoints {
			s.tooManyPoints.Write(w)
			return
		}
		var values []any
		for t := start; !t.After(end); t = t.Add(step) {
			evalAt := t.Add(-time.Nanosecond)
			if n := s.countIn(q, evalAt.Add(-rng), evalAt); n > 0 {
				values = append(values, []any{float64(t.UnixMilli()) / 1000, strconv.Itoa(n)})
			}
		}
		s.writeData(w, s.matrix, func(data map[string]any) {
			result := []any{}
			if len(values) > 0 {
				result = append(result, map[string]any{"metric": map[string]any{}, "values": values})
			}
			data["result"] = result
		})
		return
	}
	q, ok := parseLokiLogQuery(get("query"))
	if !ok {
		s.parseError.Write(w)
		return
	}
	if s.tooLongFor(end.Sub(start)) {
		s.tooLong.Write(w)
		return
	}
	limit, _ := strconv.Atoi(get("limit"))
	categorize := r.Header.Get("X-Loki-Response-Encoding-Flags") == "categorize-labels"
	type stream struct {
		labels map[string]string
		values []any
	}
	byStream := map[string]*stream{}
	var order []string
	n := 0
	for _, e := range s.inOrder() {
		if e.at.Before(start) || !e.at.Before(end) || !q.matches(e) {
			continue
		}
		if limit > 0 && n >= limit {
			break
		}
		n++
		labels := e.labels
		value := []any{strconv.FormatInt(e.at.UnixNano(), 10), e.line}
		if categorize {
			value = append(value, map[string]any{"structuredMetadata": map[string]string{"es_id": e.esID}})
		} else {
			labels = map[string]string{"es_id": e.esID}
			for k, v := range e.labels {
				labels[k] = v
			}
		}
		key := loki.LabelString(labels)
		st, ok := byStream[key]
		if !ok {
			st = &stream{labels: labels}
			byStream[key] = st
			order = append(order, key)
		}
		st.values = append(st.values, value)
	}
	s.writeData(w, s.streams, func(data map[string]any) {
		result := []any{}
		for _, key := range order {
			result = append(result, map[string]any{"stream": byStream[key].labels, "values": byStream[key].values})
		}
		data["result"] = result
		if !categorize {
			delete(data, "encodingFlags")
		}
	})
}

func (s *lokiStandIn) serveStats(w http.ResponseWriter, params map[string][]string) {
	get := func(k string) string {
		if v := params[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	q, ok := parseLokiLogQuery(get("query"))
	start, ok1 := nanosParam(get("start"))
	end, ok2 := nanosParam(get("end"))
	if !ok || !ok1 || !ok2 {
		s.parseError.Write(w)
		return
	}
	streams := map[string]bool{}
	var entries, bytes int
	for _, e := range s.inOrder() {
		if e.at.Before(start) || !e.at.Before(end) || !q.matches(e) {
			continue
		}
		streams[loki.LabelString(e.labels)] = true
		entries++
		bytes += len(e.line)
	}
	body := fmt.Sprintf(`{"streams":%d,"chunks":%d,"bytes":%d,"entries":%d}`+"\n", len(streams), len(streams), bytes, entries)
	(&recording.Response{Status: s.stats.Status, Header: s.stats.Header.Clone(), Body: []byte(body)}).Write(w)
}

// ---------------------------------------------------------------------------
// Fixtures

// testWindow is the window of most tests: one hour on the hour.
var testWindow = Window{
	From: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	To:   time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC),
}

// testPlan returns a plan with one logs entry, {source="filebeat"}.
func testPlan(completenessMin float64) *plans.Plan {
	p := plans.Default()
	p.Metadata.Name = "test-plan"
	p.Logs = []plans.LogMapping{{
		Indices:      "filebeat-*",
		Timestamp:    "@timestamp",
		StaticLabels: map[string]string{"source": "filebeat"},
		Line:         "message",
	}}
	p.Phases.ParallelRun.Parity.CompletenessMin = completenessMin
	p.Phases.Translate.Out = "does-not-exist"
	return &p
}

// logFixture holds n documents spread evenly over the window, each also
// written to Loki as the gateway would.
type logFixture struct {
	es   *esStandIn
	loki *lokiStandIn
	docs []esDoc
}

func newLogFixture(t testing.TB, n int, w Window) *logFixture {
	t.Helper()
	docs := make([]esDoc, n)
	span := w.To.Sub(w.From)
	for i := range docs {
		at := w.From.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		level := []string{"info", "error"}[i%2]
		docs[i] = esDoc{
			id: fmt.Sprintf("doc-%06d", i), index: "filebeat-2026.03.01", at: at,
			fields: map[string]string{"message": fmt.Sprintf("line %d level=%s", i, level), "level": level},
		}
	}
	f := &logFixture{es: newESStandIn(t, "@timestamp", docs), loki: newLokiStandIn(t), docs: docs}
	f.es.indexBytes["filebeat-2026.03.01"] = int64(n) * 200
	for _, d := range docs {
		f.loki.push(gatewayEntry(d))
	}
	return f
}

// gatewayEntry is the Loki entry the gateway writes for d.
func gatewayEntry(d esDoc) lokiEntry {
	return lokiEntry{
		labels: map[string]string{"source": "filebeat", "service_name": "filebeat", "level": d.fields["level"]},
		at:     d.at, line: d.fields["message"], esID: d.id,
	}
}

func (f *logFixture) options(t testing.TB, p *plans.Plan) Options {
	return Options{
		Plan:    p,
		Window:  testWindow,
		Sources: Sources{Elasticsearch: f.es.client(t, 5*time.Second), Loki: f.loki.client(t, 5*time.Second)},
		Rand:    rand.New(rand.NewPCG(1, 2)),
	}
}

func runLogCheck(t testing.TB, opts Options) Check {
	t.Helper()
	r, rng, err := newRun(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r.logCompleteness(t.Context(), rng)
}

func metricNamed(c Check, name string) (Metric, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// ---------------------------------------------------------------------------
// Tests

// One document in 100,000 missing from Loki must fail at completeness_min
// 1.0: the count is exact, and the check never rounds it away.
func TestLogCompletenessOneMissingIn100000(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t, 100000, testWindow)
	missing := f.docs[73123]
	f.loki.mu.Lock()
	for k, e := range f.loki.entries {
		if e.esID == missing.id {
			delete(f.loki.entries, k)
		}
	}
	f.loki.sorted = nil
	f.loki.mu.Unlock()
	if got := f.loki.count(); got != 99999 {
		t.Fatalf("the Loki stand-in holds %d entries, want 99999", got)
	}

	c := runLogCheck(t, f.options(t, testPlan(1.0)))
	if c.Verdict != Fail {
		t.Fatalf("verdict %s, want FAIL; summary %q, reason %q", c.Verdict, c.Summary, c.Reason)
	}
	m, ok := metricNamed(c, "completeness")
	if !ok {
		t.Fatalf("no completeness metric in %+v", c.Metrics)
	}
	if m.Value != 0.99999 || m.Pass {
		t.Errorf("completeness metric %+v, want value 0.99999 and not passing", m)
	}
	missingMetric, _ := metricNamed(c, "missing_documents")
	if missingMetric.Value != 1 || missingMetric.Threshold != 0 || missingMetric.Pass {
		t.Errorf("missing_documents metric %+v, want 1 against 0, failing", missingMetric)
	}
	var gap []Bucket
	for _, b := range c.Buckets {
		if b.Old != b.New {
			gap = append(gap, b)
		}
	}
	if len(gap) != 1 || gap[0].Old-gap[0].New != 1 || !gap[0].Start.Equal(time.Date(2026, 3, 1, 10, 42, 30, 0, time.UTC)) {
		t.Errorf("buckets that differ: %+v, want one bucket at 10:42:30 short by one", gap)
	}
	if !strings.Contains(c.Reason, "missing 1 of 100,000") {
		t.Errorf("reason %q does not name the missing document", c.Reason)
	}
	if n := f.es.countRequests(); n != 24 {
		// One count per bucket; the sample reads with a point in time.
		t.Errorf("Elasticsearch received %d _count requests, want 24, one per bucket", n)
	}
}

// The same check with the default 0.999 passes: 1 in 100,000 is within it.
func TestLogCompletenessWithinThreshold(t *testing.T) {
	t.Parallel()
	f := newLogFixture(t, 100000, testWindow)
	f.loki.mu.Lock()
	for k, e := range f.loki.entries {
		if e.esID == f.docs[10].id {
			delete(f.loki.entries, k)
		}
	}
	f.loki.sorted = nil
	f.loki.mu.Unlock()
	c := runLogCheck(t, f.options(t, testPlan(0.999)))
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q, reason %q", c.Verdict, c.Summary, c.Reason)
	}
	if !strings.Contains(c.Summary, "1 missing") {
		t.Errorf("summary %q does not report the missing document", c.Summary)
	}
}

// A document the gateway pushed twice is stored once by Loki, so it is
// neither a loss nor an extra. Two Elasticsearch documents with the same
// time and line but different _id values are two entries in Loki, because
// their es_id differs, and both count.
func TestLogCompletenessDedupeNotALoss(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	retried := f.docs[500]
	f.loki.push(gatewayEntry(retried)) // the gateway's retry of the same push
	twin := retried
	twin.id = "doc-twin"
	f.docs = append(f.docs, twin)
	f.es.setDocs(f.docs)
	f.loki.push(gatewayEntry(twin))
	if got := f.loki.count(); got != 1001 {
		t.Fatalf("the Loki stand-in holds %d entries, want 1001 (retry stored once, twin kept)", got)
	}

	c := runLogCheck(t, f.options(t, testPlan(1.0)))
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q, reason %q", c.Verdict, c.Summary, c.Reason)
	}
	if !strings.Contains(c.Summary, "0 missing, 0 extra") {
		t.Errorf("summary %q, want 0 missing and 0 extra", c.Summary)
	}
	for _, b := range c.Buckets {
		if b.Old != b.New {
			t.Errorf("bucket %s: %d documents, %d entries", b.Start, b.Old, b.New)
		}
	}
}

// Extra entries in Loki are reported, not hidden, and never make up for
// missing ones in another bucket.
func TestLogCompletenessExtraReported(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	for i := range 5 {
		f.loki.push(lokiEntry{
			labels: map[string]string{"source": "filebeat", "migrate_backfill": "0"},
			at:     testWindow.From.Add(time.Duration(i) * time.Second), line: "written twice", esID: fmt.Sprintf("doc-%06d", i),
		})
	}
	c := runLogCheck(t, f.options(t, testPlan(1.0)))
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS with extras; summary %q, reason %q", c.Verdict, c.Summary, c.Reason)
	}
	if !strings.Contains(c.Summary, "5 extra") {
		t.Errorf("summary %q does not report 5 extra entries", c.Summary)
	}
	if !slices.ContainsFunc(c.Groups[0].Notes, func(n string) bool { return strings.Contains(n, "5 entries more") }) {
		t.Errorf("group notes %q do not explain the extra entries", c.Groups[0].Notes)
	}

	// Now one document of the last bucket is missing: the extras of the
	// first bucket must not hide it.
	last := f.docs[len(f.docs)-1]
	f.loki.mu.Lock()
	for k, e := range f.loki.entries {
		if e.esID == last.id {
			delete(f.loki.entries, k)
		}
	}
	f.loki.sorted = nil
	f.loki.mu.Unlock()
	c = runLogCheck(t, f.options(t, testPlan(1.0)))
	if c.Verdict != Fail {
		t.Fatalf("verdict %s, want FAIL: extras in one bucket hid a loss in another; summary %q", c.Verdict, c.Summary)
	}
}

// Documents exactly on bucket edges and on the window's ends are counted in
// the same bucket on both stacks.
func TestLogCompletenessBucketEdges(t *testing.T) {
	w := Window{From: testWindow.From.Add(7 * time.Minute), To: testWindow.To.Add(13 * time.Minute)}
	var docs []esDoc
	add := func(at time.Time) {
		docs = append(docs, esDoc{id: fmt.Sprintf("edge-%d", len(docs)), index: "filebeat-x", at: at, fields: map[string]string{"message": "m", "level": "info"}})
	}
	add(w.From)                                        // first instant of the window
	add(w.To)                                          // first instant after it
	add(w.To.Add(-time.Nanosecond))                    // last instant in it
	add(time.Date(2026, 3, 1, 10, 10, 0, 0, time.UTC)) // on a bucket edge
	add(time.Date(2026, 3, 1, 10, 9, 59, 999999999, time.UTC))
	add(w.From.Add(-time.Nanosecond)) // before the window
	f := &logFixture{es: newESStandIn(t, "@timestamp", docs), loki: newLokiStandIn(t), docs: docs}
	for _, d := range docs {
		f.loki.push(gatewayEntry(d))
	}
	opts := f.options(t, testPlan(1.0))
	opts.Window = w
	opts.Bucket = 5 * time.Minute
	c := runLogCheck(t, opts)
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q, reason %q, groups %+v", c.Verdict, c.Summary, c.Reason, c.Groups)
	}
	var old, new int64
	for _, b := range c.Buckets {
		old += b.Old
		new += b.New
		if b.Old != b.New {
			t.Errorf("bucket %s: %d documents, %d entries", b.Start, b.Old, b.New)
		}
	}
	if old != 4 || new != 4 {
		t.Errorf("counted %d documents and %d entries in the window, want 4 and 4", old, new)
	}
	if first := c.Buckets[0].Start; !first.Equal(w.From) {
		t.Errorf("first bucket starts at %s, want the window's start %s", first, w.From)
	}
}

// A window longer than Loki's max_query_length is counted in pieces that
// each fit the limit.
func TestLogCompletenessSplitsLongWindow(t *testing.T) {
	w := Window{From: testWindow.From, To: testWindow.From.Add(48 * time.Hour)}
	f := newLogFixture(t, 2000, w)
	f.loki.maxQueryLength = 10 * time.Hour
	opts := f.options(t, testPlan(1.0))
	opts.Window = w
	opts.Bucket = time.Hour
	lokiClient := f.loki.client(t, 5*time.Second)
	lokiClient.SetLimits(loki.Limits{MaxQueryLength: 10 * time.Hour})
	opts.Sources.Loki = lokiClient
	c := runLogCheck(t, opts)
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q, reason %q", c.Verdict, c.Summary, c.Reason)
	}
	if !strings.Contains(c.Summary, "2,000 of 2,000") {
		t.Errorf("summary %q, want all 2,000 documents", c.Summary)
	}
	ranges := 0
	for _, q := range f.loki.received() {
		if strings.HasPrefix(q, "sum(count_over_time(") {
			ranges++
		}
	}
	if ranges < 5 {
		t.Errorf("Loki received %d count queries for 48 buckets under a 10h limit, want at least 5", ranges)
	}
}

// A mapping without static labels has no selector of its own when the plan
// has several entries, so it is INCONCLUSIVE, not PASS.
func TestLogCompletenessUnselectableMapping(t *testing.T) {
	f := newLogFixture(t, 100, testWindow)
	p := testPlan(1.0)
	p.Logs = append(p.Logs, plans.LogMapping{Indices: "other-*", Labels: map[string]string{"app": "app.name"}})
	c := runLogCheck(t, f.options(t, p))
	if c.Verdict != Inconclusive {
		t.Fatalf("verdict %s, want INCONCLUSIVE", c.Verdict)
	}
	if !strings.Contains(c.Reason, "static_labels") {
		t.Errorf("reason %q does not say to add static_labels", c.Reason)
	}
}

// An index pattern that matches no index is INCONCLUSIVE: zero documents
// on both sides would otherwise pass.
func TestLogCompletenessNoIndex(t *testing.T) {
	f := newLogFixture(t, 10, testWindow)
	p := testPlan(1.0)
	p.Logs[0].Indices = "nothing-*"
	c := runLogCheck(t, f.options(t, p))
	if c.Verdict != Inconclusive || !strings.Contains(c.Reason, `no Elasticsearch index matches "nothing-*"`) {
		t.Fatalf("verdict %s reason %q, want INCONCLUSIVE naming the pattern", c.Verdict, c.Reason)
	}
}

// The membership sample finds documents missing from Loki and lists their
// _id values.
func TestLogCompletenessSampleFindsMissing(t *testing.T) {
	f := newLogFixture(t, 200, testWindow)
	// Every entry of the first half hour is written under another stream,
	// so the counts of those buckets fall short and the sample misses them.
	f.loki.mu.Lock()
	for k, e := range f.loki.entries {
		if e.at.Before(testWindow.From.Add(30 * time.Minute)) {
			delete(f.loki.entries, k)
		}
	}
	f.loki.sorted = nil
	f.loki.mu.Unlock()
	opts := f.options(t, testPlan(0.5))
	opts.SampleIDs = 40
	c := runLogCheck(t, opts)
	m, ok := metricNamed(c, "sampled_ids_found")
	if !ok {
		t.Fatalf("no sampled_ids_found metric in %+v", c.Metrics)
	}
	if m.Value >= 1 {
		t.Errorf("sampled_ids_found %v, want below 1 with half the entries gone", m.Value)
	}
	if len(c.Groups[0].Examples) == 0 || !strings.HasPrefix(c.Groups[0].Examples[0], "doc-") {
		t.Errorf("examples %q, want missing _id values", c.Groups[0].Examples)
	}
}

func TestBucketGrid(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		window Window
		size   time.Duration
		want   []bucketRange
	}{
		{"aligned", Window{at(10, 0), at(12, 0)}, time.Hour, []bucketRange{{at(10, 0), at(11, 0)}, {at(11, 0), at(12, 0)}}},
		{"partial ends", Window{at(10, 7), at(11, 13)}, time.Hour, []bucketRange{{at(10, 7), at(11, 0)}, {at(11, 0), at(11, 13)}}},
		{"inside one bucket", Window{at(10, 7), at(10, 9)}, time.Hour, []bucketRange{{at(10, 7), at(10, 9)}}},
		{"minutes", Window{at(10, 0), at(10, 3)}, time.Minute, []bucketRange{{at(10, 0), at(10, 1)}, {at(10, 1), at(10, 2)}, {at(10, 2), at(10, 3)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bucketGrid(tt.window, tt.size)
			if !slices.Equal(got, tt.want) {
				t.Errorf("bucketGrid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLokiDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{time.Hour, "1h"},
		{90 * time.Minute, "90m"},
		{90 * time.Second, "90s"},
		{1500 * time.Millisecond, "1500ms"},
		{721 * time.Hour, "721h"},
	}
	for _, tt := range tests {
		if got := lokiDuration(tt.in); got != tt.want {
			t.Errorf("lokiDuration(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTally(t *testing.T) {
	buckets := bucketGrid(testWindow, 20*time.Minute)
	tests := []struct {
		name           string
		old, new       []int64
		missing, extra int64
		completeness   float64
		missingBuckets int
	}{
		{"equal", []int64{5, 5, 5}, []int64{5, 5, 5}, 0, 0, 1, 0},
		{"offsetting buckets", []int64{5, 5, 5}, []int64{6, 4, 5}, 1, 1, 14.0 / 15, 1},
		{"no documents", []int64{0, 0, 0}, []int64{0, 2, 0}, 0, 2, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tally(buckets, logBucketCounts{old: tt.old, new: tt.new})
			if got.missing != tt.missing || got.extra != tt.extra || got.missingBuckets != tt.missingBuckets {
				t.Errorf("tally = %+v, want missing %d extra %d in %d buckets", got, tt.missing, tt.extra, tt.missingBuckets)
			}
			if got.completeness() != tt.completeness {
				t.Errorf("completeness %v, want %v", got.completeness(), tt.completeness)
			}
		})
	}
}

func TestLogTargets(t *testing.T) {
	p := testPlan(1)
	p.Logs = []plans.LogMapping{
		{Indices: "a-*", StaticLabels: map[string]string{"source": "a", "env": "prod"}},
		{Indices: "b-*", StaticLabels: map[string]string{"env": "prod", "source": "a"}},
		{Indices: "c-*", StaticLabels: map[string]string{"source": "c\"q"}},
	}
	got := logTargets(p)
	if len(got) != 2 {
		t.Fatalf("%d targets, want 2: %+v", len(got), got)
	}
	if got[0].selector != `{env="prod", source="a"}` || len(got[0].mappings) != 2 {
		t.Errorf("first target %+v, want a-* and b-* under one selector", got[0])
	}
	if got[1].selector != `{source="c\"q"}` {
		t.Errorf("second selector %s", got[1].selector)
	}

	single := testPlan(1)
	single.Logs[0].StaticLabels = nil
	if got := logTargets(single); got[0].selector != `{service_name=~".+"}` || len(got[0].notes) == 0 {
		t.Errorf("single mapping without static labels: %+v, want the fallback selector with a note", got[0])
	}
}

// Every LogQL string the log checks send parses with Grafana's LogQL
// grammar.
func TestGeneratedLogQLParses(t *testing.T) {
	sel := staticSelector(map[string]string{"source": "file\"beat", "env": "prod"})
	queries := []string{
		countQuery(sel, time.Hour),
		countQuery(sel+" |= `error`", 1500*time.Millisecond),
		countQuery(`{service_name=~".+"}`, 90*time.Second),
		sel + ` | es_id=~` + "`doc\\-1|doc\\.2`",
	}
	var qs []grammar.Query
	for _, q := range queries {
		qs = append(qs, grammar.Query{Lang: grammar.LangLogQL, Text: q})
	}
	grammartest.RequireValid(t, qs)
}
