package logmap

import (
	"encoding/json"
	"testing"

	"github.com/obs-migrate/migrate/plans"
)

// BenchmarkDecodeBaseline decodes the same _source documents as
// BenchmarkMap with encoding/json into map[string]any: the straightforward
// converter that BenchmarkMap is compared with.
func BenchmarkDecodeBaseline(b *testing.B) {
	docs := loadDocs(b, "nginx-docs.json")
	b.SetBytes(totalBytes(docs) / int64(len(docs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var v map[string]any
		if err := json.Unmarshal(docs[i%len(docs)], &v); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportDocsPerSecond(b)
}

// BenchmarkMap maps the nginx documents with the message as line and with
// the whole document as line.
func BenchmarkMap(b *testing.B) {
	docs := loadDocs(b, "nginx-docs.json")
	for _, bc := range []struct {
		name    string
		mapping plans.LogMapping
	}{
		{"line=message", nginxMapping()},
		{"line=json", nginxJSONMapping()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mp, err := New(bc.mapping, Options{MaxLineSize: 256 << 10})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(totalBytes(docs) / int64(len(docs)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := mp.Map("id-1", "nginx-2023.06.19", docs[i%len(docs)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			reportDocsPerSecond(b)
		})
	}
}

func totalBytes(docs [][]byte) int64 {
	var n int64
	for _, d := range docs {
		n += int64(len(d))
	}
	return n
}

func reportDocsPerSecond(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "docs/s")
	}
}
