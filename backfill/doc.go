// Package backfill copies history from Elasticsearch to Loki and from
// Jaeger to Tempo, in work units of one logs entry or one Jaeger service
// and one time slice. Each unit's progress is checkpointed in the plan
// state after every write that the destination acknowledged, so a run
// that is killed resumes where it stopped, neither skipping nor repeating
// a unit. Several processes split the work with Shard.
//
// Loki accepts an entry only when it is at most the out-of-order window
// (max_chunk_age/2, one hour by default) older than the newest entry of
// its stream. The live dual write keeps appending current entries to the
// plan's streams, so history written to those streams would be rejected.
// The backfill therefore writes to its own streams: every entry gets the
// label migrate_backfill="<shard index>", which no live entry has, and each
// shard writes each logs entry's slices in ascending time, in batches that
// span at most half the window. LogQL selectors still match both sets of
// streams, since an extra label does not stop a matcher. Before anything is
// written, the checks in preflight reject a plan whose Loki limits would
// make this fail.
package backfill
