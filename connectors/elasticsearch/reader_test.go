package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

var (
	readerBase = time.Date(2099, 11, 15, 13, 0, 0, 0, time.UTC)
	// tieTime is the timestamp of mixedDocs' 2,500-document tie group.
	tieTime = readerBase.Add(700 * time.Millisecond)
)

func standInDocAt(n int, at time.Time) standInDoc {
	index := ".ds-logs-app-default-2099.11.15-000001"
	if n%2 == 1 {
		index = ".ds-logs-app-default-2099.11.15-000002"
	}
	level := "info"
	if n%5 == 0 {
		level = "error"
	}
	src := fmt.Sprintf(`{"@timestamp":%q,"message":"doc %d","level":%q}`, printNanos(at), n, level)
	return standInDoc{ID: fmt.Sprintf("doc-%05d", n), Index: index, Time: at, Source: []byte(src)}
}

// tiedDocs returns n documents that share one timestamp.
func tiedDocs(n int, at time.Time) []standInDoc {
	docs := make([]standInDoc, n)
	for i := range docs {
		docs[i] = standInDocAt(i, at)
	}
	return docs
}

// mixedDocs returns 3,835 documents in a shuffled order: 600 with distinct
// timestamps, a tie group of 2,500, neighbours 1 ns apart (some tied),
// groups of 1 to 7 ties, and a last tie group of 300.
func mixedDocs() []standInDoc {
	var docs []standInDoc
	add := func(at time.Time) { docs = append(docs, standInDocAt(len(docs), at)) }
	for i := range 600 {
		add(readerBase.Add(time.Duration(i) * time.Millisecond))
	}
	for range 2500 {
		add(tieTime)
	}
	for i := 1; i <= 20; i++ {
		add(tieTime.Add(time.Duration(i) * time.Nanosecond))
	}
	for range 5 {
		add(tieTime.Add(21 * time.Nanosecond))
	}
	at := tieTime.Add(time.Second)
	for i := 0; len(docs) < 3535; i++ {
		for range i%7 + 1 {
			add(at)
		}
		at = at.Add(time.Millisecond)
	}
	docs = docs[:3535]
	for range 300 {
		add(at.Add(time.Minute))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
	return docs
}

// readAll reads r to the end and returns the ids in read order. After
// each page it calls next, which may return another reader to go on with.
func readAll(t *testing.T, r *Reader, next func(page int, r *Reader) *Reader) []string {
	t.Helper()
	var ids []string
	lastTime := time.Time{}
	for page := 1; page < 100000; page++ {
		hits, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return ids
		}
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if len(hits) == 0 {
			t.Fatalf("page %d: Next returned no hit and no error", page)
		}
		for _, h := range hits {
			ts, err := sortTime(h.Sort[0])
			if err != nil {
				t.Fatal(err)
			}
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				t.Fatal(err)
			}
			if at.Before(lastTime) {
				t.Fatalf("hit %s at %s came after a hit at %s", h.ID, ts, printNanos(lastTime))
			}
			lastTime = at
			ids = append(ids, h.ID)
		}
		if next != nil {
			r = next(page, r)
		}
	}
	t.Fatal("reader did not end")
	return nil
}

// checkExactlyOnce fails unless ids holds every document once.
func checkExactlyOnce(t *testing.T, docs []standInDoc, ids []string) {
	t.Helper()
	counts := map[string]int{}
	for _, id := range ids {
		counts[id]++
	}
	missing, repeated := 0, 0
	for _, d := range docs {
		switch counts[d.ID] {
		case 0:
			missing++
		case 1:
		default:
			repeated++
		}
		delete(counts, d.ID)
	}
	if missing > 0 || repeated > 0 || len(counts) > 0 {
		t.Errorf("read %d hits for %d documents: %d missing, %d read more than once, %d unknown",
			len(ids), len(docs), missing, repeated, len(counts))
	}
}

func TestReaderTieGroupOf2500(t *testing.T) {
	docs := tiedDocs(2500, readerBase)
	srv := newStandInServer(t, "@timestamp", docs)
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: 1000}, nil)

	var seenCounts []int
	ids := readAll(t, r, func(_ int, r *Reader) *Reader {
		seenCounts = append(seenCounts, len(r.Cursor().SeenAtLastTime))
		return r
	})
	checkExactlyOnce(t, docs, ids)
	if want := []int{1000, 2000, 2500}; !slices.Equal(seenCounts, want) {
		t.Errorf("ids seen at the tie time after each page: %v, want %v", seenCounts, want)
	}
	if r.Resumes() != 0 {
		t.Errorf("resumes %d, want 0", r.Resumes())
	}
	log := srv.searchLog()
	if len(log) != 4 {
		t.Fatalf("%d searches, want 4 (three pages and an empty one)", len(log))
	}
	for i, s := range log[1:] {
		if len(s.SearchAfter) != 2 {
			t.Errorf("search %d: search_after %s, want the previous page's last sort", i+2, s.SearchAfter)
		}
	}
}

func TestReaderResumesAfterExpiry(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		expire   []int
		partial  bool
	}{
		{"inside the tie group", 1000, []int{2}, false},
		{"twice in a row", 1000, []int{2, 3}, false},
		{"several points", 1000, []int{2, 4, 5}, false},
		{"small pages", 300, []int{2, 3, 6, 9, 12, 15}, false},
		{"tiny pages", 7, everyNth(13, 700), false},
		{"as shard failures in a 200", 1000, []int{2, 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := mixedDocs()
			srv := newStandInServer(t, "@timestamp", docs)
			srv.expireAtSearch(tt.expire...)
			srv.partialExpiry = tt.partial
			c, _ := newTestClient(t, srv.URL, nil)
			r := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: tt.pageSize}, nil)

			ids := readAll(t, r, nil)
			checkExactlyOnce(t, docs, ids)

			log := srv.searchLog()
			expired := 0
			lastHitTime := ""
			for i, s := range log {
				if !s.Expired {
					if s.LastHitTime != "" {
						lastHitTime = s.LastHitTime
					}
					continue
				}
				expired++
				if i+1 >= len(log) {
					t.Fatalf("search %d expired and no search followed", i+1)
				}
				retry := log[i+1]
				if len(retry.SearchAfter) != 0 {
					t.Errorf("search %d after an expiry sent search_after %s from the old point in time", i+2, retry.SearchAfter)
				}
				if retry.PIT == s.PIT {
					t.Errorf("search %d after an expiry reused the expired point in time", i+2)
				}
				if lastHitTime != "" && !slices.Contains(retry.LowerBounds, lastHitTime) {
					t.Errorf("search %d after an expiry has lower bounds %v, want the last timestamp %s among them", i+2, retry.LowerBounds, lastHitTime)
				}
			}
			if expired == 0 {
				t.Fatal("no search expired: the test covers nothing")
			}
			if r.Resumes() != expired {
				t.Errorf("resumes %d, want %d", r.Resumes(), expired)
			}
		})
	}
}

func everyNth(n, limit int) []int {
	var out []int
	for i := n; i <= limit; i += n {
		out = append(out, i)
	}
	return out
}

func TestReaderResumesFromSavedCursor(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		// expireAfterSave expires every PIT right after the cursor of
		// these pages is saved, so the new reader finds its PIT gone.
		expireAfterSave []int
		expire          []int
	}{
		{"point in time still open", 1000, nil, nil},
		{"expired before restore", 1000, []int{1, 2}, nil},
		{"expired before and after restore", 300, []int{1, 4, 5, 9}, []int{3, 8, 14}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := mixedDocs()
			srv := newStandInServer(t, "@timestamp", docs)
			srv.expireAtSearch(tt.expire...)
			req := ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: tt.pageSize}
			c, _ := newTestClient(t, srv.URL, nil)
			r := c.NewReader(req, nil)

			resumes := 0
			ids := readAll(t, r, func(page int, r *Reader) *Reader {
				resumes += r.Resumes()
				saved, err := json.Marshal(r.Cursor())
				if err != nil {
					t.Fatal(err)
				}
				if slices.Contains(tt.expireAfterSave, page) {
					srv.expireNow()
				}
				// A new process: new client, new reader, the cursor
				// read back from its JSON.
				var cursor Cursor
				if err := json.Unmarshal(saved, &cursor); err != nil {
					t.Fatal(err)
				}
				c2, _ := newTestClient(t, srv.URL, nil)
				return c2.NewReader(req, &cursor)
			})
			checkExactlyOnce(t, docs, ids)
			expiries := len(tt.expireAfterSave) + len(tt.expire)
			if expiries > 0 && resumes == 0 {
				t.Errorf("no reader resumed, though %d expiries were set", expiries)
			}
			if expiries == 0 && resumes != 0 {
				t.Errorf("readers resumed %d times without an expiry", resumes)
			}
		})
	}
}

func TestReaderRestoreKeepsOpenPIT(t *testing.T) {
	docs := tiedDocs(2500, readerBase)
	srv := newStandInServer(t, "@timestamp", docs)
	req := ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: 1000}
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(req, nil)
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	cursor := r.Cursor()

	r2 := c.NewReader(req, &cursor)
	if _, err := r2.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := srv.searchLog()
	last := log[len(log)-1]
	if last.PIT != cursor.PIT {
		t.Errorf("restored reader searched point in time %q, want the cursor's %q", last.PIT, cursor.PIT)
	}
	if diff := cmp.Diff(rawStrings(cursor.SearchAfter), rawStrings(last.SearchAfter)); diff != "" {
		t.Errorf("restored reader's search_after differs from the cursor's (-cursor +sent):\n%s", diff)
	}
	if srv.pitSeq != 1 {
		t.Errorf("%d points in time opened, want 1", srv.pitSeq)
	}
}

func rawStrings(values []json.RawMessage) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

func TestReaderReadsLateArrivalsOnce(t *testing.T) {
	docs := tiedDocs(2500, readerBase)
	srv := newStandInServer(t, "@timestamp", docs)
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: 1000}, nil)

	var late, early []standInDoc
	for i := range 10 {
		late = append(late, standInDocAt(5000+i, readerBase))
		late = append(late, standInDocAt(6000+i, readerBase.Add(time.Second)))
		early = append(early, standInDocAt(7000+i, readerBase.Add(-time.Second)))
	}
	ids := readAll(t, r, func(page int, r *Reader) *Reader {
		if page == 1 {
			srv.addDocs(slices.Concat(late, early)...)
			srv.expireNow()
		}
		return r
	})
	// The new point in time contains the documents indexed since the
	// first one opened. Those at or after the last timestamp are read, and
	// the earlier ones are not, as Reader documents.
	checkExactlyOnce(t, slices.Concat(docs, late), ids)
}

func TestReaderExpiresEveryTime(t *testing.T) {
	srv := newStandInServer(t, "@timestamp", tiedDocs(50, readerBase))
	srv.expireAtSearch(everyNth(1, 20)...)
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", KeepAlive: time.Second}, nil)
	_, err := r.Next(context.Background())
	if err == nil {
		t.Fatal("Next succeeded although every point in time expired")
	}
	if !IsSearchContextMissing(err) {
		t.Errorf("IsSearchContextMissing(%v) = false, want true", err)
	}
	if !strings.Contains(err.Error(), "KeepAlive") {
		t.Errorf("error %q does not tell to raise KeepAlive", err)
	}
}

func TestReaderShardFailures(t *testing.T) {
	srv := newStandInServer(t, "@timestamp", tiedDocs(50, readerBase))
	srv.failBefore[1] = true
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp"}, nil)
	hits, err := r.Next(context.Background())
	var sfe *ShardFailureError
	if !errors.As(err, &sfe) {
		t.Fatalf("Next = %d hits, %v; want a *ShardFailureError", len(hits), err)
	}
	if sfe.Failed != 2 || sfe.Total != 8 || len(sfe.Failures) != 2 {
		t.Errorf("failed %d of %d with %d failures, want 2 of 8 with 2", sfe.Failed, sfe.Total, len(sfe.Failures))
	}
	if IsSearchContextMissing(err) {
		t.Error("an illegal_argument shard failure counts as an expired point in time")
	}
	if r.Resumes() != 0 {
		t.Errorf("resumes %d, want 0", r.Resumes())
	}
}

func TestReaderFiltersAndTimeRange(t *testing.T) {
	docs := mixedDocs()
	srv := newStandInServer(t, "@timestamp", docs)
	srv.expireAtSearch(3, 7)
	c, _ := newTestClient(t, srv.URL, nil)
	from, to := readerBase.Add(100*time.Millisecond), tieTime.Add(time.Second+50*time.Millisecond)
	r := c.NewReader(ReadRequest{
		Index: "logs-app-default", TimeField: "@timestamp", PageSize: 200,
		From: from, To: to, Query: json.RawMessage(`{"term":{"level":"error"}}`),
	}, nil)
	ids := readAll(t, r, nil)

	var want []standInDoc
	for _, d := range docs {
		if !d.Time.Before(from) && d.Time.Before(to) && strings.Contains(string(d.Source), `"level":"error"`) {
			want = append(want, d)
		}
	}
	if len(want) < 500 {
		t.Fatalf("only %d documents match: the test data does not cover the filter", len(want))
	}
	checkExactlyOnce(t, want, ids)
}

func TestReaderClose(t *testing.T) {
	srv := newStandInServer(t, "@timestamp", tiedDocs(50, readerBase))
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: 10}, nil)
	if _, err := r.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.openPITs() != 1 {
		t.Fatalf("%d open points in time, want 1", srv.openPITs())
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.openPITs() != 0 || srv.closed != 1 {
		t.Errorf("after Close: %d open, %d closed; want 0 open, 1 closed", srv.openPITs(), srv.closed)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if r.Cursor().PIT != "" {
		t.Errorf("cursor keeps the closed point in time %q", r.Cursor().PIT)
	}
	if _, err := r.Next(context.Background()); err == nil {
		t.Error("Next after Close succeeded")
	}

	// A point in time that already expired closes without error, although
	// the server responds with the recorded 404.
	r2 := c.NewReader(ReadRequest{Index: "logs-app-default", TimeField: "@timestamp", PageSize: 10}, nil)
	if _, err := r2.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.expireNow()
	if err := r2.Close(context.Background()); err != nil {
		t.Errorf("Close of an expired point in time: %v", err)
	}
}

func TestReaderRequestBody(t *testing.T) {
	srv := recording.NewServer(t)
	open := load(t, "open_point_in_time__ok")
	srv.Handle("POST", "/logs-*/_pit", open.Response)
	srv.Handle("POST", "/_search", load(t, "search__pit_search_after_page3_empty").Response)
	c, _ := newTestClient(t, srv.URL, nil)
	from := time.Date(2099, 11, 15, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	r := c.NewReader(ReadRequest{
		Index: "logs-*", TimeField: "@timestamp", From: from, To: to, PageSize: 500, KeepAlive: time.Minute,
		Query: json.RawMessage(`{"term":{"service.name":"checkout"}}`), SourceFields: []string{"message", "log.*"},
	}, nil)
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Next on the recorded empty page: %v, want io.EOF", err)
	}

	pitReqs, _ := requestsTo(srv, "POST", "/logs-*/_pit")
	if len(pitReqs) != 1 || pitReqs[0].URL.Query().Get("keep_alive") != "60000ms" {
		t.Errorf("open point in time requests %v, want one with keep_alive=60000ms", pitReqs)
	}
	searchReqs, bodies := requestsTo(srv, "POST", "/_search")
	if len(bodies) != 1 {
		t.Fatalf("%d searches, want 1", len(bodies))
	}
	if got := searchReqs[0].URL.Query().Get("allow_partial_search_results"); got != "false" {
		t.Errorf("allow_partial_search_results=%q, want false", got)
	}
	var got any
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	openID := decodeMap(t, open.Response.Body)["id"]
	want := map[string]any{
		"size": 500.0,
		"pit":  map[string]any{"id": openID, "keep_alive": "60000ms"},
		"query": map[string]any{"bool": map[string]any{"filter": []any{
			map[string]any{"term": map[string]any{"service.name": "checkout"}},
			map[string]any{"range": map[string]any{"@timestamp": map[string]any{
				"gte": "2099-11-15T00:00:00.000000000Z", "lt": "2099-11-16T00:00:00.000000000Z",
				"format": "strict_date_optional_time_nanos",
			}}},
		}}},
		"sort": []any{
			map[string]any{"@timestamp": map[string]any{"order": "asc", "format": "strict_date_optional_time_nanos", "numeric_type": "date_nanos"}},
			map[string]any{"_shard_doc": "asc"},
		},
		"track_total_hits": false,
		"_source":          []any{"message", "log.*"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("search body (-want +got):\n%s", diff)
	}
}

func TestReaderRejectsNumericTimeSort(t *testing.T) {
	// The recorded page sorts without a format, so its time sort values
	// are epoch milliseconds, as a server that ignored the format sends.
	srv := recording.NewServer(t)
	srv.Handle("POST", "/my-index-000001/_pit", load(t, "open_point_in_time__ok").Response)
	srv.Handle("POST", "/_search", load(t, "search__pit_search_after_page1").Response)
	c, _ := newTestClient(t, srv.URL, nil)
	r := c.NewReader(ReadRequest{Index: "my-index-000001", TimeField: "@timestamp"}, nil)
	_, err := r.Next(context.Background())
	if err == nil || !strings.Contains(err.Error(), "7.13") {
		t.Errorf("Next = %v, want an error about the sort format", err)
	}
}

func TestReaderValidation(t *testing.T) {
	c, _ := newTestClient(t, "http://127.0.0.1:1", nil)
	tests := []struct {
		name string
		req  ReadRequest
		want string
	}{
		{"no index", ReadRequest{TimeField: "@timestamp"}, "no index"},
		{"no time field", ReadRequest{Index: "x"}, "no time field"},
		{"page too large", ReadRequest{Index: "x", TimeField: "t", PageSize: MaxPageSize + 1}, "page size"},
		{"empty range", ReadRequest{Index: "x", TimeField: "t", From: readerBase, To: readerBase}, "empty time range"},
		{"invalid query", ReadRequest{Index: "x", TimeField: "t", Query: json.RawMessage(`{"term":`)}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.NewReader(tt.req, nil).Next(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Next = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeSearchPageRecorded(t *testing.T) {
	tests := []struct {
		name  string
		ids   []string
		sorts [][]string
	}{
		{"search__pit_search_after_page1", []string{"doc-0", "doc-1"}, [][]string{{"4098431520000", "0"}, {"4098431520000", "4294967298"}}},
		{"search__pit_search_after_page2_last", []string{"doc-2"}, [][]string{{"4098431525000", "4294967301"}}},
		{"search__pit_search_after_page3_empty", nil, nil},
		{"search__sort_values_search_after_xkcd", []string{"2000", "1999"}, [][]string{{"1542931200000", "453"}, {"1542758400000", "454"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := load(t, tt.name).Response.Body
			page, err := decodeSearchPage("POST /_search", body)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			var sorts [][]string
			for _, h := range page.Hits.Hits {
				ids = append(ids, h.ID)
				sorts = append(sorts, rawStrings(h.Sort))
				// _source is the server's bytes, not a re-encoding.
				if !bytes.Contains(body, h.Source) || len(h.Source) == 0 {
					t.Errorf("hit %s: _source %s is not a slice of the response", h.ID, h.Source)
				}
			}
			if diff := cmp.Diff(tt.ids, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.sorts, sorts); diff != "" {
				t.Errorf("sort values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeSearchPageShardFailures(t *testing.T) {
	body := load(t, "search__shard_failures_partial_results").Response.Body
	_, err := decodeSearchPage("POST /l9leakip-0000001/_search", body)
	var sfe *ShardFailureError
	if !errors.As(err, &sfe) {
		t.Fatalf("decodeSearchPage = %v, want a *ShardFailureError", err)
	}
	want := decodeMap(t, body)["_shards"].(map[string]any)
	if fmt.Sprint(sfe.Failed) != fmt.Sprint(want["failed"]) || fmt.Sprint(sfe.Total) != fmt.Sprint(want["total"]) {
		t.Errorf("failed %d of %d, want %v of %v", sfe.Failed, sfe.Total, want["failed"], want["total"])
	}
	first := want["failures"].([]any)[0].(map[string]any)
	if sfe.Failures[0].Index != first["index"] || sfe.Failures[0].Reason.Type != first["reason"].(map[string]any)["type"] {
		t.Errorf("first failure %+v, want index %v and the recorded reason type", sfe.Failures[0], first["index"])
	}
	if !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("error %q does not say the results are incomplete", err)
	}
}

func TestReaderAcceptSkipsReturnedHits(t *testing.T) {
	const at = "2099-11-15T13:12:00.000Z"
	r := (&Client{}).NewReader(ReadRequest{Index: "x", TimeField: "@timestamp"}, &Cursor{LastTime: at, SeenAtLastTime: []string{"a"}})
	hit := func(id, ts string, shardDoc int) rawHit {
		return rawHit{ID: id, Index: "x", Sort: []json.RawMessage{json.RawMessage(`"` + ts + `"`), json.RawMessage(fmt.Sprint(shardDoc))}}
	}
	hits, err := r.accept([]rawHit{
		hit("early", "2099-11-15T13:11:59.999Z", 1),
		hit("a", at, 2),
		hit("b", "2099-11-15T13:12:00.000000000Z", 3),
		hit("c", "2099-11-15T13:12:00.001Z", 4),
		hit("d", "2099-11-15T13:12:00.001Z", 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	if want := []string{"b", "c", "d"}; !slices.Equal(ids, want) {
		t.Errorf("returned %v, want %v", ids, want)
	}
	cursor := r.Cursor()
	if cursor.LastTime != "2099-11-15T13:12:00.001Z" || !slices.Equal(cursor.SeenAtLastTime, []string{"c", "d"}) {
		t.Errorf("cursor at %s with %v, want 2099-11-15T13:12:00.001Z with [c d]", cursor.LastTime, cursor.SeenAtLastTime)
	}
	if got := rawStrings(cursor.SearchAfter); !slices.Equal(got, []string{`"2099-11-15T13:12:00.001Z"`, "5"}) {
		t.Errorf("search_after %v, want the last hit's sort", got)
	}
}

func TestReaderAcceptSameIDInTwoIndices(t *testing.T) {
	const at = "2099-11-15T13:12:00.000Z"
	page := []rawHit{
		{ID: "a", Index: "logs-1", Sort: []json.RawMessage{json.RawMessage(`"` + at + `"`), json.RawMessage("1")}},
		{ID: "a", Index: "logs-2", Sort: []json.RawMessage{json.RawMessage(`"` + at + `"`), json.RawMessage("2")}},
	}

	// Within one point in time both are new.
	r := (&Client{}).NewReader(ReadRequest{Index: "logs-*", TimeField: "@timestamp"}, nil)
	hits, err := r.accept(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 {
		t.Errorf("returned %d hits, want both documents", len(hits))
	}

	// After a restart at that timestamp, the _id counts as returned: the
	// limit Reader documents.
	r = (&Client{}).NewReader(ReadRequest{Index: "logs-*", TimeField: "@timestamp"}, &Cursor{LastTime: at, SeenAtLastTime: []string{"a"}})
	hits, err = r.accept(page)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 0 {
		t.Errorf("returned %d hits, want none", len(hits))
	}
}

func TestCompareSortTimes(t *testing.T) {
	tests := []struct {
		a, b  string
		order int
		known bool
	}{
		{"2099-11-15T13:12:00.000Z", "2099-11-15T13:12:00.000Z", 0, true},
		{"2099-11-15T13:12:00.000Z", "2099-11-15T13:12:00.000000000Z", 0, true},
		{"2099-11-15T13:12:00.000000001Z", "2099-11-15T13:12:00.000Z", 1, true},
		{"2099-11-15T13:11:59.999Z", "2099-11-15T13:12:00Z", -1, true},
		{"2099-11-15T13:12:00.000Z", "", 0, false},
		{"not a date", "also not", 0, false},
		{"not a date", "not a date", 0, true},
	}
	for _, tt := range tests {
		order, known := compareSortTimes(tt.a, tt.b)
		if order != tt.order || known != tt.known {
			t.Errorf("compareSortTimes(%q, %q) = %d, %v; want %d, %v", tt.a, tt.b, order, known, tt.order, tt.known)
		}
	}
}

func FuzzDecodeSearchPage(f *testing.F) {
	for _, name := range []string{
		"search__pit_search_after_page1", "search__pit_search_after_page3_empty",
		"search__shard_failures_partial_results", "search__sort_values_search_after_xkcd",
		"search__term_query_from_size", "scroll__start_search",
	} {
		f.Add(load(f, name).Response.Body)
	}
	f.Add([]byte(`{"hits":{"hits":[{"_id":"a","_source":null,"sort":["x",1]}]}}`))
	f.Add([]byte(`{"_shards":{"failed":1},"hits":{}}`))
	f.Add([]byte(`{"hits":{"hits":[{"_id":"\u00e9","sort":[18446744073709551617,"é"]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := decodeSearchPage("POST /_search", body)
		if err != nil {
			return
		}
		// What goccy/go-json accepts, encoding/json must read the same.
		var std searchPage
		if stdErr := json.Unmarshal(body, &std); stdErr != nil {
			return
		}
		if len(std.Hits.Hits) != len(page.Hits.Hits) {
			t.Fatalf("goccy/go-json read %d hits, encoding/json %d", len(page.Hits.Hits), len(std.Hits.Hits))
		}
		for i, h := range page.Hits.Hits {
			s := std.Hits.Hits[i]
			if h.ID != s.ID || h.Index != s.Index || !bytes.Equal(h.Source, s.Source) || len(h.Sort) != len(s.Sort) {
				t.Fatalf("hit %d differs: goccy %+v, encoding/json %+v", i, h, s)
			}
		}
	})
}
