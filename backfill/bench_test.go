package backfill

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/logmap"
	"github.com/obs-migrate/migrate/plans"
)

// benchPageSize is the reader's default page size.
const benchPageSize = 1000

// benchMapping maps filebeat-like documents: three labels, two structured
// metadata fields, and line either the message or the whole document.
func benchMapping(line string) plans.LogMapping {
	return plans.LogMapping{
		Indices: "filebeat-*", Timestamp: "@timestamp",
		Labels:             map[string]string{"service": "service.name", "level": "log.level", "namespace": "kubernetes.namespace"},
		StaticLabels:       map[string]string{"source": "filebeat"},
		StructuredMetadata: []string{"trace.id", "host.name"},
		Line:               line, Parser: plans.ParserLogfmt,
	}
}

// benchPage returns a search response page of n filebeat-like hits in the
// reader's shape, the n-th page of a stream of documents.
func benchPage(n, page int) []byte {
	rng := rand.New(rand.NewPCG(uint64(page), 1))
	services := []string{"checkout", "cart", "frontend", "payments", "search"}
	levels := []string{"info", "info", "info", "warn", "error"}
	type hit struct {
		Index  string          `json:"_index"`
		ID     string          `json:"_id"`
		Score  any             `json:"_score"`
		Source json.RawMessage `json:"_source"`
		Sort   []any           `json:"sort"`
	}
	hits := make([]hit, n)
	base := testBase.Add(time.Duration(page*n) * 10 * time.Millisecond)
	for i := range hits {
		ts := base.Add(time.Duration(i) * 10 * time.Millisecond)
		source := fmt.Sprintf(`{"@timestamp":%q,"message":"GET /api/v1/cart/%d HTTP/1.1 status=%d duration_ms=%d user=u%05d bytes=%d","service":{"name":%q},"log":{"level":%q},"host":{"name":"node-%02d"},"trace":{"id":"%032x"},"http":{"response":{"status_code":%d}},"kubernetes":{"namespace":"shop","pod":{"name":"%s-7d9f6c-%05d"}},"user_agent":{"original":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},"url":{"path":"/api/v1/cart/%d"}}`,
			printNanos(ts), rng.IntN(100000), 200+rng.IntN(4)*100, rng.IntN(900), rng.IntN(99999), rng.IntN(40000),
			services[rng.IntN(len(services))], levels[rng.IntN(len(levels))], rng.IntN(30), rng.Uint64(), 200+rng.IntN(4)*100,
			services[rng.IntN(len(services))], rng.IntN(99999), rng.IntN(100000))
		hits[i] = hit{
			Index: "filebeat-8.17.0-2026.03.01", ID: fmt.Sprintf("doc-%d-%d", page, i),
			Source: json.RawMessage(source), Sort: []any{printNanos(ts), int64(i)},
		}
	}
	body := map[string]any{
		"pit_id": "46ToAwMDaWR5BXV1aWQy", "took": 4, "timed_out": false,
		"_shards": map[string]int{"total": 2, "successful": 2, "skipped": 0, "failed": 0},
		"hits":    map[string]any{"max_score": nil, "hits": hits},
	}
	data, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return data
}

// readerPage is a search page as the Elasticsearch reader decodes it:
// _source and sort stay raw bytes.
type readerPage struct {
	Hits struct {
		Hits []struct {
			Index  string            `json:"_index"`
			ID     string            `json:"_id"`
			Source json.RawMessage   `json:"_source"`
			Sort   []json.RawMessage `json:"sort"`
		} `json:"hits"`
	} `json:"hits"`
}

// converter turns search pages into Loki push bodies the way the backfill
// does: the reader's decode, logmap, then the protobuf and snappy
// encoding of loki.EncodePush. It reuses its buffers across pages.
type converter struct {
	mapper  *logmap.Mapper
	streams map[string]int
	batch   []loki.Stream
}

func newConverter(tb testing.TB, m plans.LogMapping) *converter {
	tb.Helper()
	mapper, err := logmap.New(m, logmap.Options{MaxLineSize: 256 << 10, ExtraLabels: map[string]string{LabelName: "0"}})
	if err != nil {
		tb.Fatal(err)
	}
	return &converter{mapper: mapper, streams: map[string]int{}}
}

// convert returns the push body of one page and its document count.
func (c *converter) convert(page []byte) ([]byte, int, error) {
	var p readerPage
	if err := gojson.Unmarshal(page, &p); err != nil {
		return nil, 0, err
	}
	clear(c.streams)
	c.batch = c.batch[:0]
	for _, h := range p.Hits.Hits {
		e, err := c.mapper.Map(h.ID, h.Index, h.Source)
		if err != nil {
			return nil, 0, err
		}
		i, ok := c.streams[e.Stream]
		if !ok {
			i = len(c.batch)
			c.streams[e.Stream] = i
			c.batch = append(c.batch, loki.Stream{Labels: e.Labels})
		}
		c.batch[i].Entries = append(c.batch[i].Entries, e.Entry)
	}
	body, _, err := loki.EncodePush(c.batch)
	return body, len(p.Hits.Hits), err
}

// BenchmarkBackfillConvert measures a page of 1000 hits from the search
// response bytes to the snappy-compressed Loki push body, against a plain
// encoding/json decode of the same page (hits with _source into
// map[string]any) in the same run. docs/s is per core: run with -cpu 1.
func BenchmarkBackfillConvert(b *testing.B) {
	page := benchPage(benchPageSize, 0)
	for _, line := range []string{"message", plans.LineWholeDocument} {
		b.Run("line="+line, func(b *testing.B) {
			c := newConverter(b, benchMapping(line))
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				body, n, err := c.convert(page)
				if err != nil || n != benchPageSize || len(body) == 0 {
					b.Fatalf("convert: %d documents, %d bytes, %v", n, len(body), err)
				}
			}
			b.ReportMetric(float64(benchPageSize*b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
	b.Run("baseline=encoding_json_decode", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			var p struct {
				Hits struct {
					Hits []struct {
						Index  string         `json:"_index"`
						ID     string         `json:"_id"`
						Source map[string]any `json:"_source"`
						Sort   []any          `json:"sort"`
					} `json:"hits"`
				} `json:"hits"`
			}
			if err := json.Unmarshal(page, &p); err != nil || len(p.Hits.Hits) != benchPageSize {
				b.Fatalf("decode: %d hits, %v", len(p.Hits.Hits), err)
			}
		}
		b.ReportMetric(float64(benchPageSize*b.N)/b.Elapsed().Seconds(), "docs/s")
	})
}

// BenchmarkBackfillConvertMemory streams 1,000,000 documents, 1000 pages
// of 1000 different hits, through the converter and reports the largest
// heap in use (runtime.MemStats.HeapInuse, which counts garbage not yet
// collected) after each page. Each page is built just before it is
// converted, so at most one page is held, as the reader holds one. Run it
// with -benchtime=1x: one iteration takes seconds.
func BenchmarkBackfillConvertMemory(b *testing.B) {
	const pages = 1000
	for b.Loop() {
		c := newConverter(b, benchMapping("message"))
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		start := ms.HeapInuse
		peak, pageBytes := uint64(0), 0
		docs := 0
		for i := range pages {
			b.StopTimer()
			page := benchPage(benchPageSize, i)
			pageBytes = max(pageBytes, len(page))
			b.StartTimer()
			body, n, err := c.convert(page)
			if err != nil || len(body) == 0 {
				b.Fatal(err)
			}
			docs += n
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		if docs != pages*benchPageSize {
			b.Fatalf("converted %d documents, want %d", docs, pages*benchPageSize)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(start)/(1<<20), "start-heap-MiB")
		b.ReportMetric(float64(pageBytes)/(1<<20), "page-MiB")
		if rss, ok := peakRSS(); ok {
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		}
	}
}

// peakRSS reads the process's peak resident set size (VmHWM) from
// /proc/self/status, on Linux only. It covers the whole test binary.
func peakRSS() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
