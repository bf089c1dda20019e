package phases

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/obs-migrate/migrate/plans"
)

// Alerts in the shape of Alertmanager's API v2 (gettableAlert of
// api/v2/openapi.yaml): labels, annotations, receivers, fingerprint,
// startsAt, updatedAt, endsAt and status {state, silencedBy, inhibitedBy}.
const (
	alertCriticalFiring   = `{"labels":{"alertname":"LokiRequestErrors","severity":"critical","namespace":"loki"},"annotations":{"summary":"5xx on Loki"},"receivers":[{"name":"pager"}],"fingerprint":"1a2b3c4d5e6f7a8b","startsAt":"2026-03-15T09:58:00.000Z","updatedAt":"2026-03-15T10:01:00.000Z","endsAt":"2026-03-15T10:05:00.000Z","generatorURL":"http://prometheus:9090/graph","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}`
	alertCriticalSilenced = `{"labels":{"alertname":"DiskFull","severity":"critical"},"annotations":{},"receivers":[{"name":"pager"}],"fingerprint":"aa11bb22cc33dd44","startsAt":"2026-03-15T08:00:00.000Z","updatedAt":"2026-03-15T10:01:00.000Z","endsAt":"2026-03-15T10:05:00.000Z","status":{"state":"suppressed","silencedBy":["5f7c0bde-0bd4-4c59-9a4b-8d1d8d8c2e6f"],"inhibitedBy":[]}}`
	alertWarning          = `{"labels":{"alertname":"HighLatency","severity":"warning"},"annotations":{},"receivers":[{"name":"slack"}],"fingerprint":"0f0e0d0c0b0a0908","startsAt":"2026-03-15T09:00:00.000Z","updatedAt":"2026-03-15T10:01:00.000Z","endsAt":"2026-03-15T10:05:00.000Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}}`
)

// fakeAlertmanager responds to GET /api/v2/alerts with a JSON array.
type fakeAlertmanager struct {
	*httptest.Server
	mu      sync.Mutex
	body    string
	status  int
	queries []string
}

func newFakeAlertmanager(t *testing.T, alerts ...string) *fakeAlertmanager {
	f := &fakeAlertmanager{body: "[" + strings.Join(alerts, ",") + "]", status: http.StatusOK}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.queries = append(f.queries, r.URL.RawQuery)
		if r.URL.Path != "/api/v2/alerts" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(f.body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAlertmanager) set(status int, alerts ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, "["+strings.Join(alerts, ",")+"]"
}

func alertPlan(t *testing.T, url, severity string) *plans.Plan {
	p := testPlan(t)
	p.Phases.Cutover.Approval = plans.ApprovalNone
	if url != "" {
		p.Targets.Alertmanager = &plans.AlertmanagerTarget{URL: url}
	}
	if severity != "" {
		p.Phases.Cutover.BlockOnAlerts = &plans.AlertBlocker{Severity: severity}
	}
	return p
}

func TestCutoverAlertGate(t *testing.T) {
	am := newFakeAlertmanager(t)
	tests := []struct {
		name     string
		url      string
		severity string
		status   int
		alerts   []string
		want     GateStatus
		reason   string
	}{
		{name: "no blocker", url: am.URL, alerts: []string{alertCriticalFiring}, want: GatePass, reason: "does not hold cutover on alerts"},
		{name: "no alertmanager", severity: "critical", want: GatePass, reason: "no targets.alertmanager"},
		{name: "critical firing", url: am.URL, severity: "critical", alerts: []string{alertCriticalFiring, alertWarning}, want: GateFail, reason: "LokiRequestErrors (since 2026-03-15T09:58:00Z)"},
		{name: "critical silenced, warning firing", url: am.URL, severity: "critical", alerts: []string{alertCriticalSilenced, alertWarning}, want: GatePass, reason: "no critical alert is firing (1 other active alerts)"},
		{name: "warning blocks when configured", url: am.URL, severity: "warning", alerts: []string{alertWarning}, want: GateFail, reason: "HighLatency"},
		{name: "alertmanager down", url: am.URL, severity: "critical", status: http.StatusBadRequest, want: GateInconclusive, reason: "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == 0 {
				status = http.StatusOK
			}
			am.set(status, tt.alerts...)
			r := &Run{Plan: alertPlan(t, tt.url, tt.severity), Store: openTestStore(t), Connect: fakeConnectors{}}
			res := cutoverReady(t.Context(), r)
			if res.Status != tt.want || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("status %s (%s), want %s with %q", res.Status, res.Reason, tt.want, tt.reason)
			}
		})
	}
	for _, q := range am.queries {
		if q != "active=true&inhibited=false&silenced=false" {
			t.Errorf("query %q, want active=true&inhibited=false&silenced=false", q)
		}
	}
}

func TestCutoverEntryNeedsApprovalAndNoAlert(t *testing.T) {
	am := newFakeAlertmanager(t, alertCriticalFiring)
	p := alertPlan(t, am.URL, "critical")
	p.Phases.Cutover.Approval = plans.ApprovalRequired
	store := storeAt(t, Cutover)
	r := &Run{Plan: p, Store: store, Phase: Cutover, Generation: 4, Connect: fakeConnectors{}}
	res := cutoverReady(t.Context(), r)
	if res.Status != GateFail || !strings.Contains(res.Reason, "migrate plan approve") || !strings.Contains(res.Reason, "LokiRequestErrors") {
		t.Errorf("no approval and a critical alert: %s (%s)", res.Status, res.Reason)
	}
	if err := store.Approve(t.Context(), Approval{Phase: Cutover, Generation: 4, Actor: "bob", Reason: "go"}, Entry{}); err != nil {
		t.Fatal(err)
	}
	if res := cutoverReady(t.Context(), r); res.Status != GateFail || strings.Contains(res.Reason, "needs an approval") {
		t.Errorf("approved, alert firing: %s (%s)", res.Status, res.Reason)
	}
	am.set(http.StatusOK)
	if res := cutoverReady(t.Context(), r); res.Status != GatePass {
		t.Errorf("approved, no alert: %s (%s)", res.Status, res.Reason)
	}
}

func FuzzDecodeAlerts(f *testing.F) {
	f.Add([]byte("[" + alertCriticalFiring + "," + alertCriticalSilenced + "," + alertWarning + "]"))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"labels":null,"status":{"state":"unprocessed"}}]`))
	f.Add([]byte(`[{"startsAt":"not a time"}]`))
	f.Add([]byte(`{"status":"error"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		alerts, err := decodeAlerts(body)
		if err != nil {
			return
		}
		for _, a := range alerts {
			if !a.firing() {
				t.Fatalf("a silenced, inhibited or suppressed alert was kept: %+v", a)
			}
		}
		// Each kept alert is counted at most once per severity.
		if n := len(blockingAlerts(alerts, "critical")); n > len(alerts) {
			t.Fatalf("%d blocking of %d alerts", n, len(alerts))
		}
	})
}
