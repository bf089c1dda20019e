package phases

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/obs-migrate/migrate/deploy"
	"github.com/obs-migrate/migrate/plans"
)

// DeployTargets are the new stack's clients for the deploy checks.
type DeployTargets = deploy.Targets

// deployChecked is the deploy exit gate: each target of the plan is ready,
// runs a supported version, has limits that fit the inventory and the
// backfill, and returns a canary log line and trace. A failed check fails
// the gate with the override to set. A target that does not respond makes
// it inconclusive. Warnings leave the gate open and stay in the evidence.
func deployChecked(ctx context.Context, r *Run) GateResult {
	targets, err := r.connectors().Deploy(r.Plan)
	if err != nil {
		return inconclusive("connecting to the targets: "+err.Error(), nil)
	}
	defer closeAll(targets.Loki, targets.Tempo, targets.Grafana)
	var inv InventoryResult
	var invPtr *InventoryResult
	found, err := getJSON(ctx, r, artifactInventory, &inv)
	if err != nil {
		return inconclusive("reading the stored inventory: "+err.Error(), nil)
	}
	if found {
		invPtr = &inv
	}
	now := r.Now().UTC()
	backfillFrom, err := plans.ParseTime(r.Plan.Phases.ParallelRun.Backfill.From, now)
	if err != nil {
		return fail("phases.parallel_run.backfill.from: "+err.Error(), nil)
	}
	cfg := r.Plan.Phases.Deploy
	res := deploy.Run(ctx, targets, deploy.Options{
		Inputs:     deploy.Inputs{Plan: r.Plan, Inventory: invPtr, BackfillFrom: backfillFrom, Now: now},
		Timeout:    cfg.Timeout.Duration,
		Canary:     cfg.CanaryEnabled() && !r.DryRun,
		CanaryWait: cfg.CanaryWait.Duration,
	})
	evidence := map[string]any{"checks": res.Checks}
	if o := res.Overrides(); len(o) > 0 {
		evidence["overrides"] = o
	}
	switch res.Status() {
	case deploy.Fail:
		return fail("deploy checks failed:\n"+res.Summary(), evidence)
	case deploy.Inconclusive:
		return inconclusive("deploy checks could not run:\n"+res.Summary()+"\ncheck the URLs in targets and that the services run", evidence)
	}
	warned := 0
	for _, c := range res.Checks {
		if c.Status == deploy.Warn {
			warned++
		}
	}
	msg := fmt.Sprintf("%d deploy checks passed", len(res.Checks)-warned)
	if warned > 0 {
		msg += fmt.Sprintf(", %d with warnings:\n%s", warned, res.Summary())
	}
	return pass(strings.TrimSpace(msg), evidence)
}

// closeAll closes each value that has a Close method.
func closeAll(values ...any) {
	for _, v := range values {
		switch c := v.(type) {
		case io.Closer:
			_ = c.Close()
		case interface{ Close() }:
			c.Close()
		}
	}
}
