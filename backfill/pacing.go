package backfill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/delivery"
	"google.golang.org/grpc/codes"
)

// bucket is a token bucket in bytes. A request larger than the tokens
// available takes them on credit and waits until the bucket has refilled
// the debt, so the average rate holds for requests of any size.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes per second; 0 means no limit
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

// newBucket returns a bucket that allows rate bytes per second with
// bursts of burst bytes, or nil (no limit) when rate is not positive.
func newBucket(rate, burst float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *bucket {
	if rate <= 0 {
		return nil
	}
	burst = max(burst, rate)
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now(), now: now, sleep: sleep}
}

// wait takes n bytes from the bucket, sleeping while it is in debt.
func (b *bucket) wait(ctx context.Context, n int64) error {
	if b == nil || n <= 0 {
		return nil
	}
	b.mu.Lock()
	now := b.now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	debt := -b.tokens
	b.mu.Unlock()
	if debt <= 0 {
		return nil
	}
	return b.sleep(ctx, time.Duration(debt/b.rate*float64(time.Second)))
}

// Backoff bounds of the retries of a batch.
const (
	minRetryDelay = time.Second
	maxRetryDelay = time.Minute
)

// retryDelay returns the wait before retry number attempt (from 1): full
// jitter over an exponential ceiling.
func retryDelay(attempt int) time.Duration {
	ceiling := minRetryDelay << min(attempt-1, 16)
	if ceiling <= 0 || ceiling > maxRetryDelay {
		ceiling = maxRetryDelay
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}

// retrier runs an operation again after retryable errors, with backoff,
// until it succeeds, fails for good, or retries for longer than limit.
type retrier struct {
	limit time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	log   *slog.Logger
}

// do runs op until it returns nil or an error that retryable rejects.
// what names the operation in logs and errors.
func (r retrier) do(ctx context.Context, what string, retryable func(error) bool, op func() error) error {
	start := r.now()
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		if r.limit > 0 && r.now().Sub(start) >= r.limit {
			return fmt.Errorf("%s still failed after retrying for %s; the checkpoint keeps the position, so run the backfill again once the cause is fixed: %w", what, r.limit, err)
		}
		delay := retryDelay(attempt)
		r.log.Warn("backfill: retrying after a retryable error", "what", what, "attempt", attempt, "delay", delay, "err", err)
		if serr := r.sleep(ctx, delay); serr != nil {
			return err
		}
	}
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryableLokiWrite reports whether a LogWriter error is worth sending
// the pending entries again: rate limits and an unavailable Loki are, but
// not a failing dead letter, a TLS failure, or a *delivery.LokiWriteError
// that reports Loki rejected the client itself.
func retryableLokiWrite(err error) bool {
	if errors.Is(err, delivery.ErrDeadLetterUnavailable) || errors.Is(err, context.Canceled) || httpx.IsTLS(err) {
		return false
	}
	var we *delivery.LokiWriteError
	if errors.As(err, &we) {
		return we.Retryable
	}
	return true
}

// retryableTempoWrite reports whether a TempoWriter error is worth sending
// the same traces again: a rate limit or an unavailable Tempo.
func retryableTempoWrite(err error) bool {
	return !errors.Is(err, delivery.ErrDeadLetterUnavailable) && tempo.IsRetryable(err)
}

// retryableRead reports whether a failed read of Elasticsearch or Jaeger
// may succeed later: the server was unreachable, overloaded or restarting.
func retryableRead(err error) bool {
	if errors.Is(err, context.Canceled) || httpx.IsTLS(err) {
		return false
	}
	var transport *httpx.TransportError
	if errors.As(err, &transport) {
		return true
	}
	var es *elasticsearch.Error
	if errors.As(err, &es) {
		return es.Status == 429 || es.Status >= 500
	}
	var shards *elasticsearch.ShardFailureError
	if errors.As(err, &shards) {
		return true
	}
	var jg *jaeger.GRPCError
	if errors.As(err, &jg) {
		switch jg.Code {
		case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted:
			return true
		}
	}
	return false
}
