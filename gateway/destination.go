package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/obs-migrate/migrate/delivery"
)

// Destination names, used in metrics, logs, dead-letter files and queue
// folders.
const (
	destElasticsearch = "elasticsearch"
	destLoki          = "loki"
	destJaeger        = "jaeger"
	destTempo         = "tempo"
)

// recordQueue is the durable queue of one destination.
type recordQueue interface {
	// Append returns only after the records are on disk; a full queue
	// returns an error wrapping errQueueFull.
	Append(records ...[]byte) error
	// Next blocks until at least one record is queued or ctx ends.
	Next(ctx context.Context, max int) (queueBatch, error)
	// Ack makes the batch's consumption durable.
	Ack(b queueBatch) error
	Stats() queueStats
	Close() error
}

// queueBatch is records returned by Next; handle is the queue's own batch.
type queueBatch struct {
	Records [][]byte
	handle  any
}

// queueStats is a queue's depth.
type queueStats struct {
	Records int64
	Bytes   int64
	// Oldest is the append time of the oldest queued record.
	Oldest time.Time
}

// errQueueFull is wrapped by recordQueue.Append when the queue is at its
// size limit.
var errQueueFull = errors.New("queue is full")

// queueRecordOverhead is the per-record framing a queue adds, counted when
// room is reserved. It is an upper bound for the queue package's header.
const queueRecordOverhead = 64

// destination is one destination's queue, drained by its own goroutine.
type destination struct {
	name     string
	queue    recordQueue
	maxBytes int64
	deliver  deliverFunc

	mu       sync.Mutex
	reserved int64
}

// deliverFunc decodes a batch of records and writes it. Its error means
// that a retry may succeed. state is nil on the first attempt of a batch
// and keeps what the function stored in it for the retries of the same
// batch, such as the entries a partial write left.
type deliverFunc func(ctx context.Context, records [][]byte, state *any) (delivery.Result, error)

// reservation is room set aside in a queue for the copies of one request,
// taken before the request reaches the primary.
type reservation struct {
	d    *destination
	size int64
	once sync.Once
}

// release gives back the reserved room. It is safe to call more than once.
func (r *reservation) release() {
	if r == nil {
		return
	}
	r.once.Do(func() {
		r.d.mu.Lock()
		r.d.reserved -= r.size
		r.d.mu.Unlock()
	})
}

// reserve sets aside room for records totalling size bytes in n records,
// and returns nil when the queue cannot take them. Reserving before the
// primary write keeps a full queue from turning into data that reached
// the primary but never reaches the secondary. The request is rejected
// with 429 instead, and nothing is written anywhere.
func (d *destination) reserve(size int64, n int) *reservation {
	need := size + int64(n)*queueRecordOverhead
	st := d.queue.Stats()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.maxBytes > 0 && st.Bytes+d.reserved+need > d.maxBytes {
		return nil
	}
	d.reserved += need
	return &reservation{d: d, size: need}
}
