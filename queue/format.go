package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// segmentMagic opens every segment file. The last byte is the format
	// version.
	segmentMagic      = "MIGQSEG\x01"
	segmentHeaderSize = int64(len(segmentMagic))

	// recordHeaderSize is the size of the header before each payload:
	// payload length (uint32), append time (int64 Unix ns), CRC-32C of the
	// payload (uint32) and CRC-32C of the first 16 header bytes (uint32), all
	// little endian.
	recordHeaderSize = 20

	// maxPayloadSize is the largest length the uint32 length field holds.
	maxPayloadSize = int64(^uint32(0))

	positionMagic    = "MIGQPOS\x01"
	positionFileSize = len(positionMagic) + 3*8 + 4
	positionFileName = "position"
	positionTempName = "position.tmp"
	lockFileName     = "LOCK"
	segmentSuffix    = ".seg"
	segmentIDDigits  = 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is matched (errors.Is) by every *CorruptError.
var ErrCorrupt = errors.New("queue data is corrupt")

// CorruptError reports damaged data that is not a torn tail, so Open and
// Next cannot skip it without losing records that Append acknowledged.
type CorruptError struct {
	File   string // path of the damaged file
	Offset int64  // byte offset of the damaged record or header
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("queue: %s is corrupt at offset %d: %s; the records from this offset to the end of the file cannot be read: "+
		"to keep the records before it, stop the process and truncate the file to %d bytes, or move the queue directory aside to start empty",
		e.File, e.Offset, e.Reason, e.Offset)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func segmentName(id uint64) string {
	return fmt.Sprintf("%0*d%s", segmentIDDigits, id, segmentSuffix)
}

func segmentPath(dir string, id uint64) string {
	return filepath.Join(dir, segmentName(id))
}

// parseSegmentName returns the id of a segment file name, and false for a
// name that is not a segment file.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != segmentIDDigits {
		return 0, false
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}

// putRecordHeader encodes the header of payload, appended at appendTime
// (Unix ns), into dst[:recordHeaderSize].
func putRecordHeader(dst []byte, payload []byte, appendTime int64) {
	binary.LittleEndian.PutUint32(dst[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint64(dst[4:12], uint64(appendTime))
	binary.LittleEndian.PutUint32(dst[12:16], crc32.Checksum(payload, crcTable))
	binary.LittleEndian.PutUint32(dst[16:20], crc32.Checksum(dst[0:16], crcTable))
}

// problemKind classifies a record that cannot be read. Open uses it to tell
// a torn tail from corruption.
type problemKind int

const (
	// shortHeader: fewer than recordHeaderSize bytes remain.
	shortHeader problemKind = iota + 1
	// badHeader: the header checksum does not match.
	badHeader
	// shortPayload: the header is valid but its payload runs past the end.
	shortPayload
	// badPayload: the payload checksum does not match.
	badPayload
)

type recordProblem struct {
	kind   problemKind
	offset int64 // start of the record
	end    int64 // end of the record as its header states; set for badPayload
	reason string
}

// chunkReader reads a segment file through a buffer of readAhead bytes.
// With reuse false every refill allocates a new buffer, so slices it
// returned earlier stay valid (Next hands them to the caller).
type chunkReader struct {
	f         *os.File
	limit     int64 // bytes at or after limit are never read
	readAhead int
	reuse     bool
	buf       []byte
	start     int64 // file offset of buf[0]
}

// bytes returns the n bytes at off. The caller guarantees off+n <= limit.
func (r *chunkReader) bytes(off int64, n int) ([]byte, error) {
	if off >= r.start && off+int64(n) <= r.start+int64(len(r.buf)) {
		i := off - r.start
		return r.buf[i : i+int64(n)], nil
	}
	size := int64(max(n, r.readAhead))
	size = min(size, r.limit-off)
	var b []byte
	if r.reuse && int64(cap(r.buf)) >= size {
		b = r.buf[:size]
	} else {
		b = make([]byte, size)
	}
	if _, err := r.f.ReadAt(b, off); err != nil {
		r.buf = nil
		return nil, fmt.Errorf("queue: reading %d bytes of %s at offset %d: %w", size, r.f.Name(), off, err)
	}
	r.buf, r.start = b, off
	return b[:n], nil
}

// readRecord reads the record at off, which must be below r.limit. It
// returns the payload (capacity clipped to its length), the append time in
// Unix ns and the offset of the next record. A record that does not decode
// is returned as a *recordProblem; err is for I/O errors only.
func readRecord(r *chunkReader, off int64) (payload []byte, appendTime int64, next int64, problem *recordProblem, err error) {
	if r.limit-off < recordHeaderSize {
		return nil, 0, 0, &recordProblem{kind: shortHeader, offset: off, reason: fmt.Sprintf("%d bytes remain, fewer than a record header", r.limit-off)}, nil
	}
	header, err := r.bytes(off, recordHeaderSize)
	if err != nil {
		return nil, 0, 0, nil, err
	}
	if crc32.Checksum(header[0:16], crcTable) != binary.LittleEndian.Uint32(header[16:20]) {
		return nil, 0, 0, &recordProblem{kind: badHeader, offset: off, reason: "record header checksum mismatch"}, nil
	}
	length := int64(binary.LittleEndian.Uint32(header[0:4]))
	appendTime = int64(binary.LittleEndian.Uint64(header[4:12]))
	payloadCRC := binary.LittleEndian.Uint32(header[12:16])
	start := off + recordHeaderSize
	end := start + length
	if end > r.limit {
		return nil, 0, 0, &recordProblem{kind: shortPayload, offset: off, reason: fmt.Sprintf("record of %d bytes runs past the end at %d", length, r.limit)}, nil
	}
	payload, err = r.bytes(start, int(length))
	if err != nil {
		return nil, 0, 0, nil, err
	}
	if crc32.Checksum(payload, crcTable) != payloadCRC {
		return nil, 0, 0, &recordProblem{kind: badPayload, offset: off, end: end, reason: "record payload checksum mismatch"}, nil
	}
	return payload[:length:length], appendTime, end, nil, nil
}

// position is the consumer position: the offset of the first unacknowledged
// record in segment, and that record's sequence number.
type position struct {
	segment uint64
	offset  int64
	seq     uint64
}

func encodePosition(p position) []byte {
	b := make([]byte, positionFileSize)
	copy(b, positionMagic)
	i := len(positionMagic)
	binary.LittleEndian.PutUint64(b[i:], p.segment)
	binary.LittleEndian.PutUint64(b[i+8:], uint64(p.offset))
	binary.LittleEndian.PutUint64(b[i+16:], p.seq)
	binary.LittleEndian.PutUint32(b[i+24:], crc32.Checksum(b[:i+24], crcTable))
	return b
}

// decodePosition parses a position file. The error describes the problem
// without the path, which the caller adds.
func decodePosition(b []byte) (position, error) {
	if len(b) != positionFileSize {
		return position{}, fmt.Errorf("position file has %d bytes, expected %d", len(b), positionFileSize)
	}
	if string(b[:len(positionMagic)]) != positionMagic {
		return position{}, fmt.Errorf("position file starts with %q, expected %q", b[:len(positionMagic)], positionMagic)
	}
	i := len(positionMagic)
	if crc32.Checksum(b[:i+24], crcTable) != binary.LittleEndian.Uint32(b[i+24:]) {
		return position{}, errors.New("position file checksum mismatch")
	}
	p := position{
		segment: binary.LittleEndian.Uint64(b[i:]),
		offset:  int64(binary.LittleEndian.Uint64(b[i+8:])),
		seq:     binary.LittleEndian.Uint64(b[i+16:]),
	}
	if p.offset < segmentHeaderSize {
		return position{}, fmt.Errorf("position offset %d is inside the %d-byte segment header", p.offset, segmentHeaderSize)
	}
	return p, nil
}
