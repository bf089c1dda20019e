package alerts_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/alerts"
)

// FuzzConvert feeds arbitrary bytes as an input file, in NDJSON and in JSON
// form. The batch must not panic, every failure must name the file, and
// every rule file written must decode into the ruler structure and pass
// ruleFileProblems: every label and annotation value parses as a
// Prometheus template, and every expression passes exprSanity.
func FuzzConvert(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(inputsDir, "*json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"_id":"w","watch":{"trigger":{"schedule":{"interval":"1m"}},"input":{"search":{"request":{"indices":["a"],"body":{"query":{"range":{"@timestamp":{"gte":"now-1h-5m/d"}}}}}}},"condition":{"compare":{"ctx.payload.hits.total":{"lt":"{{ctx.metadata.x}}"}}},"metadata":{"x":3}}}`))
	f.Add([]byte(`{"data":[{"id":"r","rule_type_id":"logs.alert.document.count","params":{"timeSize":1,"timeUnit":"h","count":{"comparator":"equals","value":0},"criteria":[[],[]]}}]}`))
	f.Add([]byte(`{"id":"{{id}}","rule_type_id":".es-query","schedule":{"interval":"1m"},"params":{"searchType":"esQuery","esQuery":"{\"query\":{\"match_all\":{}}}","index":["a{"],"timeField":"@timestamp","timeWindowSize":"5","timeWindowUnit":"m","thresholdComparator":">","threshold":["1"],"aggType":"sum","aggField":"a{{b}}","groupBy":"top","termField":["{{x}}"]}}`))
	f.Add([]byte(`{"trigger":{"schedule":{"interval":"1m"}},"input":{"search":{"request":{"indices":["a"],"body":{"query":{"range":{"@timestamp":{"gte":"now-5m"}}},"aggs":{"s":{"sum":{"field":"{{f}}"}}}}}}},"condition":{"compare":{"ctx.payload.aggregations.s.value":{"gte":"1"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.ndjson", "fuzz.json"} {
			res := alerts.Convert([]alerts.Input{{File: name, Data: data}}, alerts.Options{})
			for _, it := range res.Report.Items {
				if it.Status == alerts.StatusFailed && !strings.Contains(it.Error, name) {
					t.Fatalf("failure without the file name: %s", it.Error)
				}
			}
			for _, out := range res.Files {
				if problems := ruleFileProblems(out); len(problems) > 0 {
					t.Fatalf("%v\n%s", errors.Join(problems...), out.YAML)
				}
			}
		}
	})
}
