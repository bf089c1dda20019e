package backfill

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one process's share of the backfill: shard Index of Count.
// Shard I takes a contiguous block of the time slices of every logs entry
// and every Count-th Jaeger service, and writes its Loki entries with the
// label migrate_backfill="I".
type Shard struct {
	Index, Count int
}

// maxShards bounds Count. Each shard adds a copy of every stream to Loki,
// so a count far above this could never fit a stream limit.
const maxShards = 1024

// ParseShard parses "I/N", such as "0/4": shard I of N, with 0 <= I < N.
func ParseShard(s string) (Shard, error) {
	index, count, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("invalid shard %q: write it as I/N, such as 0/4 for the first of four shards", s)
	}
	i, errI := strconv.Atoi(index)
	n, errN := strconv.Atoi(count)
	if errI != nil || errN != nil {
		return Shard{}, fmt.Errorf("invalid shard %q: I and N in I/N must be whole numbers, such as 0/4", s)
	}
	sh := Shard{Index: i, Count: n}
	if err := sh.validate(); err != nil {
		return Shard{}, err
	}
	return sh, nil
}

func (s Shard) validate() error {
	if s.Count < 1 || s.Count > maxShards {
		return fmt.Errorf("invalid shard %s: N must be between 1 and %d", s, maxShards)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("invalid shard %s: I must be between 0 and N-1 (%d)", s, s.Count-1)
	}
	return nil
}

// String returns the shard as I/N.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Label returns the value of the migrate_backfill label of this shard's
// streams.
func (s Shard) Label() string { return strconv.Itoa(s.Index) }

// block returns the contiguous range [lo, hi) of n time slices that this
// shard takes. The blocks of all shards cover 0..n-1 once, and differ in
// size by at most one slice.
func (s Shard) block(n int) (lo, hi int) {
	return n * s.Index / s.Count, n * (s.Index + 1) / s.Count
}

// owns reports whether the shard takes the i-th service of the pinned
// list: services go round-robin.
func (s Shard) owns(i int) bool { return i%s.Count == s.Index }
