package parity

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func runStorageCheck(t testing.TB, opts Options) Check {
	t.Helper()
	r, _, err := newRun(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r.storage(t.Context())
}

func TestStorageReportsBothSizes(t *testing.T) {
	f := newLogFixture(t, 1000, testWindow)
	// Documents outside the window make the window's share a half.
	var outside []esDoc
	for _, d := range f.docs {
		d.id += "-old"
		d.at = d.at.Add(-24 * time.Hour)
		outside = append(outside, d)
	}
	f.es.setDocs(append(slices.Clone(f.docs), outside...))
	f.es.indexBytes["filebeat-2026.03.01"] = 400000
	c := runStorageCheck(t, f.options(t, testPlan(1)))
	if c.Verdict != Pass {
		t.Fatalf("verdict %s, want PASS; summary %q reason %q", c.Verdict, c.Summary, c.Reason)
	}
	es, _ := metricNamed(c, "elasticsearch_primary_bytes_window_estimate")
	if es.Value != 200000 {
		t.Errorf("Elasticsearch estimate %v bytes, want 200000 (half of 400000)", es.Value)
	}
	var lineBytes int
	for _, d := range f.docs {
		lineBytes += len(d.fields["message"])
	}
	if l, _ := metricNamed(c, "loki_bytes"); l.Value != float64(lineBytes) {
		t.Errorf("Loki bytes %v, want %d", l.Value, lineBytes)
	}
	rows := map[string]string{}
	for _, r := range c.Groups[0].Rows {
		rows[r[0]] = r[1]
	}
	if rows["elasticsearch store bytes with replicas, all time"] != "800000" || rows["loki entries"] != "1000" {
		t.Errorf("rows %v, want 800000 store bytes and 1000 Loki entries", rows)
	}
}

func TestStorageBackendErrorInconclusive(t *testing.T) {
	f := newLogFixture(t, 10, testWindow)
	opts := f.options(t, testPlan(1))
	f.es.Close()
	c := runStorageCheck(t, opts)
	if c.Verdict != Inconclusive || !strings.Contains(c.Reason, "Elasticsearch") {
		t.Errorf("verdict %s reason %q, want INCONCLUSIVE naming Elasticsearch", c.Verdict, c.Reason)
	}
	if !strings.HasPrefix(c.Summary, "not all mappings measured") {
		t.Errorf("summary %q does not say the figures are incomplete", c.Summary)
	}
}
