package grafana_test

import (
	"encoding/json"
	"testing"

	"github.com/obs-migrate/migrate/translators/grafana"
)

// BenchmarkConvertCorpus converts every dashboard of the corpus once per
// iteration.
func BenchmarkConvertCorpus(b *testing.B) {
	inputs := readCorpus(b)
	b.ReportAllocs()
	b.SetBytes(corpusBytes(inputs))
	for b.Loop() {
		res := grafana.Convert(inputs, grafana.Options{})
		if res.Report.Summary.Failed != 0 {
			b.Fatal("a corpus dashboard failed")
		}
	}
}

// BenchmarkStdlibRoundTripCorpus is the baseline: decoding and re-encoding
// the same dashboards with encoding/json, the least a tool that edits them
// must do.
func BenchmarkStdlibRoundTripCorpus(b *testing.B) {
	inputs := readCorpus(b)
	b.ReportAllocs()
	b.SetBytes(corpusBytes(inputs))
	for b.Loop() {
		for _, in := range inputs {
			var v any
			if err := json.Unmarshal(in.Data, &v); err != nil {
				b.Fatal(err)
			}
			if _, err := json.MarshalIndent(v, "", "  "); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func corpusBytes(inputs []grafana.Input) int64 {
	var n int64
	for _, in := range inputs {
		n += int64(len(in.Data))
	}
	return n
}
