package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"testing"
	"time"
)

// validSegment returns the bytes of a segment holding records.
func validSegment(t testing.TB, records ...[]byte) []byte {
	t.Helper()
	dir := t.TempDir()
	q, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Append(records...); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(segmentPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzOpenSegment writes arbitrary bytes as the only segment file. Open must
// either fail or return a queue whose records all read back, that accepts
// and returns a new record, and that is empty after a reopen once all are
// acknowledged.
func FuzzOpenSegment(f *testing.F) {
	valid := validSegment(f, []byte("first"), []byte{}, bytes.Repeat([]byte("x"), 300))
	hugeHeader := make([]byte, recordHeaderSize)
	binary.LittleEndian.PutUint32(hugeHeader[0:4], 0xfffffff0)
	binary.LittleEndian.PutUint32(hugeHeader[16:20], crc32.Checksum(hugeHeader[0:16], crcTable))
	seeds := [][]byte{
		nil,
		[]byte(segmentMagic),
		[]byte(segmentMagic[:3]),
		valid,
		valid[:len(valid)-1],
		valid[:len(valid)-recordHeaderSize-3],
		append(append([]byte{}, valid...), 0, 0, 0),
		append([]byte(segmentMagic), hugeHeader...),
		make([]byte, 64),
		[]byte("not a segment at all"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(segmentPath(dir, 1), data, 0o640); err != nil {
			t.Fatal(err)
		}
		opts := Options{MaxBytes: 1 << 20, SegmentBytes: 4096, NoSync: true}
		q, err := Open(dir, opts)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != segmentPath(dir, 1) {
				t.Fatalf("Open failed with %v, want a CorruptError naming the segment", err)
			}
			return
		}
		defer q.Close()
		for i := 0; q.Stats().Records > 0; i++ {
			if i > len(data) {
				t.Fatalf("still %d records after %d batches of a %d-byte file", q.Stats().Records, i, len(data))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			b, err := q.Next(ctx, 3)
			cancel()
			if err != nil {
				t.Fatalf("Next after a successful Open: %v", err)
			}
			if err := q.Ack(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Append([]byte("new")); err != nil {
			t.Fatalf("Append after Open: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b, err := q.Next(ctx, 10)
		if err != nil {
			t.Fatalf("Next of the new record: %v", err)
		}
		if len(b.Records) != 1 || string(b.Records[0]) != "new" {
			t.Fatalf("Next returned %q, want [new]", b.Records)
		}
		if err := q.Ack(b); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		q, err = Open(dir, opts)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if n := q.Stats().Records; n != 0 {
			t.Fatalf("reopen: %d records, want 0", n)
		}
		q.Close()
	})
}

// FuzzDecodePosition checks that decodePosition never panics and that what
// it accepts encodes back to the same bytes.
func FuzzDecodePosition(f *testing.F) {
	f.Add(encodePosition(position{segment: 1, offset: segmentHeaderSize, seq: 0}))
	f.Add(encodePosition(position{segment: 1 << 40, offset: 1 << 30, seq: 1 << 50}))
	f.Add([]byte(positionMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePosition(data)
		if err != nil {
			return
		}
		if p.offset < segmentHeaderSize {
			t.Fatalf("accepted offset %d inside the segment header", p.offset)
		}
		if got := encodePosition(p); !bytes.Equal(got, data) {
			t.Fatalf("decode then encode changed %x to %x", data, got)
		}
	})
}
