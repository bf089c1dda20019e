package grafana

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/grafana-tools/sdk"
)

// TestSDKSaveRequestRewritesDashboard records why ImportDashboard does not
// use the sdk's raw save request (github.com/grafana-tools/sdk as pinned in
// go.mod): it decodes the dashboard into a map and encodes it again, which
// reorders keys and escapes <, > and &; it sets id to 0 instead of null;
// and its parameters have no JSON tags and no folder UID.
func TestSDKSaveRequestRewritesDashboard(t *testing.T) {
	input := []byte(`{"title":"Errors <5xx> & more","id":7,"uid":"abc","panels":[]}`)
	out, err := json.Marshal(sdk.RawBoardRequest{Dashboard: input, Parameters: sdk.SetDashboardParams{Overwrite: true}})
	if err != nil {
		t.Fatalf("sdk.RawBoardRequest: %v", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(out, &body); err != nil {
		t.Fatal(err)
	}
	if want := `{"id":0,"panels":[],"title":"Errors \u003c5xx\u003e \u0026 more","uid":"abc"}`; string(body["dashboard"]) != want {
		t.Errorf("sdk dashboard member = %s, want the rewritten %s", body["dashboard"], want)
	}
	if bytes.Equal(body["dashboard"], input) {
		t.Error("the sdk kept the dashboard bytes; ImportDashboard could use it")
	}
	for _, key := range []string{"FolderID", "Overwrite"} {
		if _, ok := body[key]; !ok {
			t.Errorf("sdk request lacks %q: %s", key, out)
		}
	}
	if _, ok := body["folderUid"]; ok {
		t.Errorf("sdk request has folderUid: %s", out)
	}
}

// TestSDKTypesDecodeGrafana10Responses decodes Grafana 10 responses into the sdk
// types the client uses, and shows that the sdk's dashboard metadata lacks
// the folder UID, which is why Dashboard decodes "meta" itself.
func TestSDKTypesDecodeGrafana10Responses(t *testing.T) {
	var sources []sdk.Datasource
	if err := json.Unmarshal([]byte(fakeDataSourcesJSON), &sources); err != nil {
		t.Fatalf("[]sdk.Datasource: %v", err)
	}
	if len(sources) != 15 || sources[10].UID != "webstore-logs" || sources[10].Type != "grafana-opensearch-datasource" {
		t.Errorf("decoded data sources = %d, 11th %+v", len(sources), sources[10])
	}
	var hits []sdk.FoundBoard
	search := `[{"id":4,"uid":"W2gX2zHVk","orgId":1,"title":"Demo Dashboard","uri":"db/demo-dashboard","url":"/d/W2gX2zHVk/demo-dashboard","slug":"","type":"dash-db","tags":["otel"],"isStarred":false,"folderId":3,"folderUid":"fold0001","folderTitle":"Demo","folderUrl":"/dashboards/f/fold0001/demo","sortMeta":0}]`
	if err := json.Unmarshal([]byte(search), &hits); err != nil {
		t.Fatalf("[]sdk.FoundBoard: %v", err)
	}
	if hits[0].UID != "W2gX2zHVk" || hits[0].FolderUID != "fold0001" || hits[0].FolderTitle != "Demo" {
		t.Errorf("decoded search hit = %+v", hits[0])
	}
	meta := `{"type":"db","canSave":true,"slug":"demo","expires":"0001-01-01T00:00:00Z","created":"2024-05-02T10:00:00Z","updated":"2024-05-02T10:00:00Z","version":2,"folderId":3,"folderUid":"fold0001","folderTitle":"Demo","provisioned":false}`
	var props sdk.BoardProperties
	if err := json.Unmarshal([]byte(meta), &props); err != nil {
		t.Fatalf("sdk.BoardProperties: %v", err)
	}
	fields, err := json.Marshal(props)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(fields, []byte("fold0001")) {
		t.Error("sdk.BoardProperties kept the folder UID; Dashboard could use it")
	}
}
