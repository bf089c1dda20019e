package phases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
)

// KindDecommissionAction is the journal kind of a decommission action.
const KindDecommissionAction = "decommission_action"

// GatewayNewOnly is the gateway mode after cutover: Loki and Tempo only.
const GatewayNewOnly = "new_only"

// Decommission step names.
const (
	stepGatewayNewOnly = "gateway_new_only"
	stepSnapshot       = "snapshot"
	stepDeleteIndices  = "delete_indices"
)

// ErrConfirmationNeeded is wrapped by the error of a destructive step that
// waits for `migrate plan apply PLAN --confirm NAME`. The step runs again
// on the next apply.
var ErrConfirmationNeeded = errors.New("this step deletes data and waits for a confirmation")

// snapshotPoll is how often a snapshot in progress is read again.
var snapshotPoll = 10 * time.Second

// SnapshotRecord is the decommission snapshot: what it must hold, and
// whether it was verified to hold it.
type SnapshotRecord struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	// Indices are the open concrete indices of the plan's logs mappings,
	// backing indices of data streams included; Primaries counts their
	// primary shards.
	Indices     []string `json:"indices"`
	DataStreams []string `json:"data_streams,omitempty"`
	// Plain are the Indices that belong to no data stream.
	Plain     []string       `json:"plain_indices,omitempty"`
	Primaries map[string]int `json:"primaries"`
	// Closed indices cannot be snapshotted; they are listed and never
	// deleted.
	Closed   []string `json:"closed,omitempty"`
	UUID     string   `json:"uuid,omitempty"`
	State    string   `json:"state,omitempty"`
	Shards   int      `json:"shards,omitempty"`
	Verified bool     `json:"verified"`
	Problems []string `json:"problems,omitempty"`
}

func decommissionKey(gen int, what string) string {
	return fmt.Sprintf("decommission.%d.%s", gen, what)
}

// decommissionSteps are the decommission actions, in order, after the
// plan's before hooks.
func decommissionSteps() []Step {
	return []Step{
		{Name: stepGatewayNewOnly, Run: switchGatewayNewOnly},
		{Name: stepSnapshot, Run: snapshotOldIndices},
		{Name: stepDeleteIndices, Run: deleteOldIndices},
	}
}

// switchGatewayNewOnly stops the gateway's copy to Elasticsearch and
// Jaeger, so the snapshot that follows holds every document they
// received.
func switchGatewayNewOnly(ctx context.Context, r *Run) (string, error) {
	st, err := r.Store.State(ctx)
	if err != nil {
		return "", err
	}
	if st.GatewayMode == GatewayNewOnly {
		return "the gateway was already in new_only mode", nil
	}
	summary := fmt.Sprintf("gateway mode %s -> %s", modeName(st.GatewayMode), GatewayNewOnly)
	if r.DryRun {
		r.Would("switch the gateway from %s to %s", modeName(st.GatewayMode), GatewayNewOnly)
		return "dry run: gateway mode not changed", nil
	}
	previous := modeName(st.GatewayMode)
	st.GatewayMode = GatewayNewOnly
	err = r.Store.SetState(ctx, st, Entry{
		Actor: r.Actor, Kind: KindDecommissionAction, Phase: r.Phase, Generation: r.Generation, Step: stepGatewayNewOnly,
		Message: summary, Data: map[string]any{"action": stepGatewayNewOnly, "previous": previous, "new": GatewayNewOnly},
	})
	return summary, err
}

// snapshotName is the plan's decommission snapshot: lower case, with
// every character Elasticsearch refuses replaced by "-".
func snapshotName(plan string, gen int) string {
	var b strings.Builder
	for _, c := range strings.ToLower(plan) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	return "migrate-" + b.String() + "-decommission-" + strconv.Itoa(gen)
}

// snapshotOldIndices snapshots the open indices of the plan's logs
// mappings into phases.decommission.snapshot_repository, waits for the
// snapshot to end, and verifies that it succeeded with every index and
// every primary shard. The list of indices is stored before the snapshot
// is taken; a repeated run verifies the snapshot it finds instead of
// taking another.
func snapshotOldIndices(ctx context.Context, r *Run) (string, error) {
	repo := r.Plan.Phases.Decommission.SnapshotRepository
	if repo == "" {
		return "", errors.New("phases.decommission.snapshot_repository is not set: register a snapshot repository in Elasticsearch (PUT _snapshot/NAME) and name it there")
	}
	es, err := r.actions().OldElasticsearch(r.Plan)
	if err != nil {
		return "", fmt.Errorf("connecting to sources.elasticsearch: %w", err)
	}
	defer closeAll(es)
	key := decommissionKey(r.Generation, stepSnapshot)
	var rec SnapshotRecord
	found, err := getJSON(ctx, r, key, &rec)
	if err != nil {
		return "", err
	}
	if !found {
		if rec, err = planSnapshot(ctx, r, es, repo); err != nil {
			return "", err
		}
		if err := putJSON(ctx, r, key, rec); err != nil {
			return "", err
		}
	}
	if r.DryRun {
		r.Would("create snapshot %s of %d indices in repository %s and verify it", rec.Name, len(rec.Indices), repo)
		return "dry run: no snapshot taken", nil
	}

	info, err := takeSnapshot(ctx, es, rec)
	if err != nil {
		return "", err
	}
	status, err := es.SnapshotStatus(ctx, repo, rec.Name)
	if err != nil {
		return "", fmt.Errorf("reading the status of snapshot %s: %w", rec.Name, err)
	}
	rec.UUID, rec.State, rec.Shards = info.UUID, info.State, info.Shards.Total
	rec.Problems = verifySnapshot(rec, info, status)
	rec.Verified = len(rec.Problems) == 0
	if err := putJSON(ctx, r, key, rec); err != nil {
		return "", err
	}
	entry := Entry{
		Actor: r.Actor, Kind: KindDecommissionAction, Phase: r.Phase, Generation: r.Generation, Step: stepSnapshot,
		Data: map[string]any{
			"action": stepSnapshot, "repository": repo, "snapshot": rec.Name, "uuid": rec.UUID, "state": rec.State,
			"indices": capList(rec.Indices), "data_streams": rec.DataStreams, "shards": rec.Shards, "problems": rec.Problems,
		},
	}
	if !rec.Verified {
		entry.Status = "failed"
		entry.Message = fmt.Sprintf("snapshot %s in %s is not verified: %s", rec.Name, repo, strings.Join(rec.Problems, "; "))
		if err := r.Store.Append(ctx, entry); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%s; delete it with DELETE _snapshot/%s/%s, fix the cause and run migrate plan apply again to take it anew",
			entry.Message, repo, rec.Name)
	}
	entry.Status = "ok"
	entry.Message = fmt.Sprintf("snapshot %s in %s verified: %s with %d indices and %d shards", rec.Name, repo, rec.State, len(rec.Indices), rec.Shards)
	if len(rec.Closed) > 0 {
		entry.Message += fmt.Sprintf("; %d closed indices are not in it and stay: %s", len(rec.Closed), trimList(rec.Closed, 5))
	}
	return entry.Message, r.Store.Append(ctx, entry)
}

// planSnapshot lists what the snapshot must hold.
func planSnapshot(ctx context.Context, r *Run, es ElasticsearchActions, repo string) (SnapshotRecord, error) {
	if _, err := es.SnapshotRepository(ctx, repo); err != nil {
		return SnapshotRecord{}, fmt.Errorf("phases.decommission.snapshot_repository %s: %w", repo, err)
	}
	rec := SnapshotRecord{Repository: repo, Name: snapshotName(r.Plan.Metadata.Name, r.Generation)}

	seen := map[string]bool{}
	streams := map[string]bool{}
	for _, m := range r.Plan.Logs {
		indices, err := es.Indices(ctx, m.Indices)
		if err != nil && !elasticsearch.IsIndexNotFound(err) {
			return rec, fmt.Errorf("listing the indices of logs mapping %s: %w", m.Indices, err)
		}
		for _, idx := range indices {
			if seen[idx.Name] {
				continue
			}
			seen[idx.Name] = true
			if idx.Status == "close" {
				rec.Closed = append(rec.Closed, idx.Name)
				continue
			}
			rec.Indices = append(rec.Indices, idx.Name)
			if idx.DataStream != "" {
				streams[idx.DataStream] = true
			} else {
				rec.Plain = append(rec.Plain, idx.Name)
			}
		}
	}

	if len(rec.Indices) == 0 {
		return rec, fmt.Errorf("the logs mappings (%s) match no open index in Elasticsearch: nothing to snapshot", mappingPatterns(r))
	}
	slices.Sort(rec.Indices)
	slices.Sort(rec.Plain)
	slices.Sort(rec.Closed)
	rec.DataStreams = slices.Sorted(func(yield func(string) bool) {
		for s := range streams {
			if !yield(s) {
				return
			}
		}
	})
	primaries, err := es.PrimaryShards(ctx, rec.Indices)
	if err != nil {
		return rec, fmt.Errorf("reading the primary shard counts: %w", err)
	}
	rec.Primaries = primaries
	return rec, nil
}

func mappingPatterns(r *Run) string {
	var out []string
	for _, m := range r.Plan.Logs {
		out = append(out, m.Indices)
	}
	return strings.Join(out, ", ")
}

// snapshotTargets are the names the snapshot request gives: each data
// stream, which brings its backing indices, and each other index.
func snapshotTargets(rec SnapshotRecord) []string {
	return append(slices.Clone(rec.DataStreams), rec.Plain...)
}

// takeSnapshot creates the snapshot unless it exists, and waits until it
// is no longer in progress.
func takeSnapshot(ctx context.Context, es ElasticsearchActions, rec SnapshotRecord) (elasticsearch.SnapshotInfo, error) {
	info, err := es.Snapshot(ctx, rec.Repository, rec.Name)
	if errors.Is(err, elasticsearch.ErrSnapshotMissing) {
		info, err = es.CreateSnapshot(ctx, rec.Repository, rec.Name, elasticsearch.SnapshotRequest{
			Indices:  snapshotTargets(rec),
			Metadata: map[string]string{"taken_by": "migrate", "taken_because": "decommission of the old stack"},
		})
		if err != nil {
			// A snapshot that outlasts the request goes on in the
			// cluster; read it before giving up.
			if got, gerr := es.Snapshot(ctx, rec.Repository, rec.Name); gerr == nil {
				info, err = got, nil
			} else {
				return info, fmt.Errorf("creating snapshot %s in %s: %w", rec.Name, rec.Repository, err)
			}
		}
	}
	if err != nil {
		return info, fmt.Errorf("reading snapshot %s in %s: %w", rec.Name, rec.Repository, err)
	}
	for info.State == elasticsearch.SnapshotInProgress {
		select {
		case <-ctx.Done():
			return info, fmt.Errorf("snapshot %s is still in progress: %w; run migrate plan apply again to go on waiting", rec.Name, ctx.Err())
		case <-time.After(snapshotPoll):
		}
		if info, err = es.Snapshot(ctx, rec.Repository, rec.Name); err != nil {
			return info, fmt.Errorf("reading snapshot %s in %s: %w", rec.Name, rec.Repository, err)
		}
	}
	return info, nil
}

// verifySnapshot lists what is wrong with a finished snapshot: a state
// other than SUCCESS, failed shards, a missing index or data stream, or an
// index whose shards in the snapshot are not its primary shard count, all
// done.
func verifySnapshot(rec SnapshotRecord, info elasticsearch.SnapshotInfo, status elasticsearch.SnapshotStatus) []string {
	var problems []string
	if info.State != elasticsearch.SnapshotSuccess {
		problems = append(problems, "state "+info.State+", not SUCCESS")
	}
	if info.Shards.Failed > 0 || len(info.Failures) > 0 {
		problems = append(problems, fmt.Sprintf("%d shards failed", max(info.Shards.Failed, len(info.Failures))))
	}
	if info.Shards.Successful != info.Shards.Total {
		problems = append(problems, fmt.Sprintf("%d of %d shards succeeded", info.Shards.Successful, info.Shards.Total))
	}

	var missing []string
	for _, idx := range rec.Indices {
		if !slices.Contains(info.Indices, idx) {
			missing = append(missing, idx)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "indices missing from the snapshot: "+trimList(missing, 10))
	}
	var missingStreams []string
	for _, s := range rec.DataStreams {
		if !slices.Contains(info.DataStreams, s) {
			missingStreams = append(missingStreams, s)
		}
	}
	if len(missingStreams) > 0 {
		problems = append(problems, "data streams missing from the snapshot: "+trimList(missingStreams, 10))
	}

	var shardProblems []string
	for _, idx := range rec.Indices {
		want := rec.Primaries[idx]
		got, ok := status.Indices[idx]
		switch {
		case !ok:
			if !slices.Contains(missing, idx) {
				shardProblems = append(shardProblems, idx+" has no shard status")
			}
		case got.Total != want || got.Done != got.Total || got.Failed > 0:
			shardProblems = append(shardProblems, fmt.Sprintf("%s: %d of %d shards done, %d primaries expected", idx, got.Done, got.Total, want))
		}
	}
	if len(shardProblems) > 0 {
		problems = append(problems, "shard counts: "+trimList(shardProblems, 10))
	}
	return problems
}

// deleteOldIndices deletes the indices of the verified snapshot when
// phases.decommission.delete_indices is true and the apply was given
// --confirm with the plan's name. A dry run never deletes.
func deleteOldIndices(ctx context.Context, r *Run) (string, error) {
	var rec SnapshotRecord
	found, err := getJSON(ctx, r, decommissionKey(r.Generation, stepSnapshot), &rec)
	if err != nil {
		return "", err
	}
	if !r.Plan.Phases.Decommission.DeleteIndices {
		return fmt.Sprintf("skipped: phases.decommission.delete_indices is false; the %d indices stay in Elasticsearch", len(rec.Indices)), nil
	}
	if !found || !rec.Verified {
		if r.DryRun {
			r.Would("delete the indices of the verified snapshot, once it is verified")
			return "dry run: no index deleted", nil
		}
		return "", errors.New("no verified snapshot of the old indices: the snapshot step must pass before anything is deleted")
	}

	what := fmt.Sprintf("%d indices (%s)", len(rec.Indices), trimList(rec.Indices, 5))
	if len(rec.DataStreams) > 0 {
		what += fmt.Sprintf(" and %d data streams (%s)", len(rec.DataStreams), trimList(rec.DataStreams, 5))
	}
	if r.DryRun {
		r.Would("delete %s, verified in snapshot %s", what, rec.Name)
		return "dry run: no index deleted", nil
	}
	if r.Confirm != r.Plan.Metadata.Name {
		return "", fmt.Errorf("%w: deleting %s needs confirmation: run migrate plan apply %s --confirm %s",
			ErrConfirmationNeeded, what, r.Plan.File, r.Plan.Metadata.Name)
	}

	es, err := r.actions().OldElasticsearch(r.Plan)
	if err != nil {
		return "", fmt.Errorf("connecting to sources.elasticsearch: %w", err)
	}
	defer closeAll(es)
	inSnapshot := map[string]bool{}
	for _, idx := range rec.Indices {
		inSnapshot[idx] = true
	}
	// Deleting a data stream deletes all its backing indices, so each must
	// be in the snapshot. A backing index created since the snapshot (by a
	// rollover) contains documents that the snapshot lacks.
	for _, s := range rec.DataStreams {
		indices, err := es.Indices(ctx, s)
		if err != nil && !elasticsearch.IsIndexNotFound(err) {
			return "", fmt.Errorf("listing the backing indices of data stream %s: %w", s, err)
		}
		for _, idx := range indices {
			if !inSnapshot[idx.Name] {
				return "", fmt.Errorf("data stream %s has backing index %s, which is not in snapshot %s: delete the snapshot with DELETE _snapshot/%s/%s and run migrate plan apply again to take it anew",
					s, idx.Name, rec.Name, rec.Repository, rec.Name)
			}
		}
	}

	if err := es.DeleteDataStreams(ctx, rec.DataStreams); err != nil {
		return "", err
	}
	if err := es.DeleteIndices(ctx, rec.Plain); err != nil {
		return "", err
	}
	summary := fmt.Sprintf("deleted %s, kept in snapshot %s of repository %s", what, rec.Name, rec.Repository)
	err = r.Store.Append(ctx, Entry{
		Actor: r.Actor, Kind: KindDecommissionAction, Phase: r.Phase, Generation: r.Generation, Step: stepDeleteIndices,
		Message: summary, Reason: "confirmed with --confirm " + r.Confirm,
		Data: map[string]any{
			"action": stepDeleteIndices, "indices": capList(rec.Plain), "data_streams": rec.DataStreams,
			"snapshot": rec.Name, "repository": rec.Repository,
		},
	})
	return summary, err
}

// snapshotVerified is the decommission exit gate: the snapshot step
// verified its snapshot.
func snapshotVerified(ctx context.Context, r *Run) GateResult {
	var rec SnapshotRecord
	found, err := getJSON(ctx, r, decommissionKey(r.Generation, stepSnapshot), &rec)
	if err != nil {
		return inconclusive("reading the snapshot record: "+err.Error(), nil)
	}
	if !found {
		return fail("no snapshot of the old indices has been taken in this phase", nil)
	}
	evidence := map[string]any{
		"repository": rec.Repository, "snapshot": rec.Name, "uuid": rec.UUID, "state": rec.State,
		"indices": len(rec.Indices), "data_streams": len(rec.DataStreams), "shards": rec.Shards,
	}
	if !rec.Verified {
		evidence["problems"] = rec.Problems
		return fail("snapshot "+rec.Name+" is not verified: "+strings.Join(rec.Problems, "; "), evidence)
	}
	return pass(fmt.Sprintf("snapshot %s in %s holds the %d indices with all %d shards", rec.Name, rec.Repository, len(rec.Indices), rec.Shards), evidence)
}
