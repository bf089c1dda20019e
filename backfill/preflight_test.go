package backfill

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

func TestPreflightRejections(t *testing.T) {
	now := testBase.Add(10 * 24 * time.Hour)
	rng := Range{From: testBase, To: testBase.Add(24 * time.Hour), Slice: time.Hour, Shards: 2}
	fifteenLabels := map[string]string{}
	for _, name := range strings.Split("a b c d e f g h i j k l m n", " ") {
		fifteenLabels[name] = "field." + name
	}
	tests := []struct {
		name        string
		logs        func() []plans.LogMapping
		limits      func(*loki.Limits)
		rng         func(*Range)
		projected   int64
		wantSetting string
		wantText    []string
	}{
		{
			name: "labels plus the backfill label over max_label_names_per_series",
			logs: func() []plans.LogMapping {
				m := appMapping("app-logs")
				m.Labels = fifteenLabels
				m.StaticLabels = map[string]string{"source": "filebeat"}
				return []plans.LogMapping{m}
			},
			wantSetting: "max_label_names_per_series",
			wantText:    []string{"14 labels and 1 static labels", "16 label names", "max_label_names_per_series of 15", "raise max_label_names_per_series to at least 16"},
		},
		{
			name: "old samples rejected within the range",
			limits: func(l *loki.Limits) {
				l.RejectOldSamples, l.RejectOldSamplesMaxAge = true, 7*24*time.Hour
			},
			wantSetting: "reject_old_samples_max_age",
			wantText:    []string{"older than 168h", "240h ago", "reject_old_samples: false"},
		},
		{
			name:        "structured metadata not allowed",
			limits:      func(l *loki.Limits) { l.AllowStructuredMetadata = false },
			wantSetting: "allow_structured_metadata",
			wantText:    []string{"es_id", "allow_structured_metadata: true"},
		},
		{
			name:        "projected streams times shards over the stream limit",
			limits:      func(l *loki.Limits) { l.MaxGlobalStreamsPerUser = 5000 },
			projected:   2000,
			wantSetting: "max_global_streams_per_user",
			wantText:    []string{"2000 active streams", "6000 streams", "at least 6000", "fewer shards"},
		},
		{
			name: "shared streams with a slice over the window",
			logs: func() []plans.LogMapping {
				return []plans.LogMapping{appMapping("app-logs"), appMapping("web-logs")}
			},
			rng:         func(r *Range) { r.Slice = 2 * time.Hour },
			wantSetting: "phases.parallel_run.backfill.slice",
			wantText:    []string{"logs[0] (app-logs) and logs[1] (web-logs)", "at most 1h"},
		},
		{
			name: "mapping sets the backfill label",
			logs: func() []plans.LogMapping {
				m := appMapping("app-logs")
				m.StaticLabels = map[string]string{LabelName: "x"}
				return []plans.LogMapping{m}
			},
			wantSetting: "logs[0] (indices app-logs)",
			wantText:    []string{"sets the label migrate_backfill"},
		},
		{
			name: "two entries with the same indices",
			logs: func() []plans.LogMapping {
				return []plans.LogMapping{appMapping("app-logs"), appMapping("app-logs")}
			},
			wantSetting: "logs[1] (indices app-logs)",
			wantText:    []string{"same indices"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := preflightInput{logs: []plans.LogMapping{appMapping("app-logs")}, limits: testLokiLimits(time.Hour), rng: rng, now: now, projectedStreams: tc.projected, label: LabelName}
			if tc.logs != nil {
				in.logs = tc.logs()
			}
			if tc.limits != nil {
				tc.limits(&in.limits)
			}
			if tc.rng != nil {
				tc.rng(&in.rng)
			}
			err := preflight(in)
			var pe *PreflightError
			if !errors.As(err, &pe) {
				t.Fatalf("preflight returned %v, want a *PreflightError", err)
			}
			if len(pe.Rejections) != 1 || pe.Rejections[0].Setting != tc.wantSetting {
				t.Fatalf("rejections %+v, want one for %s", pe.Rejections, tc.wantSetting)
			}
			msg := err.Error()
			for _, want := range append(tc.wantText, "Loki limits from the test", "Fix:") {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestPreflightAccepts(t *testing.T) {
	now := testBase.Add(24 * time.Hour)
	rng := Range{From: testBase, To: testBase.Add(12 * time.Hour), Slice: 4 * time.Hour, Shards: 4}
	app, web := appMapping("app-logs"), appMapping("web-logs")
	app.StaticLabels = map[string]string{"source": "app"}
	web.StaticLabels = map[string]string{"source": "web"}
	fourteen := appMapping("full")
	fourteen.Labels = map[string]string{}
	for _, name := range strings.Split("a b c d e f g h i j k l m n", " ") {
		fourteen.Labels[name] = "field." + name
	}
	limits := testLokiLimits(time.Hour)
	limits.RejectOldSamples, limits.RejectOldSamplesMaxAge = true, 48*time.Hour
	limits.MaxGlobalStreamsPerUser = 5000
	in := preflightInput{
		logs:   []plans.LogMapping{app, web, fourteen},
		limits: limits, rng: rng, now: now, projectedStreams: 1000, label: LabelName,
	}
	// fourteen shares no static label with app and web, but it cannot
	// carry source, so its streams differ from theirs.
	if err := preflight(in); err != nil {
		t.Fatalf("preflight: %v", err)
	}
}

func TestStreamsDisjoint(t *testing.T) {
	withStatic := func(indices string, static map[string]string, labels map[string]string) plans.LogMapping {
		m := appMapping(indices)
		m.StaticLabels, m.Labels = static, labels
		return m
	}
	tests := []struct {
		name string
		a, b plans.LogMapping
		want bool
	}{
		{"different static values", withStatic("a", map[string]string{"source": "x"}, nil), withStatic("b", map[string]string{"source": "y"}, nil), true},
		{"same static values", withStatic("a", map[string]string{"source": "x"}, nil), withStatic("b", map[string]string{"source": "x"}, nil), false},
		{"static absent from the other", withStatic("a", map[string]string{"source": "x"}, nil), withStatic("b", nil, nil), true},
		{"static that the other maps from a field", withStatic("a", map[string]string{"source": "x"}, nil), withStatic("b", nil, map[string]string{"source": "f"}), false},
		{"no static labels", withStatic("a", nil, map[string]string{"s": "f"}), withStatic("b", nil, map[string]string{"s": "f"}), false},
	}
	for _, tc := range tests {
		if got := streamsDisjoint(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: streamsDisjoint = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRunRejectsBeforeAnyWrite(t *testing.T) {
	docs := appDocs("app-logs", 20, 1, testBase, time.Hour)
	f := newLogsFixture(t, time.Hour, docs)
	p := testPlan([]plans.LogMapping{appMapping("app-logs")}, nil, testBase, testBase.Add(time.Hour), time.Hour)
	store := openStore(t, f.state)
	inv := inventory.Report{Loki: &inventory.LokiProjection{ProjectedStreams: 900}}
	data, _ := json.Marshal(inv)
	if err := store.PutArtifact(t.Context(), artifactInventory, phases.Inventory, 1, data); err != nil {
		t.Fatal(err)
	}
	r := f.runner(t, p, Shard{0, 1}, func(c *Config) {
		c.LokiLimits.MaxGlobalStreamsPerUser = 1000
		c.LokiLimits.AllowStructuredMetadata = false
	})
	_, err := r.Run(t.Context())
	var pe *PreflightError
	if !errors.As(err, &pe) || len(pe.Rejections) != 2 {
		t.Fatalf("Run returned %v, want a *PreflightError that rejects the stream limit and structured metadata", err)
	}
	if pushes, _, _ := f.loki.stats(); pushes != 0 {
		t.Errorf("Loki got %d pushes from a rejected backfill", pushes)
	}
	if searches := f.es.searchLog(); len(searches) != 0 {
		t.Errorf("Elasticsearch got %d searches from a rejected backfill", len(searches))
	}
	if _, found, err := store.Artifact(t.Context(), artifactRange); err != nil || found {
		t.Errorf("a rejected backfill pinned its range (found %v, %v)", found, err)
	}
}
