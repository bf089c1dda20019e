package phases

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/grafana"
	"github.com/obs-migrate/migrate/plans"
)

// actionConnectors hands the cutover a real Grafana client of the fake
// Grafana and a real Alertmanager client of the fake Alertmanager.
type actionConnectors struct {
	noConnectors
	grafana *grafana.Client
	es      ElasticsearchActions
}

func (a actionConnectors) TargetGrafana(*plans.Plan) (GrafanaActions, error) { return a.grafana, nil }

func (a actionConnectors) Alertmanager(p *plans.Plan) (AlertSource, error) {
	return NewAlertmanager(p)
}

func (a actionConnectors) OldElasticsearch(*plans.Plan) (ElasticsearchActions, error) {
	if a.es == nil {
		return nil, errNoConnectors
	}
	return a.es, nil
}

// writeConverted writes converted dashboards where the translate phase
// puts them.
func writeConverted(t *testing.T, out string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(out, "translate", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGatePathExamplePlan runs the example plan from parallel_run through
// the cutover and back with a rollback. Recorded parity windows open the
// parallel_run gate, and the cutover waits for an approval and for a
// critical alert to be silenced. Its actions change the fake Grafana and the
// gateway mode, and the rollback reverses each of them.
func TestGatePathExamplePlan(t *testing.T) {
	p, err := plans.Load("../testdata/plans/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGrafana(t)
	// A dashboard with the UID of a converted one exists before the
	// cutover; the rollback must bring it back.
	g.dashboards["checkout"] = &fakeDashboard{json: map[string]any{"uid": "checkout", "title": "Checkout (Elasticsearch)", "panels": []any{}}, folderUID: "old", version: 7}
	am := newFakeAlertmanager(t, alertCriticalFiring, alertWarning)
	p.Targets.Alertmanager.URL = am.URL
	p.Phases.Translate.Out = t.TempDir()
	writeConverted(t, p.Phases.Translate.Out, map[string]string{
		"kibana/dashboards/web-logs.json":  `{"uid":"web-logs","title":"Web logs","panels":[{"type":"logs","datasource":{"type":"loki","uid":"loki"}}]}`,
		"grafana/dashboards/checkout.json": `{"uid":"checkout","title":"Checkout","panels":[{"type":"timeseries","datasource":{"type":"loki","uid":"loki"}}]}`,
	})
	client, err := grafana.New(grafana.Config{URL: g.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	store := storeAt(t, ParallelRun)
	// 336h of parallel run with a passing window each hour of the last
	// day, recorded as migrate parity --record stores them.
	for h := 312; h < 336; h++ {
		from := t0.Add(time.Duration(h) * time.Hour)
		if err := RecordParityWindow(t.Context(), store, ParityWindow{From: from, To: from.Add(time.Hour), Verdict: ParityPass}); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(336*time.Hour + 20*time.Minute)
	e := &Engine{
		Plan: p, Store: store, Defs: Definitions(), Actor: "tester",
		Connect: actionConnectors{grafana: client}, Now: func() time.Time { return now },
	}
	ctx := t.Context()

	// The parity gate opens; cutover waits for an approval.
	out, err := e.Apply(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Phase != Cutover || !out.Held || out.Gate.Gate != "approval_and_alerts" || !strings.Contains(out.Gate.Reason, "migrate plan approve") {
		t.Fatalf("outcome %+v, want held at cutover for an approval", out)
	}
	if err := e.Approve(ctx, Cutover, "parity reviewed"); err != nil {
		t.Fatal(err)
	}
	// A critical alert is firing.
	out, err = e.Apply(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Held || out.Gate.Status != GateFail || !strings.Contains(out.Gate.Reason, "LokiRequestErrors") {
		t.Fatalf("outcome %+v, want held by the critical alert", out.Gate)
	}
	if _, _, _, ok := g.dashboard("web-logs"); ok {
		t.Fatal("a dashboard was imported before the entry gate passed")
	}
	// Silenced: the cutover acts, then holds on its soak.
	am.set(http.StatusOK, alertCriticalSilenced, alertWarning)
	out, err = e.Apply(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Phase != Cutover || !out.Held || out.Gate.Gate != gateSoak {
		t.Fatalf("outcome %+v, want held at cutover by the soak", out)
	}
	st, _ := store.State(ctx)
	if st.GatewayMode != GatewayNewPrimary {
		t.Errorf("gateway mode %q, want new_primary", st.GatewayMode)
	}
	if got := g.defaultSource(); got != "loki" {
		t.Errorf("default data source %q, want loki", got)
	}
	title, folder, version, ok := g.dashboard("checkout")
	if !ok || title != "Checkout" || version != 8 || !strings.HasPrefix(folder, "fold") {
		t.Errorf("checkout dashboard %q in %q at version %d, want the converted one in the migrated folder at version 8", title, folder, version)
	}
	if _, folder, _, ok := g.dashboard("web-logs"); !ok || !strings.HasPrefix(folder, "fold") {
		t.Error("web-logs dashboard not imported into the migrated folder")
	}
	// Applying again repeats nothing: the steps are checkpointed.
	calls := len(g.calls)
	if _, err := e.Apply(ctx, false); err != nil {
		t.Fatal(err)
	}
	if len(g.calls) != calls {
		t.Errorf("a second apply sent %d more requests to Grafana: %v", len(g.calls)-calls, g.calls[calls:])
	}

	// Rollback: back to parallel_run, the gateway to dual, Grafana as it
	// was.
	if err := e.Rollback(ctx, "Loki p95 latency doubled"); err != nil {
		t.Fatal(err)
	}
	st, _ = store.State(ctx)
	if st.Phase != ParallelRun || st.GatewayMode != GatewayDual {
		t.Errorf("state %+v, want parallel_run with the gateway in dual", st)
	}
	if got := g.defaultSource(); got != "es-logs" {
		t.Errorf("default data source %q after rollback, want es-logs", got)
	}
	if _, _, _, ok := g.dashboard("web-logs"); ok {
		t.Error("the imported web-logs dashboard is still there after the rollback")
	}
	if title, folder, _, _ := g.dashboard("checkout"); title != "Checkout (Elasticsearch)" || folder != "old" {
		t.Errorf("checkout dashboard %q in %q after rollback, want the earlier version in folder old", title, folder)
	}

	// The journal shows each step, in order.
	journal, err := store.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, text string }{
		{KindGate, "exit gate parity_windows: pass: 24 consecutive parity windows passed"},
		{KindTransition, "phase parallel_run done"},
		{KindGate, "entry gate approval_and_alerts: fail: cutover needs an approval"},
		{KindApproval, "tester approved phase cutover"},
		{KindGate, "entry gate approval_and_alerts: fail"},
		{KindGate, "entry gate approval_and_alerts: pass"},
		{KindPhaseEntered, "entered phase cutover"},
		{KindCutoverAction, "imported 2 dashboards into Grafana folder migrated: 1 new, 1 replacing an earlier version"},
		{KindStepCompleted, "step import_dashboards completed"},
		{KindCutoverAction, "default data source es-logs -> loki"},
		{KindCutoverAction, "gateway mode dual -> new_primary"},
		{KindGate, "exit gate soak: fail: cutover has soaked"},
		{KindCutoverUndo, "undid gateway_new_primary: gateway mode new_primary -> dual"},
		{KindCutoverUndo, "undid default_datasource: default data source loki -> es-logs"},
		{KindCutoverUndo, "undid import_dashboards: removed 1 imported dashboards and restored 1 earlier versions"},
		{KindRollback, "rolled back from cutover to parallel_run"},
	}
	i := 0
	for _, entry := range journal {
		if i < len(want) && entry.Kind == want[i].kind && strings.Contains(entry.Message, want[i].text) {
			i++
		}
	}
	if i < len(want) {
		var got []string
		for _, entry := range journal {
			got = append(got, entry.Kind+": "+entry.Message)
		}
		t.Errorf("journal lacks %s %q (in order); journal:\n%s", want[i].kind, want[i].text, strings.Join(got, "\n"))
	}
	for _, entry := range journal {
		if entry.Kind == KindRollback && entry.Reason != "Loki p95 latency doubled" {
			t.Errorf("rollback entry %+v lacks the reason", entry)
		}
	}
}

// TestCutoverDryRunChangesNothing runs the cutover steps in a dry run.
func TestCutoverDryRunChangesNothing(t *testing.T) {
	p, err := plans.Load("../testdata/plans/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.Phases.Cutover.Approval, p.Phases.Cutover.BlockOnAlerts = plans.ApprovalNone, nil
	p.Phases.Translate.Out = t.TempDir()
	writeConverted(t, p.Phases.Translate.Out, map[string]string{"kibana/dashboards/a.json": `{"uid":"a","title":"A"}`})
	g := newFakeGrafana(t)
	client, _ := grafana.New(grafana.Config{URL: g.URL, Timeout: 5 * time.Second})
	store := storeAt(t, Cutover)
	st, _ := store.State(t.Context())
	st.Entered = false
	_ = store.SetState(t.Context(), st, Entry{})
	e := &Engine{Plan: p, Store: store, Defs: Definitions(), Connect: actionConnectors{grafana: client}, Now: func() time.Time { return t0 }}
	out, err := e.Apply(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.calls) != 0 {
		t.Errorf("a dry run called Grafana: %v", g.calls)
	}
	joined := strings.Join(out.Would, "\n")
	for _, want := range []string{"import dashboard", "make Grafana data source loki the default", "switch the gateway from dual to new_primary"} {
		if !strings.Contains(joined, want) {
			t.Errorf("would %q lacks %q", joined, want)
		}
	}
	if st, _ := store.State(t.Context()); st.GatewayMode != GatewayDual {
		t.Errorf("a dry run changed the gateway mode to %s", st.GatewayMode)
	}
}
