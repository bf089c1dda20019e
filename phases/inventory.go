package phases

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/inventory"
)

// Inventory artifacts in the plan state.
const (
	artifactInventory              = "inventory"
	artifactInventoryElasticsearch = "inventory.elasticsearch"
	artifactInventoryJaeger        = "inventory.jaeger"
	artifactInventoryKibana        = "inventory.kibana"
	artifactInventoryGrafana       = "inventory.grafana"
	artifactInventoryAlerts        = "inventory.alerts"
)

// InventoryResult is the inventory phase's result, stored in the state.
type InventoryResult = inventory.Report

// inventoryWindow returns the window the live steps measure over, pinned to
// the phase's first run so a resumed phase measures the same span.
func inventoryWindow(ctx context.Context, r *Run) (inventory.Window, error) {
	const key = "inventory.window"
	var w inventory.Window
	found, err := getJSON(ctx, r, key, &w)
	if err != nil || found {
		return w, err
	}
	now := r.Now().UTC().Truncate(time.Second)
	w = inventory.Window{From: now.Add(-r.Plan.Phases.Inventory.Window.Duration), To: now}
	return w, putJSON(ctx, r, key, w)
}

func inventoryElasticsearch(ctx context.Context, r *Run) (string, error) {
	if r.Plan.Sources.Elasticsearch == nil {
		return "skipped: the plan has no sources.elasticsearch", nil
	}
	src, err := r.connectors().Elasticsearch(r.Plan)
	if err != nil {
		return "", err
	}
	window, err := inventoryWindow(ctx, r)
	if err != nil {
		return "", err
	}
	limits, limitsErr := r.connectors().LokiLimits(ctx, r.Plan)
	es, projection, err := inventory.Elasticsearch(ctx, src, r.Plan, window, limits)
	if err != nil {
		return "", err
	}
	result := inventory.Report{Elasticsearch: es, Loki: projection}
	if limitsErr != nil {
		result.Problems = append(result.Problems, fmt.Sprintf("loki: reading limits: %v; the projection uses %s", limitsErr, limits.Source))
	}
	if err := putJSON(ctx, r, artifactInventoryElasticsearch, result); err != nil {
		return "", err
	}
	verdict := "fits"
	if !projection.OK {
		verdict = "does not fit"
	}
	return fmt.Sprintf("%d indices in %d logs entries; proposed labels project %d streams and %s Loki's limits (%s)",
		len(es.Indices), len(es.Mappings), projection.ProjectedStreams, verdict, limits.Source), nil
}

func inventoryJaeger(ctx context.Context, r *Run) (string, error) {
	if r.Plan.Sources.Jaeger == nil {
		return "skipped: the plan has no sources.jaeger", nil
	}
	src, err := r.connectors().Jaeger(r.Plan)
	if err != nil {
		return "", err
	}
	defer closeAll(src)
	window, err := inventoryWindow(ctx, r)
	if err != nil {
		return "", err
	}
	j, err := inventory.Jaeger(ctx, src, r.Plan, window)
	if err != nil {
		return "", err
	}
	if err := putJSON(ctx, r, artifactInventoryJaeger, j); err != nil {
		return "", err
	}
	ops := 0
	for _, s := range j.Services {
		ops += len(s.Operations)
	}
	return fmt.Sprintf("%d services with %d operations; %d problems", len(j.Services), ops, len(j.Problems)), nil
}

func inventoryKibana(ctx context.Context, r *Run) (string, error) {
	src := r.Plan.Sources.Kibana
	if src == nil {
		return "skipped: the plan has no sources.kibana", nil
	}
	var inv *inventory.KibanaInventory
	var err error
	if src.Export != "" {
		inv, err = inventory.KibanaExport(ctx, r.Plan.Path(src.Export), src.Export)
	} else {
		var api inventory.KibanaSource
		if api, err = r.connectors().Kibana(r.Plan); err == nil {
			inv, err = inventory.KibanaAPI(ctx, api)
		}
	}
	if err != nil {
		return "", err
	}
	if err := putJSON(ctx, r, artifactInventoryKibana, inv); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d saved objects in %d files (%d dashboards, %d visualizations, %d searches); %d unreadable",
		inv.Objects, inv.Files, inv.ByType["dashboard"], inv.ByType["visualization"], inv.ByType["search"], len(inv.Errors)), nil
}

func inventoryGrafana(ctx context.Context, r *Run) (string, error) {
	src := r.Plan.Sources.Grafana
	if src == nil {
		return "skipped: the plan has no sources.grafana", nil
	}
	var inv *inventory.GrafanaInventory
	var err error
	if src.Dashboards != "" {
		inv, err = inventory.GrafanaDashboards(ctx, r.Plan.Path(src.Dashboards), src.Dashboards)
	} else {
		var api inventory.GrafanaSource
		if api, err = r.connectors().Grafana(r.Plan); err == nil {
			inv, err = inventory.GrafanaAPI(ctx, api)
		}
	}
	if err != nil {
		return "", err
	}
	if err := putJSON(ctx, r, artifactInventoryGrafana, inv); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d dashboards with %d panels in %d files; data sources %s; %d unreadable",
		inv.Dashboards, inv.Panels, inv.Files, countsText(inv.DataSources), len(inv.Errors)), nil
}

func inventoryAlerts(ctx context.Context, r *Run) (string, error) {
	if r.Plan.Sources.Alerts == "" {
		return "skipped: the plan has no sources.alerts", nil
	}
	inv, err := inventory.Alerts(ctx, r.Plan.Path(r.Plan.Sources.Alerts), r.Plan.Sources.Alerts, r.Plan.Logs)
	if err != nil {
		return "", err
	}
	if err := putJSON(ctx, r, artifactInventoryAlerts, inv); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d alert definitions in %d files (%s); %d read both logs and metrics",
		sum(inv.ByKind), inv.Files, countsText(inv.ByKind), len(inv.Combined)), nil
}

func inventoryStore(ctx context.Context, r *Run) (string, error) {
	window, err := inventoryWindow(ctx, r)
	if err != nil {
		return "", err
	}
	inv := InventoryResult{Schema: inventory.SchemaVersion, Plan: r.Plan.Metadata.Name, At: r.Now().UTC(), Window: window}
	var es inventory.Report
	for key, dst := range map[string]any{
		artifactInventoryElasticsearch: &es, artifactInventoryJaeger: &inv.Jaeger,
		artifactInventoryKibana: &inv.Kibana, artifactInventoryGrafana: &inv.Grafana, artifactInventoryAlerts: &inv.Alerts,
	} {
		if _, err := getJSON(ctx, r, key, dst); err != nil {
			return "", fmt.Errorf("reading %s: %w", key, err)
		}
	}
	inv.Elasticsearch, inv.Loki, inv.Problems = es.Elasticsearch, es.Loki, es.Problems
	if err := putJSON(ctx, r, artifactInventory, inv); err != nil {
		return "", err
	}
	return "inventory stored in the plan state", nil
}

func inventoryStored(ctx context.Context, r *Run) GateResult {
	var inv InventoryResult
	found, err := getJSON(ctx, r, artifactInventory, &inv)
	if err != nil {
		return inconclusive("reading the inventory: "+err.Error(), nil)
	}
	if !found {
		return fail("no inventory is stored; the inventory steps did not complete", nil)
	}
	evidence := map[string]any{"at": inv.At.Format(time.RFC3339)}
	if inv.Kibana != nil {
		evidence["kibana_objects"] = inv.Kibana.Objects
	}
	if inv.Grafana != nil {
		evidence["grafana_dashboards"] = inv.Grafana.Dashboards
	}
	if inv.Alerts != nil {
		evidence["alerts"] = sum(inv.Alerts.ByKind)
	}
	if inv.Jaeger != nil {
		evidence["jaeger_services"] = len(inv.Jaeger.Services)
	}
	if inv.Loki != nil {
		evidence["projected_streams"] = inv.Loki.ProjectedStreams
		evidence["loki_limits_fit"] = inv.Loki.OK
	}
	if problems := inventoryProblems(&inv); len(problems) > 0 {
		evidence["problems"] = problems
		return fail(fmt.Sprintf("the inventory could not measure everything (%s); fix the sources and run it again, or advance with --force and a reason",
			strings.Join(problems, "; ")), evidence)
	}
	if inv.Loki != nil && !inv.Loki.OK {
		evidence["problems"] = inv.Loki.Problems
		return fail("the plan's logs mapping does not fit Loki's limits: "+strings.Join(inv.Loki.Problems, "; ")+
			"; change the logs entries as the inventory proposes (migrate inventory PLAN shows it), or advance with --force and a reason", evidence)
	}
	return pass("the inventory is stored", evidence)
}

// inventoryProblems lists what the live measurements could not read.
func inventoryProblems(inv *InventoryResult) []string {
	problems := append([]string(nil), inv.Problems...)
	if inv.Elasticsearch != nil {
		for _, m := range inv.Elasticsearch.Mappings {
			for _, p := range m.Problems {
				problems = append(problems, "logs entry "+m.Indices+": "+p)
			}
		}
	}
	if inv.Jaeger != nil {
		problems = append(problems, inv.Jaeger.Problems...)
	}
	return problems
}

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s %d", k, m[k])
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
