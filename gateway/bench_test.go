package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/delivery"
)

// benchDocs is the number of documents of one benchmark _bulk request,
// about 190 bytes each, so a request is about 190 KB: Filebeat's default
// bulk_max_size is 1600 events.
const benchDocs = 1000

// discardLogWriter accepts every document, so the benchmark measures the
// gateway and its queue rather than a Loki.
type discardLogWriter struct{ n atomic.Int64 }

func (w *discardLogWriter) Maps(string) bool { return true }

func (w *discardLogWriter) WriteDocuments(_ context.Context, docs []delivery.Document) ([]Outcome, delivery.Result, LogPending, error) {
	w.n.Add(int64(len(docs)))
	out := make([]Outcome, len(docs))
	for i := range out {
		out[i].Written = true
	}
	return out, delivery.Result{Written: len(docs)}, nil, nil
}

func (w *discardLogWriter) Resume(context.Context, LogPending) (delivery.Result, LogPending, error) {
	return delivery.Result{}, nil, nil
}

// forwardOnlyP99 keeps BenchmarkForwardOnly's latency p99 for
// BenchmarkGatewayBulk, which runs after it in this file, to report the
// latency dual write adds.
var forwardOnlyP99 atomic.Int64

// BenchmarkForwardOnly sends _bulk requests through a gateway that only
// forwards them to the in-process primary: the baseline.
//
// Each benchmark has two parts. throughput sends from 4*GOMAXPROCS
// goroutines at once and reports MB/s and docs/s. latency sends one
// request at a time, so the gateway is not saturated, and reports the p50
// and p99 of the request latency; in a saturated closed loop the latency
// would only mirror the throughput.
func BenchmarkForwardOnly(b *testing.B) {
	b.Run("throughput", func(b *testing.B) { benchBulk(b, nil, 4) })
	b.Run("latency", func(b *testing.B) {
		forwardOnlyP99.Store(int64(benchBulk(b, nil, 0)))
	})
}

// BenchmarkGatewayBulk sends the same requests through dual write: forward
// to the primary, then each document queued durably (fsync with group
// commit) for Loki before the answer. The Loki drain reads the queue and
// discards the documents.
func BenchmarkGatewayBulk(b *testing.B) {
	b.Run("throughput", func(b *testing.B) { benchBulk(b, &discardLogWriter{}, 4) })
	b.Run("latency", func(b *testing.B) {
		p99 := benchBulk(b, &discardLogWriter{}, 0)
		if base := time.Duration(forwardOnlyP99.Load()); base > 0 {
			b.ReportMetric(float64(p99-base)/float64(time.Millisecond), "added-p99-ms")
		}
	})
}

// benchBulk sends b.N requests, from parallelism*GOMAXPROCS goroutines, or
// one at a time when parallelism is 0, and returns the p99 latency.
func benchBulk(b *testing.B, loki LogWriter, parallelism int) time.Duration {
	primary := &fakePrimary{}
	es := httptest.NewServer(primary)
	defer es.Close()
	fwd, err := NewForwardClient(httpx.Config{BaseURL: es.URL})
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{
		Listen: "127.0.0.1:0", QueueDir: b.TempDir(), Mode: newFixedMode(ModeDual),
		Elasticsearch: fwd, DrainTimeout: time.Second, QueueNoSync: os.Getenv("BENCH_NOSYNC") != "",
	}
	if loki != nil {
		cfg.Loki = loki
	}
	g, err := New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = g.Shutdown(context.Background()) }()

	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = bulkOf(i*benchDocs, benchDocs)
	}
	url := "http://" + g.Addr() + "/_bulk"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		next      atomic.Int64
	)
	send := func() (time.Duration, bool) {
		body := bodies[next.Add(1)%int64(len(bodies))]
		t0 := time.Now()
		resp, err := client.Post(url, "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			b.Error(err)
			return 0, false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("status %d", resp.StatusCode)
			return 0, false
		}
		return time.Since(t0), true
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	start := time.Now()
	if parallelism == 0 {
		for b.Loop() {
			d, ok := send()
			if !ok {
				return 0
			}
			latencies = append(latencies, d)
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			var local []time.Duration
			for pb.Next() {
				d, ok := send()
				if !ok {
					return
				}
				local = append(local, d)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) == 0 {
		return 0
	}
	p99 := latencies[min(len(latencies)-1, len(latencies)*99/100)]
	if parallelism == 0 {
		b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
		b.ReportMetric(float64(latencies[len(latencies)/2])/float64(time.Millisecond), "p50-ms")
	} else {
		b.ReportMetric(float64(len(latencies)*benchDocs)/elapsed.Seconds(), "docs/s")
	}
	if loki != nil {
		// Every document of every answered request is in the queue or
		// already drained.
		if got := primary.docs.Load(); got != int64(len(latencies)*benchDocs) {
			b.Errorf("primary got %d documents, want %d", got, len(latencies)*benchDocs)
		}
	}
	return p99
}
