package phases

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/plans"
)

// Alert is one alert as Alertmanager's API v2 reports it
// (gettableAlert in api/v2/openapi.yaml of Alertmanager 0.2x).
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	StartsAt    time.Time         `json:"startsAt"`
	Status      struct {
		// State is unprocessed, active or suppressed.
		State       string   `json:"state"`
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// firing reports whether the alert is neither silenced nor inhibited.
// An unprocessed alert counts as firing: Alertmanager has not yet
// matched it against silences and inhibitions.
func (a Alert) firing() bool {
	return a.Status.State != "suppressed" && len(a.Status.SilencedBy) == 0 && len(a.Status.InhibitedBy) == 0
}

// AlertSource lists the alerts that may hold a cutover.
type AlertSource interface {
	// ActiveAlerts returns the active alerts that are neither silenced
	// nor inhibited.
	ActiveAlerts(ctx context.Context) ([]Alert, error)
}

// alertmanagerTimeout bounds each request to Alertmanager.
const alertmanagerTimeout = 30 * time.Second

// Alertmanager is a client of Alertmanager's API v2.
type Alertmanager struct {
	http *httpx.Client
}

// NewAlertmanager returns a client of targets.alertmanager.
func NewAlertmanager(p *plans.Plan) (*Alertmanager, error) {
	t := p.Targets.Alertmanager
	if t == nil {
		return nil, errors.New("targets.alertmanager is not in the plan: add it with url, or remove phases.cutover.block_on_alerts")
	}
	path := func(f string) string {
		if f == "" {
			return ""
		}
		return p.Path(f)
	}
	c, err := httpx.New(httpx.Config{
		System:  "alertmanager",
		BaseURL: t.URL,
		TLS:     httpx.TLS{CAFile: path(t.TLS.CAFile), CertFile: path(t.TLS.CertFile), KeyFile: path(t.TLS.KeyFile), InsecureSkipVerify: t.TLS.InsecureSkipVerify},
		Header:  http.Header{"Accept": {"application/json"}},
		Timeout: alertmanagerTimeout,
		// A cutover waits for a response, not for many retries.
		MaxAttempts: 3,
	})
	if err != nil {
		return nil, err
	}
	return &Alertmanager{http: c}, nil
}

// ActiveAlerts reads GET /api/v2/alerts?active=true&silenced=false&inhibited=false
// and keeps the alerts that are neither silenced nor inhibited, in case a
// proxy in between drops the query.
func (a *Alertmanager) ActiveAlerts(ctx context.Context) ([]Alert, error) {
	resp, err := a.http.Do(ctx, httpx.Request{
		Method: http.MethodGet, Path: "/api/v2/alerts",
		Query: url.Values{"active": {"true"}, "silenced": {"false"}, "inhibited": {"false"}},
	})
	if err != nil {
		return nil, err
	}
	alerts, err := decodeAlerts(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("alertmanager: GET /api/v2/alerts: %w; check that targets.alertmanager.url points at Alertmanager 0.16 or later", err)
	}
	return alerts, nil
}

// decodeAlerts reads a gettableAlerts array and returns the firing alerts.
func decodeAlerts(body []byte) ([]Alert, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '[' {
		return nil, errors.New("the response is not a JSON array of alerts")
	}
	var all []Alert
	if err := json.Unmarshal(body, &all); err != nil {
		return nil, fmt.Errorf("decoding the alerts: %w", err)
	}
	out := all[:0]
	for _, a := range all {
		if a.firing() {
			out = append(out, a)
		}
	}
	return out, nil
}

// blockingAlerts returns the alerts whose severity label is severity.
func blockingAlerts(alerts []Alert, severity string) []string {
	var out []string
	for _, a := range alerts {
		if a.Labels["severity"] != severity {
			continue
		}
		name := a.Labels["alertname"]
		if name == "" {
			name = a.Fingerprint
		}
		out = append(out, fmt.Sprintf("%s (since %s)", name, a.StartsAt.UTC().Format(time.RFC3339)))
	}
	slices.Sort(out)
	return out
}

// noBlockingAlerts checks phases.cutover.block_on_alerts: no active,
// unsilenced, uninhibited alert has the blocking severity. An
// Alertmanager that does not respond makes the check inconclusive.
func noBlockingAlerts(ctx context.Context, r *Run) GateResult {
	b := r.Plan.Phases.Cutover.BlockOnAlerts
	if b == nil || strings.TrimSpace(b.Severity) == "" {
		return pass("the plan does not hold cutover on alerts", nil)
	}
	if r.Plan.Targets.Alertmanager == nil {
		return pass("phases.cutover.block_on_alerts is set but the plan has no targets.alertmanager to ask; add it to hold cutover on "+b.Severity+" alerts",
			map[string]any{"severity": b.Severity})
	}
	src, err := r.actions().Alertmanager(r.Plan)
	if err != nil {
		return inconclusive("connecting to Alertmanager: "+err.Error(), map[string]any{"severity": b.Severity})
	}
	alerts, err := src.ActiveAlerts(ctx)
	if err != nil {
		return inconclusive("reading Alertmanager's alerts: "+err.Error()+"; the cutover waits until Alertmanager responds",
			map[string]any{"severity": b.Severity})
	}
	blocking := blockingAlerts(alerts, b.Severity)
	evidence := map[string]any{"severity": b.Severity, "active_alerts": len(alerts), "blocking": blocking}
	if len(blocking) > 0 {
		return fail(fmt.Sprintf("%d %s alerts are firing: %s; resolve or silence them before cutover",
			len(blocking), b.Severity, trimList(blocking, 5)), evidence)
	}
	return pass(fmt.Sprintf("no %s alert is firing (%d other active alerts)", b.Severity, len(alerts)), evidence)
}

// cutoverReady is the cutover entry gate: the approval when the plan
// requires one, and no blocking alert.
func cutoverReady(ctx context.Context, r *Run) GateResult {
	approval := cutoverApproved(ctx, r)
	alerts := noBlockingAlerts(ctx, r)
	evidence := map[string]any{
		"approval": map[string]any{"status": approval.Status, "reason": approval.Reason, "evidence": approval.Evidence},
		"alerts":   map[string]any{"status": alerts.Status, "reason": alerts.Reason, "evidence": alerts.Evidence},
	}
	reason := approval.Reason + "; " + alerts.Reason
	switch {
	case approval.Status == GateFail || alerts.Status == GateFail:
		return fail(reason, evidence)
	case approval.Status == GateInconclusive || alerts.Status == GateInconclusive:
		return inconclusive(reason, evidence)
	}
	return pass(reason, evidence)
}
