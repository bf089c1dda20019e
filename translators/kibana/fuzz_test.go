package kibana_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/kibana"
)

// FuzzConvert feeds arbitrary bytes as an export file, in both NDJSON and
// JSON form. The batch must not panic, and every failure must name the file.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && len(data) < 20000 {
			f.Add(data)
		}
	}
	f.Add([]byte(goodSearch))
	f.Add([]byte(`{"objects":[{"id":"d","type":"dashboard","attributes":{"panelsJSON":"[{\"panelRefName\":\"p\"}]"},"references":[{"name":"p","type":"search","id":"good-1"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.ndjson", "fuzz.json"} {
			res := kibana.Convert([]kibana.Input{{File: name, Data: data}}, kibana.Options{})
			for _, it := range res.Report.Items {
				if it.Status == kibana.StatusFailed && !strings.Contains(it.Error, name) {
					t.Fatalf("failure without the file name: %s", it.Error)
				}
			}
		}
	})
}
