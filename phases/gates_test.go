package phases

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/loki/pkg/push"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/plans"
)

// fakeLoki stores pushed lines and returns them from QueryRange.
type fakeLoki struct {
	readyErr error
	version  string
	lines    []string
}

func (f *fakeLoki) Ready(context.Context) error { return f.readyErr }
func (f *fakeLoki) BuildInfo(context.Context) (loki.BuildInfo, error) {
	return loki.BuildInfo{Version: f.version}, nil
}

func (f *fakeLoki) Push(_ context.Context, streams []loki.Stream) error {
	for _, s := range streams {
		for _, e := range s.Entries {
			f.lines = append(f.lines, e.Line)
		}
	}
	return nil
}

func (f *fakeLoki) QueryRange(context.Context, loki.QueryRangeRequest) (*loki.QueryResult, error) {
	res := &loki.QueryResult{ResultType: "streams"}
	for _, l := range f.lines {
		res.Streams = append(res.Streams, loki.StreamResult{Entries: []push.Entry{{Line: l}}})
	}
	return res, nil
}

// fakeConnectors hands out the fake Loki with the given limits.
type fakeConnectors struct {
	noConnectors
	loki   *fakeLoki
	limits loki.Limits
}

func (f fakeConnectors) Deploy(*plans.Plan) (DeployTargets, error) {
	return DeployTargets{
		Loki:       f.loki,
		LokiLimits: func(context.Context) (loki.Limits, error) { return f.limits, nil },
	}, nil
}

func TestDeployGate(t *testing.T) {
	p := testPlan(t)
	p.Targets.Loki = &plans.LokiTarget{URL: "http://127.0.0.1:3100"}
	p.Logs = []plans.LogMapping{{Indices: "logs-*", Labels: map[string]string{"a": "a", "b": "b", "c": "c"}}}
	p.Phases.ParallelRun.Backfill.From = "now-1d"
	limits := loki.DefaultLimits()
	limits.Source = "plan"
	fake := &fakeLoki{version: "3.7.6"}
	r := &Run{Plan: p, Store: openTestStore(t), Connect: fakeConnectors{loki: fake, limits: limits}, Now: time.Now}

	res := deployChecked(t.Context(), r)
	if res.Status != GatePass {
		t.Fatalf("healthy Loki: %s (%s)", res.Status, res.Reason)
	}
	if len(fake.lines) != 1 || !strings.Contains(fake.lines[0], "canary") {
		t.Errorf("canary lines pushed: %q", fake.lines)
	}

	limits.MaxLabelNamesPerSeries = 2
	r.Connect = fakeConnectors{loki: fake, limits: limits}
	res = deployChecked(t.Context(), r)
	if res.Status != GateFail || !strings.Contains(res.Reason, "max_label_names_per_series: 3") {
		t.Errorf("three labels over a limit of 2: %s (%s)", res.Status, res.Reason)
	}
	if _, ok := res.Evidence["overrides"]; !ok {
		t.Error("the evidence does not list the overrides")
	}

	fake.readyErr = errors.New("connection refused")
	res = deployChecked(t.Context(), r)
	if res.Status != GateInconclusive || !strings.Contains(res.Reason, "connection refused") {
		t.Errorf("Loki not answering: %s (%s)", res.Status, res.Reason)
	}

	r.Connect = nil
	if res := deployChecked(t.Context(), r); res.Status != GateInconclusive {
		t.Errorf("no connectors: %s, want inconclusive", res.Status)
	}
}

func TestTranslateGateNeedsApprovalAboveLimit(t *testing.T) {
	store := openTestStore(t)
	p := testPlan(t)
	p.Phases.Translate.MaxUnsupported = 1
	r := &Run{Plan: p, Store: store, Phase: Translate, Generation: 2}
	if err := putJSON(t.Context(), r, artifactTranslate, TranslateSummary{Unsupported: 3, Items: []string{"vega v1"}}); err != nil {
		t.Fatal(err)
	}
	res := unsupportedReviewed(t.Context(), r)
	if res.Status != GateFail || res.Evidence["unsupported"] != 3 {
		t.Fatalf("3 unsupported over a limit of 1: %s %v", res.Status, res.Evidence)
	}
	// An approval of an earlier translation does not count.
	if err := store.Approve(t.Context(), Approval{Phase: Translate, Generation: 1, Actor: "old"}, Entry{}); err != nil {
		t.Fatal(err)
	}
	if res := unsupportedReviewed(t.Context(), r); res.Status != GateFail {
		t.Errorf("a stale approval opened the gate: %s", res.Status)
	}
	if err := store.Approve(t.Context(), Approval{Phase: Translate, Generation: 2, Actor: "bob", Reason: "reviewed"}, Entry{}); err != nil {
		t.Fatal(err)
	}
	if res := unsupportedReviewed(t.Context(), r); res.Status != GatePass || res.Evidence["approved_by"] != "bob" {
		t.Errorf("approved: %s %v", res.Status, res.Evidence)
	}
}

func TestInventoryAndTranslateOfflineExport(t *testing.T) {
	p := testPlan(t)
	p.Sources.Elasticsearch = nil
	p.Sources.Kibana = &plans.KibanaSource{Export: mustAbs(t, "../testdata/kibana/beats-system-syslog-dashboard-ecs.json")}
	p.Sources.Grafana = &plans.GrafanaSource{Dashboards: mustAbs(t, "../testdata/grafana")}
	p.Sources.Alerts = mustAbs(t, "../translators/alerts/testdata/inputs")
	p.Phases.Translate.Out = t.TempDir()
	// The Grafana corpus has PPL and map panels, the alerts a script watch.
	p.Phases.Translate.MaxUnsupported = 30
	store := openTestStore(t)
	defs := Definitions()
	defs[Deploy] = holdAt(Deploy)
	e := &Engine{Plan: p, Store: store, Defs: defs}
	out, err := e.Apply(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Phase != Deploy {
		t.Fatalf("outcome %+v, want held at deploy", out)
	}
	var inv InventoryResult
	if found, err := getJSON(t.Context(), &Run{Store: store}, artifactInventory, &inv); !found || err != nil {
		t.Fatalf("inventory not stored: %v", err)
	}
	if inv.Kibana.ByType["dashboard"] != 1 || inv.Grafana.Dashboards != 21 || inv.Grafana.DataSources["prometheus"] == 0 {
		t.Errorf("inventory %+v / %+v", inv.Kibana, inv.Grafana)
	}
	written, _ := filepath.Glob(filepath.Join(p.Phases.Translate.Out, "translate", "kibana", "dashboards", "*.json"))
	if len(written) != 1 {
		t.Errorf("%d dashboards written, want 1", len(written))
	}
	grafanaWritten, _ := filepath.Glob(filepath.Join(p.Phases.Translate.Out, "translate", "grafana", "dashboards", "*.json"))
	if len(grafanaWritten) != 21 {
		t.Errorf("%d Grafana dashboards written, want 21", len(grafanaWritten))
	}
	rules, _ := filepath.Glob(filepath.Join(p.Phases.Translate.Out, "translate", "alerts", "rules", "*.yaml"))
	if len(rules) == 0 {
		t.Error("no rule file written")
	}
	var sum TranslateSummary
	if found, err := getJSON(t.Context(), &Run{Store: store}, artifactTranslate, &sum); !found || err != nil {
		t.Fatalf("translation summary not stored: %v", err)
	}
	if sum.Kibana == nil || sum.Grafana == nil || sum.Alerts == nil || len(sum.Reports) != 3 {
		t.Errorf("the summary does not combine the three translators: %+v", sum)
	}
	if sum.Unsupported == 0 || sum.Unsupported > 30 {
		t.Errorf("%d unsupported items; the corpus has some, within the limit of 30", sum.Unsupported)
	}
}

func mustAbs(t *testing.T, rel string) string {
	t.Helper()
	abs, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// podLogs is an Elasticsearch whose pod name field has 40,000 values.
type podLogs struct{}

func (podLogs) Info(context.Context) (string, string, error) { return "prod", "8.17.0", nil }
func (podLogs) Indices(context.Context, string) ([]inventory.IndexInfo, error) {
	return []inventory.IndexInfo{{Name: "k8s-2026.12.04", Docs: 10, StoreBytes: 1000}}, nil
}

func (podLogs) Fields(context.Context, string) ([]inventory.FieldInfo, error) {
	return []inventory.FieldInfo{{Path: "@timestamp", Type: "date"}, {Path: "kubernetes.pod.name", Type: "keyword"}}, nil
}
func (podLogs) TimeField(context.Context, string) (string, error) { return "@timestamp", nil }
func (podLogs) Cardinality(context.Context, string, string, []string, time.Time, time.Time) (map[string]int64, map[string]string, error) {
	return map[string]int64{"kubernetes.pod.name": 40000}, nil, nil
}

func (podLogs) DailyVolume(context.Context, string, string, time.Time, time.Time) ([]inventory.DayVolume, error) {
	return nil, nil
}

type podConnectors struct{ noConnectors }

func (podConnectors) Elasticsearch(*plans.Plan) (inventory.LogSource, error) { return podLogs{}, nil }

func (podConnectors) LokiLimits(context.Context, *plans.Plan) (inventory.LokiLimits, error) {
	return inventory.DefaultLokiLimits(), nil
}

func TestInventoryGateRejectsPodLabel(t *testing.T) {
	p := testPlan(t)
	p.Sources.Alerts = ""
	p.Logs = []plans.LogMapping{{Indices: "k8s-*", Labels: map[string]string{"pod": "kubernetes.pod.name"}, Line: "message"}}
	store := openTestStore(t)
	defs := Definitions()
	e := &Engine{Plan: p, Store: store, Defs: defs, Connect: podConnectors{}}
	out, err := e.Apply(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Phase != Inventory {
		t.Fatalf("outcome %+v, want held at inventory", out)
	}
	r := &Run{Plan: p, Store: store, Now: time.Now}
	res := inventoryStored(t.Context(), r)
	if res.Status != GateFail || !strings.Contains(res.Reason, "kubernetes.pod.name") {
		t.Errorf("gate %s: %s", res.Status, res.Reason)
	}
	var inv InventoryResult
	if found, err := getJSON(t.Context(), r, artifactInventory, &inv); !found || err != nil {
		t.Fatalf("inventory not stored: %v", err)
	}
	if inv.Elasticsearch == nil || inv.Loki == nil || inv.Loki.OK {
		t.Errorf("stored inventory %+v", inv.Loki)
	}
}
