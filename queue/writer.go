package queue

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// flushBytes is the size at which the writer hands its buffer to the file
// before the group ends, which bounds the buffer's memory.
const flushBytes = 1 << 20

// appendRequest is one Append call waiting for the writer.
type appendRequest struct {
	records    [][]byte
	headers    []byte // recordHeaderSize bytes per record, encoded by the caller
	appendTime int64
	reserved   int64 // bytes counted against MaxBytes until the group is done
	done       chan error
}

// writeFault lets tests fail the writer's file operations. A write fault
// writes half of the buffer, then returns the error.
type writeFault struct {
	write func(segment uint64) error
	sync  func(segment uint64) error
}

// segmentWriter appends to the newest segment. Only the writer goroutine
// uses it after Open.
type segmentWriter struct {
	dir          string
	f            *os.File
	id           uint64
	size         int64 // bytes written to f, flushed or not
	segmentBytes int64
	noSync       bool
	buf          []byte
	faults       *writeFault
}

// groupResult describes what one group added, for the commit.
type groupResult struct {
	segments  []segmentMeta // final size of each segment the group wrote to, oldest first
	bytes     int64
	records   uint64
	firstTime int64
	// syncFailed and rollbackFailed make a failure permanent: the file
	// contents are unknown until Open recovers them.
	syncFailed     bool
	rollbackFailed bool
}

// writeGroup appends all records of reqs, rolling over to new segments as
// they fill, and fsyncs before it returns. On error it truncates what the
// group wrote (see rollback).
func (w *segmentWriter) writeGroup(reqs []*appendRequest) (groupResult, error) {
	startID, startSize := w.id, w.size
	res := groupResult{segments: []segmentMeta{{id: w.id}}, firstTime: reqs[0].appendTime}
	err := w.appendAll(reqs, &res)
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = w.sync()
		res.syncFailed = err != nil
	}
	if err != nil {
		w.buf = w.buf[:0]
		if rbErr := w.rollback(startID, startSize); rbErr != nil {
			res.rollbackFailed = true
			return res, fmt.Errorf("%w; undoing the partial write also failed: %w", err, rbErr)
		}
		return res, err
	}
	res.segments[len(res.segments)-1].size = w.size
	return res, nil
}

func (w *segmentWriter) appendAll(reqs []*appendRequest, res *groupResult) error {
	for _, r := range reqs {
		for i, rec := range r.records {
			n := int64(recordHeaderSize + len(rec))
			if w.size+n > w.segmentBytes && w.size > segmentHeaderSize {
				if err := w.flush(); err != nil {
					return err
				}
				if err := w.sync(); err != nil {
					res.syncFailed = true
					return err
				}
				res.segments[len(res.segments)-1].size = w.size
				if err := w.roll(); err != nil {
					return err
				}
				res.segments = append(res.segments, segmentMeta{id: w.id})
				res.bytes += segmentHeaderSize
			}
			w.buf = append(w.buf, r.headers[i*recordHeaderSize:(i+1)*recordHeaderSize]...)
			w.buf = append(w.buf, rec...)
			w.size += n
			res.bytes += n
			res.records++
			if len(w.buf) >= flushBytes {
				if err := w.flush(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// flush writes the buffer to the current segment, without fsync.
func (w *segmentWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	data := w.buf
	w.buf = w.buf[:0]
	if w.faults != nil && w.faults.write != nil {
		if err := w.faults.write(w.id); err != nil {
			w.f.Write(data[:len(data)/2])
			return fmt.Errorf("queue: writing %s: %w", w.f.Name(), err)
		}
	}
	if _, err := w.f.Write(data); err != nil {
		return fmt.Errorf("queue: writing %s: %w", w.f.Name(), err)
	}
	return nil
}

func (w *segmentWriter) sync() error {
	if w.noSync {
		return nil
	}
	if w.faults != nil && w.faults.sync != nil {
		if err := w.faults.sync(w.id); err != nil {
			return fmt.Errorf("queue: fsync of %s failed: %w", w.f.Name(), err)
		}
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("queue: fsync of %s failed: %w", w.f.Name(), err)
	}
	return nil
}

// roll closes the current segment, which the caller has fsynced, and starts
// the next one.
func (w *segmentWriter) roll() error {
	f, err := createSegment(w.dir, w.id+1, w.noSync)
	if err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("queue: closing %s: %w", w.f.Name(), err)
	}
	w.f, w.id, w.size = f, w.id+1, segmentHeaderSize
	return nil
}

// createSegment creates the segment file id with its header, fsyncs it and
// the directory (unless noSync), and returns it open for writing at its
// end.
func createSegment(dir string, id uint64, noSync bool) (*os.File, error) {
	path := segmentPath(dir, id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("queue: creating segment: %w", err)
	}
	_, err = f.Write([]byte(segmentMagic))
	if err == nil && !noSync {
		err = f.Sync()
	}
	if err == nil && !noSync {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("queue: creating segment %s: %w", path, err)
	}
	return f, nil
}

// rollback undoes a failed group: it removes the segments the group
// created and truncates the segment it started in back to startSize, so
// that no record of a failed Append stays behind a record appended later.
func (w *segmentWriter) rollback(startID uint64, startSize int64) error {
	var errs []error
	if w.id != startID {
		if err := w.f.Close(); err != nil {
			errs = append(errs, err)
		}
		for id := w.id; id > startID; id-- {
			if err := os.Remove(segmentPath(w.dir, id)); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
		f, err := os.OpenFile(segmentPath(w.dir, startID), os.O_RDWR, 0)
		if err != nil {
			w.f = nil // the queue has failed permanently, and Close skips a nil file
			return errors.Join(append(errs, err)...)
		}
		w.f, w.id = f, startID
	}
	if err := w.f.Truncate(startSize); err != nil {
		errs = append(errs, err)
	}
	if _, err := w.f.Seek(startSize, io.SeekStart); err != nil {
		errs = append(errs, err)
	}
	w.size = startSize
	if !w.noSync {
		if err := w.f.Sync(); err != nil {
			errs = append(errs, err)
		}
		if err := syncDir(w.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runWriter is the writer goroutine. It takes all pending requests as one
// group, writes and fsyncs them once (group commit), publishes them to the
// consumer and sends each request its error or nil. It returns after Close
// once nothing is pending.
func (q *Queue) runWriter() {
	defer close(q.writerDone)
	var group []*appendRequest
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closing {
			q.wake.Wait()
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		group, q.pending = q.pending, group[:0]
		failed := q.failed
		q.mu.Unlock()

		var err error
		var res groupResult
		if failed != nil {
			err = failed
		} else {
			res, err = q.writer.writeGroup(group)
		}

		q.mu.Lock()
		for _, r := range group {
			q.reserved -= r.reserved
		}
		switch {
		case err == nil:
			q.commit(res)
		case failed == nil && res.syncFailed:
			// After a failed fsync the kernel may have dropped the dirty pages,
			// so nothing written since the last good fsync can be trusted.
			q.failed = fmt.Errorf("queue: an earlier fsync failed (%w); the queue accepts no records until it is reopened", err)
		case failed == nil && res.rollbackFailed:
			q.failed = fmt.Errorf("queue: an earlier write failed and could not be undone (%w); the queue accepts no records until it is reopened", err)
		}
		q.mu.Unlock()

		for i, r := range group {
			r.done <- err
			group[i] = nil
		}
	}
}
