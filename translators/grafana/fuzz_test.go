package grafana_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators/grafana"
)

// FuzzConvert feeds arbitrary bytes as a dashboard: the conversion must
// not panic, must report the file, and must write valid JSON; a dashboard
// it leaves unchanged must come out as it went in.
func FuzzConvert(f *testing.F) {
	for _, name := range []string{"grafana-devenv-elasticsearch_v7_filebeat.json", "otel-demo-apm-dashboard.json", "odfe-es-logs-dashboard.json"} {
		if data, err := os.ReadFile(filepath.Join(corpusDir, name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(esPanel("stat", `{"refId":"A","query":"a:(b OR c) AND NOT d:[1 TO 5]","metrics":[{"type":"percentiles","field":"x","settings":{"percents":["99.9"]}}],"bucketAggs":[{"type":"terms","field":"h","settings":{"size":"0"}},{"type":"filters","settings":{"filters":[{"query":"x:1"}]}}]}`)))
	f.Add([]byte(`{"dashboard":{"rows":[{"panels":[{"datasource":"x","targets":[{"metrics":null,"bucketAggs":{}}]}]}],"templating":{"list":[{"type":"query","datasource":"x","query":{"query":"{\"find\":\"terms\"}"}}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := grafana.Convert([]grafana.Input{{File: "f.json", Data: data}}, grafana.Options{DataSources: map[string]string{"x": "elasticsearch"}})
		if len(res.Report.Items) != 1 {
			t.Fatalf("%d report items for one file", len(res.Report.Items))
		}
		item := res.Report.Items[0]
		if item.Status == grafana.StatusFailed {
			if item.Error == "" || len(res.Dashboards) != 0 {
				t.Fatalf("a failed file without an error or with output: %+v", item)
			}
			return
		}
		out := res.Dashboards[0].JSON
		if !json.Valid(out) {
			t.Fatalf("invalid JSON written:\n%s", out)
		}
		if item.Status == grafana.StatusUnchanged || item.Status == grafana.StatusNotConverted {
			v, _ := ojson.Decode(data)
			same, _ := ojson.Encode(v)
			if !bytes.Equal(out, same) {
				t.Fatalf("an unchanged dashboard was rewritten")
			}
		}
		if _, err := res.Report.JSON(); err != nil {
			t.Fatal(err)
		}
		_ = res.Report.Markdown()
	})
}
