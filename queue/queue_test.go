package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// openQueue opens a queue in dir and closes it when the test ends.
func openQueue(t testing.TB, dir string, opts Options) *Queue {
	t.Helper()
	q, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// reopen closes q and opens its directory again.
func reopen(t testing.TB, q *Queue, opts Options) *Queue {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openQueue(t, q.dir, opts)
}

// drain reads and acknowledges records until the queue is empty.
func drain(t testing.TB, q *Queue, maxRecords int) [][]byte {
	t.Helper()
	var out [][]byte
	for q.Stats().Records > 0 {
		b := next(t, q, maxRecords)
		out = append(out, b.Records...)
		if err := q.Ack(b); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	return out
}

func next(t testing.TB, q *Queue, maxRecords int) Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := q.Next(ctx, maxRecords)
	if err != nil {
		t.Fatalf("Next(%d): %v", maxRecords, err)
	}
	return b
}

func appendAll(t testing.TB, q *Queue, records ...[]byte) {
	t.Helper()
	if err := q.Append(records...); err != nil {
		t.Fatalf("Append of %d records: %v", len(records), err)
	}
}

// makeRecords returns n records of varying sizes, starting with an empty one.
func makeRecords(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		if i == 0 {
			out[i] = []byte{}
			continue
		}
		out[i] = []byte(fmt.Sprintf("%s-%d-%s", prefix, i, strings.Repeat("x", i%97)))
	}
	return out
}

// segmentFiles returns the segment file names in dir and their total size.
func segmentFiles(t testing.TB, dir string) ([]string, int64) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var total int64
	for _, e := range entries {
		if _, ok := parseSegmentName(e.Name()); !ok {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name())
		total += info.Size()
	}
	return names, total
}

func TestRoundTripOrder(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	want := makeRecords("r", 1000)
	before := time.Now()
	for i := 0; i < len(want); i += 37 {
		appendAll(t, q, want[i:min(i+37, len(want))]...)
	}
	after := time.Now()

	var got [][]byte
	var seq uint64
	for q.Stats().Records > 0 {
		b := next(t, q, 7)
		if b.FirstSeq() != seq {
			t.Fatalf("FirstSeq = %d, want %d", b.FirstSeq(), seq)
		}
		if len(b.Appended) != len(b.Records) {
			t.Fatalf("batch has %d append times for %d records", len(b.Appended), len(b.Records))
		}
		for _, at := range b.Appended {
			if at.Before(before.Add(-time.Millisecond)) || at.After(after) {
				t.Fatalf("append time %v outside the test's Append calls [%v, %v]", at, before, after)
			}
		}
		seq += uint64(len(b.Records))
		got = append(got, b.Records...)
		if err := q.Ack(b); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("records differ (-appended +delivered):\n%s", diff)
	}
}

func TestNextRepeatsUntilAck(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	appendAll(t, q, makeRecords("a", 10)...)
	first := next(t, q, 4)
	second := next(t, q, 4)
	if diff := cmp.Diff(first.Records, second.Records); diff != "" {
		t.Fatalf("second Next without Ack differs:\n%s", diff)
	}
	if err := q.Ack(second); err != nil {
		t.Fatal(err)
	}
	third := next(t, q, 4)
	if third.FirstSeq() != 4 {
		t.Fatalf("after Ack, FirstSeq = %d, want 4", third.FirstSeq())
	}
}

func TestRedeliveryAfterReopen(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	want := makeRecords("a", 10)
	appendAll(t, q, want...)
	acked := next(t, q, 4)
	if err := q.Ack(acked); err != nil {
		t.Fatal(err)
	}
	unacked := next(t, q, 3)
	if len(unacked.Records) != 3 {
		t.Fatalf("Next(3) returned %d records", len(unacked.Records))
	}

	q = reopen(t, q, Options{})
	if got := q.Stats().Records; got != 6 {
		t.Fatalf("after reopen Records = %d, want 6", got)
	}
	got := drain(t, q, 100)
	if diff := cmp.Diff(want[4:], got); diff != "" {
		t.Fatalf("redelivered records differ (-want +got):\n%s", diff)
	}

	q = reopen(t, q, Options{})
	s := q.Stats()
	if s.Records != 0 {
		t.Fatalf("after acknowledging all and reopening, Records = %d, want 0", s.Records)
	}
	// Open moves a drained queue to a new empty segment.
	if s.Segments != 1 || s.Bytes != segmentHeaderSize {
		t.Fatalf("drained queue after reopen: %d segments of %d bytes, want 1 of %d", s.Segments, s.Bytes, segmentHeaderSize)
	}
	if names, total := segmentFiles(t, dir); len(names) != 1 || total != segmentHeaderSize {
		t.Fatalf("drained queue after reopen: files %v with %d bytes, want one empty segment", names, total)
	}
}

func TestNextBlocksUntilAppend(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	type result struct {
		b   Batch
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := q.Next(context.Background(), 10)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Next on an empty queue returned early: %v, %v", r.b.Records, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	appendAll(t, q, []byte("late"))
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(r.b.Records) != 1 || string(r.b.Records[0]) != "late" {
			t.Fatalf("Next returned %q, want [late]", r.b.Records)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after Append")
	}
}

func TestNextContextAndClose(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := q.Next(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with expired context: err = %v, want DeadlineExceeded", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := q.Next(context.Background(), 1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Next after Close: err = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not wake a blocked Next")
	}
	if err := q.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: err = %v, want ErrClosed", err)
	}
}

func TestAckChecks(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	other := openQueue(t, t.TempDir(), Options{})
	appendAll(t, q, makeRecords("a", 10)...)
	appendAll(t, other, []byte("x"))

	if err := q.Ack(next(t, other, 1)); err == nil {
		t.Fatal("Ack of another queue's batch succeeded")
	}
	if err := q.Ack(Batch{}); err == nil {
		t.Fatal("Ack of a zero Batch succeeded")
	}
	small := next(t, q, 2)
	large := next(t, q, 5)
	if err := q.Ack(large); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(small); err != nil {
		t.Fatalf("Ack of a batch already covered: %v", err)
	}
	if err := q.Ack(large); err != nil {
		t.Fatalf("second Ack of the same batch: %v", err)
	}
	if got := q.Stats().Records; got != 5 {
		t.Fatalf("Records = %d, want 5", got)
	}
	if _, err := q.Next(context.Background(), 0); err == nil {
		t.Fatal("Next with max 0 succeeded")
	}
}

func TestStatsOldestAppend(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	if got := q.Stats(); got.Records != 0 || !got.OldestAppend.IsZero() {
		t.Fatalf("empty queue Stats = %+v, want no records and zero OldestAppend", got)
	}
	before := time.Now()
	appendAll(t, q, []byte("a"))
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	appendAll(t, q, []byte("b"))

	s := q.Stats()
	if s.OldestAppend.Before(before) || s.OldestAppend.After(mid) {
		t.Fatalf("OldestAppend = %v, want the first Append's time in [%v, %v]", s.OldestAppend, before, mid)
	}
	if s.Records != 2 {
		t.Fatalf("Records = %d, want 2", s.Records)
	}
	b := next(t, q, 1)
	if err := q.Ack(b); err != nil {
		t.Fatal(err)
	}
	second := q.Stats().OldestAppend
	if !second.After(mid) {
		t.Fatalf("after Ack of the first record OldestAppend = %v, want after %v", second, mid)
	}

	q = reopen(t, q, Options{})
	if got := q.Stats().OldestAppend; !got.Equal(second) {
		t.Fatalf("after reopen OldestAppend = %v, want %v", got, second)
	}
	drain(t, q, 10)
	if got := q.Stats().OldestAppend; !got.IsZero() {
		t.Fatalf("empty queue OldestAppend = %v, want zero", got)
	}
}

func TestErrFullAndRecovery(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 4096, SegmentBytes: 1024}
	q := openQueue(t, dir, opts)
	record := []byte(strings.Repeat("r", 100))

	accepted := 0
	var fullErr error
	for range 1000 {
		if err := q.Append(record); err != nil {
			fullErr = err
			break
		}
		accepted++
	}
	if !errors.Is(fullErr, ErrFull) {
		t.Fatalf("Append until full: err = %v, want ErrFull", fullErr)
	}
	if !strings.Contains(fullErr.Error(), "of 4096 bytes") {
		t.Fatalf("ErrFull message %q does not state the limit 4096", fullErr)
	}
	s := q.Stats()
	if s.Bytes > opts.MaxBytes {
		t.Fatalf("Stats.Bytes = %d, over MaxBytes %d", s.Bytes, opts.MaxBytes)
	}
	if _, total := segmentFiles(t, dir); total != s.Bytes || total > opts.MaxBytes {
		t.Fatalf("segment files hold %d bytes, Stats.Bytes = %d, MaxBytes = %d", total, s.Bytes, opts.MaxBytes)
	}
	// The queue is full, not nearly full: the next record and the segment
	// headers reserved for it do not fit.
	need := int64(len(record)) + recordHeaderSize
	need += q.segmentHeaderReserve(need)
	if free := opts.MaxBytes - s.Bytes; free >= need {
		t.Fatalf("ErrFull with %d bytes free of %d, and a record needs %d", free, opts.MaxBytes, need)
	}
	if s.Records != int64(accepted) {
		t.Fatalf("Records = %d, want the %d accepted", s.Records, accepted)
	}

	// Acknowledging the first segment's records deletes it and frees space.
	var acked int
	for s := q.Stats().Segments; q.Stats().Segments == s; {
		b := next(t, q, 100)
		if err := q.Ack(b); err != nil {
			t.Fatal(err)
		}
		acked += len(b.Records)
	}
	if err := q.Append(record); err != nil {
		t.Fatalf("Append after Ack freed a segment: %v", err)
	}
	got := drain(t, q, 100)
	if len(got) != accepted-acked+1 {
		t.Fatalf("delivered %d records after the Acks, want %d", len(got), accepted-acked+1)
	}
}

func TestFullQueueAcceptsAfterDrain(t *testing.T) {
	// SegmentBytes is a quarter of MaxBytes. Once the consumer has
	// acknowledged everything, the queue must accept records again, even of
	// the maximum size next to a full, consumed segment.
	opts := Options{MaxBytes: 4096, SegmentBytes: 1024}
	maxRecord := int(opts.SegmentBytes - segmentHeaderSize - recordHeaderSize)
	for _, size := range []int{200, maxRecord} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			q := openQueue(t, t.TempDir(), opts)
			record := []byte(strings.Repeat("z", size))
			for round := range 5 {
				n := 0
				for {
					err := q.Append(record)
					if errors.Is(err, ErrFull) {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					n++
				}
				if n == 0 {
					t.Fatalf("round %d: no record of %d bytes fits after draining, Stats = %+v", round, size, q.Stats())
				}
				if got := drain(t, q, 1000); len(got) != n {
					t.Fatalf("round %d: drained %d records, want %d", round, len(got), n)
				}
			}
		})
	}
}

func TestAppendTooLarge(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 4096, SegmentBytes: 1024})
	limit := 1024 - segmentHeaderSize - recordHeaderSize
	if err := q.Append(make([]byte, limit)); err != nil {
		t.Fatalf("Append of a record of the maximum size %d: %v", limit, err)
	}
	err := q.Append([]byte("ok"), make([]byte, limit+1))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of %d bytes: err = %v, want ErrTooLarge", limit+1, err)
	}
	if got := q.Stats().Records; got != 1 {
		t.Fatalf("Records = %d after a rejected Append, want 1", got)
	}
}

func TestSegmentRolloverAndDeletion(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 1 << 20, SegmentBytes: 256}
	q := openQueue(t, dir, opts)
	want := make([][]byte, 100)
	for i := range want {
		want[i] = []byte(fmt.Sprintf("%050d", i))
		appendAll(t, q, want[i])
	}
	// 8-byte segment header + 3 records of 70 bytes = 218; a fourth would
	// pass 256.
	const perSegment = 3
	names, total := segmentFiles(t, dir)
	if wantSegments := (100 + perSegment - 1) / perSegment; len(names) != wantSegments {
		t.Fatalf("%d segment files, want %d", len(names), wantSegments)
	}
	s := q.Stats()
	if s.Segments != len(names) || s.Bytes != total {
		t.Fatalf("Stats = %+v, files: %d segments of %d bytes", s, len(names), total)
	}
	for _, name := range names {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > opts.SegmentBytes {
			t.Fatalf("%s has %d bytes, more than SegmentBytes %d", name, info.Size(), opts.SegmentBytes)
		}
	}

	var got [][]byte
	for len(got) < 50 {
		b := next(t, q, 50-len(got))
		got = append(got, b.Records...)
		if err := q.Ack(b); err != nil {
			t.Fatal(err)
		}
	}
	names, total = segmentFiles(t, dir)
	// Records 0-47 fill segments 1-16 exactly, so the position moves on to
	// segment 17 and segments 1-16 are deleted.
	if want := "00000000000000000017.seg"; names[0] != want {
		t.Fatalf("oldest segment after acknowledging 50 records is %s, want %s", names[0], want)
	}
	if s := q.Stats(); s.Segments != len(names) || s.Bytes != total {
		t.Fatalf("Stats = %+v, files: %d segments of %d bytes", s, len(names), total)
	}

	q = reopen(t, q, opts)
	got = append(got, drain(t, q, 7)...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("records differ (-want +got):\n%s", diff)
	}
	names, _ = segmentFiles(t, dir)
	if len(names) != 1 {
		t.Fatalf("after draining, %d segment files remain: %v, want only the newest", len(names), names)
	}
}

func TestConcurrentProducers(t *testing.T) {
	const producers, perProducer = 8, 10000
	q := openQueue(t, t.TempDir(), Options{SegmentBytes: 1 << 20, MaxBytes: 256 << 20})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	delivered := make(chan [][]byte, 1)
	consumerErr := make(chan error, 1)
	go func() {
		var got [][]byte
		for len(got) < producers*perProducer {
			b, err := q.Next(ctx, 500)
			if err != nil {
				consumerErr <- err
				return
			}
			got = append(got, b.Records...)
			if err := q.Ack(b); err != nil {
				consumerErr <- err
				return
			}
		}
		delivered <- got
	}()

	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				if err := q.Append([]byte(fmt.Sprintf("%d %d", p, i))); err != nil {
					errs <- fmt.Errorf("producer %d record %d: %w", p, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var got [][]byte
	select {
	case got = <-delivered:
	case err := <-consumerErr:
		t.Fatalf("consumer: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatalf("consumer did not receive all records; Stats = %+v", q.Stats())
	}
	nextIndex := make([]int, producers)
	for _, r := range got {
		var p, i int
		if _, err := fmt.Sscanf(string(r), "%d %d", &p, &i); err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		if i != nextIndex[p] {
			t.Fatalf("producer %d: got record %d, want %d (lost, duplicated or reordered)", p, i, nextIndex[p])
		}
		nextIndex[p]++
	}
	for p, n := range nextIndex {
		if n != perProducer {
			t.Fatalf("producer %d: %d records delivered, want %d", p, n, perProducer)
		}
	}
	if got := q.Stats().Records; got != 0 {
		t.Fatalf("Records = %d after consuming everything", got)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		want    Options
	}{
		{name: "defaults", opts: Options{}, want: Options{MaxBytes: DefaultMaxBytes, SegmentBytes: DefaultSegmentBytes}},
		{name: "small limit lowers default segment", opts: Options{MaxBytes: 1 << 20}, want: Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 18}},
		{name: "negative max", opts: Options{MaxBytes: -1}, wantErr: "MaxBytes -1 is negative"},
		{name: "negative segment", opts: Options{SegmentBytes: -1}, wantErr: "SegmentBytes -1 is negative"},
		{name: "tiny segment", opts: Options{SegmentBytes: 10}, wantErr: "below the minimum"},
		{name: "segment over quarter", opts: Options{MaxBytes: 1000, SegmentBytes: 251}, wantErr: "more than a quarter of MaxBytes"},
		{name: "segment at quarter", opts: Options{MaxBytes: 1000, SegmentBytes: 250}, want: Options{MaxBytes: 1000, SegmentBytes: 250}},
		{name: "small limit without room for a segment", opts: Options{MaxBytes: 200}, wantErr: "more than a quarter of MaxBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("withDefaults = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOpenLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	if second, err := Open(dir, Options{}); err == nil {
		second.Close()
		t.Fatal("second Open of an open directory succeeded")
	} else if !strings.Contains(err.Error(), "already open") {
		t.Fatalf("second Open: err = %v, want it to say the directory is already open", err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	openQueue(t, dir, Options{})
}

func TestWriteFailureRollsBack(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{MaxBytes: 1 << 20, SegmentBytes: 256})
	appendAll(t, q, []byte("before"))
	injected := errors.New("injected write failure")
	q.writer.faults = &writeFault{write: func(uint64) error { return injected }}
	big := make([][]byte, 20) // spans several segments, so rollback removes some
	for i := range big {
		big[i] = []byte(fmt.Sprintf("%040d", i))
	}
	if err := q.Append(big...); !errors.Is(err, injected) {
		t.Fatalf("Append with failing write: err = %v, want the injected error", err)
	}
	q.writer.faults = nil
	appendAll(t, q, []byte("after"))

	want := [][]byte{[]byte("before"), []byte("after")}
	q = reopen(t, q, Options{MaxBytes: 1 << 20, SegmentBytes: 256})
	if repairs := q.Repairs(); len(repairs) != 0 {
		t.Fatalf("Open repaired %v, want nothing after a rolled-back write", repairs)
	}
	if diff := cmp.Diff(want, drain(t, q, 10)); diff != "" {
		t.Fatalf("records differ (-want +got):\n%s", diff)
	}
}

func TestSyncFailureNeedsReopen(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	appendAll(t, q, []byte("before"))
	injected := errors.New("injected fsync failure")
	q.writer.faults = &writeFault{sync: func(uint64) error { return injected }}
	if err := q.Append([]byte("lost")); !errors.Is(err, injected) {
		t.Fatalf("Append with failing fsync: err = %v, want the injected error", err)
	}
	q.writer.faults = nil
	err := q.Append([]byte("refused"))
	if err == nil || !strings.Contains(err.Error(), "reopened") {
		t.Fatalf("Append after a failed fsync: err = %v, want a request to reopen", err)
	}

	q = reopen(t, q, Options{})
	appendAll(t, q, []byte("after"))
	want := [][]byte{[]byte("before"), []byte("after")}
	if diff := cmp.Diff(want, drain(t, q, 10)); diff != "" {
		t.Fatalf("records differ (-want +got):\n%s", diff)
	}
}

func TestPositionFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	appendAll(t, q, []byte("a"))
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, positionFileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[10] ^= 0xff
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != path {
		t.Fatalf("Open with a damaged position file: err = %v, want a CorruptError for %s", err, path)
	}
}

func TestMissingSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 1 << 20, SegmentBytes: 128}
	q := openQueue(t, dir, opts)
	for i := range 10 {
		appendAll(t, q, []byte(fmt.Sprintf("%050d", i)))
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	missing := segmentPath(dir, 3)
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, opts)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Open without %s: err = %v, want it to name the missing file", missing, err)
	}
}
