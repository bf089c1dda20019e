package queue

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// recover loads the queue state from q.dir, repairs a torn tail and sets up
// the writer. It runs in Open, before any other goroutine uses q.
func (q *Queue) recover() error {
	if err := os.Remove(filepath.Join(q.dir, positionTempName)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("queue: removing a leftover temporary position file: %w", err)
	}
	ids, err := listSegments(q.dir)
	if err != nil {
		return err
	}
	pos, hasPos, err := readPosition(q.dir)
	if err != nil {
		return err
	}
	if !hasPos {
		pos = position{segment: 1, offset: segmentHeaderSize}
		if len(ids) > 0 {
			pos.segment = ids[0]
		}
	}

	// Segments before the position were consumed; an Ack that crashed after
	// saving the position did not delete them all.
	consumed := 0
	for consumed < len(ids) && ids[consumed] < pos.segment {
		if err := os.Remove(segmentPath(q.dir, ids[consumed])); err != nil {
			return fmt.Errorf("queue: removing consumed segment: %w", err)
		}
		consumed++
	}
	ids = ids[consumed:]
	if err := checkSegmentIDs(q.dir, ids, pos, hasPos); err != nil {
		return err
	}

	if len(ids) == 0 {
		f, err := createSegment(q.dir, pos.segment, q.opts.NoSync)
		if err != nil {
			return err
		}
		q.segments = []segmentMeta{{id: pos.segment, size: segmentHeaderSize}}
		q.diskBytes = segmentHeaderSize
		q.writer = q.newWriter(f, pos.segment, segmentHeaderSize)
	} else if err := q.loadSegments(ids, &pos); err != nil {
		return err
	}

	var consumedIDs []uint64
	if q.headSeq == pos.seq && q.diskBytes > segmentHeaderSize {
		var err error
		if consumedIDs, err = q.startEmptySegment(&pos); err != nil {
			return err
		}
	}
	q.ackPos = pos
	if err := writePosition(q.dir, pos, q.opts.NoSync); err != nil {
		return err
	}
	for _, id := range consumedIDs {
		if err := os.Remove(segmentPath(q.dir, id)); err != nil {
			return fmt.Errorf("queue: removing consumed segment: %w", err)
		}
	}
	return nil
}

// startEmptySegment moves a queue without unacknowledged records to a new,
// empty segment, so that consumed bytes stop counting against MaxBytes
// even when SegmentBytes was larger in an earlier run. It returns the ids of
// the old segments, which the caller deletes after saving the new position.
func (q *Queue) startEmptySegment(pos *position) ([]uint64, error) {
	next := q.writer.id + 1
	f, err := createSegment(q.dir, next, q.opts.NoSync)
	if err != nil {
		return nil, err
	}
	if err := q.writer.f.Close(); err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: closing %s: %w", q.writer.f.Name(), err)
	}
	var old []uint64
	for _, s := range q.segments {
		old = append(old, s.id)
	}
	q.writer = q.newWriter(f, next, segmentHeaderSize)
	q.segments = []segmentMeta{{id: next, size: segmentHeaderSize}}
	q.diskBytes = segmentHeaderSize
	*pos = position{segment: next, offset: segmentHeaderSize, seq: pos.seq}
	return old, nil
}

func (q *Queue) newWriter(f *os.File, id uint64, size int64) *segmentWriter {
	return &segmentWriter{dir: q.dir, f: f, id: id, size: size, segmentBytes: q.opts.SegmentBytes, noSync: q.opts.NoSync}
}

// listSegments returns the ids of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("queue: listing directory: %w", err)
	}
	var ids []uint64
	for _, e := range entries {
		if filepath.Ext(e.Name()) != segmentSuffix {
			continue
		}
		id, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			return nil, fmt.Errorf("queue: %s is not a segment file of this queue (expected a regular file named like %s): move it out of the queue directory",
				filepath.Join(dir, e.Name()), segmentName(1))
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// checkSegmentIDs verifies that the segment of the saved position exists
// and that no segment file is missing after it.
func checkSegmentIDs(dir string, ids []uint64, pos position, hasPos bool) error {
	if hasPos && (len(ids) == 0 || ids[0] != pos.segment) {
		return fmt.Errorf("queue: segment file %s, where the saved consumer position points, is missing, so unacknowledged records are lost: move the queue directory aside to start empty",
			segmentPath(dir, pos.segment))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			return fmt.Errorf("queue: segment file %s is missing between %s and %s, so records are lost: move the queue directory aside to start empty",
				segmentPath(dir, ids[i-1]+1), segmentName(ids[i-1]), segmentName(ids[i]))
		}
	}
	return nil
}

// loadSegments scans the segments from the position on, counts the
// unacknowledged records, truncates a torn tail of the last segment and
// opens that segment for the writer. It may move pos back to the end of
// its segment, see scanSegment.
func (q *Queue) loadSegments(ids []uint64, pos *position) error {
	var records uint64
	for i, id := range ids {
		last := i == len(ids)-1
		start := segmentHeaderSize
		if id == pos.segment {
			start = pos.offset
		}
		scan, err := q.scanSegment(id, start, last)
		if err != nil {
			return err
		}
		if id == pos.segment && scan.start != start {
			pos.offset = scan.start
		}
		if records == 0 && scan.records > 0 {
			q.oldest = time.Unix(0, scan.firstTime)
		}
		records += scan.records
		q.segments = append(q.segments, segmentMeta{id: id, size: scan.size})
		q.diskBytes += scan.size
		if last {
			w, err := q.openWriter(id, scan)
			if err != nil {
				return err
			}
			q.writer = w
		}
	}
	q.headSeq = pos.seq + records
	return nil
}

// segmentScan is the result of scanning one segment.
type segmentScan struct {
	start      int64 // offset the scan started at, after clamping to the valid end
	size       int64 // valid bytes: the file is truncated to this if it is longer
	fileSize   int64
	resetMagic bool // the header is incomplete and must be written again
	records    uint64
	firstTime  int64
}

// scanSegment checks the records of segment id from start to its end. In
// the last segment, a torn header or tail is recorded as a repair (the
// caller truncates it); anywhere else damage is a *CorruptError.
func (q *Queue) scanSegment(id uint64, start int64, last bool) (segmentScan, error) {
	path := segmentPath(q.dir, id)
	f, err := os.Open(path)
	if err != nil {
		return segmentScan{}, fmt.Errorf("queue: opening segment: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return segmentScan{}, fmt.Errorf("queue: reading size of segment: %w", err)
	}
	scan := segmentScan{start: start, size: info.Size(), fileSize: info.Size()}

	valid, err := checkSegmentHeader(f, scan.fileSize)
	if err != nil {
		return segmentScan{}, err
	}
	if !valid {
		if !last {
			return segmentScan{}, &CorruptError{File: path, Offset: 0, Reason: "invalid segment header"}
		}
		// A crash while the segment was being created: it holds no records.
		q.repairs = append(q.repairs, Repair{File: path, Offset: 0, Bytes: scan.fileSize, Reason: "incomplete segment header written again"})
		scan.resetMagic = true
		scan.size = segmentHeaderSize
		scan.start = segmentHeaderSize
		return scan, nil
	}

	if scan.start > scan.size {
		// Only possible when records the consumer acknowledged were lost,
		// which fsync prevents unless NoSync was set.
		q.repairs = append(q.repairs, Repair{
			File: path, Offset: scan.size, Bytes: scan.start - scan.size,
			Reason: "consumer position was after the end of the segment; moved back to the end",
		})
		scan.start = scan.size
	}

	r := &chunkReader{f: f, limit: scan.fileSize, readAhead: readAhead, reuse: true}
	for off := scan.start; off < scan.fileSize; {
		_, appendTime, next, problem, err := readRecord(r, off)
		if err != nil {
			return segmentScan{}, err
		}
		if problem != nil {
			torn, err := isTornTail(f, problem, scan.fileSize, last)
			if err != nil {
				return segmentScan{}, err
			}
			if !torn {
				return segmentScan{}, &CorruptError{File: path, Offset: off, Reason: problem.reason}
			}
			q.repairs = append(q.repairs, Repair{
				File: path, Offset: off, Bytes: scan.fileSize - off,
				Reason: "torn record at the end of the newest segment truncated (" + problem.reason + ")",
			})
			scan.size = off
			break
		}
		if scan.records == 0 {
			scan.firstTime = appendTime
		}
		scan.records++
		off = next
	}
	return scan, nil
}

// checkSegmentHeader reports whether the file starts with the segment
// magic. A file that is empty, holds a prefix of the magic or only zero
// bytes is not valid but also not corrupt: it is the trace of a crash while
// the segment was created. Anything else is a *CorruptError.
func checkSegmentHeader(f *os.File, size int64) (bool, error) {
	header := make([]byte, min(size, segmentHeaderSize))
	if _, err := f.ReadAt(header, 0); err != nil {
		return false, fmt.Errorf("queue: reading segment header of %s: %w", f.Name(), err)
	}
	if string(header) == segmentMagic {
		return true, nil
	}
	if size < segmentHeaderSize && bytes.HasPrefix([]byte(segmentMagic), header) {
		return false, nil
	}
	zero, err := allZero(f, 0, size)
	if err != nil {
		return false, err
	}
	if zero {
		return false, nil
	}
	return false, &CorruptError{File: f.Name(), Offset: 0, Reason: fmt.Sprintf("segment header is %q, expected %q", header, segmentMagic)}
}

// isTornTail reports whether a record that does not decode is a torn write
// at the end of the newest segment, which Append never acknowledged. A write
// cut short by a crash leaves a short header or payload. A crash of the
// machine may also leave zero bytes or garbage where the last write went.
// So a bad record is torn unless a valid record follows it somewhere in the
// file: then acknowledged records would be lost, and it is corruption.
func isTornTail(f *os.File, p *recordProblem, size int64, last bool) (bool, error) {
	if !last {
		return false, nil
	}
	switch p.kind {
	case shortHeader, shortPayload:
		return true, nil
	case badHeader, badPayload:
		found, err := findValidRecord(f, p.offset+1, size)
		return !found, err
	}
	return false, nil
}

// findValidRecord reports whether a record with valid checksums starts at
// any byte offset in [from, end) of f.
func findValidRecord(f *os.File, from, end int64) (bool, error) {
	r := &chunkReader{f: f, limit: end, readAhead: readAhead, reuse: true}
	payloadReader := &chunkReader{f: f, limit: end, readAhead: 0, reuse: true}
	for off := from; off+recordHeaderSize <= end; off++ {
		header, err := r.bytes(off, recordHeaderSize)
		if err != nil {
			return false, err
		}
		if crc32.Checksum(header[0:16], crcTable) != binary.LittleEndian.Uint32(header[16:20]) {
			continue
		}
		_, _, _, problem, err := readRecord(payloadReader, off)
		if err != nil {
			return false, err
		}
		if problem == nil {
			return true, nil
		}
	}
	return false, nil
}

// allZero reports whether bytes [off, end) of f are all zero.
func allZero(f *os.File, off, end int64) (bool, error) {
	buf := make([]byte, min(end-off, readAhead))
	for off < end {
		n := min(int64(len(buf)), end-off)
		if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return false, fmt.Errorf("queue: reading %s at offset %d: %w", f.Name(), off, err)
		}
		for _, b := range buf[:n] {
			if b != 0 {
				return false, nil
			}
		}
		off += n
	}
	return true, nil
}

// openWriter opens the last segment for appending, after cutting off a torn
// tail or writing an incomplete header again.
func (q *Queue) openWriter(id uint64, scan segmentScan) (*segmentWriter, error) {
	path := segmentPath(q.dir, id)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("queue: opening segment for writing: %w", err)
	}
	if err := repairTail(f, scan, q.opts.NoSync); err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: repairing %s: %w", path, err)
	}
	return q.newWriter(f, id, scan.size), nil
}

func repairTail(f *os.File, scan segmentScan, noSync bool) error {
	if scan.resetMagic {
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.WriteAt([]byte(segmentMagic), 0); err != nil {
			return err
		}
	} else if scan.size != scan.fileSize {
		if err := f.Truncate(scan.size); err != nil {
			return err
		}
	}
	if _, err := f.Seek(scan.size, io.SeekStart); err != nil {
		return err
	}
	if noSync || (!scan.resetMagic && scan.size == scan.fileSize) {
		return nil
	}
	return f.Sync()
}
