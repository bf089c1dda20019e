package parity

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

func TestEmptyWindowNotPass(t *testing.T) {
	es := newESStandIn(t, "@timestamp", nil)
	es.indexBytes["filebeat-2026.03.01"] = 0
	lk := newLokiStandIn(t)
	opts := Options{
		Plan: testPlan(1), Window: testWindow,
		Sources: Sources{Elasticsearch: es.client(t, 5*time.Second), Loki: lk.client(t, 5*time.Second)},
		Rand:    rand.New(rand.NewPCG(1, 2)),
	}
	if c := runLogCheck(t, opts); c.Verdict == Pass {
		t.Errorf("an empty window passed log completeness: %q", c.Summary)
	}
	rep, err := Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict == Pass {
		t.Errorf("an empty window passed the run")
	}
}

func TestOverlappingSelectorsNotPass(t *testing.T) {
	var docs []esDoc
	lk := newLokiStandIn(t)
	for i := range 100 {
		at := testWindow.From.Add(time.Duration(i) * 30 * time.Second)
		a := esDoc{id: fmt.Sprintf("a-%d", i), index: "a-1", at: at, fields: map[string]string{"message": fmt.Sprintf("a %d", i)}}
		b := esDoc{id: fmt.Sprintf("b-%d", i), index: "b-1", at: at, fields: map[string]string{"message": fmt.Sprintf("b %d", i)}}
		docs = append(docs, a, b)
		// Only B's documents reach Loki, and A's selector matches them.
		lk.push(lokiEntry{labels: map[string]string{"source": "filebeat", "env": "prod", "service_name": "x"}, at: at, line: b.fields["message"], esID: b.id})
	}
	es := newESStandIn(t, "@timestamp", docs)
	p := testPlan(0.99)
	p.Logs = []plans.LogMapping{
		{Indices: "a-*", Timestamp: "@timestamp", StaticLabels: map[string]string{"source": "filebeat"}, Line: "message"},
		{Indices: "b-*", Timestamp: "@timestamp", StaticLabels: map[string]string{"source": "filebeat", "env": "prod"}, Line: "message"},
	}
	for seed := range uint64(5) {
		opts := Options{
			Plan: p, Window: testWindow, SampleIDs: 3,
			Sources: Sources{Elasticsearch: es.client(t, 5*time.Second), Loki: lk.client(t, 5*time.Second)},
			Rand:    rand.New(rand.NewPCG(seed, 2)),
		}
		if c := runLogCheck(t, opts); c.Verdict == Pass {
			t.Errorf("seed %d: a lost mapping hidden by an overlapping selector passed: %q", seed, c.Summary)
		}
	}
}
