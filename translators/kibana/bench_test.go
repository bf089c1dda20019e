package kibana_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/obs-migrate/migrate/translators/kibana"
)

// BenchmarkConvertCorpus converts every Kibana export of the corpus, as one
// batch: reading, reference resolution, query translation, dashboard
// building and encoding. Compare it with BenchmarkDecodeEncodeCorpus.
func BenchmarkConvertCorpus(b *testing.B) {
	inputs := readCorpus(b)
	b.SetBytes(corpusBytes(inputs))
	b.ReportAllocs()
	for b.Loop() {
		res := kibana.Convert(inputs, kibana.Options{})
		if len(res.Dashboards) == 0 {
			b.Fatal("no dashboards")
		}
	}
}

// BenchmarkDecodeEncodeCorpus is the baseline: a plain encoding/json decode
// of every export (one value per NDJSON line) and an encode of the result.
func BenchmarkDecodeEncodeCorpus(b *testing.B) {
	inputs := readCorpus(b)
	b.SetBytes(corpusBytes(inputs))
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range inputs {
			for _, doc := range documents(in.Data) {
				var v any
				if err := json.Unmarshal(doc, &v); err != nil {
					b.Fatalf("%s: %v", in.File, err)
				}
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

func corpusBytes(inputs []kibana.Input) int64 {
	var n int64
	for _, in := range inputs {
		n += int64(len(in.Data))
	}
	return n
}

// documents splits NDJSON into lines; a JSON file is one document.
func documents(data []byte) [][]byte {
	trimmed := bytes.TrimSpace(data)
	if !bytes.Contains(trimmed, []byte("\n{")) || trimmed[0] == '[' {
		return [][]byte{trimmed}
	}
	var out [][]byte
	for _, line := range bytes.Split(trimmed, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}
