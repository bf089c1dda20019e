package phases

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/obs-migrate/migrate/plans"
)

func TestTargetsHealthyGate(t *testing.T) {
	ready := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ready" && r.URL.Path != "/api/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(ready)
	}))
	defer srv.Close()

	p := testPlan(t)
	p.Targets.Loki = &plans.LokiTarget{URL: srv.URL}
	p.Targets.Grafana = &plans.GrafanaTarget{URL: srv.URL + "/"}
	r := &Run{Plan: p, HTTP: srv.Client()}
	if res := targetsHealthy(t.Context(), r); res.Status != GatePass {
		t.Errorf("healthy targets: %s (%s)", res.Status, res.Reason)
	}
	ready = http.StatusServiceUnavailable
	if res := targetsHealthy(t.Context(), r); res.Status != GateFail {
		t.Errorf("a target answering 503: %s, want fail", res.Status)
	}
	p.Targets.Tempo = &plans.TempoTarget{URL: "http://127.0.0.1:1"}
	ready = http.StatusOK
	res := targetsHealthy(t.Context(), r)
	if res.Status != GateInconclusive {
		t.Errorf("an unreachable target: %s, want inconclusive", res.Status)
	}
	if _, ok := res.Evidence["tempo"]; !ok {
		t.Error("the evidence does not name the unreachable target")
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
