package inventory

import (
	"os"
	"testing"

	"github.com/obs-migrate/migrate/plans"
)

func TestAlertsListsCombinedLogsAndMetrics(t *testing.T) {
	mappings := []plans.LogMapping{{Indices: "filebeat-*"}}
	inv, err := Alerts(t.Context(), "testdata/combined-watch.json", "testdata", mappings)
	if err != nil {
		t.Fatal(err)
	}
	if inv.ByKind["watcher"] != 1 {
		t.Errorf("kinds %v", inv.ByKind)
	}
	if len(inv.Combined) != 1 {
		t.Fatalf("combined %+v, want the chain watch", inv.Combined)
	}
	c := inv.Combined[0]
	if c.ID != "errors-with-cpu" || c.Logs[0] != "filebeat-*" || c.Metrics[0] != "metricbeat-*" {
		t.Errorf("combined alert %+v", c)
	}
}

func TestAlertsCorpusLogsOnly(t *testing.T) {
	inv, err := Alerts(t.Context(), "../translators/alerts/testdata/inputs", "inputs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Files != 7 || inv.ByKind["kibana_rule"] == 0 || inv.ByKind["watcher"] == 0 {
		t.Errorf("inventory %+v", inv)
	}
	for _, c := range inv.Combined {
		t.Errorf("logs-only alert listed as combined: %+v", c)
	}
}

func TestGrafanaCorpusMixedDashboards(t *testing.T) {
	inv, err := GrafanaDashboards(t.Context(), "../testdata/grafana", "grafana")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Dashboards != 21 || len(inv.Errors) != 0 {
		t.Errorf("%d dashboards, errors %v", inv.Dashboards, inv.Errors)
	}
	if len(inv.MixedDashboards) == 0 {
		t.Error("no dashboard of the corpus is listed as mixing data sources")
	}
	for _, d := range inv.MixedDashboards {
		data, _ := readFile(d)
		types, _, _ := grafanaDashboardTypes(d, data)
		if len(types) < 2 {
			t.Errorf("%s listed as mixed with types %v", d, types)
		}
	}
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }
