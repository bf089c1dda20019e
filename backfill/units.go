package backfill

import (
	"fmt"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// Kind is the kind of data a work unit copies: logs or traces.
type Kind string

// Unit kinds.
const (
	KindLogs   Kind = "logs"
	KindTraces Kind = "traces"
)

// Unit is one piece of work: the documents of one logs entry, or the
// traces of one Jaeger service, in one time slice [From, To).
type Unit struct {
	Kind Kind
	// Name is the logs entry's index pattern (its indices), or the
	// service.
	Name string
	// Entry is the logs entry's position in the plan's logs list.
	Entry    int
	From, To time.Time
	// Shard is the index of the shard that takes the unit.
	Shard int
}

// Key is the state artifact that holds the unit's checkpoint. It depends
// on the kind, name and slice only, so it stays the same across runs.
func (u Unit) Key() string {
	return fmt.Sprintf("backfill.unit.%s.%s.%s", u.Kind, u.Name, u.From.UTC().Format(time.RFC3339Nano))
}

func (u Unit) String() string {
	return fmt.Sprintf("%s %s [%s, %s)", u.Kind, u.Name, u.From.UTC().Format(time.RFC3339), u.To.UTC().Format(time.RFC3339))
}

// planUnits returns every unit of the range, for all shards, in the order
// each shard runs them. For logs, a shard takes a contiguous block of the
// slices and, within the block, goes through the slices in ascending time,
// all logs entries of one slice before the next slice. So each logs entry's
// units run strictly in time order, and two entries that may share a Loki
// stream fall behind each other by at most one slice. For traces, services
// go round-robin over the shards, each with every slice in ascending time.
func planUnits(logs []plans.LogMapping, services []string, r Range) []Unit {
	slices := r.slices()
	var units []Unit
	for shardIndex := range r.Shards {
		shard := Shard{Index: shardIndex, Count: r.Shards}
		lo, hi := shard.block(len(slices))
		for _, w := range slices[lo:hi] {
			for i, m := range logs {
				units = append(units, Unit{Kind: KindLogs, Name: m.Indices, Entry: i, From: w.From, To: w.To, Shard: shardIndex})
			}
		}
		for i, service := range services {
			if !shard.owns(i) {
				continue
			}
			for _, w := range slices {
				units = append(units, Unit{Kind: KindTraces, Name: service, From: w.From, To: w.To, Shard: shardIndex})
			}
		}
	}
	return units
}

// ofShard returns the units of one shard, in order.
func ofShard(units []Unit, shard int) []Unit {
	var out []Unit
	for _, u := range units {
		if u.Shard == shard {
			out = append(out, u)
		}
	}
	return out
}

// ofKind returns the units of one kind, in order.
func ofKind(units []Unit, kind Kind) []Unit {
	var out []Unit
	for _, u := range units {
		if u.Kind == kind {
			out = append(out, u)
		}
	}
	return out
}
