package phases

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Definitions returns the phases as this version runs them.
//
// inventory reads the live sources through the run's connectors and the
// offline exports from disk; translate works on the exports. deploy checks
// the targets' readiness, versions, limits and a canary write. The later
// phases gate on evidence that other commands record (parity windows, approvals); where
// this version has no way to act or to gather the evidence, the gate
// answers inconclusive and says so, so the plan holds rather than moving
// on without proof.
func Definitions() map[Phase]*Definition {
	return map[Phase]*Definition{
		Inventory: {
			Phase: Inventory,
			Steps: []Step{
				{Name: "elasticsearch", Run: inventoryElasticsearch},
				{Name: "jaeger", Run: inventoryJaeger},
				{Name: "kibana_export", Run: inventoryKibana},
				{Name: "grafana_dashboards", Run: inventoryGrafana},
				{Name: "alerts", Run: inventoryAlerts},
				{Name: "store", Run: inventoryStore},
			},
			Exit: &Gate{Name: "inventory_stored", Check: inventoryStored},
		},
		Translate: {
			Phase: Translate,
			Steps: []Step{
				{Name: "kibana", Run: translateKibana},
				{Name: "grafana", Run: translateGrafana},
				{Name: "alerts", Run: translateAlerts},
				{Name: "report", Run: translateReport},
			},
			Exit: &Gate{Name: "unsupported_reviewed", Check: unsupportedReviewed},
		},
		Deploy: {
			Phase: Deploy,
			Exit:  &Gate{Name: "deploy_checked", Check: deployChecked},
		},
		ParallelRun: {
			Phase: ParallelRun,
			Exit:  &Gate{Name: "parity_windows", Check: parityWindows},
		},
		Cutover: {
			Phase: Cutover,
			Entry: &Gate{Name: "approval", Check: cutoverApproved},
			Exit:  &Gate{Name: "cutover_actions", Check: notInThisVersion("the cutover actions (importing dashboards, switching data sources, switching the gateway)")},
		},
		Decommission: {
			Phase: Decommission,
			Entry: &Gate{Name: "snapshot_verified", Check: notInThisVersion("the Elasticsearch snapshot and its verification")},
		},
	}
}

// notInThisVersion is the gate of work this version cannot do. It holds the
// plan and says what is missing.
func notInThisVersion(what string) func(context.Context, *Run) GateResult {
	return func(context.Context, *Run) GateResult {
		return inconclusive(what+" are not available in this version of migrate, so the plan holds here",
			map[string]any{"missing": what})
	}
}

// putJSON stores a value as a state artifact. A dry run works on a copy of
// the state, so this is safe there too.
func putJSON(ctx context.Context, r *Run, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	return r.Store.PutArtifact(ctx, key, r.Phase, r.Generation, data)
}

// getJSON reads a state artifact; found is false when it is absent.
func getJSON(ctx context.Context, r *Run, key string, v any) (found bool, err error) {
	data, ok, err := r.Store.Artifact(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	return true, json.Unmarshal(data, v)
}

// parityWindows is the parallel_run exit gate: min_duration has passed
// since the phase was entered, and the last consecutive_passes parity
// windows passed with no gap.
func parityWindows(ctx context.Context, r *Run) GateResult {
	cfg := r.Plan.Phases.ParallelRun
	st, err := r.Store.State(ctx)
	if err != nil {
		return inconclusive("reading the plan state: "+err.Error(), nil)
	}
	elapsed := r.Now().Sub(st.EnteredAt)
	evidence := map[string]any{
		"entered_at":         st.EnteredAt.UTC().Format(time.RFC3339),
		"elapsed":            elapsed.Round(time.Second).String(),
		"min_duration":       cfg.MinDuration.String(),
		"consecutive_passes": cfg.Parity.ConsecutivePasses,
		"passing_windows":    0,
	}
	if elapsed < cfg.MinDuration.Duration {
		return fail(fmt.Sprintf("the parallel run has lasted %s of its min_duration %s",
			elapsed.Round(time.Second), cfg.MinDuration), evidence)
	}
	return fail(fmt.Sprintf("0 of %d consecutive passing parity windows are recorded; record each window with migrate parity PLAN --record",
		cfg.Parity.ConsecutivePasses), evidence)
}

// cutoverApproved is the cutover entry gate when the plan requires a
// person's approval.
func cutoverApproved(ctx context.Context, r *Run) GateResult {
	if r.Plan.Phases.Cutover.Approval != "required" {
		return pass("the plan does not require an approval for cutover", nil)
	}
	approvals, err := r.Store.Approvals(ctx, Cutover)
	if err != nil {
		return inconclusive("reading approvals: "+err.Error(), nil)
	}
	if len(approvals) == 0 {
		return fail("cutover needs an approval: migrate plan approve PLAN --phase cutover --reason TEXT", nil)
	}
	last := approvals[len(approvals)-1]
	return pass("approved by "+last.Actor, map[string]any{"actor": last.Actor, "reason": last.Reason, "at": last.At.UTC().Format(time.RFC3339)})
}
