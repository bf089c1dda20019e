package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// Snapshot states, as Elasticsearch 8 reports them in "state".
const (
	SnapshotSuccess    = "SUCCESS"
	SnapshotInProgress = "IN_PROGRESS"
	SnapshotPartial    = "PARTIAL"
	SnapshotFailed     = "FAILED"
)

// typeSnapshotMissing is the exception of GET _snapshot/REPO/NAME for a
// snapshot that does not exist.
const typeSnapshotMissing = "snapshot_missing_exception"

// ErrSnapshotMissing matches a 404 snapshot_missing_exception.
var ErrSnapshotMissing = errors.New("elasticsearch: snapshot missing")

// Repository is a registered snapshot repository.
type Repository struct {
	Name string
	// Type is fs, s3, gcs, azure, url or source.
	Type string
	UUID string
}

// SnapshotShards counts a snapshot's shards.
type SnapshotShards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

// SnapshotFailure is one shard that failed to snapshot.
type SnapshotFailure struct {
	Index   string `json:"index"`
	ShardID int    `json:"shard_id"`
	Reason  string `json:"reason"`
	Status  string `json:"status"`
}

// SnapshotInfo describes one snapshot, as the create and get APIs report
// it.
type SnapshotInfo struct {
	Name       string
	Repository string
	UUID       string
	// State is SUCCESS, IN_PROGRESS, PARTIAL, FAILED or INCOMPATIBLE.
	State string
	// Indices lists the concrete indices in the snapshot, backing indices
	// of data streams included, sorted.
	Indices     []string
	DataStreams []string
	Shards      SnapshotShards
	Failures    []SnapshotFailure
	// Version is the Elasticsearch version that took the snapshot.
	Version            string
	StartTime, EndTime time.Time
}

// snapshotBody is a snapshot object of the create and get responses.
type snapshotBody struct {
	Snapshot    string            `json:"snapshot"`
	UUID        string            `json:"uuid"`
	Repository  string            `json:"repository"`
	Version     string            `json:"version"`
	Indices     []string          `json:"indices"`
	DataStreams []string          `json:"data_streams"`
	State       string            `json:"state"`
	StartMillis int64             `json:"start_time_in_millis"`
	EndMillis   int64             `json:"end_time_in_millis"`
	Failures    []SnapshotFailure `json:"failures"`
	Shards      SnapshotShards    `json:"shards"`
}

func (b snapshotBody) info(repo string) SnapshotInfo {
	s := SnapshotInfo{
		Name: b.Snapshot, Repository: b.Repository, UUID: b.UUID, State: b.State,
		Indices: slices.Sorted(slices.Values(b.Indices)), DataStreams: slices.Sorted(slices.Values(b.DataStreams)),
		Shards: b.Shards, Failures: b.Failures, Version: b.Version,
	}
	if s.Repository == "" {
		s.Repository = repo
	}
	if b.StartMillis > 0 {
		s.StartTime = time.UnixMilli(b.StartMillis).UTC()
	}
	if b.EndMillis > 0 {
		s.EndTime = time.UnixMilli(b.EndMillis).UTC()
	}
	return s
}

// SnapshotRequest is the content of a new snapshot.
type SnapshotRequest struct {
	// Indices are index and data stream names. An empty list is rejected,
	// because a migration keeps its indices, not the whole cluster.
	Indices []string
	// Metadata is stored with the snapshot, such as who took it and why.
	Metadata map[string]string
}

// checkSnapshotName rejects a repository or snapshot name that cannot be a
// path segment; Elasticsearch 8 also requires snapshot names in lower case.
func checkSnapshotName(what, name string) error {
	if name == "" || strings.ContainsAny(name, `/\*?"<>|,# `) || strings.HasPrefix(name, "_") {
		return fmt.Errorf("elasticsearch: invalid %s name %q: use lower-case letters, digits, - and _, not starting with _", what, name)
	}
	if what == "snapshot" && strings.ToLower(name) != name {
		return fmt.Errorf("elasticsearch: invalid snapshot name %q: Elasticsearch requires lower case", name)
	}
	return nil
}

// SnapshotRepository reads GET _snapshot/REPO, to check that the
// repository is registered before a snapshot is taken.
func (c *Client) SnapshotRepository(ctx context.Context, repo string) (Repository, error) {
	if err := checkSnapshotName("repository", repo); err != nil {
		return Repository{}, err
	}
	op := "GET /_snapshot/" + repo
	body, err := c.do(ctx, op, esapi.SnapshotGetRepositoryRequest{Repository: []string{repo}})
	if err != nil {
		return Repository{}, snapshotHint(err, "reading a repository needs the monitor_snapshot cluster privilege")
	}
	var repos map[string]struct {
		Type string `json:"type"`
		UUID string `json:"uuid"`
	}
	if err := decodeJSON(op, body, &repos); err != nil {
		return Repository{}, err
	}
	r, ok := repos[repo]
	if !ok {
		return Repository{}, fmt.Errorf("elasticsearch: %s: the response does not describe repository %s", op, repo)
	}
	return Repository{Name: repo, Type: r.Type, UUID: r.UUID}, nil
}

// CreateSnapshot takes a snapshot with PUT _snapshot/REPO/NAME and
// wait_for_completion=true, without the global state, and fails when an
// index is missing or a shard is unavailable (partial false,
// ignore_unavailable false). A snapshot that outlasts the client's
// timeout goes on in the cluster: read its progress with Snapshot.
func (c *Client) CreateSnapshot(ctx context.Context, repo, name string, req SnapshotRequest) (SnapshotInfo, error) {
	if err := checkSnapshotName("repository", repo); err != nil {
		return SnapshotInfo{}, err
	}
	if err := checkSnapshotName("snapshot", name); err != nil {
		return SnapshotInfo{}, err
	}
	if len(req.Indices) == 0 {
		return SnapshotInfo{}, errors.New("elasticsearch: a snapshot needs at least one index: name the indices to keep")
	}

	payload := map[string]any{
		"indices":              strings.Join(req.Indices, ","),
		"ignore_unavailable":   false,
		"partial":              false,
		"include_global_state": false,
	}
	if len(req.Metadata) > 0 {
		payload["metadata"] = req.Metadata
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return SnapshotInfo{}, err
	}

	wait := true
	op := "PUT /_snapshot/" + repo + "/" + name
	body, err := c.do(ctx, op, esapi.SnapshotCreateRequest{
		Repository: repo, Snapshot: name, WaitForCompletion: &wait, Body: strings.NewReader(string(data)),
	})
	if err != nil {
		return SnapshotInfo{}, snapshotHint(err, "taking a snapshot needs the create_snapshot cluster privilege")
	}

	var resp struct {
		Snapshot *snapshotBody `json:"snapshot"`
	}
	if err := decodeJSON(op, body, &resp); err != nil {
		return SnapshotInfo{}, err
	}
	if resp.Snapshot == nil {
		return SnapshotInfo{}, fmt.Errorf("elasticsearch: %s: the response has no snapshot object", op)
	}
	return resp.Snapshot.info(repo), nil
}

// Snapshot reads GET _snapshot/REPO/NAME. An absent snapshot returns an
// error that matches ErrSnapshotMissing.
func (c *Client) Snapshot(ctx context.Context, repo, name string) (SnapshotInfo, error) {
	if err := checkSnapshotName("repository", repo); err != nil {
		return SnapshotInfo{}, err
	}
	if err := checkSnapshotName("snapshot", name); err != nil {
		return SnapshotInfo{}, err
	}
	op := "GET /_snapshot/" + repo + "/" + name
	body, err := c.do(ctx, op, esapi.SnapshotGetRequest{Repository: repo, Snapshot: []string{name}})
	if err != nil {
		var esErr *Error
		if errors.As(err, &esErr) && esErr.Status == 404 && esErr.hasType(typeSnapshotMissing) {
			return SnapshotInfo{}, fmt.Errorf("%w: %s in repository %s", ErrSnapshotMissing, name, repo)
		}
		return SnapshotInfo{}, snapshotHint(err, "reading snapshots needs the monitor_snapshot cluster privilege")
	}
	var resp struct {
		Snapshots []snapshotBody `json:"snapshots"`
	}
	if err := decodeJSON(op, body, &resp); err != nil {
		return SnapshotInfo{}, err
	}
	for _, s := range resp.Snapshots {
		if s.Snapshot == name {
			return s.info(repo), nil
		}
	}
	return SnapshotInfo{}, fmt.Errorf("%w: %s in repository %s (%s listed %d other snapshots)", ErrSnapshotMissing, name, repo, op, len(resp.Snapshots))
}

// ShardStats counts shards by stage in a snapshot status.
type ShardStats struct {
	Initializing int `json:"initializing"`
	Started      int `json:"started"`
	Finalizing   int `json:"finalizing"`
	Done         int `json:"done"`
	Failed       int `json:"failed"`
	Total        int `json:"total"`
}

// SnapshotStatus is the shard-level progress of one snapshot.
type SnapshotStatus struct {
	Name  string
	State string
	// Shards counts every shard; Indices counts the shards of each index.
	Shards  ShardStats
	Indices map[string]ShardStats
}

// SnapshotStatus reads GET _snapshot/REPO/NAME/_status: the shard counts
// of the snapshot and of each index in it.
func (c *Client) SnapshotStatus(ctx context.Context, repo, name string) (SnapshotStatus, error) {
	if err := checkSnapshotName("repository", repo); err != nil {
		return SnapshotStatus{}, err
	}
	if err := checkSnapshotName("snapshot", name); err != nil {
		return SnapshotStatus{}, err
	}
	op := "GET /_snapshot/" + repo + "/" + name + "/_status"
	body, err := c.do(ctx, op, esapi.SnapshotStatusRequest{Repository: repo, Snapshot: []string{name}})
	if err != nil {
		return SnapshotStatus{}, snapshotHint(err, "reading a snapshot's status needs the monitor_snapshot cluster privilege")
	}
	return decodeSnapshotStatus(op, name, body)
}

// decodeSnapshotStatus reads the status of snapshot name from a _status
// response.
func decodeSnapshotStatus(op, name string, body []byte) (SnapshotStatus, error) {
	var resp struct {
		Snapshots []struct {
			Snapshot    string     `json:"snapshot"`
			State       string     `json:"state"`
			ShardsStats ShardStats `json:"shards_stats"`
			Indices     map[string]struct {
				ShardsStats ShardStats `json:"shards_stats"`
			} `json:"indices"`
		} `json:"snapshots"`
	}
	if err := decodeJSON(op, body, &resp); err != nil {
		return SnapshotStatus{}, err
	}
	for _, s := range resp.Snapshots {
		if s.Snapshot != name {
			continue
		}
		st := SnapshotStatus{Name: s.Snapshot, State: s.State, Shards: s.ShardsStats, Indices: make(map[string]ShardStats, len(s.Indices))}
		for idx, v := range s.Indices {
			st.Indices[idx] = v.ShardsStats
		}
		return st, nil
	}
	return SnapshotStatus{}, fmt.Errorf("elasticsearch: %s: the response has no status of snapshot %s", op, name)
}

// PrimaryShards returns the number of primary shards of each index that
// names match, from _cat/indices.
func (c *Client) PrimaryShards(ctx context.Context, names []string) (map[string]int, error) {
	if len(names) == 0 {
		return map[string]int{}, nil
	}
	op := "GET /_cat/indices/" + strings.Join(names, ",")
	body, err := c.do(ctx, op, esapi.CatIndicesRequest{
		Index: names, Format: "json", ExpandWildcards: "all", H: []string{"index", "pri"}, S: []string{"index"},
	})
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Index string  `json:"index"`
		Pri   catText `json:"pri"`
	}
	if err := decodeJSON(op, body, &rows); err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		n, err := strconv.Atoi(strings.TrimSpace(string(r.Pri)))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("elasticsearch: %s: index %s has primary shard count %q, not a positive number", op, r.Index, r.Pri)
		}
		out[strings.TrimSpace(r.Index)] = n
	}
	return out, nil
}

// deleteBatch bounds the names of one delete request, so its URL stays
// well under Elasticsearch's default 4 KiB line limit
// (http.max_initial_line_length).
const deleteBatch = 20

// DeleteIndices deletes concrete indices with DELETE /NAME,... in batches.
// It never expands wildcards, and an index that is already gone is not an
// error (ignore_unavailable), so a repeated call succeeds. A backing index
// of a data stream cannot be deleted this way while it is the stream's
// write index: delete the data stream with DeleteDataStreams.
func (c *Client) DeleteIndices(ctx context.Context, names []string) error {
	for _, n := range names {
		if strings.ContainsAny(n, "*?,") || n == "" || n == "_all" {
			return fmt.Errorf("elasticsearch: refusing to delete %q: name concrete indices, without wildcards", n)
		}
	}
	yes := true
	for batch := range slices.Chunk(names, deleteBatch) {
		op := "DELETE /" + strings.Join(batch, ",")
		body, err := c.do(ctx, op, esapi.IndicesDeleteRequest{
			Index: batch, IgnoreUnavailable: &yes, AllowNoIndices: &yes, ExpandWildcards: "none",
		})
		if err != nil {
			return snapshotHint(err, "deleting indices needs the delete_index index privilege")
		}
		if err := acknowledged(op, body); err != nil {
			return err
		}
	}
	return nil
}

// DeleteDataStreams deletes data streams, with their backing indices, one
// at a time with DELETE /_data_stream/NAME. A data stream that is already
// gone is not an error, so a repeated call succeeds.
func (c *Client) DeleteDataStreams(ctx context.Context, names []string) error {
	for _, n := range names {
		if strings.ContainsAny(n, "*?,") || n == "" {
			return fmt.Errorf("elasticsearch: refusing to delete data stream %q: name it without wildcards", n)
		}
		op := "DELETE /_data_stream/" + n
		body, err := c.do(ctx, op, esapi.IndicesDeleteDataStreamRequest{Name: []string{n}, ExpandWildcards: "none"})
		if IsIndexNotFound(err) {
			continue
		}
		if err != nil {
			return snapshotHint(err, "deleting a data stream needs the delete_index index privilege")
		}
		if err := acknowledged(op, body); err != nil {
			return err
		}
	}
	return nil
}

// acknowledged checks {"acknowledged": true}.
func acknowledged(op string, body []byte) error {
	var resp struct {
		Acknowledged bool `json:"acknowledged"`
	}
	if err := decodeJSON(op, body, &resp); err != nil {
		return err
	}
	if !resp.Acknowledged {
		return fmt.Errorf("elasticsearch: %s: the cluster did not acknowledge the request within its timeout; check the indices and run again", op)
	}
	return nil
}

// snapshotHint adds the privilege a request needs to a 403 error.
func snapshotHint(err error, privilege string) error {
	var esErr *Error
	if errors.As(err, &esErr) && esErr.Status == 403 {
		return fmt.Errorf("%w (%s)", err, privilege)
	}
	return err
}
