package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/obs-migrate/migrate/queue"
)

// diskQueue adapts queue.Queue to recordQueue.
type diskQueue struct{ q *queue.Queue }

// openDiskQueue opens the durable queue in dir.
func openDiskQueue(dir string, maxBytes int64, noSync bool) (recordQueue, error) {
	q, err := queue.Open(dir, queue.Options{MaxBytes: maxBytes, NoSync: noSync})
	if err != nil {
		return nil, err
	}
	return &diskQueue{q: q}, nil
}

func (d *diskQueue) Append(records ...[]byte) error {
	err := d.q.Append(records...)
	if errors.Is(err, queue.ErrFull) {
		return fmt.Errorf("%w: %w", errQueueFull, err)
	}
	return err
}

func (d *diskQueue) Next(ctx context.Context, max int) (queueBatch, error) {
	b, err := d.q.Next(ctx, max)
	if err != nil {
		return queueBatch{}, err
	}
	return queueBatch{Records: b.Records, handle: b}, nil
}

func (d *diskQueue) Ack(b queueBatch) error {
	qb, ok := b.handle.(queue.Batch)
	if !ok {
		return errors.New("gateway: acknowledging a batch that the disk queue did not return")
	}
	return d.q.Ack(qb)
}

func (d *diskQueue) Stats() queueStats {
	st := d.q.Stats()
	return queueStats{Records: st.Records, Bytes: st.Bytes, Oldest: st.OldestAppend}
}

func (d *diskQueue) Close() error { return d.q.Close() }

// repairs returns what opening the queue changed to recover from a crash.
func (d *diskQueue) repairs() []queue.Repair { return d.q.Repairs() }
