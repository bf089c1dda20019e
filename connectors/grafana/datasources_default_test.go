package grafana

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// dataSourceServer follows the Grafana 10 HTTP API reference (Data source
// API): GET /api/datasources/uid/:uid returns the data source object with
// id, uid, orgId, name, type, access, url, isDefault, jsonData,
// secureJsonFields, version and readOnly; PUT /api/datasources/uid/:uid
// replaces the data source and returns {"datasource": {...}, "id",
// "message": "Datasource updated", "name"}; a PUT with an older version
// gets 409, a read-only data source 403. Setting isDefault clears it on
// every other data source, as Grafana's store does. DELETE
// /api/dashboards/uid/:uid returns {"title", "message", "id"} or 404
// {"message": "Dashboard not found"}.
type dataSourceServer struct {
	*httptest.Server
	mu         sync.Mutex
	sources    map[string]map[string]any
	dashboards map[string]string
	puts       []map[string]any
	// conflicts is the number of next PUTs that get 409.
	conflicts int
}

func newDataSourceServer(t *testing.T) *dataSourceServer {
	t.Helper()
	s := &dataSourceServer{
		sources: map[string]map[string]any{
			"es-logs": {
				"id": 1, "uid": "es-logs", "orgId": 1, "name": "Elasticsearch logs", "type": "elasticsearch", "typeLogoUrl": "",
				"access": "proxy", "url": "http://es:9200", "user": "", "database": "", "basicAuth": true, "basicAuthUser": "reader",
				"withCredentials": false, "isDefault": true, "jsonData": map[string]any{"timeField": "@timestamp"},
				"secureJsonFields": map[string]any{"basicAuthPassword": true}, "version": 3, "readOnly": false,
			},
			"loki": {
				"id": 2, "uid": "loki", "orgId": 1, "name": "Loki", "type": "loki", "typeLogoUrl": "", "access": "proxy",
				"url": "http://loki:3100", "user": "", "database": "", "basicAuth": false, "basicAuthUser": "", "withCredentials": false,
				"isDefault": false, "jsonData": map[string]any{"maxLines": 1000}, "secureJsonFields": map[string]any{}, "version": 1, "readOnly": false,
			},
			"provisioned": {
				"id": 3, "uid": "provisioned", "orgId": 1, "name": "Tempo", "type": "tempo", "access": "proxy", "url": "http://tempo:3200",
				"isDefault": false, "jsonData": map[string]any{}, "secureJsonFields": map[string]any{}, "version": 1, "readOnly": true,
			},
		},
		dashboards: map[string]string{"abc": "Checkout"},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *dataSourceServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(r.URL.Path, "/api/datasources/uid/")
		ds, ok := s.sources[uid]
		if !ok {
			writeJSON(w, http.StatusNotFound, `{"message":"Data source not found"}`)
			return
		}
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, mustMarshal(ds))
		case http.MethodPut:
			s.put(w, r, uid, ds)
		default:
			writeJSON(w, http.StatusMethodNotAllowed, `{"message":"Method not allowed"}`)
		}
	case strings.HasPrefix(r.URL.Path, "/api/dashboards/uid/") && r.Method == http.MethodDelete:
		uid := strings.TrimPrefix(r.URL.Path, "/api/dashboards/uid/")
		title, ok := s.dashboards[uid]
		if !ok {
			writeJSON(w, http.StatusNotFound, `{"message":"Dashboard not found"}`)
			return
		}
		delete(s.dashboards, uid)
		writeJSON(w, http.StatusOK, mustMarshal(map[string]any{"title": title, "message": "Dashboard " + title + " deleted", "id": 7}))
	default:
		writeJSON(w, http.StatusNotFound, `{"message":"Not found"}`)
	}
}

func (s *dataSourceServer) put(w http.ResponseWriter, r *http.Request, uid string, ds map[string]any) {
	body, _ := io.ReadAll(r.Body)
	var cmd map[string]any
	if err := json.Unmarshal(body, &cmd); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"message":"bad request data"}`)
		return
	}
	s.puts = append(s.puts, cmd)
	if ds["readOnly"] == true {
		writeJSON(w, http.StatusForbidden, `{"message":"Cannot update read-only data source"}`)
		return
	}
	if s.conflicts > 0 {
		s.conflicts--
		ds["version"] = ds["version"].(int) + 1
		writeJSON(w, http.StatusConflict, `{"message":"Datasource has already been updated by someone else. Please reload and try again"}`)
		return
	}
	if v, ok := cmd["version"].(float64); ok && int(v) < ds["version"].(int) {
		writeJSON(w, http.StatusConflict, `{"message":"Datasource has already been updated by someone else. Please reload and try again"}`)
		return
	}
	for k, v := range cmd {
		if k == "id" || k == "orgId" || k == "version" || k == "secureJsonFields" {
			continue
		}
		ds[k] = v
	}
	ds["version"] = ds["version"].(int) + 1
	if cmd["isDefault"] == true {
		for other, o := range s.sources {
			if other != uid {
				o["isDefault"] = false
			}
		}
	}
	writeJSON(w, http.StatusOK, mustMarshal(map[string]any{"datasource": ds, "id": ds["id"], "message": "Datasource updated", "name": ds["name"]}))
}

func (s *dataSourceServer) isDefault(uid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sources[uid]["isDefault"] == true
}

func TestSetDataSourceDefault(t *testing.T) {
	srv := newDataSourceServer(t)
	c, _ := newTestClient(t, Config{URL: srv.URL})

	ds, err := c.DataSourceByUID(t.Context(), "loki")
	if err != nil || ds.Type != "loki" || ds.IsDefault {
		t.Fatalf("DataSourceByUID: %+v, %v", ds, err)
	}
	changed, err := c.SetDataSourceDefault(t.Context(), "loki", true)
	if err != nil || !changed {
		t.Fatalf("making Loki the default: changed %v, %v", changed, err)
	}
	if !srv.isDefault("loki") || srv.isDefault("es-logs") {
		t.Error("Loki is not the only default after the change")
	}
	// The PUT carries every field read, with only isDefault changed, and
	// no secureJsonData, so Grafana keeps the stored secrets.
	put := srv.puts[len(srv.puts)-1]
	for k, want := range map[string]any{"name": "Loki", "type": "loki", "url": "http://loki:3100", "isDefault": true, "version": float64(1)} {
		if put[k] != want {
			t.Errorf("PUT %s = %v, want %v", k, put[k], want)
		}
	}
	if _, ok := put["secureJsonData"]; ok {
		t.Error("the PUT carries secureJsonData")
	}
	if jd, _ := put["jsonData"].(map[string]any); jd["maxLines"] != float64(1000) {
		t.Errorf("jsonData not kept: %v", put["jsonData"])
	}

	// Again: nothing to change, no PUT.
	n := len(srv.puts)
	if changed, err := c.SetDataSourceDefault(t.Context(), "loki", true); err != nil || changed || len(srv.puts) != n {
		t.Errorf("second call: changed %v, err %v, %d PUTs", changed, err, len(srv.puts)-n)
	}
	// Back to Elasticsearch.
	if changed, err := c.SetDataSourceDefault(t.Context(), "es-logs", true); err != nil || !changed {
		t.Fatalf("restoring the old default: %v, %v", changed, err)
	}
	if srv.isDefault("loki") || !srv.isDefault("es-logs") {
		t.Error("the old default is not restored")
	}
}

func TestSetDataSourceDefaultErrors(t *testing.T) {
	tests := []struct {
		name      string
		uid       string
		conflicts int
		want      string
		wantErr   error
		changed   bool
	}{
		{name: "read-only", uid: "provisioned", want: "provisioning file", wantErr: ErrReadOnlyDataSource},
		{name: "missing", uid: "nope", want: "returned 404"},
		{name: "invalid uid", uid: "a/b", want: "invalid data source UID"},
		{name: "one conflict is retried", uid: "loki", conflicts: 1, changed: true},
		{name: "two conflicts fail", uid: "loki", conflicts: 2, want: "409"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDataSourceServer(t)
			srv.conflicts = tt.conflicts
			c, _ := newTestClient(t, Config{URL: srv.URL})
			changed, err := c.SetDataSourceDefault(t.Context(), tt.uid, true)
			if tt.want == "" {
				if err != nil || changed != tt.changed {
					t.Fatalf("changed %v, err %v", changed, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
		})
	}
}

func TestDeleteDashboard(t *testing.T) {
	srv := newDataSourceServer(t)
	c, _ := newTestClient(t, Config{URL: srv.URL})
	existed, err := c.DeleteDashboard(t.Context(), "abc")
	if err != nil || !existed {
		t.Fatalf("first delete: existed %v, %v", existed, err)
	}
	existed, err = c.DeleteDashboard(t.Context(), "abc")
	if err != nil || existed {
		t.Fatalf("second delete: existed %v, %v; want a 404 taken as already deleted", existed, err)
	}
	if _, err := c.DeleteDashboard(t.Context(), "a b"); err == nil {
		t.Error("an invalid UID was sent")
	}
	_, _, err = c.Dashboard(t.Context(), "abc")
	if !IsNotFound(err) {
		t.Errorf("IsNotFound(%v) is false for a missing dashboard", err)
	}
}
