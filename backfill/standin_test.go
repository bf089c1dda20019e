package backfill

// The Elasticsearch stand-in below is adapted from the reader tests'
// stand-in in connectors/elasticsearch/standin_test.go, which a test of
// another package cannot import. Changes: a point in time covers only the
// documents of the indices it was opened on, a short page and an empty
// page reuse the recorded last and empty pages, and the shard-failure and
// scroll features are left out.

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/internal/recording"
)

// nanosFormat is the date format the reader sorts and filters with.
const nanosFormat = "strict_date_optional_time_nanos"

// esStandIn is a stand-in for Elasticsearch 8, written by us for the
// backfill tests. It is neither Elasticsearch nor a recording: it keeps
// documents in memory and implements only what the point-in-time reader
// sends (POST /{index}/_pit, DELETE /_pit, POST /_search with a point in
// time, the sort [time, _shard_doc], search_after, and range and exists
// filters). Every response reuses the status, headers and body shape of a
// recorded exchange in testdata/recordings/elasticsearch-8:
//
//   - open_point_in_time__ok for a new point in time (id replaced),
//   - close_point_in_time__ok and close_point_in_time__not_found_404,
//   - search__pit_search_after_page1 for a full page,
//     search__pit_search_after_page2_last for a shorter one and
//     search__pit_search_after_page3_empty for an empty one (pit_id and
//     hits replaced, each hit shaped like the recorded first hit),
//   - error__search_context_missing_pit_404 for an unknown or expired
//     point in time,
//   - error__parsing_exception_400 for a request it does not understand.
//
// Each point in time numbers the documents afresh (shard and Lucene doc
// id), as a real cluster may after merges or relocations, so _shard_doc
// values of one point in time are meaningless in another. Time sort values
// are printed like Elasticsearch's strict_date_optional_time_nanos
// printer: UTC, with 3 to 9 fraction digits.
type esStandIn struct {
	*httptest.Server
	t         testing.TB
	timeField string

	open, closeOK, closeMissing, fullPage, lastPage, emptyPage, contextMissing, parsing *recording.Response

	mu        sync.Mutex
	docs      []standInDoc
	pits      map[string]*standInPIT
	pitSeq    int
	searchSeq int
	// expireBefore lists search numbers before which every point in time
	// expires.
	expireBefore map[int]bool
	searches     []standInSearch
}

type standInDoc struct {
	ID, Index string
	Time      time.Time
	Source    []byte
}

type standInPIT struct {
	// members are the positions in docs of the documents the point in time
	// covers: those of its indices that existed when it opened.
	members  map[int]bool
	shardDoc map[int]int64
}

// standInSearch is one search request the server received.
type standInSearch struct {
	PIT         string
	SearchAfter []json.RawMessage
	// LowerBounds are the gte values of the range filters on the time
	// field.
	LowerBounds []string
	Hits        int
	Expired     bool
}

func newESStandIn(t testing.TB, timeField string, docs []standInDoc) *esStandIn {
	t.Helper()
	load := func(name string) *recording.Response {
		return recording.MustLoad(t, "elasticsearch-8", name).Response
	}
	s := &esStandIn{
		t:              t,
		timeField:      timeField,
		open:           load("open_point_in_time__ok"),
		closeOK:        load("close_point_in_time__ok"),
		closeMissing:   load("close_point_in_time__not_found_404"),
		fullPage:       load("search__pit_search_after_page1"),
		lastPage:       load("search__pit_search_after_page2_last"),
		emptyPage:      load("search__pit_search_after_page3_empty"),
		contextMissing: load("error__search_context_missing_pit_404"),
		parsing:        load("error__parsing_exception_400"),
		docs:           docs,
		pits:           map[string]*standInPIT{},
		expireBefore:   map[int]bool{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// expireAtSearch makes every point in time expire before the given
// searches, counted from 1 over the server's life.
func (s *esStandIn) expireAtSearch(numbers ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		s.expireBefore[n] = true
	}
}

func (s *esStandIn) searchLog() []standInSearch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.searches)
}

func (s *esStandIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_pit"):
		s.openPIT(w, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/_pit"))
	case r.Method == http.MethodDelete && r.URL.Path == "/_pit":
		s.closePIT(w, body)
	case r.Method == http.MethodPost && r.URL.Path == "/_search":
		s.search(w, r, body)
	default:
		http.Error(w, "stand-in server: no handler for "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
	}
}

// indexMatches reports whether a comma-separated index pattern with `*`
// wildcards names index.
func indexMatches(pattern, index string) bool {
	for _, p := range strings.Split(pattern, ",") {
		if ok, _ := path.Match(strings.TrimSpace(p), index); ok {
			return true
		}
	}
	return false
}

func (s *esStandIn) openPIT(w http.ResponseWriter, pattern string) {
	s.pitSeq++
	id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "stand-in-pit-%d", s.pitSeq))
	pit := &standInPIT{members: map[int]bool{}, shardDoc: map[int]int64{}}
	// Spread the documents over three shards and give them shuffled
	// Lucene doc ids, different in every point in time.
	rng := rand.New(rand.NewPCG(uint64(s.pitSeq), 7))
	perShard := [3][]int{}
	for i, d := range s.docs {
		if !indexMatches(pattern, d.Index) {
			continue
		}
		pit.members[i] = true
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%d", d.ID, s.pitSeq)
		shard := h.Sum32() % 3
		perShard[shard] = append(perShard[shard], i)
	}
	for shard, members := range perShard {
		rng.Shuffle(len(members), func(a, b int) { members[a], members[b] = members[b], members[a] })
		for docID, i := range members {
			pit.shardDoc[i] = int64(shard)<<32 | int64(docID)
		}
	}
	s.pits[id] = pit
	m := decodeMap(s.t, s.open.Body)
	m["id"] = id
	s.write(w, s.open, m)
}

func (s *esStandIn) closePIT(w http.ResponseWriter, body []byte) {
	var req struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &req) != nil {
		s.writeRaw(w, s.parsing)
		return
	}
	if _, ok := s.pits[req.ID]; !ok {
		s.writeRaw(w, s.closeMissing)
		return
	}
	delete(s.pits, req.ID)
	s.writeRaw(w, s.closeOK)
}

type standInRequest struct {
	Size int `json:"size"`
	PIT  struct {
		ID        string `json:"id"`
		KeepAlive string `json:"keep_alive"`
	} `json:"pit"`
	Query struct {
		Bool struct {
			Filter []map[string]json.RawMessage `json:"filter"`
		} `json:"bool"`
	} `json:"query"`
	Sort        []map[string]json.RawMessage `json:"sort"`
	SearchAfter []json.RawMessage            `json:"search_after"`
}

// standInFilter is one parsed range filter.
type standInFilter struct {
	gte, lt *time.Time
}

func (s *esStandIn) search(w http.ResponseWriter, r *http.Request, body []byte) {
	s.searchSeq++
	logEntry := standInSearch{}
	defer func() { s.searches = append(s.searches, logEntry) }()

	var req standInRequest
	if err := json.Unmarshal(body, &req); err != nil || req.PIT.ID == "" || req.Size <= 0 || req.PIT.KeepAlive == "" {
		s.writeRaw(w, s.parsing)
		return
	}
	if r.URL.Query().Get("allow_partial_search_results") != "false" {
		s.t.Errorf("search without allow_partial_search_results=false: %s", r.URL.RawQuery)
	}
	logEntry.PIT, logEntry.SearchAfter = req.PIT.ID, req.SearchAfter
	if !s.validSort(req.Sort) {
		s.writeRaw(w, s.parsing)
		return
	}
	filters, lowerBounds, ok := s.parseFilters(req.Query.Bool.Filter)
	if !ok {
		s.writeRaw(w, s.parsing)
		return
	}
	logEntry.LowerBounds = lowerBounds
	if s.expireBefore[s.searchSeq] {
		clear(s.pits)
	}
	pit, ok := s.pits[req.PIT.ID]
	if !ok {
		logEntry.Expired = true
		s.writeRaw(w, s.contextMissing)
		return
	}
	afterTime, afterShardDoc, hasAfter, ok := parseSearchAfter(req.SearchAfter)
	if !ok {
		s.writeRaw(w, s.parsing)
		return
	}
	var matches []int
	for i := range pit.members {
		if !matchesAll(s.docs[i], filters) {
			continue
		}
		if hasAfter && compareKey(s.docs[i].Time, pit.shardDoc[i], afterTime, afterShardDoc) <= 0 {
			continue
		}
		matches = append(matches, i)
	}
	slices.SortFunc(matches, func(a, b int) int {
		return compareKey(s.docs[a].Time, pit.shardDoc[a], s.docs[b].Time, pit.shardDoc[b])
	})
	if len(matches) > req.Size {
		matches = matches[:req.Size]
	}
	logEntry.Hits = len(matches)
	s.writePage(w, req.PIT.ID, pit, matches, req.Size)
}

// validSort accepts only the sort the reader must send.
func (s *esStandIn) validSort(sort []map[string]json.RawMessage) bool {
	if len(sort) != 2 {
		return false
	}
	var timeSort struct {
		Order       string `json:"order"`
		Format      string `json:"format"`
		NumericType string `json:"numeric_type"`
	}
	if json.Unmarshal(sort[0][s.timeField], &timeSort) != nil {
		return false
	}
	var shardDoc string
	if json.Unmarshal(sort[1]["_shard_doc"], &shardDoc) != nil {
		return false
	}
	return timeSort.Order == "asc" && timeSort.Format == nanosFormat && timeSort.NumericType == "date_nanos" && shardDoc == "asc"
}

func (s *esStandIn) parseFilters(clauses []map[string]json.RawMessage) ([]standInFilter, []string, bool) {
	var filters []standInFilter
	var lowerBounds []string
	for _, clause := range clauses {
		switch {
		case clause["range"] != nil:
			var byField map[string]struct {
				Gte    *string `json:"gte"`
				Lt     *string `json:"lt"`
				Format string  `json:"format"`
			}
			if json.Unmarshal(clause["range"], &byField) != nil || len(byField) != 1 {
				return nil, nil, false
			}
			bounds, ok := byField[s.timeField]
			if !ok || bounds.Format != nanosFormat {
				return nil, nil, false
			}
			var f standInFilter
			if bounds.Gte != nil {
				t, err := time.Parse(time.RFC3339Nano, *bounds.Gte)
				if err != nil {
					return nil, nil, false
				}
				f.gte = &t
				lowerBounds = append(lowerBounds, *bounds.Gte)
			}
			if bounds.Lt != nil {
				t, err := time.Parse(time.RFC3339Nano, *bounds.Lt)
				if err != nil {
					return nil, nil, false
				}
				f.lt = &t
			}
			filters = append(filters, f)
		case clause["exists"] != nil:
			// Every stand-in document has the time field.
		default:
			return nil, nil, false
		}
	}
	return filters, lowerBounds, true
}

func matchesAll(d standInDoc, filters []standInFilter) bool {
	for _, f := range filters {
		if f.gte != nil && d.Time.Before(*f.gte) {
			return false
		}
		if f.lt != nil && !d.Time.Before(*f.lt) {
			return false
		}
	}
	return true
}

func parseSearchAfter(values []json.RawMessage) (time.Time, int64, bool, bool) {
	if len(values) == 0 {
		return time.Time{}, 0, false, true
	}
	if len(values) != 2 {
		return time.Time{}, 0, false, false
	}
	var ts string
	if json.Unmarshal(values[0], &ts) != nil {
		return time.Time{}, 0, false, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, 0, false, false
	}
	shardDoc, err := strconv.ParseInt(string(values[1]), 10, 64)
	if err != nil {
		return time.Time{}, 0, false, false
	}
	return t, shardDoc, true, true
}

func compareKey(t1 time.Time, sd1 int64, t2 time.Time, sd2 int64) int {
	if c := t1.Compare(t2); c != 0 {
		return c
	}
	return cmp.Compare(sd1, sd2)
}

// printNanos prints t as Elasticsearch's strict_date_optional_time_nanos
// printer does: UTC, at least 3 and at most 9 fraction digits.
func printNanos(t time.Time) string {
	t = t.UTC()
	fraction := strings.TrimRight(fmt.Sprintf("%09d", t.Nanosecond()), "0")
	for len(fraction) < 3 {
		fraction += "0"
	}
	return t.Format("2006-01-02T15:04:05") + "." + fraction + "Z"
}

func (s *esStandIn) writePage(w http.ResponseWriter, pitID string, pit *standInPIT, matches []int, size int) {
	recorded := s.fullPage
	switch {
	case len(matches) == 0:
		recorded = s.emptyPage
	case len(matches) < size:
		recorded = s.lastPage
	}
	m := decodeMap(s.t, recorded.Body)
	m["pit_id"] = pitID
	hitsBlock := m["hits"].(map[string]any)
	// The reader asks for no total (track_total_hits false), and then
	// Elasticsearch leaves it out.
	delete(hitsBlock, "total")
	template := decodeMap(s.t, s.fullPage.Body)["hits"].(map[string]any)["hits"].([]any)[0].(map[string]any)
	hits := make([]any, 0, len(matches))
	for _, i := range matches {
		d := s.docs[i]
		hit := map[string]any{}
		for k, v := range template {
			hit[k] = v
		}
		hit["_index"], hit["_id"] = d.Index, d.ID
		hit["_source"] = json.RawMessage(d.Source)
		hit["sort"] = []any{printNanos(d.Time), pit.shardDoc[i]}
		hits = append(hits, hit)
	}
	hitsBlock["hits"] = hits
	s.write(w, recorded, m)
}

func (s *esStandIn) write(w http.ResponseWriter, recorded *recording.Response, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		s.t.Errorf("stand-in server: encoding a response: %v", err)
	}
	(&recording.Response{Status: recorded.Status, Header: recorded.Header.Clone(), Body: data}).Write(w)
}

func (s *esStandIn) writeRaw(w http.ResponseWriter, recorded *recording.Response) {
	(&recording.Response{Status: recorded.Status, Header: recorded.Header.Clone(), Body: bytes.Clone(recorded.Body)}).Write(w)
}

// decodeMap decodes a recorded JSON body into a generic value.
func decodeMap(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return m
}
