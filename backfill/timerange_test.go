package backfill

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

func TestResolveRange(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	entered := now.Add(-48 * time.Hour)
	inParallelRun := phases.State{Phase: phases.ParallelRun, Entered: true, EnteredAt: entered}
	tests := []struct {
		name         string
		req          rangeRequest
		st           phases.State
		wantFrom     time.Time
		wantTo       time.Time
		wantToSource string
		wantErr      string
	}{
		{
			name: "relative from, to when parallel_run began",
			req:  rangeRequest{fromExpr: "now-30d", slice: time.Hour, shards: 1}, st: inParallelRun,
			wantFrom: now.Add(-30 * 24 * time.Hour), wantTo: entered, wantToSource: toFromParallelRun,
		},
		{
			name: "before parallel_run, to is now",
			req:  rangeRequest{fromExpr: "now-1d", slice: time.Hour, shards: 1}, st: phases.State{Phase: phases.Deploy},
			wantFrom: now.Add(-24 * time.Hour), wantTo: now, wantToSource: toFromFirstRun,
		},
		{
			name: "explicit bounds",
			req:  rangeRequest{fromExpr: "2026-03-01T00:00:00Z", toExpr: "now-1h", slice: time.Hour, shards: 1}, st: inParallelRun,
			wantFrom: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), wantTo: now.Add(-time.Hour), wantToSource: toFromExpression,
		},
		{
			name: "empty range", req: rangeRequest{fromExpr: "now-1d", slice: time.Hour, shards: 1},
			st: phases.State{Phase: phases.ParallelRun, Entered: true, EnteredAt: now.Add(-48 * time.Hour)}, wantErr: "range is empty",
		},
		{name: "bad from", req: rangeRequest{fromExpr: "yesterday", slice: time.Hour, shards: 1}, wantErr: "backfill from"},
		{name: "no slice", req: rangeRequest{fromExpr: "now-1d", shards: 1}, wantErr: "phases.parallel_run.backfill.slice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveRange(tc.req, tc.st, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.From.Equal(tc.wantFrom) || !got.To.Equal(tc.wantTo) || got.ToSource != tc.wantToSource {
				t.Errorf("range %s to %s (%s), want %s to %s (%s)", got.From, got.To, got.ToSource, tc.wantFrom, tc.wantTo, tc.wantToSource)
			}
			if !got.matches(tc.req) {
				t.Errorf("the range does not match the request it came from")
			}
		})
	}
}

func TestRangeSlices(t *testing.T) {
	r := Range{From: testBase, To: testBase.Add(150 * time.Minute), Slice: time.Hour}
	got := r.slices()
	if len(got) != 3 || !got[2].From.Equal(testBase.Add(2*time.Hour)) || !got[2].To.Equal(r.To) {
		t.Errorf("slices %v, want three ending with a 30m slice at %s", got, r.To)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].From.Equal(got[i-1].To) {
			t.Errorf("slice %d starts at %s, not where slice %d ends", i, got[i].From, i-1)
		}
	}
}

func TestRangeIsPinnedAtFirstRun(t *testing.T) {
	docs := appDocs("app-logs", 10, 1, testBase, time.Hour)
	f := newLogsFixture(t, time.Hour, docs)
	p := testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, testBase, time.Hour)
	p.Phases.ParallelRun.Backfill.From, p.Phases.ParallelRun.Backfill.To = "now-2h", ""
	clock := testBase.Add(2 * time.Hour)

	first := f.runner(t, p, Shard{0, 1}, func(c *Config) { c.Now = func() time.Time { return clock } })
	sum, err := first.Run(t.Context())
	if err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if !sum.Range.From.Equal(testBase) || !sum.Range.To.Equal(clock) || sum.Range.ToSource != toFromFirstRun {
		t.Fatalf("first range %s to %s (%s), want %s to %s", sum.Range.From, sum.Range.To, sum.Range.ToSource, testBase, clock)
	}
	if len(sum.Warnings) == 0 || !strings.Contains(strings.Join(sum.Warnings, " "), "not parallel_run") {
		t.Errorf("warnings %q, want one about the phase", sum.Warnings)
	}

	later := clock.Add(5 * time.Hour)
	second := f.runner(t, p, Shard{0, 1}, func(c *Config) { c.Now = func() time.Time { return later } })
	again, err := second.Run(t.Context())
	if err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if !again.Range.From.Equal(sum.Range.From) || !again.Range.To.Equal(sum.Range.To) {
		t.Errorf("second run range %s to %s, want the pinned %s to %s", again.Range.From, again.Range.To, sum.Range.From, sum.Range.To)
	}

	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"other from", func(c *Config) { c.From = "now-3h" }, `from "now-3h" (pinned "now-2h")`},
		{"other shard count", func(c *Config) { c.Shard = Shard{0, 2} }, "2 shards (pinned 1)"},
	} {
		_, err := f.runner(t, p, Shard{0, 1}, tc.edit).Run(t.Context())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--from now-2h --shard I/1") {
			t.Errorf("%s: error %v, want one naming %q and the pinned flags", tc.name, err, tc.want)
		}
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	docs := appDocs("app-logs", 10, 1, testBase, time.Hour)
	f := newLogsFixture(t, time.Hour, docs)
	p := testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, testBase.Add(3*time.Hour), time.Hour)
	sum, err := f.runner(t, p, Shard{0, 1}, func(c *Config) { c.DryRun = true }).Run(t.Context())
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if len(sum.Pending) != 3 || sum.Units != 3 {
		t.Errorf("dry run lists %d pending of %d units, want 3 of 3", len(sum.Pending), sum.Units)
	}
	if pushes, _, _ := f.loki.stats(); pushes != 0 || len(f.es.searchLog()) != 0 {
		t.Errorf("dry run sent %d pushes and %d searches", pushes, len(f.es.searchLog()))
	}
	store := openStore(t, f.state)
	if _, found, _ := store.Artifact(t.Context(), artifactRange); found {
		t.Error("dry run pinned the range")
	}
	var out bytes.Buffer
	sum.WriteText(&out)
	if !strings.Contains(out.String(), "dry run, nothing written") || !strings.Contains(out.String(), "would copy  logs app-logs") {
		t.Errorf("dry-run summary:\n%s", out.String())
	}
}
