package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/plans"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func testPlan(t *testing.T) *plans.Plan {
	t.Helper()
	p, err := plans.Parse("plan.yaml", []byte(`apiVersion: migrate/v1alpha1
kind: MigrationPlan
metadata: {name: test}
targets:
  loki: {url: "http://127.0.0.1:3100"}
logs:
  - indices: "filebeat-*"
    labels: {service: service.name, level: log.level}
    static_labels: {source: filebeat}
    structured_metadata: [trace.id]
    line: message
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func recordedLokiLimits(t *testing.T, name string) loki.Limits {
	t.Helper()
	ex := recording.MustLoad(t, "loki-3.7.6", name)
	l, err := loki.ParseConfig(ex.Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func find(t *testing.T, r Result, target, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Target == target && c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s %s in %+v", target, name, r.Checks)
	return Check{}
}

func TestOutOfOrderWindowFromRecordedConfig(t *testing.T) {
	l := recordedLokiLimits(t, "defaults_status_config_yaml")
	if l.MaxChunkAge != 2*time.Hour {
		t.Fatalf("recorded max_chunk_age %s, want 2h", l.MaxChunkAge)
	}
	var r Result
	CheckLokiLimits(&r, l, Inputs{Plan: testPlan(t), BackfillFrom: now.Add(-30 * 24 * time.Hour), Now: now})
	c := find(t, r, "loki", "out_of_order_window")
	for _, want := range []string{"out-of-order window is 1h per stream", "max_chunk_age 2h / 2", "entry too far behind", "even with reject_old_samples false", "backfill"} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("detail %q does not say %q", c.Detail, want)
		}
	}
	if c.Status != Warn {
		t.Errorf("status %s, want warn for a 30d backfill", c.Status)
	}
}

func TestSampleAgeFromRecordedConfig(t *testing.T) {
	// The defaults-like Loki rejects samples older than 168h.
	l := recordedLokiLimits(t, "defaults_status_config_yaml")
	var r Result
	CheckLokiLimits(&r, l, Inputs{Plan: testPlan(t), BackfillFrom: now.Add(-30 * 24 * time.Hour), Now: now})
	c := find(t, r, "loki", "reject_old_samples_max_age")
	if c.Status != Fail || c.Override != "reject_old_samples_max_age: 744h" {
		t.Errorf("check %+v, want fail with override reject_old_samples_max_age: 744h", c)
	}
	if !strings.Contains(c.Detail, "greater_than_max_sample_age") {
		t.Errorf("detail %q does not name Loki's reason", c.Detail)
	}

	// The migration Loki has reject_old_samples false.
	l = recordedLokiLimits(t, "status_config_yaml")
	r = Result{}
	CheckLokiLimits(&r, l, Inputs{Plan: testPlan(t), BackfillFrom: now.Add(-30 * 24 * time.Hour), Now: now})
	if c := find(t, r, "loki", "reject_old_samples_max_age"); c.Status != Pass {
		t.Errorf("check %+v, want pass when reject_old_samples is false", c)
	}
}

func TestLabelAndMetadataLimits(t *testing.T) {
	l := loki.DefaultLimits()
	l.Source = "plan"
	l.MaxLabelNamesPerSeries = 2
	l.AllowStructuredMetadata = false
	var r Result
	CheckLokiLimits(&r, l, Inputs{Plan: testPlan(t), Now: now})
	if c := find(t, r, "loki", "max_label_names_per_series"); c.Status != Fail || c.Override != "max_label_names_per_series: 3" {
		t.Errorf("labels check %+v", c)
	}
	if c := find(t, r, "loki", "allow_structured_metadata"); c.Status != Fail || c.Override != "allow_structured_metadata: true" {
		t.Errorf("structured metadata check %+v", c)
	}
	if r.Status() != Fail {
		t.Errorf("result status %s, want fail", r.Status())
	}
	if !strings.Contains(r.Summary(), "Set max_label_names_per_series: 3.") {
		t.Errorf("summary does not print the override:\n%s", r.Summary())
	}
}

func TestRatesAgainstInventory(t *testing.T) {
	l := loki.DefaultLimits()
	l.Source = "plan"
	inv := &inventory.Report{Loki: &inventory.LokiProjection{BytesPerSecond: 10 << 20, PerStreamBytesPerSecond: 1 << 20, ProjectedStreams: 10}}
	var r Result
	CheckLokiLimits(&r, l, Inputs{Plan: testPlan(t), Inventory: inv, Now: now})
	c := find(t, r, "loki", "ingestion_rate_mb")
	if c.Status != Fail || c.Override != "ingestion_rate_mb: 15 and ingestion_burst_size_mb: 30" {
		t.Errorf("rate check %+v", c)
	}
	if c := find(t, r, "loki", "per_stream_rate_limit"); c.Status != Pass {
		t.Errorf("per-stream check %+v", c)
	}
	if c := find(t, r, "loki", "limits_source"); c.Status != Pass {
		t.Errorf("limits source %+v", c)
	}
}

func TestDefaultsWarn(t *testing.T) {
	var r Result
	CheckLokiLimits(&r, loki.DefaultLimits(), Inputs{Plan: testPlan(t), Now: now})
	if c := find(t, r, "loki", "limits_source"); c.Status != Warn {
		t.Errorf("limits source %+v, want warn on assumed defaults", c)
	}
}

func TestTempoSlackFromRecordedConfig(t *testing.T) {
	ex := recording.MustLoad(t, "tempo-3.0.3", "status_config_yaml")
	l, err := tempo.ParseConfig(ex.Response.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	CheckTempoLimits(&r, l, Inputs{Plan: testPlan(t), BackfillFrom: now.Add(-30 * 24 * time.Hour), Now: now})
	if c := find(t, r, "tempo", "ingestion_time_range_slack"); c.Status != Pass {
		t.Errorf("slack of 87600h: %+v", c)
	}
	l.IngestionTimeRangeSlack = 2 * time.Minute
	r = Result{}
	CheckTempoLimits(&r, l, Inputs{Plan: testPlan(t), BackfillFrom: now.Add(-30 * 24 * time.Hour), Now: now})
	c := find(t, r, "tempo", "ingestion_time_range_slack")
	if c.Status != Warn || !strings.Contains(c.Detail, "found by ID") {
		t.Errorf("slack of 2m: %+v", c)
	}
}
