package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures Append of 1 KiB records with fsync and group
// commit, from 32 producer goroutines per GOMAXPROCS, while a consumer
// drains the queue.
func BenchmarkAppend(b *testing.B) { benchmarkAppend(b, false) }

// BenchmarkAppendNoSync is BenchmarkAppend without fsync, to show its cost.
func BenchmarkAppendNoSync(b *testing.B) { benchmarkAppend(b, true) }

func benchmarkAppend(b *testing.B, noSync bool) {
	q, err := Open(b.TempDir(), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()

	ctx, cancel := context.WithCancel(context.Background())
	consumerDone := make(chan error, 1)
	go func() {
		for {
			batch, err := q.Next(ctx, 4096)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				consumerDone <- err
				return
			}
			if err := q.Ack(batch); err != nil {
				consumerDone <- err
				return
			}
		}
	}()

	record := make([]byte, 1024)
	var fullRetries atomic.Int64
	b.SetBytes(int64(len(record)))
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for {
				err := q.Append(record)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrFull) {
					b.Error(err)
					return
				}
				fullRetries.Add(1)
				time.Sleep(100 * time.Microsecond)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(fullRetries.Load()), "full-retries")
	cancel()
	if err := <-consumerDone; err != nil {
		b.Fatal(err)
	}
}
