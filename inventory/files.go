package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/kibana"
)

// KibanaInventory counts the saved objects of a Kibana export.
type KibanaInventory struct {
	Source  string         `json:"source"`
	Files   int            `json:"files"`
	Objects int            `json:"objects"`
	ByType  map[string]int `json:"by_type"`
	// Dashboards lists dashboard titles, sorted.
	Dashboards []string `json:"dashboards,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

// GrafanaInventory counts the dashboards of a Grafana export folder or API.
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
	// Combined lists alerts that read both logs and metrics. Loki holds
	// only the logs, so each needs a rule split in two or rewritten.
	Combined []CombinedAlert `json:"combined,omitempty"`
	Errors   []string        `json:"errors,omitempty"`
}

// CombinedAlert is an alert whose inputs read logs and metrics.
type CombinedAlert struct {
	File    string   `json:"file"`
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Logs    []string `json:"logs"`
	Metrics []string `json:"metrics"`
}

// KibanaExport counts the saved objects in a Kibana export file or folder.
// Unreadable files and objects are listed in Errors and the rest counted.
func KibanaExport(ctx context.Context, path, source string) (*KibanaInventory, error) {
	names, errs := files.Find([]string{path}, []string{".json", ".ndjson"})
	if len(names) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("reading Kibana export %s: %w", path, errs[0])
	}
	inv := &KibanaInventory{Source: source, ByType: map[string]int{}}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			inv.Errors = append(inv.Errors, err.Error())
			continue
		}
		inv.Files++
		inv.add(name, data)
	}
	sort.Strings(inv.Dashboards)
	return inv, nil
}

// add counts the objects of one export's bytes.
func (inv *KibanaInventory) add(name string, data []byte) {
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
		if o.Type == "dashboard" {
			inv.Dashboards = append(inv.Dashboards, o.Title())
		}
	}
}

// GrafanaDashboards counts the dashboards of a file or folder of Grafana
// dashboard JSON.
func GrafanaDashboards(ctx context.Context, path, source string) (*GrafanaInventory, error) {
	names, errs := files.Find([]string{path}, []string{".json"})
	if len(names) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("reading Grafana dashboards %s: %w", path, errs[0])
	}
	inv := &GrafanaInventory{Source: source, DataSources: map[string]int{}}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		inv.Files++
		data, err := os.ReadFile(name)
		if err != nil {
			inv.Errors = append(inv.Errors, err.Error())
			continue
		}
		inv.AddDashboard(name, data)
	}
	return inv, nil
}

// AddDashboard counts one dashboard's panels and data sources. name is how
// the dashboard is listed: a file name or a uid and title.
func (inv *GrafanaInventory) AddDashboard(name string, data []byte) {
	types, panels, err := grafanaDashboardTypes(name, data)
	if err != nil {
		inv.Errors = append(inv.Errors, err.Error())
		return
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

// grafanaDashboardTypes counts a dashboard's panels and the data source
// types of its panels and targets. Older dashboards name a data source by a
// plain string, which is counted as such.
func grafanaDashboardTypes(name string, data []byte) (map[string]int, int, error) {
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

// Alerts counts the Kibana rules and Watcher watches in a file or folder
// and lists those that read both logs and metrics. An index counts as logs
// when a logs mapping of the plan matches it, and as metrics when its name
// or the rule type names metrics.
func Alerts(ctx context.Context, path, source string, mappings []plans.LogMapping) (*AlertsInventory, error) {
	names, errs := files.Find([]string{path}, []string{".json", ".ndjson"})
	if len(names) == 0 && len(errs) > 0 {
		return nil, fmt.Errorf("reading alerts %s: %w", path, errs[0])
	}
	inv := &AlertsInventory{Source: source, ByKind: map[string]int{}}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(name)
		if err != nil {
			inv.Errors = append(inv.Errors, err.Error())
			continue
		}
		inv.Files++
		for _, doc := range alertDocuments(data) {
			if _, summary := doc["exportedCount"]; summary {
				continue // the export-details line of a Kibana export
			}
			if w, ok := doc["watch"].(map[string]any); ok {
				// The get-watch API answer wraps the watch.
				inner := map[string]any{"_id": doc["_id"]}
				for k, v := range w {
					inner[k] = v
				}
				doc = inner
			}
			kind := alertKind(doc)
			if kind == "unknown" {
				if t, _ := doc["type"].(string); t != "" && t != "alert" && t != "rule" {
					continue // another saved object of the export: a connector or data view
				}
			}
			inv.ByKind[kind]++
			if c, ok := combinedAlert(name, doc, mappings); ok {
				inv.Combined = append(inv.Combined, c)
			}
		}
	}
	return inv, nil
}

// alertDocuments splits a file into JSON documents: NDJSON lines, a list,
// or one document.
func alertDocuments(data []byte) []map[string]any {
	var list []map[string]any
	if json.Unmarshal(data, &list) == nil {
		return list
	}
	var one map[string]any
	if json.Unmarshal(data, &one) == nil {
		return []map[string]any{one}
	}
	var docs []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			docs = append(docs, m)
		}
	}
	return docs
}

// alertKind distinguishes Kibana alerting rules from Watcher watches.
func alertKind(d map[string]any) string {
	attrs := d
	if a, ok := d["attributes"].(map[string]any); ok {
		attrs = a
	}
	switch {
	case attrs["rule_type_id"] != nil || attrs["alertTypeId"] != nil:
		return "kibana_rule"
	case d["trigger"] != nil && d["input"] != nil:
		return "watcher"
	default:
		return "unknown"
	}
}

// combinedAlert reports whether an alert reads logs and metrics, from the
// index names anywhere in its definition and its rule type.
func combinedAlert(file string, d map[string]any, mappings []plans.LogMapping) (CombinedAlert, bool) {
	attrs := d
	if a, ok := d["attributes"].(map[string]any); ok {
		attrs = a
	}
	c := CombinedAlert{File: file}
	c.ID, _ = d["id"].(string)
	if c.ID == "" {
		c.ID, _ = d["_id"].(string)
	}
	c.Name, _ = attrs["name"].(string)
	var indices []string
	collectIndices(d, &indices)
	seen := map[string]bool{}
	for _, index := range indices {
		if seen[index] {
			continue
		}
		seen[index] = true
		switch {
		case isMetricsIndex(index):
			c.Metrics = append(c.Metrics, index)
		case isLogsIndex(index, mappings):
			c.Logs = append(c.Logs, index)
		}
	}
	ruleType, _ := attrs["rule_type_id"].(string)
	if ruleType == "" {
		ruleType, _ = attrs["alertTypeId"].(string)
	}
	if strings.HasPrefix(ruleType, "metrics.") && len(c.Logs) > 0 {
		c.Metrics = append(c.Metrics, "rule type "+ruleType)
	}
	sort.Strings(c.Logs)
	sort.Strings(c.Metrics)
	return c, len(c.Logs) > 0 && len(c.Metrics) > 0
}

// collectIndices gathers the values of every "index" or "indices" key: a
// string (comma-separated) or a list of strings.
func collectIndices(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "index" || k == "indices" {
				for _, s := range stringsOf(val) {
					for _, part := range strings.Split(s, ",") {
						if part = strings.TrimSpace(part); part != "" {
							*out = append(*out, part)
						}
					}
				}
				continue
			}
			collectIndices(val, out)
		}
	case []any:
		for _, e := range x {
			collectIndices(e, out)
		}
	}
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func isMetricsIndex(index string) bool {
	lower := strings.ToLower(index)
	return strings.Contains(lower, "metric") || strings.HasPrefix(lower, "apm-") ||
		strings.HasPrefix(lower, "heartbeat-")
}

func isLogsIndex(index string, mappings []plans.LogMapping) bool {
	for _, m := range mappings {
		if m.MatchesIndex(index) {
			return true
		}
	}
	lower := strings.ToLower(index)
	for _, prefix := range []string{"logs-", "logs", "log-", "filebeat-", "logstash-"} {
		if strings.HasPrefix(lower, prefix) {
			return true
		}
	}
	return strings.Contains(lower, "-logs") || strings.Contains(lower, "_logs")
}
