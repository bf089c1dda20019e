package elasticsearch

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/internal/recording"
)

// filled returns a recorded exchange whose response body is the file's
// "body": the snapshot create and get examples of the Elasticsearch
// specification carry <version_id> and <version> placeholders in
// body_raw, which the loader serves, and "body" has them filled in.
func filled(t testing.TB, name string) *recording.Exchange {
	t.Helper()
	ex := load(t, name)
	data, err := os.ReadFile(filepath.Join(recording.Dir(recordings), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Response struct {
			Body json.RawMessage `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	ex.Response = withBody(ex.Response, file.Response.Body)
	return ex
}

func TestSnapshotRepository(t *testing.T) {
	ex := load(t, "snapshot_get_repository__fs")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	repo, err := c.SnapshotRepository(t.Context(), "my_repository")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Repository{Name: "my_repository", Type: "fs", UUID: "0JLknrXbSUiVPuLakHjBrQ"}); repo != want {
		t.Errorf("repository %+v, want %+v", repo, want)
	}
	if _, err := c.SnapshotRepository(t.Context(), "other"); err == nil {
		t.Error("a repository missing from the response was accepted")
	}
}

func TestCreateSnapshot(t *testing.T) {
	ex := filled(t, "snapshot_create__wait_for_completion")
	srv := recording.NewServer(t)
	srv.Replay(ex)
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.CreateSnapshot(t.Context(), "my_repository", "snapshot_2", SnapshotRequest{
		Indices:  []string{"index_1", "index_2"},
		Metadata: map[string]string{"taken_by": "user123", "taken_because": "backup before upgrading"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := SnapshotInfo{
		Name: "snapshot_2", Repository: "my_repository", UUID: "vdRctLCxSketdKb54xw67g", State: SnapshotSuccess,
		Failures: []SnapshotFailure{}, Version: "8.17.0",
		StartTime: time.UnixMilli(1593093628850).UTC(), EndTime: time.UnixMilli(1593094752018).UTC(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}

	reqs, bodies := requestsTo(srv, "PUT", "/_snapshot/my_repository/snapshot_2")
	if len(reqs) != 1 {
		t.Fatalf("%d create requests, want 1", len(reqs))
	}
	if q := reqs[0].URL.Query().Get("wait_for_completion"); q != "true" {
		t.Errorf("wait_for_completion=%q, want true", q)
	}
	// The body has the recorded request's fields, with the settings a
	// migration needs: no partial snapshot, no missing index, no global
	// state.
	sent := decodeMap(t, bodies[0])
	recorded := decodeMap(t, ex.Request.Body)
	for k := range recorded {
		if _, ok := sent[k]; !ok {
			t.Errorf("the request lacks %q, which the recorded request has", k)
		}
	}
	for k, v := range map[string]any{"indices": "index_1,index_2", "partial": false, "ignore_unavailable": false, "include_global_state": false} {
		if sent[k] != v {
			t.Errorf("request %s = %v, want %v", k, sent[k], v)
		}
	}
}

func TestCreateSnapshotRejectsInput(t *testing.T) {
	c, _ := newTestClient(t, "http://127.0.0.1:1", nil)
	tests := []struct{ name, repo, snap, want string }{
		{"upper case", "repo", "Snap", "lower case"},
		{"slash", "repo", "a/b", "invalid snapshot name"},
		{"underscore first", "_repo", "s", "invalid repository name"},
		{"no indices", "repo", "s", "at least one index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateSnapshot(t.Context(), tt.repo, tt.snap, SnapshotRequest{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSnapshotGet(t *testing.T) {
	ex := filled(t, "snapshot_get__sorted_from_sort_value")
	// The recorded response lists snapshot_1 to snapshot_3; a GET of one
	// name gets the same objects.
	srv := recording.NewServer(t)
	srv.Handle("GET", "/_snapshot/my_repository/snapshot_3", ex.Response)
	srv.Handle("GET", "/_snapshot/my_repository/snapshot_9", ex.Response)
	notFound := load(t, "error__index_not_found_404").Response
	srv.Handle("GET", "/_snapshot/my_repository/gone", withJSON(t, notFound, map[string]any{
		"error": map[string]any{
			"root_cause": []any{map[string]any{"type": "snapshot_missing_exception", "reason": "[my_repository:gone] is missing"}},
			"type":       "snapshot_missing_exception", "reason": "[my_repository:gone] is missing",
		},
		"status": 404,
	}))
	c, _ := newTestClient(t, srv.URL, nil)

	got, err := c.Snapshot(t.Context(), "my_repository", "snapshot_3")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "snapshot_3" || got.State != SnapshotSuccess || got.UUID != "dRctdKb54xw67gvLCxSket" || got.EndTime.Sub(got.StartTime) != 4*time.Millisecond {
		t.Errorf("snapshot %+v", got)
	}
	for _, name := range []string{"snapshot_9", "gone"} {
		if _, err := c.Snapshot(t.Context(), "my_repository", name); !errors.Is(err, ErrSnapshotMissing) {
			t.Errorf("%s: error %v, want ErrSnapshotMissing", name, err)
		}
	}
}

func TestSnapshotStatus(t *testing.T) {
	tests := []struct {
		recording string
		state     string
		indices   map[string]ShardStats
	}{
		{"snapshot_status__success", "SUCCESS", map[string]ShardStats{"index_1": {Done: 1, Total: 1}}},
		{"snapshot_status__running_missing_shard_stats", "STARTED", map[string]ShardStats{
			"index-1": {Started: 1, Total: 1}, "index-2": {Done: 1, Total: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			srv := recording.NewServer(t)
			srv.Replay(load(t, tt.recording))
			c, _ := newTestClient(t, srv.URL, nil)
			st, err := c.SnapshotStatus(t.Context(), "my_repository", "snapshot_2")
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.state || st.Name != "snapshot_2" {
				t.Errorf("status %s of %s, want %s", st.State, st.Name, tt.state)
			}
			if diff := cmp.Diff(tt.indices, st.Indices); diff != "" {
				t.Errorf("indices (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrimaryShards(t *testing.T) {
	srv := recording.NewServer(t)
	srv.Handle("GET", "/_cat/indices/my-index-000001,my-index-000002", load(t, "cat_indices__format_json").Response)
	c, _ := newTestClient(t, srv.URL, nil)
	got, err := c.PrimaryShards(t.Context(), []string{"my-index-000001", "my-index-000002"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"my-index-000001": 1, "my-index-000002": 1}, got); diff != "" {
		t.Errorf("primaries (-want +got):\n%s", diff)
	}
	reqs, _ := requestsTo(srv, "GET", "/_cat/indices/my-index-000001,my-index-000002")
	if h := reqs[0].URL.Query().Get("h"); h != "index,pri" {
		t.Errorf("h=%q, want index,pri", h)
	}
}

// The indices delete API has no recording. These stand-in responses take
// a recorded 200's status and headers, with the body
// {"acknowledged": true} of the Elasticsearch specification's
// AcknowledgedResponseBase, the response type of indices.delete and
// indices.delete_data_stream.
func TestDeleteIndices(t *testing.T) {
	ok := withBody(load(t, "snapshot_get_repository__fs").Response, []byte(`{"acknowledged":true}`))
	names := make([]string, 25)
	for i := range names {
		names[i] = "filebeat-" + strings.Repeat("x", i%3) + string(rune('a'+i))
	}
	srv := recording.NewServer(t)
	first, second := strings.Join(names[:deleteBatch], ","), strings.Join(names[deleteBatch:], ",")
	srv.Handle("DELETE", "/"+first, ok)
	srv.Handle("DELETE", "/"+second, ok)
	srv.Handle("DELETE", "/_data_stream/logs-app-default", ok)
	srv.Handle("DELETE", "/_data_stream/gone", load(t, "error__index_not_found_404").Response)
	c, _ := newTestClient(t, srv.URL, nil)

	if err := c.DeleteIndices(t.Context(), names); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/" + first, "/" + second} {
		reqs, _ := requestsTo(srv, "DELETE", path)
		if len(reqs) != 1 {
			t.Fatalf("%d requests to %s, want 1", len(reqs), path)
		}
		q := reqs[0].URL.Query()
		if q.Get("ignore_unavailable") != "true" || q.Get("expand_wildcards") != "none" {
			t.Errorf("query %v: want ignore_unavailable=true and expand_wildcards=none", q)
		}
	}
	if err := c.DeleteDataStreams(t.Context(), []string{"logs-app-default", "gone"}); err != nil {
		t.Errorf("deleting a present and a missing data stream: %v", err)
	}
	for _, bad := range []string{"filebeat-*", "_all", "a,b", ""} {
		if err := c.DeleteIndices(t.Context(), []string{bad}); err == nil {
			t.Errorf("DeleteIndices(%q) was sent", bad)
		}
	}

	unacked := recording.NewServer(t)
	unacked.Handle("DELETE", "/old", withBody(ok, []byte(`{"acknowledged":false}`)))
	c2, _ := newTestClient(t, unacked.URL, nil)
	if err := c2.DeleteIndices(t.Context(), []string{"old"}); err == nil || !strings.Contains(err.Error(), "did not acknowledge") {
		t.Errorf("an unacknowledged delete: %v", err)
	}
}

func FuzzDecodeSnapshotStatus(f *testing.F) {
	for _, name := range []string{"snapshot_status__success", "snapshot_status__running_missing_shard_stats"} {
		f.Add(load(f, name).Response.Body)
	}
	f.Add([]byte(`{"snapshots":[{"snapshot":"snapshot_2","indices":{"a":{"shards_stats":{"total":-1}}}}]}`))
	f.Add([]byte(`{"snapshots":[{"snapshot":"snapshot_2","indices":null}]}`))
	f.Add([]byte(`{"snapshots":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := decodeSnapshotStatus("GET /_snapshot/r/snapshot_2/_status", "snapshot_2", body)
		if err != nil {
			return
		}
		if st.Name != "snapshot_2" || st.Indices == nil {
			t.Fatalf("decoded status %+v for another snapshot or without an index map", st)
		}
		// What decodes must round-trip through encoding/json.
		if _, err := json.Marshal(st); err != nil {
			t.Fatal(err)
		}
	})
}
