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
// the targets' readiness, versions, limits and a canary write.
// parallel_run gates on the parity windows that migrate parity --record
// stores. cutover needs an approval and no blocking alert. It imports the
// converted dashboards, switches the default data source and the gateway,
// and gates on a soak with passing parity windows. A rollback reverses its
// actions. decommission stops the copy to the old stack, snapshots its
// indices and verifies the snapshot, and deletes the indices only when
// the plan asks for it and the apply was confirmed.
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
			Entry: &Gate{Name: "approval_and_alerts", Check: cutoverReady},
			Steps: cutoverSteps(),
			Exit:  &Gate{Name: gateSoak, Check: cutoverSoaked},
		},
		Decommission: {
			Phase: Decommission,
			Entry: &Gate{Name: "cutover_soak_passed", Check: cutoverSoakPassed},
			Steps: decommissionSteps(),
			Exit:  &Gate{Name: "snapshot_verified", Check: snapshotVerified},
		},
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
