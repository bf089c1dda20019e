package phases

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/plans"
)

const esRecordings = "elasticsearch-8"

// recorded returns a recorded Elasticsearch response with the given body;
// the status and headers (X-Elastic-Product among them) stay as recorded.
func recorded(t *testing.T, name string, body any) *recording.Response {
	t.Helper()
	resp := recording.MustLoad(t, esRecordings, name).Response
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return &recording.Response{Status: resp.Status, Header: resp.Header.Clone(), Body: data}
}

// recordedBody decodes a recording file's response "body", in which the
// snapshot examples have their placeholders filled.
func recordedBody(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(recording.Dir(esRecordings), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Response struct {
			Body map[string]any `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	return file.Response.Body
}

// snapshotCluster serves the decommission's requests from the recordings:
// the repository, the index list, the snapshot (missing, then created),
// its status, and the deletion.
func snapshotCluster(t *testing.T, snapshot string) *recording.Server {
	t.Helper()
	srv := recording.NewServer(t)
	srv.Replay(recording.MustLoad(t, esRecordings, "snapshot_get_repository__fs"))
	rows := []map[string]any{
		{"health": "green", "status": "open", "index": "index_1", "uuid": "u8FNjxh8Rfy_awN11oDKYQ", "pri": "1", "rep": "0", "docs.count": "1200", "store.size": "90214", "pri.store.size": "90214"},
		{"health": "red", "status": "close", "index": "index_old", "uuid": "nYFWZEO7TUiOjLQXBaYJpA", "pri": "1", "rep": "0", "docs.count": nil, "store.size": nil, "pri.store.size": nil},
	}
	srv.Handle("GET", "/_cat/indices/index_*", recorded(t, "cat_indices__format_json", rows))
	srv.Handle("GET", "/index_*", recorded(t, "indices_get__index", map[string]any{}))
	srv.Handle("GET", "/_cat/indices/index_1", recorded(t, "cat_indices__format_json", rows[:1]))

	create := recordedBody(t, "snapshot_create__wait_for_completion")
	info := create["snapshot"].(map[string]any)
	info["snapshot"], info["indices"] = snapshot, []string{"index_1"}
	info["shards"] = map[string]any{"total": 1, "failed": 0, "successful": 1}
	srv.Handle("PUT", "/_snapshot/my_repository/"+snapshot, recorded(t, "snapshot_create__wait_for_completion", create))

	get := recordedBody(t, "snapshot_get__sorted_from_sort_value")
	get["snapshots"] = []any{info}
	srv.Handle("GET", "/_snapshot/my_repository/"+snapshot,
		// The error envelope of a recorded 404, with the exception
		// Elasticsearch 8 sends for a missing snapshot.
		recorded(t, "error__index_not_found_404", map[string]any{
			"error":  map[string]any{"type": "snapshot_missing_exception", "reason": "[my_repository:" + snapshot + "] is missing"},
			"status": 404,
		}),
		recorded(t, "snapshot_get__sorted_from_sort_value", get))

	status := recordedBody(t, "snapshot_status__success")
	status["snapshots"].([]any)[0].(map[string]any)["snapshot"] = snapshot
	srv.Handle("GET", "/_snapshot/my_repository/"+snapshot+"/_status", recorded(t, "snapshot_status__success", status))

	// The indices delete API has no recording: a recorded 200's headers
	// with the specification's AcknowledgedResponseBase body.
	srv.Handle("DELETE", "/index_1", recorded(t, "snapshot_get_repository__fs", map[string]any{"acknowledged": true}))
	return srv
}

func requestCount(srv *recording.Server, method, path string) int {
	reqs, _ := srv.Requests()
	n := 0
	for _, r := range reqs {
		if r.Method == method && r.URL.Path == path {
			n++
		}
	}
	return n
}

func TestDecommissionSnapshotAndConfirmedDelete(t *testing.T) {
	p := testPlan(t)
	p.Logs[0].Indices = "index_*"
	p.Phases.Decommission = plans.DecommissionConfig{SnapshotRepository: "my_repository", DeleteIndices: true}
	name := snapshotName(p.Metadata.Name, 5)
	srv := snapshotCluster(t, name)
	es, err := elasticsearch.New(elasticsearch.Config{URLs: []string{srv.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store := storeAt(t, Cutover)
	st, _ := store.State(t.Context())
	st.GatewayMode = GatewayNewPrimary
	_ = store.SetState(t.Context(), st, Entry{})
	if err := store.RecordGate(t.Context(), GateResult{Phase: Cutover, Generation: 4, Gate: gateSoak, Kind: "exit", Status: GatePass, Reason: "soaked"}, Entry{}); err != nil {
		t.Fatal(err)
	}
	st.Phase, st.Generation, st.Entered = Decommission, 5, false
	_ = store.SetState(t.Context(), st, Entry{})
	e := &Engine{Plan: p, Store: store, Defs: Definitions(), Actor: "tester", Connect: actionConnectors{es: es}, Now: func() time.Time { return t0 }}

	// A dry run, on a copy of the state as migrate plan apply --dry-run
	// makes it, deletes nothing and lists what it would do.
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := store.CopyTo(t.Context(), copyPath); err != nil {
		t.Fatal(err)
	}
	scratch, err := OpenSQLite(t.Context(), copyPath, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	dry := *e
	dry.Store = scratch
	out, err := dry.Apply(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(out.Would, "\n"), "create snapshot "+name) || requestCount(srv, "PUT", "/_snapshot/my_repository/"+name) != 0 {
		t.Errorf("dry run: would %v; it must not create the snapshot", out.Would)
	}

	// Without --confirm: the snapshot is taken and verified, the deletion
	// holds and prints the command to run.
	_, err = e.Apply(t.Context(), false)
	if !errors.Is(err, ErrConfirmationNeeded) || !strings.Contains(err.Error(), "--confirm test") {
		t.Fatalf("error %v, want ErrConfirmationNeeded naming --confirm test", err)
	}
	if n := requestCount(srv, "DELETE", "/index_1"); n != 0 {
		t.Fatalf("%d deletions without --confirm", n)
	}
	var rec SnapshotRecord
	if found, _ := getJSON(t.Context(), &Run{Store: store}, decommissionKey(5, stepSnapshot), &rec); !found || !rec.Verified {
		t.Fatalf("snapshot record %+v, want verified", rec)
	}
	if len(rec.Indices) != 1 || rec.Indices[0] != "index_1" || len(rec.Closed) != 1 || rec.Primaries["index_1"] != 1 {
		t.Errorf("snapshot record %+v: want index_1 with 1 primary, and the closed index_old listed apart", rec)
	}
	_, bodies := srv.Requests()
	reqs, _ := srv.Requests()
	for i, r := range reqs {
		if r.Method == "PUT" {
			var body map[string]any
			_ = json.Unmarshal(bodies[i], &body)
			if body["indices"] != "index_1" || body["include_global_state"] != false {
				t.Errorf("snapshot request %v", body)
			}
		}
	}
	if st, _ := store.State(t.Context()); st.GatewayMode != GatewayNewOnly {
		t.Errorf("gateway mode %s, want new_only before the snapshot", st.GatewayMode)
	}

	// A wrong name is no confirmation.
	e.Confirm = "prod"
	if _, err := e.Apply(t.Context(), false); !errors.Is(err, ErrConfirmationNeeded) {
		t.Fatalf("--confirm prod for plan test: %v", err)
	}
	e.Confirm = "test"
	out, err = e.Apply(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Phase != Done {
		t.Errorf("outcome %+v, want done", out)
	}
	if st, _ := store.State(t.Context()); st.GatewayMode != GatewayNewOnly {
		t.Errorf("gateway mode %s after the plan is done, want new_only", st.GatewayMode)
	}
	if n := requestCount(srv, "DELETE", "/index_1"); n != 1 {
		t.Errorf("%d deletions of index_1, want 1", n)
	}
	if n := requestCount(srv, "PUT", "/_snapshot/my_repository/"+name); n != 1 {
		t.Errorf("%d snapshots taken, want 1: a repeated apply verifies the one it took", n)
	}
	journal, _ := store.Journal(t.Context())
	var deleted bool
	for _, entry := range journal {
		if entry.Kind == KindDecommissionAction && entry.Step == stepDeleteIndices {
			deleted = strings.Contains(entry.Message, "index_1") && entry.Reason == "confirmed with --confirm test"
		}
	}
	if !deleted {
		t.Error("the journal lacks the confirmed deletion of index_1")
	}
}

func TestVerifySnapshot(t *testing.T) {
	rec := SnapshotRecord{Indices: []string{"a", "b"}, DataStreams: []string{"logs"}, Primaries: map[string]int{"a": 2, "b": 1}}
	good := elasticsearch.SnapshotInfo{
		State: elasticsearch.SnapshotSuccess, Indices: []string{"a", "b", "c"}, DataStreams: []string{"logs"},
		Shards: elasticsearch.SnapshotShards{Total: 4, Successful: 4},
	}
	goodStatus := elasticsearch.SnapshotStatus{Indices: map[string]elasticsearch.ShardStats{"a": {Done: 2, Total: 2}, "b": {Done: 1, Total: 1}}}
	tests := []struct {
		name   string
		info   func(*elasticsearch.SnapshotInfo)
		status func(*elasticsearch.SnapshotStatus)
		want   string
	}{
		{name: "verified"},
		{name: "partial", info: func(i *elasticsearch.SnapshotInfo) { i.State = elasticsearch.SnapshotPartial }, want: "state PARTIAL"},
		{name: "failed shard", info: func(i *elasticsearch.SnapshotInfo) { i.Shards.Failed, i.Shards.Successful = 1, 3 }, want: "1 shards failed"},
		{name: "missing index", info: func(i *elasticsearch.SnapshotInfo) { i.Indices = []string{"a"} }, want: "indices missing from the snapshot: b"},
		{name: "missing data stream", info: func(i *elasticsearch.SnapshotInfo) { i.DataStreams = nil }, want: "data streams missing from the snapshot: logs"},
		{name: "fewer shards", status: func(s *elasticsearch.SnapshotStatus) { s.Indices["a"] = elasticsearch.ShardStats{Done: 1, Total: 1} }, want: "a: 1 of 1 shards done, 2 primaries expected"},
		{name: "shard not done", status: func(s *elasticsearch.SnapshotStatus) { s.Indices["b"] = elasticsearch.ShardStats{Started: 1, Total: 1} }, want: "b: 0 of 1 shards done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := good
			info.Indices = append([]string(nil), good.Indices...)
			status := elasticsearch.SnapshotStatus{Indices: map[string]elasticsearch.ShardStats{}}
			for k, v := range goodStatus.Indices {
				status.Indices[k] = v
			}
			if tt.info != nil {
				tt.info(&info)
			}
			if tt.status != nil {
				tt.status(&status)
			}
			problems := strings.Join(verifySnapshot(rec, info, status), "; ")
			if tt.want == "" && problems != "" || !strings.Contains(problems, tt.want) {
				t.Errorf("problems %q, want %q", problems, tt.want)
			}
		})
	}
}

func TestSnapshotName(t *testing.T) {
	for plan, want := range map[string]string{
		"prod-eu":      "migrate-prod-eu-decommission-7",
		"Prod EU/2":    "migrate-prod-eu-2-decommission-7",
		"logs_ops.eu1": "migrate-logs_ops.eu1-decommission-7",
	} {
		if got := snapshotName(plan, 7); got != want {
			t.Errorf("snapshotName(%q) = %q, want %q", plan, got, want)
		}
	}
}

// TestDecommissionWithoutDeletion runs the phase in one apply: the gateway
// mode that its first step sets survives the transition to done, and no
// index is deleted.
func TestDecommissionWithoutDeletion(t *testing.T) {
	p := testPlan(t)
	p.Logs[0].Indices = "index_*"
	p.Phases.Decommission = plans.DecommissionConfig{SnapshotRepository: "my_repository"}
	srv := snapshotCluster(t, snapshotName(p.Metadata.Name, 5))
	es, err := elasticsearch.New(elasticsearch.Config{URLs: []string{srv.URL}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store := storeAt(t, Decommission)
	st, _ := store.State(t.Context())
	st.Generation, st.Entered, st.GatewayMode = 5, true, GatewayNewPrimary
	_ = store.SetState(t.Context(), st, Entry{})
	e := &Engine{Plan: p, Store: store, Defs: Definitions(), Connect: actionConnectors{es: es}, Now: func() time.Time { return t0 }}
	out, err := e.Apply(t.Context(), false)
	if err != nil || out.Phase != Done {
		t.Fatalf("outcome %+v, %v; want done", out, err)
	}
	if st, _ := store.State(t.Context()); st.GatewayMode != GatewayNewOnly {
		t.Errorf("gateway mode %s after the plan is done, want new_only", st.GatewayMode)
	}
	if n := requestCount(srv, "DELETE", "/index_1"); n != 0 {
		t.Errorf("%d deletions with delete_indices false", n)
	}
}
