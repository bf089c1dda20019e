package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

const (
	// DefaultMaxBytes is the disk limit when Options.MaxBytes is 0.
	DefaultMaxBytes = 1 << 30
	// DefaultSegmentBytes is the segment size when Options.SegmentBytes is 0
	// and MaxBytes is at least 4 times as large.
	DefaultSegmentBytes = 64 << 20
	// MinSegmentBytes is the smallest accepted Options.SegmentBytes.
	MinSegmentBytes = 64

	// maxBatchBytes stops Next from adding records to a batch once the
	// payloads reach it; a single larger record is still returned alone.
	maxBatchBytes = 1 << 20
	// readAhead is how much Next and Open read from a segment at once.
	readAhead = 256 << 10
)

var (
	// ErrFull is returned (wrapped, with the current size and the limit) by
	// Append when the records would take the queue past MaxBytes. Nothing of
	// that Append is stored; the caller should apply backpressure and retry
	// after the consumer has acknowledged records.
	ErrFull = errors.New("queue is full")
	// ErrTooLarge is returned (wrapped) by Append for a record that can never
	// fit in a segment.
	ErrTooLarge = errors.New("record is larger than a queue segment")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("queue is closed")
)

// Options configures Open.
type Options struct {
	// MaxBytes bounds the bytes of all segment files (default 1 GiB). A
	// consumed part of a segment counts until the whole segment is consumed
	// and deleted.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file starts (default
	// 64 MiB, or MaxBytes/4 when that is smaller). It must be at most a
	// quarter of MaxBytes: the consumed part of the newest segment stays on
	// disk until a new segment starts, and once the consumer has acknowledged
	// everything, a record of the maximum size must still fit next to it. A
	// record may be at most SegmentBytes-28 bytes.
	SegmentBytes int64
	// NoSync skips every fsync. Records then survive a crash of the process
	// but not of the machine. Only for tests and for benchmarks of the cost
	// of fsync.
	NoSync bool
}

func (o Options) withDefaults() (Options, error) {
	if o.MaxBytes < 0 {
		return o, fmt.Errorf("queue: MaxBytes %d is negative: set a positive limit or 0 for the default %d", o.MaxBytes, DefaultMaxBytes)
	}
	if o.SegmentBytes < 0 {
		return o, fmt.Errorf("queue: SegmentBytes %d is negative: set a positive size or 0 for the default", o.SegmentBytes)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = min(DefaultSegmentBytes, max(o.MaxBytes/4, MinSegmentBytes))
	}
	if o.SegmentBytes < MinSegmentBytes {
		return o, fmt.Errorf("queue: SegmentBytes %d is below the minimum %d", o.SegmentBytes, MinSegmentBytes)
	}
	if o.SegmentBytes > o.MaxBytes/4 {
		return o, fmt.Errorf("queue: SegmentBytes %d is more than a quarter of MaxBytes %d: lower SegmentBytes or raise MaxBytes", o.SegmentBytes, o.MaxBytes)
	}
	return o, nil
}

// maxRecordSize is the largest payload that fits in a segment.
func (o Options) maxRecordSize() int64 {
	return min(o.SegmentBytes-segmentHeaderSize-recordHeaderSize, maxPayloadSize)
}

// Queue is a durable FIFO of records in a directory. Append is safe for
// concurrent use. Next and Ack serve one consumer: calls from several
// goroutines are serialized, and each Next starts at the acknowledged
// position again.
type Queue struct {
	dir  string
	opts Options
	lock *os.File

	mu         sync.Mutex
	wake       *sync.Cond // signals the writer goroutine: pending requests or Close
	pending    []*appendRequest
	reserved   int64 // bytes of pending and in-flight requests
	closing    bool
	closed     chan struct{} // closed by Close
	failed     error         // set after a failure that needs a reopen
	segments   []segmentMeta // oldest first; sizes count committed bytes only
	diskBytes  int64         // sum of segments[].size
	headSeq    uint64        // sequence number the next committed record gets
	ackPos     position
	oldest     time.Time
	committed  chan struct{} // closed and replaced at every commit
	repairs    []Repair
	writer     *segmentWriter // used by the writer goroutine only
	writerDone chan struct{}

	consumer sync.Mutex // serializes Next and Ack, and guards reader
	reader   *os.File   // segment file Next read last
}

// segmentMeta describes one segment file. size is the end of the last
// committed record.
type segmentMeta struct {
	id   uint64
	size int64
}

// Repair describes one change Open made to recover from a crash.
type Repair struct {
	File   string
	Offset int64 // offset of the first removed byte
	Bytes  int64 // bytes removed or skipped
	Reason string
}

// Stats is a snapshot of the queue.
type Stats struct {
	Records      int64     // unacknowledged records
	Bytes        int64     // bytes of all segment files, the value compared with MaxBytes
	MaxBytes     int64     // the limit in effect
	Segments     int       // segment files
	OldestAppend time.Time // append time of the oldest unacknowledged record; zero when Records is 0
}

// Batch is a run of consecutive records returned by Next.
type Batch struct {
	// Records are the payloads, oldest first. The caller owns them.
	Records [][]byte
	// Appended is the time Append stored each record, same index as Records.
	Appended []time.Time

	queue    *Queue
	firstSeq uint64
	end      position // position after the last record
}

// FirstSeq returns the sequence number of Records[0]. Records are numbered
// consecutively from 0 when the queue is created, and the numbers persist
// across reopen. After a crash, records that Append had not acknowledged
// may be dropped and their numbers given to new records.
func (b Batch) FirstSeq() uint64 { return b.firstSeq }

// Open opens the queue in dir, creating dir if needed, and recovers it
// after a crash: a torn record at the end of the newest segment is
// truncated away (see Repairs), and damage anywhere else is a
// *CorruptError. Open reads every unacknowledged record once to check it.
// Only one Queue may have dir open at a time.
func Open(dir string, opts Options) (*Queue, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("queue: creating directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{
		dir:        dir,
		opts:       opts,
		lock:       lock,
		closed:     make(chan struct{}),
		committed:  make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	q.wake = sync.NewCond(&q.mu)
	if err := q.recover(); err != nil {
		if q.writer != nil && q.writer.f != nil {
			q.writer.f.Close()
		}
		unlockDir(lock)
		return nil, err
	}
	go q.runWriter()
	return q, nil
}

// Append stores records as one group, in order, and returns after they are
// written and fsynced. Concurrent calls share one fsync. Records of one call
// are never split by records of another. If Append returns an error, none
// of its records is acknowledged, but after a crash some of them may still
// be delivered. Append does not keep the slices after it returns.
func (q *Queue) Append(records ...[]byte) error {
	if len(records) == 0 {
		return nil
	}
	limit := q.opts.maxRecordSize()
	var size int64
	for i, r := range records {
		if int64(len(r)) > limit {
			return fmt.Errorf("queue: record %d of this Append has %d bytes, more than the maximum %d for SegmentBytes %d: %w",
				i, len(r), limit, q.opts.SegmentBytes, ErrTooLarge)
		}
		size += recordHeaderSize + int64(len(r))
	}
	now := time.Now().UnixNano()
	req := &appendRequest{
		records:    records,
		headers:    make([]byte, len(records)*recordHeaderSize),
		appendTime: now,
		reserved:   size + q.segmentHeaderReserve(size),
		done:       make(chan error, 1),
	}
	for i, r := range records {
		putRecordHeader(req.headers[i*recordHeaderSize:], r, now)
	}

	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.failed != nil {
		err := q.failed
		q.mu.Unlock()
		return err
	}
	used := q.diskBytes + q.reserved
	if used+req.reserved > q.opts.MaxBytes {
		q.mu.Unlock()
		return fmt.Errorf("queue: %d of %d bytes in use, %d more needed (%d records): %w",
			used, q.opts.MaxBytes, req.reserved, len(records), ErrFull)
	}
	q.reserved += req.reserved
	q.pending = append(q.pending, req)
	q.wake.Signal()
	q.mu.Unlock()
	return <-req.done
}

// segmentHeaderReserve returns the bytes to reserve for the headers of
// segments that an append of size bytes may create. A segment is only
// closed when its records plus the next record exceed the P payload bytes
// of a segment, so a group of S bytes creates fewer than 2*S/P+1 segments.
// Reserving 3+2*size/P headers per request covers that for any group of
// requests, despite the rounding of the division.
func (q *Queue) segmentHeaderReserve(size int64) int64 {
	payload := q.opts.SegmentBytes - segmentHeaderSize
	return segmentHeaderSize * (3 + 2*size/payload)
}

// commit publishes a written group to the consumer side. q.mu is held.
func (q *Queue) commit(res groupResult) {
	wasEmpty := q.ackPos.seq == q.headSeq
	for _, s := range res.segments {
		last := &q.segments[len(q.segments)-1]
		if last.id == s.id {
			last.size = s.size
		} else {
			q.segments = append(q.segments, s)
		}
	}
	q.diskBytes += res.bytes
	q.headSeq += res.records
	if wasEmpty && res.records > 0 {
		q.oldest = time.Unix(0, res.firstTime)
	}
	close(q.committed)
	q.committed = make(chan struct{})
}

// Next returns up to maxRecords records after the acknowledged position,
// blocking until at least one exists or ctx ends (then it returns
// ctx.Err()). Until Ack, every Next returns the same records again, possibly
// with more after them. A batch holds records of one segment and at most
// about 1 MiB of payload, but at least one record.
func (q *Queue) Next(ctx context.Context, maxRecords int) (Batch, error) {
	if maxRecords < 1 {
		return Batch{}, fmt.Errorf("queue: Next called with maxRecords %d: request at least 1 record", maxRecords)
	}
	q.consumer.Lock()
	defer q.consumer.Unlock()

	pos, limit, err := q.waitForRecords(ctx)
	if err != nil {
		return Batch{}, err
	}
	f, err := q.readerFor(pos.segment)
	if err != nil {
		return Batch{}, err
	}
	// Read ahead less for small batches; a larger record is read whole anyway.
	ahead := int(min(int64(readAhead), int64(maxRecords)*4096))
	r := &chunkReader{f: f, limit: limit, readAhead: ahead}
	b := Batch{queue: q, firstSeq: pos.seq}
	off := pos.offset
	var payloadBytes int
	for len(b.Records) < maxRecords && off < limit && payloadBytes < maxBatchBytes {
		payload, appendTime, next, problem, err := readRecord(r, off)
		if err != nil {
			return Batch{}, err
		}
		if problem != nil {
			return Batch{}, &CorruptError{File: f.Name(), Offset: off, Reason: problem.reason}
		}
		b.Records = append(b.Records, payload)
		b.Appended = append(b.Appended, time.Unix(0, appendTime))
		payloadBytes += len(payload)
		off = next
	}
	b.end = position{segment: pos.segment, offset: off, seq: pos.seq + uint64(len(b.Records))}
	return b, nil
}

// waitForRecords waits until committed records exist after the acknowledged
// position and returns where the first is and the end of the committed
// bytes in its segment.
func (q *Queue) waitForRecords(ctx context.Context) (position, int64, error) {
	for {
		q.mu.Lock()
		if q.closing {
			q.mu.Unlock()
			return position{}, 0, ErrClosed
		}
		if q.ackPos.seq < q.headSeq {
			pos, limit, err := q.readablePosition()
			q.mu.Unlock()
			return pos, limit, err
		}
		committed := q.committed
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return position{}, 0, ctx.Err()
		case <-q.closed:
		case <-committed:
		}
	}
}

// readablePosition returns the acknowledged position, moved to the start of
// the next segment when it is at the end of a finished one, and the limit of
// committed bytes in that segment. Records must exist. q.mu is held.
func (q *Queue) readablePosition() (position, int64, error) {
	pos := q.ackPos
	for _, s := range q.segments {
		if s.id < pos.segment {
			continue
		}
		if s.id > pos.segment {
			pos = position{segment: s.id, offset: segmentHeaderSize, seq: pos.seq}
		}
		if pos.offset < s.size {
			return pos, s.size, nil
		}
	}
	return position{}, 0, fmt.Errorf("queue: internal error: %d records counted after segment %d offset %d, but no committed bytes found there; reopen the queue",
		q.headSeq-q.ackPos.seq, q.ackPos.segment, q.ackPos.offset)
}

// readerFor returns the consumer's file for segment id, opening it if the
// last one was another segment. q.consumer is held.
func (q *Queue) readerFor(id uint64) (*os.File, error) {
	path := segmentPath(q.dir, id)
	if q.reader != nil && q.reader.Name() == path {
		return q.reader, nil
	}
	if q.reader != nil {
		q.reader.Close()
		q.reader = nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("queue: opening segment to read: %w", err)
	}
	q.reader = f
	return f, nil
}

// Ack marks every record up to the end of b as consumed and saves the new
// position durably (fsync) before it returns. Segment files wholly before
// the position are deleted. Acknowledging a batch again, or a batch that
// an earlier Ack already passed, does nothing.
func (q *Queue) Ack(b Batch) error {
	if b.queue != q {
		return errors.New("queue: Ack called with a batch that Next of this queue did not return")
	}
	q.consumer.Lock()
	defer q.consumer.Unlock()

	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return ErrClosed
	}
	if b.end.seq <= q.ackPos.seq {
		q.mu.Unlock()
		return nil
	}
	if b.firstSeq > q.ackPos.seq {
		err := fmt.Errorf("queue: Ack of a batch starting at record %d, but records from %d on are not acknowledged: acknowledging it would skip them",
			b.firstSeq, q.ackPos.seq)
		q.mu.Unlock()
		return err
	}
	pos := b.end
	if i := q.segmentIndex(pos.segment); i >= 0 && i+1 < len(q.segments) && pos.offset >= q.segments[i].size {
		pos = position{segment: q.segments[i+1].id, offset: segmentHeaderSize, seq: pos.seq}
	}
	q.mu.Unlock()

	// Only this goroutine changes ackPos (q.consumer is held), so pos stays
	// valid while the file is written without q.mu.
	if err := writePosition(q.dir, pos, q.opts.NoSync); err != nil {
		return err
	}

	q.mu.Lock()
	q.ackPos = pos
	var removed []uint64
	for len(q.segments) > 1 && q.segments[0].id < pos.segment {
		removed = append(removed, q.segments[0].id)
		q.diskBytes -= q.segments[0].size
		q.segments = q.segments[1:]
	}
	q.updateOldest()
	q.mu.Unlock()

	return q.removeSegments(removed)
}

// updateOldest sets q.oldest to the append time of the record at the
// acknowledged position. q.mu and q.consumer are held.
func (q *Queue) updateOldest() {
	if q.ackPos.seq == q.headSeq {
		q.oldest = time.Time{}
		return
	}
	pos, limit, err := q.readablePosition()
	if err != nil {
		return
	}
	f, err := q.readerFor(pos.segment)
	if err != nil {
		return
	}
	r := &chunkReader{f: f, limit: limit, readAhead: recordHeaderSize}
	header, err := r.bytes(pos.offset, recordHeaderSize)
	if err != nil {
		// NOTE: OldestAppend keeps the previous value; the next Next reports
		// the read error.
		return
	}
	q.oldest = time.Unix(0, int64(binary.LittleEndian.Uint64(header[4:12])))
}

func (q *Queue) segmentIndex(id uint64) int {
	for i, s := range q.segments {
		if s.id == id {
			return i
		}
	}
	return -1
}

// removeSegments deletes consumed segment files. It needs no directory
// fsync: Open deletes any file left behind by a crash, because the file lies
// before the saved position.
func (q *Queue) removeSegments(ids []uint64) error {
	var errs []error
	for _, id := range ids {
		path := segmentPath(q.dir, id)
		if q.reader != nil && q.reader.Name() == path {
			q.reader.Close()
			q.reader = nil
		}
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("queue: the position was saved, but removing consumed segments failed (the next Open retries): %w", errors.Join(errs...))
	}
	return nil
}

// Stats returns a snapshot of the queue's size.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{
		Records:      int64(q.headSeq - q.ackPos.seq),
		Bytes:        q.diskBytes,
		MaxBytes:     q.opts.MaxBytes,
		Segments:     len(q.segments),
		OldestAppend: q.oldest,
	}
}

// Repairs returns what Open changed to recover from a crash, for logging.
// It is empty after a clean shutdown.
func (q *Queue) Repairs() []Repair {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Repair(nil), q.repairs...)
}

// Close waits for pending Appends to finish, wakes a blocked Next with
// ErrClosed and releases the directory. Calling Close again returns nil.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return nil
	}
	q.closing = true
	close(q.closed)
	q.wake.Broadcast()
	q.mu.Unlock()

	<-q.writerDone
	var errs []error
	if f := q.writer.f; f != nil {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("queue: closing %s: %w", f.Name(), err))
		}
	}
	q.consumer.Lock()
	if q.reader != nil {
		q.reader.Close()
		q.reader = nil
	}
	q.consumer.Unlock()
	if err := unlockDir(q.lock); err != nil {
		errs = append(errs, fmt.Errorf("queue: releasing the directory lock: %w", err))
	}
	return errors.Join(errs...)
}
