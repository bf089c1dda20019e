package phases

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/translators/kibana"
)

// Inventory artifacts in the plan state.
const (
	artifactInventory        = "inventory"
	artifactInventoryKibana  = "inventory.kibana"
	artifactInventoryGrafana = "inventory.grafana"
	artifactInventoryAlerts  = "inventory.alerts"
)

// KibanaInventory counts the saved objects of a Kibana export.
type KibanaInventory struct {
	Source  string         `json:"source"`
	Files   int            `json:"files"`
	Objects int            `json:"objects"`
	ByType  map[string]int `json:"by_type"`
	Errors  []string       `json:"errors,omitempty"`
}

// GrafanaInventory counts the dashboards of a Grafana export folder.
type GrafanaInventory struct {
	Source     string `json:"source"`
	Files      int    `json:"files"`
	Dashboards int    `json:"dashboards"`
	Panels     int    `json:"panels"`
	// DataSources counts panels and targets by data source type.
	DataSources map[string]int `json:"data_sources"`
	// MixedDashboards lists dashboards that use more than one data source type.
	MixedDashboards []string `json:"mixed_dashboards,omitempty"`
	Errors          []string `json:"errors,omitempty"`
}

// AlertsInventory counts alert definitions by kind.
type AlertsInventory struct {
	Source string         `json:"source"`
	Files  int            `json:"files"`
	ByKind map[string]int `json:"by_kind"`
	Errors []string       `json:"errors,omitempty"`
}

// InventoryResult is the inventory phase's result, stored in the state.
type InventoryResult struct {
	Kibana  *KibanaInventory  `json:"kibana,omitempty"`
	Grafana *GrafanaInventory `json:"grafana,omitempty"`
	Alerts  *AlertsInventory  `json:"alerts,omitempty"`
	At      time.Time         `json:"at"`
}

func inventoryKibana(ctx context.Context, r *Run) (string, error) {
	src := r.Plan.Sources.Kibana
	if src == nil || src.Export == "" {
		return "skipped: the plan has no sources.kibana.export", nil
	}
	path := r.Plan.Path(src.Export)
	names, errs := files.Find([]string{path}, []string{".json", ".ndjson"})
	if len(names) == 0 && len(errs) > 0 {
		return "", fmt.Errorf("reading sources.kibana.export %s: %w", path, errs[0])
	}
	inv := KibanaInventory{Source: src.Export, ByType: map[string]int{}}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			inv.Errors = append(inv.Errors, err.Error())
			continue
		}
		inv.Files++
		objs, objErrs, fatal := kibana.ReadObjects(name, data)
		if fatal != nil {
			inv.Errors = append(inv.Errors, fatal.Error())
		}
		for _, e := range objErrs {
			inv.Errors = append(inv.Errors, e.Error())
		}
		for _, o := range objs {
			inv.Objects++
			inv.ByType[o.Type]++
		}
	}
	if err := putJSON(ctx, r, artifactInventoryKibana, inv); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d saved objects in %d files (%d dashboards, %d visualizations, %d searches); %d unreadable",
		inv.Objects, inv.Files, inv.ByType["dashboard"], inv.ByType["visualization"], inv.ByType["search"], len(inv.Errors)), nil
}

func inventoryGrafana(ctx context.Context, r *Run) (string, error) {
	src := r.Plan.Sources.Grafana
	if src == nil || src.Dashboards == "" {
		return "skipped: the plan has no sources.grafana.dashboards", nil
	}
	path := r.Plan.Path(src.Dashboards)
	names, errs := files.Find([]string{path}, []string{".json"})
	if len(names) == 0 && len(errs) > 0 {
		return "", fmt.Errorf("reading sources.grafana.dashboards %s: %w", path, errs[0])
	}
	inv := GrafanaInventory{Source: src.Dashboards, DataSources: map[string]int{}}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		inv.Files++
		types, panels, err := grafanaDashboardTypes(name)
		if err != nil {
			inv.Errors = append(inv.Errors, err.Error())
			continue
		}
		inv.Dashboards++
		inv.Panels += panels
		for t, n := range types {
			inv.DataSources[t] += n
		}
		if len(types) > 1 {
			inv.MixedDashboards = append(inv.MixedDashboards, name)
		}
	}
	if err := putJSON(ctx, r, artifactInventoryGrafana, inv); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d dashboards with %d panels in %d files; data sources %s; %d unreadable",
		inv.Dashboards, inv.Panels, inv.Files, countsText(inv.DataSources), len(inv.Errors)), nil
}

// grafanaDashboardTypes counts a dashboard's panels and the data source
// types of its panels and targets. Older dashboards name a data source by a
// plain string, which is counted as such.
func grafanaDashboardTypes(name string) (map[string]int, int, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, 0, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, 0, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	if inner, ok := doc["dashboard"].(map[string]any); ok {
		doc = inner
	}
	types := map[string]int{}
	panels := 0
	var walk func(list []any)
	walk = func(list []any) {
		for _, p := range list {
			panel, ok := p.(map[string]any)
			if !ok {
				continue
			}
			if nested, ok := panel["panels"].([]any); ok {
				walk(nested)
			}
			if panel["type"] == "row" {
				continue
			}
			panels++
			if t := dataSourceType(panel["datasource"]); t != "" {
				types[t]++
			}
			targets, _ := panel["targets"].([]any)
			for _, tg := range targets {
				if m, ok := tg.(map[string]any); ok {
					if t := dataSourceType(m["datasource"]); t != "" {
						types[t]++
					}
				}
			}
		}
	}
	list, _ := doc["panels"].([]any)
	walk(list)
	for _, row := range asList(doc["rows"]) {
		if m, ok := row.(map[string]any); ok {
			walk(asList(m["panels"]))
		}
	}
	return types, panels, nil
}

func dataSourceType(v any) string {
	switch d := v.(type) {
	case string:
		return "name:" + d
	case map[string]any:
		if t, ok := d["type"].(string); ok {
			return t
		}
	}
	return ""
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func inventoryAlerts(ctx context.Context, r *Run) (string, error) {
	if r.Plan.Sources.Alerts == "" {
		return "skipped: the plan has no sources.alerts", nil
	}
	path := r.Plan.Path(r.Plan.Sources.Alerts)
	names, errs := files.Find([]string{path}, []string{".json", ".ndjson"})
	if len(names) == 0 && len(errs) > 0 {
		return "", fmt.Errorf("reading sources.alerts %s: %w", path, errs[0])
	}
	inv := AlertsInventory{Source: r.Plan.Sources.Alerts, ByKind: map[string]int{}}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			inv.Errors = append(inv.Errors, err.Error())
			continue
		}
		inv.Files++
		for _, kind := range alertKinds(data) {
			inv.ByKind[kind]++
		}
	}
	if err := putJSON(ctx, r, artifactInventoryAlerts, inv); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d alert definitions in %d files (%s)", sum(inv.ByKind), inv.Files, countsText(inv.ByKind)), nil
}

// alertKinds distinguishes Kibana alerting rules from Watcher watches, one per JSON
// document of a file (NDJSON lines, a list, or one document).
func alertKinds(data []byte) []string {
	var docs []map[string]any
	var list []map[string]any
	var one map[string]any
	switch {
	case json.Unmarshal(data, &list) == nil:
		docs = list
	case json.Unmarshal(data, &one) == nil:
		docs = []map[string]any{one}
	default:
		for _, line := range splitLines(data) {
			var m map[string]any
			if json.Unmarshal(line, &m) == nil {
				docs = append(docs, m)
			}
		}
	}
	var kinds []string
	for _, d := range docs {
		attrs := d
		if a, ok := d["attributes"].(map[string]any); ok {
			attrs = a
		}
		switch {
		case attrs["rule_type_id"] != nil || attrs["alertTypeId"] != nil:
			kinds = append(kinds, "kibana_rule")
		case d["trigger"] != nil && d["input"] != nil:
			kinds = append(kinds, "watcher")
		default:
			kinds = append(kinds, "unknown")
		}
	}
	return kinds
}

func splitLines(data []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range data {
		if c == '\n' {
			out = append(out, data[start:i])
			start = i + 1
		}
	}
	return append(out, data[start:])
}

func inventoryStore(ctx context.Context, r *Run) (string, error) {
	inv := InventoryResult{At: r.Now().UTC()}
	for key, dst := range map[string]any{
		artifactInventoryKibana: &inv.Kibana, artifactInventoryGrafana: &inv.Grafana, artifactInventoryAlerts: &inv.Alerts,
	} {
		if _, err := getJSON(ctx, r, key, dst); err != nil {
			return "", fmt.Errorf("reading %s: %w", key, err)
		}
	}
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
	return pass("the inventory is stored", evidence)
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
