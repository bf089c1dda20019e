package parity

import (
	"errors"
	"testing"
)

// 1. Both stacks empty: every exact query counts 0 on ES and 0 on Loki.
func TestQueryResultsBothEmptyNotPass(t *testing.T) {
	f := newLogFixture(t, 0, testWindow)
	p := queryPlan(t)
	writeTranslateReports(t, p)
	c := runQueryCheck(t, f.options(t, p))
	if c.Verdict == Pass {
		t.Errorf("PASS with ES=0 and Loki=0 for every query")
	}
}

// 2. Only approximate translations measured, all differing wildly.
func TestQueryResultsOnlyApproximateNotPass(t *testing.T) {
	r, _, _ := newRun(Options{Plan: testPlan(1), Window: testWindow})
	outs := []queryOutcome{{comparison: comparison{translatedQuery: translatedQuery{name: "a", fidelity: fidelityApproximate}}, old: 1000, new: 0, diff: 1}}
	c := r.queryCheck(outs, nil)
	if c.Verdict == Pass {
		t.Errorf("PASS with 0 exact comparisons and approximate 1000 vs 0")
	}
}

// 3. All exact queries rejected by ES (400), one approximate measured.
func TestQueryResultsExactRejectedNotPass(t *testing.T) {
	r, _, _ := newRun(Options{Plan: testPlan(1), Window: testWindow})
	outs := []queryOutcome{
		{comparison: comparison{translatedQuery: translatedQuery{name: "e", fidelity: fidelityExact}}, rejected: true, err: errors.New("400")},
		{comparison: comparison{translatedQuery: translatedQuery{name: "a", fidelity: fidelityApproximate}}, old: 5, new: 5},
	}
	c := r.queryCheck(outs, nil)
	if c.Verdict == Pass {
		t.Errorf("PASS with every exact query rejected")
	}
}

// 4. Storage: ES has 1000 window docs, Loki has nothing.
func TestStorageLokiEmptyNotPass(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	f.loki.mu.Lock()
	f.loki.entries = nil
	f.loki.sorted = nil
	f.loki.mu.Unlock()
	c := runStorageCheck(t, f.options(t, testPlan(1)))
	if c.Verdict == Pass {
		t.Errorf("storage PASS with Loki empty")
	}
}

// 5. Storage: both empty.
func TestStorageBothEmptyNotPass(t *testing.T) {
	f := newLogFixture(t, 0, testWindow)
	c := runStorageCheck(t, f.options(t, testPlan(1)))
	if c.Verdict == Pass {
		t.Errorf("storage PASS with no data")
	}
}
