package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/delivery"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func TestProgressTerminalRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	clock := &fakeClock{now: testBase}
	p := NewProgress(&out, true, 0, nil)
	p.now = clock.Now
	p.begin(4, 1)
	u := Unit{Kind: KindLogs, Name: "app-logs", From: testBase, To: testBase.Add(time.Hour)}
	p.startUnit(u, testBase)
	clock.now = clock.now.Add(10 * time.Second)
	p.advance(KindLogs, testBase.Add(30*time.Minute), Counts{Documents: 5000})
	p.report()
	first := out.String()
	for _, want := range []string{"\r\x1b[2K", "logs   app-logs 2026-03-01T00:00Z   50%", "5000 docs  500/s", "backfill 1/4 units  37.5%", "ETA 50s"} {
		if !strings.Contains(first, want) {
			t.Errorf("first draw %q does not contain %q", first, want)
		}
	}

	// A log line clears the block, prints, and draws the block again.
	out.Reset()
	fmt.Fprint(p.LogWriter(), "level=WARN msg=retrying\n")
	logged := out.String()
	up := strings.Index(logged, "\x1b[2A")
	msg := strings.Index(logged, "level=WARN msg=retrying")
	again := strings.LastIndex(logged, "backfill 1/4 units")
	if up < 0 || msg < up || again < msg {
		t.Errorf("log output %q: want the block cleared (cursor up 2), the log line, then the block", logged)
	}

	out.Reset()
	p.finishUnit(KindLogs)
	p.finish()
	if !strings.Contains(out.String(), "backfill 2/4 units  50.0%") || strings.Contains(out.String(), "app-logs") {
		t.Errorf("final draw %q, want 2 of 4 units and no unit line", out.String())
	}
}

func TestProgressLogsWhenNotATerminal(t *testing.T) {
	var logs bytes.Buffer
	clock := &fakeClock{now: testBase}
	p := NewProgress(&bytes.Buffer{}, false, time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
	p.now = clock.Now
	p.begin(2, 0)
	p.startUnit(Unit{Kind: KindTraces, Name: "frontend", From: testBase, To: testBase.Add(time.Hour)}, testBase)
	clock.now = clock.now.Add(20 * time.Second)
	p.advance(KindTraces, testBase.Add(15*time.Minute), Counts{Traces: 10, Spans: 200})
	p.report()
	line := logs.String()
	for _, want := range []string{"backfill progress", "units_done=0", "units=2", "percent=12.5", "spans=200", "spans_per_second=10", "eta=2m20s", "traces_unit="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q does not contain %q", line, want)
		}
	}
	if strings.Contains(line, "\x1b[") {
		t.Errorf("log line %q has terminal escapes", line)
	}
}

func TestProgressLoopStopsWithContext(t *testing.T) {
	p := NewProgress(&bytes.Buffer{}, false, time.Millisecond, nil)
	p.begin(1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		p.loop(ctx)
		close(done)
	}()
	time.Sleep(5 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the progress loop did not stop")
	}
}

func TestSummaryText(t *testing.T) {
	s := &Summary{
		Plan: "prod", Shard: Shard{1, 3}, Units: 10, UnitsDone: 10, AllUnits: 30, AllUnitsDone: 12,
		Range: Range{From: testBase, To: testBase.Add(24 * time.Hour), Slice: time.Hour, ToSource: toFromParallelRun},
		Counts: Counts{
			Documents: 1000, SourceBytes: 3 << 20, Entries: 990, EntryBytes: 2 << 20, Traces: 40, Spans: 400,
			DeadLettered: map[string]int64{"loki/line_too_long": 10, "tempo/trace_too_large": 7},
			Skipped:      map[string]int64{skippedSearchLimit: 1},
		},
		TruncatedAttributes: 3, Elapsed: 10 * time.Second, RunCounts: Counts{Documents: 500},
	}
	var out bytes.Buffer
	s.WriteText(&out)
	text := out.String()
	for _, want := range []string{
		"shard 1/3: done (10 of 10 units; 12 of 30 over all shards)",
		"to: the time parallel_run was entered",
		"1000 documents read (3.0 MiB of _source), 990 entries written (2.0 MiB)",
		"40 traces sent, 400 spans written",
		"dead-letter loki/line_too_long 10, tempo/trace_too_large 7",
		"skipped     jaeger_search_limit_windows 1",
		"3 span attributes longer than Tempo's max_attribute_bytes",
		"500 documents (50/s)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary does not contain %q:\n%s", want, text)
		}
	}
	if s.DeadLettered() != 17 {
		t.Errorf("DeadLettered = %d, want 17", s.DeadLettered())
	}
}

func TestBucketPacesBytes(t *testing.T) {
	clock := &fakeClock{now: testBase}
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		clock.now = clock.now.Add(d)
		return nil
	}
	b := newBucket(1000, 1000, clock.Now, sleep)
	steps := []struct {
		n        int64
		advance  time.Duration
		wantWait time.Duration
	}{
		{n: 600, wantWait: 0},
		{n: 400, wantWait: 0},
		{n: 500, wantWait: 500 * time.Millisecond},
		{n: 100, advance: 2 * time.Second, wantWait: 0},
		{n: 3000, wantWait: 2100 * time.Millisecond},
	}
	for i, s := range steps {
		clock.now = clock.now.Add(s.advance)
		slept = nil
		if err := b.wait(t.Context(), s.n); err != nil {
			t.Fatal(err)
		}
		got := time.Duration(0)
		for _, d := range slept {
			got += d
		}
		if got != s.wantWait {
			t.Errorf("step %d (%d bytes): waited %s, want %s", i, s.n, got, s.wantWait)
		}
	}
	if newBucket(0, 100, clock.Now, sleep) != nil {
		t.Error("a zero rate made a bucket; want no limit")
	}
}

func TestRetrier(t *testing.T) {
	clock := &fakeClock{now: testBase}
	sleep := func(_ context.Context, d time.Duration) error { clock.now = clock.now.Add(d); return nil }
	r := retrier{limit: 5 * time.Minute, now: clock.Now, sleep: sleep, log: slog.New(slog.DiscardHandler)}
	retryable := errors.New("busy")
	fatal := errors.New("broken")
	isRetryable := func(err error) bool { return errors.Is(err, retryable) }

	calls := 0
	err := r.do(t.Context(), "op", isRetryable, func() error {
		calls++
		if calls < 3 {
			return retryable
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("retryable then success: %v after %d calls, want nil after 3", err, calls)
	}

	calls = 0
	err = r.do(t.Context(), "op", isRetryable, func() error { calls++; return fatal })
	if !errors.Is(err, fatal) || calls != 1 {
		t.Errorf("permanent error: %v after %d calls, want it after 1", err, calls)
	}

	err = r.do(t.Context(), "op", isRetryable, func() error { return retryable })
	if !errors.Is(err, retryable) || !strings.Contains(err.Error(), "still failed after retrying for 5m0s") {
		t.Errorf("endless retryable error: %v, want one saying the retries ran out", err)
	}
}

func TestRetryDelayBounds(t *testing.T) {
	for attempt := 1; attempt <= 40; attempt++ {
		d := retryDelay(attempt)
		if d < minRetryDelay/2 || d > maxRetryDelay {
			t.Errorf("attempt %d: delay %s outside [%s, %s]", attempt, d, minRetryDelay/2, maxRetryDelay)
		}
	}
}

func TestRetryableClassification(t *testing.T) {
	reads := []struct {
		name string
		err  error
		want bool
	}{
		{"transport", &httpx.TransportError{System: "elasticsearch", Err: errors.New("connection refused")}, true},
		{"429", &elasticsearch.Error{Status: 429}, true},
		{"503", &elasticsearch.Error{Status: 503}, true},
		{"404", &elasticsearch.Error{Status: 404}, false},
		{"shard failures", &elasticsearch.ShardFailureError{}, true},
		{"jaeger unavailable", &jaeger.GRPCError{Code: codes.Unavailable, Err: errors.New("x")}, true},
		{"jaeger invalid argument", &jaeger.GRPCError{Code: codes.InvalidArgument, Err: errors.New("x")}, false},
		{"canceled", context.Canceled, false},
	}
	for _, tc := range reads {
		if got := retryableRead(tc.err); got != tc.want {
			t.Errorf("retryableRead(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
	writes := []struct {
		name string
		err  error
		want bool
	}{
		{"retryable write error", &delivery.LokiWriteError{Retryable: true, Err: errors.New("429")}, true},
		{"client rejected", &delivery.LokiWriteError{Retryable: false, Err: errors.New("401")}, false},
		{"dead letter failed", fmt.Errorf("x: %w", delivery.ErrDeadLetterUnavailable), false},
		{"other", errors.New("connection reset"), true},
	}
	for _, tc := range writes {
		if got := retryableLokiWrite(tc.err); got != tc.want {
			t.Errorf("retryableLokiWrite(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
