package backfill

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/plans"
)

// logsFixture is a stand-in Elasticsearch, a test Loki and a state.
type logsFixture struct {
	es    *esStandIn
	loki  *testLoki
	state string
	docs  []standInDoc
	dl    *memDeadLetter
}

func newLogsFixture(t *testing.T, window time.Duration, docs []standInDoc) *logsFixture {
	t.Helper()
	return &logsFixture{
		es:    newESStandIn(t, "@timestamp", docs),
		loki:  newTestLoki(t, window),
		state: statePath(t),
		docs:  docs,
		dl:    &memDeadLetter{},
	}
}

// runner returns a runner of shard for p over the fixture.
func (f *logsFixture) runner(t *testing.T, p *plans.Plan, shard Shard, edit func(*Config)) *Runner {
	t.Helper()
	limits := testLokiLimits(f.loki.window)
	cfg := Config{
		Plan: p, Store: openStore(t, f.state), Shard: shard,
		Elasticsearch: newESClient(t, f.es.URL),
		Loki:          newLokiWriter(t, f.loki.URL, limits, f.dl),
		LokiLimits:    limits,
		DeadLetter:    f.dl,
		PageSize:      50,
		Log:           testLogger(t),
		Sleep:         noSleep,
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkEveryDocumentOnce fails unless Loki holds each document once.
func checkEveryDocumentOnce(t *testing.T, docs []standInDoc, stored []storedEntry) {
	t.Helper()
	ids := esIDs(stored)
	for _, d := range docs {
		if n := ids[d.ID]; n != 1 {
			t.Errorf("document %s stored %d times, want once", d.ID, n)
		}
	}
	if len(ids) != len(docs) {
		t.Errorf("Loki holds %d distinct documents, want %d", len(ids), len(docs))
	}
	if len(stored) != len(docs) {
		t.Errorf("Loki holds %d entries for %d documents", len(stored), len(docs))
	}
}

func TestBackfillLogsCopiesEveryDocumentOnce(t *testing.T) {
	docs := append(appDocs("app-logs", 300, 3, testBase, 3*time.Hour), appDocs("web-logs", 120, 4, testBase, 3*time.Hour)...)
	f := newLogsFixture(t, time.Hour, docs)
	app, web := appMapping("app-logs"), appMapping("web-logs")
	app.StaticLabels = map[string]string{"source": "app"}
	web.StaticLabels = map[string]string{"source": "web"}
	p := testPlan([]plans.LogMapping{app, web}, nil, testBase, testBase.Add(3*time.Hour), time.Hour)

	sum, err := f.runner(t, p, Shard{0, 1}, nil).Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	stored := f.loki.entries()
	checkEveryDocumentOnce(t, docs, stored)
	for _, e := range stored {
		if e.Labels[LabelName] != "0" {
			t.Errorf("entry in stream %s lacks %s=\"0\"", e.Stream, LabelName)
			break
		}
	}
	if _, _, rejected := f.loki.stats(); rejected != 0 {
		t.Errorf("Loki rejected %d entries: %v", rejected, f.loki.rejectionBodies())
	}
	if !sum.Done() || sum.Units != 6 || sum.UnitsDone != 6 {
		t.Errorf("summary %d of %d units done, want 6 of 6", sum.UnitsDone, sum.Units)
	}
	if sum.Counts.Documents != int64(len(docs)) || sum.Counts.Entries != int64(len(docs)) {
		t.Errorf("summary counts %d documents and %d entries, want %d each", sum.Counts.Documents, sum.Counts.Entries, len(docs))
	}
	if sum.DeadLettered() != 0 || f.dl.count() != 0 {
		t.Errorf("dead letters %v", sum.Counts.DeadLettered)
	}

	// A second run finds every unit done and writes nothing.
	pushes, _, _ := f.loki.stats()
	again, err := f.runner(t, p, Shard{0, 1}, nil).Run(t.Context())
	if err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if after, _, _ := f.loki.stats(); after != pushes {
		t.Errorf("second run pushed %d times, want 0", after-pushes)
	}
	if again.Counts.Documents != sum.Counts.Documents {
		t.Errorf("second run summary counts %d documents, want the stored %d", again.Counts.Documents, sum.Counts.Documents)
	}
}

func TestBackfillLogsDeadLettersSkippedDocuments(t *testing.T) {
	docs := appDocs("app-logs", 30, 1, testBase, 30*time.Minute)
	docs[7].Source = []byte(`{"@timestamp":"` + printNanos(docs[7].Time) + `","service":{"name":"checkout"}}`)
	f := newLogsFixture(t, time.Hour, docs)
	p := testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, testBase.Add(time.Hour), time.Hour)
	sum, err := f.runner(t, p, Shard{0, 1}, nil).Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := sum.Counts.DeadLettered["loki/missing_line"]; got != 1 {
		t.Errorf("dead-lettered %v, want loki/missing_line 1", sum.Counts.DeadLettered)
	}
	if sum.Counts.Documents != 30 || sum.Counts.Entries != 29 {
		t.Errorf("documents %d, entries %d; want 30 and 29", sum.Counts.Documents, sum.Counts.Entries)
	}
	if f.dl.count() != 1 {
		t.Errorf("dead letter holds %d records, want 1", f.dl.count())
	}
}

func TestOwnsIndexFirstEntryWins(t *testing.T) {
	r := &Runner{logs: []plans.LogMapping{appMapping("logs-app-*"), appMapping("logs-*"), appMapping("other")}}
	tests := []struct {
		entry int
		index string
		want  bool
	}{
		{0, "logs-app-2026", true},
		{1, "logs-app-2026", false},
		{1, "logs-web-2026", true},
		{1, ".ds-logs-app-x-2026.03.01-000001", false},
		{1, ".ds-logs-app-2026.03.01-000001", true},
		{1, ".ds-logs-web-2026.03.01-000001", true},
		{2, "unknown", true},
	}
	for _, tc := range tests {
		if got := r.ownsIndex(tc.entry, tc.index); got != tc.want {
			t.Errorf("ownsIndex(%d, %q) = %v, want %v", tc.entry, tc.index, got, tc.want)
		}
	}
}

// readAll reads a reader to its end, returning the ids in order and each
// page's cursors.
func readAll(t *testing.T, r *elasticsearch.Reader) (ids []string, pages [][]elasticsearch.Hit, before, after []elasticsearch.Cursor) {
	t.Helper()
	for {
		b := r.Cursor()
		hits, err := r.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		pages = append(pages, hits)
		before = append(before, b)
		after = append(after, r.Cursor())
	}
}

func TestCursorAfterResumesMidPage(t *testing.T) {
	docs := appDocs("app-logs", 40, 4, testBase, 10*time.Minute)
	for _, expire := range []bool{false, true} {
		name := "point in time alive"
		if expire {
			name = "point in time expired"
		}
		t.Run(name, func(t *testing.T) {
			es := newESStandIn(t, "@timestamp", docs)
			client := newESClient(t, es.URL)
			req := elasticsearch.ReadRequest{Index: "app-logs", TimeField: "@timestamp", From: testBase, To: testBase.Add(time.Hour), PageSize: 15}
			all, pages, before, after := readAll(t, client.NewReader(req, nil))
			if len(all) != len(docs) {
				t.Fatalf("read %d documents, want %d", len(all), len(docs))
			}
			offset := 0
			for p, hits := range pages {
				for n := 1; n <= len(hits); n++ {
					cursor := cursorAfter(before[p], after[p], hits, n)
					if expire {
						es.expireAtSearch(len(es.searchLog()) + 1)
					}
					rest, _, _, _ := readAll(t, client.NewReader(req, &cursor))
					// A new point in time may order documents with equal
					// timestamps differently, so compare as sets.
					want := slices.Clone(all[offset+n:])
					slices.Sort(want)
					slices.Sort(rest)
					if !slices.Equal(rest, want) {
						t.Fatalf("page %d after %d hits: resumed with %d documents %v, want %d %v", p, n, len(rest), rest, len(want), want)
					}
				}
				offset += len(hits)
			}
		})
	}
}

func TestBackfillRunsConcurrentShardsOnOneState(t *testing.T) {
	docs := appDocs("app-logs", 400, 2, testBase, 4*time.Hour)
	f := newLogsFixture(t, time.Hour, docs)
	p := testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, testBase.Add(4*time.Hour), 30*time.Minute)

	runners := []*Runner{f.runner(t, p, Shard{0, 2}, nil), f.runner(t, p, Shard{1, 2}, nil)}
	var wg sync.WaitGroup
	sums := make([]*Summary, 2)
	errs := make([]error, 2)
	for i, r := range runners {
		wg.Go(func() { sums[i], errs[i] = r.Run(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	stored := f.loki.entries()
	checkEveryDocumentOnce(t, docs, stored)
	perShard := map[string]int{}
	for _, e := range stored {
		perShard[e.Labels[LabelName]]++
	}
	if perShard["0"] != 200 || perShard["1"] != 200 {
		t.Errorf("entries per %s label %v, want 200 for each of 0 and 1", LabelName, perShard)
	}
	for i, s := range sums {
		if s.Units != 4 || !s.Done() || s.AllUnits != 8 {
			t.Errorf("shard %d: %d of %d units done (%d units over all shards), want 4 of 4 (8)", i, s.UnitsDone, s.Units, s.AllUnits)
		}
	}
	if _, _, rejected := f.loki.stats(); rejected != 0 {
		t.Errorf("Loki rejected %d entries", rejected)
	}

	// Each checkpoint was written by the shard the plan gives the unit to.
	store := openStore(t, f.state)
	var rng Range
	if _, err := getJSON(t.Context(), store, artifactRange, &rng); err != nil {
		t.Fatal(err)
	}
	for _, u := range planUnits(p.Logs, nil, rng) {
		var cp Checkpoint
		found, err := getJSON(t.Context(), store, u.Key(), &cp)
		if err != nil || !found || !cp.Done || cp.Shard != u.Shard {
			t.Errorf("unit %s: checkpoint found=%v done=%v shard=%d, want done by shard %d (%v)", u, found, cp.Done, cp.Shard, u.Shard, err)
		}
	}
}
