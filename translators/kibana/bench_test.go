package kibana_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
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

// BenchmarkConvert10000Dashboards converts one batch of 10,000 dashboards:
// the corpus copied 400 times with every object id made unique per copy,
// so each copy's dashboards, visualizations and searches are distinct.
// Run it alone: go test -run '^$' -bench Convert10000 -benchtime 1x.
func BenchmarkConvert10000Dashboards(b *testing.B) {
	inputs := replicate(b, 10000)
	b.SetBytes(corpusBytes(inputs))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := kibana.Convert(inputs, kibana.Options{})
		if res.Report.Summary.SourceDashboards < 10000 {
			b.Fatalf("converted %d dashboards", res.Report.Summary.SourceDashboards)
		}
	}
}

// copyWithIDs returns the inputs with every object id suffixed, everywhere
// it appears in the file, so references still resolve within the copy.
func copyWithIDs(b *testing.B, inputs []kibana.Input, suffix string) []kibana.Input {
	out := make([]kibana.Input, 0, len(inputs))
	for _, in := range inputs {
		objs, _, _ := kibana.ReadObjects(in.File, in.Data)
		ids := make([]string, 0, len(objs))
		for _, o := range objs {
			if len(o.ID) >= 6 {
				ids = append(ids, o.ID)
			}
		}
		sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
		data := in.Data
		for _, id := range ids {
			data = bytes.ReplaceAll(data, []byte(id), []byte(id+suffix))
		}
		out = append(out, kibana.Input{File: suffix + "/" + in.File, Data: data})
	}
	return out
}

// replicate copies the corpus until the batch holds at least n dashboards.
func replicate(b *testing.B, n int) []kibana.Input {
	base := readCorpus(b)
	perCopy := 0
	for _, in := range base {
		objs, _, _ := kibana.ReadObjects(in.File, in.Data)
		for _, o := range objs {
			if o.Type == "dashboard" {
				perCopy++
			}
		}
	}
	var inputs []kibana.Input
	for c := 0; c*perCopy < n; c++ {
		inputs = append(inputs, copyWithIDs(b, base, fmt.Sprintf("-copy%d", c))...)
	}
	return inputs
}

// BenchmarkConvert1000Dashboards is the same batch at a tenth of the size,
// to check that the cost per dashboard does not grow with the batch.
func BenchmarkConvert1000Dashboards(b *testing.B) {
	inputs := replicate(b, 1000)
	b.SetBytes(corpusBytes(inputs))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		kibana.Convert(inputs, kibana.Options{})
	}
}
