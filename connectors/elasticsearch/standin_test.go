package elasticsearch

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/internal/recording"
)

// standInServer is a stand-in for Elasticsearch, written by us for the
// reader tests. It is neither Elasticsearch nor a recording: it keeps
// documents in memory and implements only what Reader sends, which are
// POST /{index}/_pit, DELETE /_pit and POST /_search with a point in time,
// the sort [time, _shard_doc], search_after, and bool filters of range,
// exists and term clauses. Every response reuses the status, headers and
// body shape of a recorded exchange:
//
//   - open_point_in_time__ok for a new PIT (id replaced),
//   - close_point_in_time__ok and close_point_in_time__not_found_404,
//   - search__pit_search_after_page1 for a page (pit_id and hits replaced,
//     each hit shaped like the recorded first hit),
//   - error__search_context_missing_pit_404 for an unknown or expired PIT,
//   - search__shard_failures_partial_results for shard failures,
//   - error__parsing_exception_400 for a request it does not understand.
//
// Each PIT numbers the documents afresh (shard and Lucene doc id), as a
// real cluster may after merges or relocations, so _shard_doc values of
// one PIT are meaningless in another. The time sort values are printed
// like Elasticsearch's strict_date_optional_time_nanos printer: UTC, with
// 3 to 9 fraction digits.
type standInServer struct {
	*httptest.Server
	t         testing.TB
	timeField string

	open, closeOK, closeMissing, page, contextMissing, shardFailures, parsing *recording.Response

	mu   sync.Mutex
	docs []standInDoc
	pits map[string]*standInPIT
	// pitSeq numbers the PITs opened so far.
	pitSeq int
	// searchSeq numbers the searches received so far.
	searchSeq int
	// expireBefore lists search numbers before which every PIT expires.
	expireBefore map[int]bool
	// partialExpiry makes an expired search return 200 with
	// search_context_missing shard failures instead of a 404.
	partialExpiry bool
	// failBefore lists search numbers that get the recorded shard
	// failures as their response.
	failBefore map[int]bool
	searches   []standInSearch
	closed     int
}

type standInDoc struct {
	ID, Index string
	Time      time.Time
	Source    []byte
}

type standInPIT struct {
	// visible is how many documents existed when the PIT opened.
	visible int
	// shardDoc is each document's _shard_doc in this PIT.
	shardDoc []int64
}

// standInSearch is one search request the server received.
type standInSearch struct {
	PIT         string
	SearchAfter []json.RawMessage
	// LowerBounds are the gte values of the range filters on the time
	// field.
	LowerBounds []string
	Size        int
	Hits        int
	// LastHitTime is the time sort value of the page's last hit.
	LastHitTime string
	Expired     bool
}

func newStandInServer(t testing.TB, timeField string, docs []standInDoc) *standInServer {
	t.Helper()
	s := &standInServer{
		t:              t,
		timeField:      timeField,
		open:           load(t, "open_point_in_time__ok").Response,
		closeOK:        load(t, "close_point_in_time__ok").Response,
		closeMissing:   load(t, "close_point_in_time__not_found_404").Response,
		page:           load(t, "search__pit_search_after_page1").Response,
		contextMissing: load(t, "error__search_context_missing_pit_404").Response,
		shardFailures:  load(t, "search__shard_failures_partial_results").Response,
		parsing:        load(t, "error__parsing_exception_400").Response,
		docs:           docs,
		pits:           map[string]*standInPIT{},
		expireBefore:   map[int]bool{},
		failBefore:     map[int]bool{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// expireAtSearch makes every PIT expire before the given searches (counted
// from 1 over the server's life).
func (s *standInServer) expireAtSearch(numbers ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		s.expireBefore[n] = true
	}
}

// expireNow drops every open PIT, as keep-alive expiry would.
func (s *standInServer) expireNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.pits)
}

func (s *standInServer) addDocs(docs ...standInDoc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs = append(s.docs, docs...)
}

func (s *standInServer) openPITs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pits)
}

func (s *standInServer) searchLog() []standInSearch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.searches)
}

func (s *standInServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_pit"):
		s.openPIT(w)
	case r.Method == http.MethodDelete && r.URL.Path == "/_pit":
		s.closePIT(w, body)
	case r.Method == http.MethodPost && r.URL.Path == "/_search":
		s.search(w, r, body)
	default:
		http.Error(w, "stand-in server: no handler for "+r.Method+" "+r.URL.Path, http.StatusNotImplemented)
	}
}

func (s *standInServer) openPIT(w http.ResponseWriter) {
	s.pitSeq++
	id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "stand-in-pit-%d", s.pitSeq))
	pit := &standInPIT{visible: len(s.docs), shardDoc: make([]int64, len(s.docs))}
	// Spread the documents over three shards and give them shuffled
	// Lucene doc ids, different in every PIT.
	rng := rand.New(rand.NewPCG(uint64(s.pitSeq), 7))
	perShard := [3][]int{}
	for i, d := range s.docs {
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

func (s *standInServer) closePIT(w http.ResponseWriter, body []byte) {
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
	s.closed++
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

// standInFilter is one parsed filter clause.
type standInFilter struct {
	gte, lt   *time.Time
	termField string
	termValue string
}

func (s *standInServer) search(w http.ResponseWriter, r *http.Request, body []byte) {
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
	logEntry.PIT, logEntry.SearchAfter, logEntry.Size = req.PIT.ID, req.SearchAfter, req.Size
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
	if s.failBefore[s.searchSeq] {
		s.writeRaw(w, s.shardFailures)
		return
	}
	pit, ok := s.pits[req.PIT.ID]
	if !ok {
		logEntry.Expired = true
		s.writeExpired(w)
		return
	}

	afterTime, afterShardDoc, hasAfter, ok := parseSearchAfter(req.SearchAfter)
	if !ok {
		s.writeRaw(w, s.parsing)
		return
	}
	var matches []int
	for i := range pit.visible {
		d := s.docs[i]
		if !matchesAll(d, filters) {
			continue
		}
		if hasAfter && compareKey(d.Time, pit.shardDoc[i], afterTime, afterShardDoc) <= 0 {
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
	if len(matches) > 0 {
		logEntry.LastHitTime = printNanos(s.docs[matches[len(matches)-1]].Time)
	}
	s.writePage(w, req.PIT.ID, pit, matches)
}

// validSort accepts only the sort Reader must send.
func (s *standInServer) validSort(sort []map[string]json.RawMessage) bool {
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
	return timeSort == struct {
		Order       string `json:"order"`
		Format      string `json:"format"`
		NumericType string `json:"numeric_type"`
	}{"asc", nanosFormat, "date_nanos"} && shardDoc == "asc"
}

func (s *standInServer) parseFilters(clauses []map[string]json.RawMessage) ([]standInFilter, []string, bool) {
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
		case clause["term"] != nil:
			var term map[string]string
			if json.Unmarshal(clause["term"], &term) != nil || len(term) != 1 {
				return nil, nil, false
			}
			for field, value := range term {
				filters = append(filters, standInFilter{termField: field, termValue: value})
			}
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
		if f.termField != "" {
			var src map[string]any
			if json.Unmarshal(d.Source, &src) != nil || src[f.termField] != f.termValue {
				return false
			}
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

func (s *standInServer) writePage(w http.ResponseWriter, pitID string, pit *standInPIT, matches []int) {
	m := decodeMap(s.t, s.page.Body)
	m["pit_id"] = pitID
	hitsBlock := m["hits"].(map[string]any)
	recordedHit := hitsBlock["hits"].([]any)[0].(map[string]any)
	// The reader asks for no total (track_total_hits false), and then
	// Elasticsearch leaves it out.
	delete(hitsBlock, "total")
	hits := make([]any, 0, len(matches))
	for _, i := range matches {
		d := s.docs[i]
		hit := map[string]any{}
		for k, v := range recordedHit {
			hit[k] = v
		}
		hit["_index"], hit["_id"] = d.Index, d.ID
		hit["_source"] = json.RawMessage(d.Source)
		hit["sort"] = []any{printNanos(d.Time), pit.shardDoc[i]}
		hits = append(hits, hit)
	}
	hitsBlock["hits"] = hits
	s.write(w, s.page, m)
}

func (s *standInServer) writeExpired(w http.ResponseWriter) {
	if !s.partialExpiry {
		s.writeRaw(w, s.contextMissing)
		return
	}
	// A 200 whose every shard failed with search_context_missing: the
	// shard failures recording with the reason of the 404 recording.
	m := decodeMap(s.t, s.shardFailures.Body)
	missing := decodeMap(s.t, s.contextMissing.Body)["error"].(map[string]any)["root_cause"].([]any)[0]
	shards := m["_shards"].(map[string]any)
	for _, f := range shards["failures"].([]any) {
		f.(map[string]any)["reason"] = missing
	}
	m["hits"] = map[string]any{"max_score": nil, "hits": []any{}}
	s.write(w, s.shardFailures, m)
}

func (s *standInServer) write(w http.ResponseWriter, recorded *recording.Response, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		s.t.Errorf("stand-in server: encoding a response: %v", err)
	}
	withBody(recorded, data).Write(w)
}

func (s *standInServer) writeRaw(w http.ResponseWriter, recorded *recording.Response) {
	withBody(recorded, bytes.Clone(recorded.Body)).Write(w)
}
