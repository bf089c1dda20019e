package queue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordOffsets returns the offset of each record in a segment that holds
// exactly records, in order.
func recordOffsets(records [][]byte) []int64 {
	offsets := make([]int64, len(records))
	off := segmentHeaderSize
	for i, r := range records {
		offsets[i] = off
		off += recordHeaderSize + int64(len(r))
	}
	return offsets
}

// writeClosedQueue appends records one Append each and closes the queue.
func writeClosedQueue(t *testing.T, dir string, opts Options, records [][]byte) {
	t.Helper()
	q, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		appendAll(t, q, r)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
}

func mutateFile(t *testing.T, path string, mutate func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, mutate(data), 0o640); err != nil {
		t.Fatal(err)
	}
}

func flipByte(at func(data []byte) int) func([]byte) []byte {
	return func(data []byte) []byte {
		data[at(data)] ^= 0x5a
		return data
	}
}

func TestTornTailRepaired(t *testing.T) {
	records := makeRecords("torn", 10)
	offsets := recordOffsets(records)
	last := offsets[9]
	end := last + recordHeaderSize + int64(len(records[9]))
	garbage := bytes.Repeat([]byte{0xa7, 0x13, 0x5e}, 40)

	tests := []struct {
		name        string
		segment     uint64 // file to mutate or create
		mutate      func([]byte) []byte
		keep        int   // records that survive
		repairAt    int64 // offset of the repair; -1 for none
		repairBytes int64
	}{
		{name: "last byte cut", segment: 1, mutate: func(d []byte) []byte { return d[:len(d)-1] }, keep: 9, repairAt: last, repairBytes: end - 1 - last},
		{name: "cut inside last header", segment: 1, mutate: func(d []byte) []byte { return d[:last+10] }, keep: 9, repairAt: last, repairBytes: 10},
		{name: "cut at record boundary", segment: 1, mutate: func(d []byte) []byte { return d[:last] }, keep: 9, repairAt: -1},
		{name: "last byte flipped", segment: 1, mutate: flipByte(func(d []byte) int { return len(d) - 1 }), keep: 9, repairAt: last, repairBytes: end - last},
		{name: "last header flipped", segment: 1, mutate: flipByte(func([]byte) int { return int(last) + 2 }), keep: 9, repairAt: last, repairBytes: end - last},
		{name: "partial header appended", segment: 1, mutate: func(d []byte) []byte { return append(d, 1, 2, 3, 4, 5, 6, 7) }, keep: 10, repairAt: end, repairBytes: 7},
		{name: "garbage appended", segment: 1, mutate: func(d []byte) []byte { return append(d, garbage...) }, keep: 10, repairAt: end, repairBytes: int64(len(garbage))},
		{name: "zeros appended", segment: 1, mutate: func(d []byte) []byte { return append(d, make([]byte, 4096)...) }, keep: 10, repairAt: end, repairBytes: 4096},
		{name: "new segment empty", segment: 2, mutate: func([]byte) []byte { return nil }, keep: 10, repairAt: 0, repairBytes: 0},
		{name: "new segment partial magic", segment: 2, mutate: func([]byte) []byte { return []byte(segmentMagic[:4]) }, keep: 10, repairAt: 0, repairBytes: 4},
		{name: "new segment zeros", segment: 2, mutate: func([]byte) []byte { return make([]byte, 30) }, keep: 10, repairAt: 0, repairBytes: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeClosedQueue(t, dir, Options{}, records)
			path := segmentPath(dir, tt.segment)
			if tt.segment == 1 {
				mutateFile(t, path, tt.mutate)
			} else if err := os.WriteFile(path, tt.mutate(nil), 0o640); err != nil {
				t.Fatal(err)
			}

			q := openQueue(t, dir, Options{})
			repairs := q.Repairs()
			if tt.repairAt < 0 {
				if len(repairs) != 0 {
					t.Fatalf("Repairs = %+v, want none", repairs)
				}
			} else {
				if len(repairs) != 1 {
					t.Fatalf("Repairs = %+v, want one", repairs)
				}
				if r := repairs[0]; r.File != path || r.Offset != tt.repairAt || r.Bytes != tt.repairBytes {
					t.Fatalf("Repair = %+v, want file %s offset %d bytes %d", r, path, tt.repairAt, tt.repairBytes)
				}
			}
			if got := q.Stats().Records; got != int64(tt.keep) {
				t.Fatalf("Records = %d, want %d", got, tt.keep)
			}

			// The queue appends after the repaired tail, and both the kept and
			// the new records read back after another reopen.
			appendAll(t, q, []byte("after repair"))
			q = reopen(t, q, Options{})
			if repairs := q.Repairs(); len(repairs) != 0 {
				t.Fatalf("second reopen repaired %+v, want nothing", repairs)
			}
			want := append(append([][]byte{}, records[:tt.keep]...), []byte("after repair"))
			if diff := cmp.Diff(want, drain(t, q, 100)); diff != "" {
				t.Fatalf("records differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCorruptionReported(t *testing.T) {
	records := makeRecords("mid", 10)
	offsets := recordOffsets(records)
	// With SegmentBytes 256 and 50-byte records (70 bytes on disk), each
	// segment holds 3 records.
	fixed := make([][]byte, 5)
	for i := range fixed {
		fixed[i] = []byte(fmt.Sprintf("%050d", i))
	}
	small := Options{MaxBytes: 1 << 20, SegmentBytes: 256}

	tests := []struct {
		name       string
		opts       Options
		records    [][]byte
		segment    uint64
		mutate     func([]byte) []byte
		wantOffset int64
	}{
		{name: "middle payload flipped", records: records, segment: 1, mutate: flipByte(func([]byte) int { return int(offsets[3]) + recordHeaderSize + 1 }), wantOffset: offsets[3]},
		{name: "middle header flipped", records: records, segment: 1, mutate: flipByte(func([]byte) int { return int(offsets[3]) + 1 }), wantOffset: offsets[3]},
		{name: "first record zeroed", records: records, segment: 1, mutate: func(d []byte) []byte {
			clear(d[offsets[0] : offsets[0]+recordHeaderSize])
			return d
		}, wantOffset: offsets[0]},
		{name: "newest segment magic", records: records, segment: 1, mutate: flipByte(func([]byte) int { return 0 }), wantOffset: 0},
		{name: "older segment last byte", opts: small, records: fixed, segment: 1, mutate: flipByte(func(d []byte) int { return len(d) - 1 }), wantOffset: segmentHeaderSize + 2*70},
		{name: "older segment cut", opts: small, records: fixed, segment: 1, mutate: func(d []byte) []byte { return d[:len(d)-5] }, wantOffset: segmentHeaderSize + 2*70},
		{name: "older segment magic", opts: small, records: fixed, segment: 1, mutate: func(d []byte) []byte { return d[:4] }, wantOffset: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeClosedQueue(t, dir, tt.opts, tt.records)
			path := segmentPath(dir, tt.segment)
			mutateFile(t, path, tt.mutate)

			q, err := Open(dir, tt.opts)
			if err == nil {
				q.Close()
				t.Fatal("Open of a corrupt segment succeeded")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Open: err = %v, want a *CorruptError", err)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: errors.Is(%v, ErrCorrupt) is false", err)
			}
			if ce.File != path || ce.Offset != tt.wantOffset {
				t.Fatalf("CorruptError at %s offset %d, want %s offset %d", ce.File, ce.Offset, path, tt.wantOffset)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "offset "+strconv.FormatInt(tt.wantOffset, 10)) {
				t.Fatalf("message %q does not name the file and offset", msg)
			}
		})
	}
}

func TestCorruptionFoundByNext(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	records := makeRecords("next", 10)
	appendAll(t, q, records...)
	offsets := recordOffsets(records)
	path := segmentPath(dir, 1)

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, offsets[5]+recordHeaderSize+2); err != nil {
		t.Fatal(err)
	}
	f.Close()

	_, err = q.Next(t.Context(), 100)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != path || ce.Offset != offsets[5] {
		t.Fatalf("Next over a damaged record: err = %v, want a CorruptError for %s at offset %d", err, path, offsets[5])
	}
	b := next(t, q, 5)
	if diff := cmp.Diff(records[:5], b.Records); diff != "" {
		t.Fatalf("records before the damage differ (-want +got):\n%s", diff)
	}
}
