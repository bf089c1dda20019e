package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/phases"
)

// State artifacts of the backfill.
const (
	artifactRange    = "backfill.range"
	artifactServices = "backfill.services"
	// artifactInventory is where the inventory phase stores its report.
	artifactInventory = "inventory"
)

// Counts are the totals of what a unit, a shard or a run copied.
type Counts struct {
	// Documents are the Elasticsearch documents read, and SourceBytes the
	// size of their _source.
	Documents   int64 `json:"documents,omitempty"`
	SourceBytes int64 `json:"source_bytes,omitempty"`
	// Entries and EntryBytes are the Loki entries written and their size
	// as Loki counts it (line plus structured metadata).
	Entries    int64 `json:"entries,omitempty"`
	EntryBytes int64 `json:"entry_bytes,omitempty"`
	// Truncated counts the lines cut to max_line_size (oversize_lines:
	// truncate); they are among Entries.
	Truncated int64 `json:"truncated,omitempty"`
	// Traces and Spans are what was written to Tempo, TraceBytes the size
	// of those traces as OTLP protobuf.
	Traces     int64 `json:"traces,omitempty"`
	Spans      int64 `json:"spans,omitempty"`
	TraceBytes int64 `json:"trace_bytes,omitempty"`
	// DeadLettered counts the records stored in the dead letter, by
	// destination and reason ("loki/line_too_long"): documents and Loki
	// entries for loki, spans for tempo.
	DeadLettered map[string]int64 `json:"dead_lettered,omitempty"`
	// Skipped counts what was not copied and not dead-lettered, by reason,
	// such as search windows where Jaeger returned its limit of traces.
	Skipped map[string]int64 `json:"skipped,omitempty"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Documents += o.Documents
	c.SourceBytes += o.SourceBytes
	c.Entries += o.Entries
	c.EntryBytes += o.EntryBytes
	c.Truncated += o.Truncated
	c.Traces += o.Traces
	c.Spans += o.Spans
	c.TraceBytes += o.TraceBytes
	for k, v := range o.DeadLettered {
		c.addDeadLettered(k, v)
	}
	for k, v := range o.Skipped {
		c.addSkipped(k, v)
	}
}

func (c *Counts) addDeadLettered(key string, n int64) {
	if n == 0 {
		return
	}
	if c.DeadLettered == nil {
		c.DeadLettered = map[string]int64{}
	}
	c.DeadLettered[key] += n
}

func (c *Counts) addSkipped(reason string, n int64) {
	if n == 0 {
		return
	}
	if c.Skipped == nil {
		c.Skipped = map[string]int64{}
	}
	c.Skipped[reason] += n
}

func (c Counts) clone() Counts {
	var out Counts
	out.Add(c)
	return out
}

// Checkpoint is a unit's progress, stored in the plan state after every
// acknowledged write.
type Checkpoint struct {
	Done bool `json:"done"`
	// Cursor is the Elasticsearch reader's position after the last
	// document whose entries Loki acknowledged.
	Cursor *elasticsearch.Cursor `json:"cursor,omitempty"`
	// TracesUntil is the end of the last search window whose traces Tempo
	// acknowledged; the windows of a unit are searched in ascending time.
	TracesUntil time.Time `json:"traces_until,omitzero"`
	// Counts are the unit's totals up to this checkpoint.
	Counts Counts `json:"counts"`
	// Shard and Host name the process that wrote the checkpoint.
	Shard     int       `json:"shard"`
	Host      string    `json:"host,omitempty"`
	PID       int       `json:"pid,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// started reports whether the unit has made progress that a restart
// resumes from.
func (c Checkpoint) started() bool {
	return c.Cursor != nil || !c.TracesUntil.IsZero() || c.Done
}

// checkpoints reads and writes unit checkpoints in the plan state.
type checkpoints struct {
	store      phases.Store
	phase      phases.Phase
	generation int
	shard      int
	host       string
	now        func() time.Time
}

func (s *checkpoints) load(ctx context.Context, u Unit) (Checkpoint, error) {
	var cp Checkpoint
	found, err := getJSON(ctx, s.store, u.Key(), &cp)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading the checkpoint of %s: %w", u, err)
	}
	if !found {
		return Checkpoint{}, nil
	}
	return cp, nil
}

func (s *checkpoints) save(ctx context.Context, u Unit, cp Checkpoint) error {
	cp.Shard, cp.Host, cp.PID, cp.UpdatedAt = s.shard, s.host, os.Getpid(), s.now().UTC()
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encoding the checkpoint of %s: %w", u, err)
	}
	// A checkpoint must not be lost because the run is being cancelled:
	// the write it records was acknowledged.
	if err := s.store.PutArtifact(context.WithoutCancel(ctx), u.Key(), s.phase, s.generation, data); err != nil {
		return fmt.Errorf("writing the checkpoint of %s: %w", u, err)
	}
	return nil
}

// getJSON reads a state artifact into v; found is false when it is absent.
func getJSON(ctx context.Context, store phases.Store, key string, v any) (bool, error) {
	data, ok, err := store.Artifact(ctx, key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("state artifact %s is not valid JSON: %w", key, err)
	}
	return true, nil
}

// errLocked is wrapped when the plan lock stayed taken by another process.
var errLocked = errors.New("the plan state stayed locked")
