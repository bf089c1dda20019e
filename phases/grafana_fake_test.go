package phases

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeGrafana follows the Grafana 10 HTTP API reference pages for what the
// cutover calls: Folder API (GET /api/folders with page and limit, POST
// /api/folders returning {id, uid, title}), Dashboard API (GET
// /api/dashboards/uid/:uid returning {dashboard, meta} or 404 {"message":
// "Dashboard not found"}, POST /api/dashboards/db returning {id, uid, url,
// status, version, slug}, DELETE /api/dashboards/uid/:uid  returning
// {title, message, id}) and Data source API (GET /api/datasources, GET and
// PUT /api/datasources/uid/:uid). Saving a data source with isDefault
// clears the flag on the others, as Grafana's store does.
type fakeGrafana struct {
	*httptest.Server
	mu          sync.Mutex
	folders     []map[string]any
	dashboards  map[string]*fakeDashboard
	datasources []map[string]any
	nextID      int
	calls       []string
}

type fakeDashboard struct {
	json      map[string]any
	folderUID string
	version   int
}

func newFakeGrafana(t *testing.T) *fakeGrafana {
	t.Helper()
	f := &fakeGrafana{
		dashboards: map[string]*fakeDashboard{},
		datasources: []map[string]any{
			{"id": 1, "uid": "es-logs", "orgId": 1, "name": "Elasticsearch", "type": "elasticsearch", "access": "proxy", "url": "http://es:9200", "isDefault": true, "jsonData": map[string]any{}, "secureJsonFields": map[string]any{}, "version": 2, "readOnly": false},
			{"id": 2, "uid": "loki", "orgId": 1, "name": "Loki", "type": "loki", "access": "proxy", "url": "http://loki:3100", "isDefault": false, "jsonData": map[string]any{}, "secureJsonFields": map[string]any{}, "version": 1, "readOnly": false},
			{"id": 3, "uid": "tempo", "orgId": 1, "name": "Tempo", "type": "tempo", "access": "proxy", "url": "http://tempo:3200", "isDefault": false, "jsonData": map[string]any{}, "secureJsonFields": map[string]any{}, "version": 1, "readOnly": false},
		},
		nextID: 100,
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeGrafana) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	switch {
	case path == "/api/folders" && r.Method == http.MethodGet:
		if r.URL.Query().Get("page") != "1" || r.URL.Query().Get("parentUid") != "" {
			reply(w, http.StatusOK, []any{})
			return
		}
		reply(w, http.StatusOK, f.folders)
	case path == "/api/folders" && r.Method == http.MethodPost:
		var req struct{ Title string }
		_ = json.Unmarshal(body, &req)
		f.nextID++
		folder := map[string]any{"id": f.nextID, "uid": fmt.Sprintf("fold%d", f.nextID), "title": req.Title}
		f.folders = append(f.folders, folder)
		reply(w, http.StatusOK, folder)
	case path == "/api/dashboards/db" && r.Method == http.MethodPost:
		f.saveDashboard(w, body)
	case strings.HasPrefix(path, "/api/dashboards/uid/"):
		uid := strings.TrimPrefix(path, "/api/dashboards/uid/")
		d, ok := f.dashboards[uid]
		if !ok {
			reply(w, http.StatusNotFound, map[string]any{"message": "Dashboard not found"})
			return
		}
		if r.Method == http.MethodDelete {
			delete(f.dashboards, uid)
			reply(w, http.StatusOK, map[string]any{"title": d.json["title"], "message": fmt.Sprintf("Dashboard %s deleted", d.json["title"]), "id": d.json["id"]})
			return
		}
		reply(w, http.StatusOK, map[string]any{"dashboard": d.json, "meta": map[string]any{"folderUid": d.folderUID, "version": d.version, "provisioned": false}})
	case path == "/api/datasources":
		reply(w, http.StatusOK, f.datasources)
	case strings.HasPrefix(path, "/api/datasources/uid/"):
		f.dataSource(w, r.Method, strings.TrimPrefix(path, "/api/datasources/uid/"), body)
	default:
		reply(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	}
}

func (f *fakeGrafana) saveDashboard(w http.ResponseWriter, body []byte) {
	var req struct {
		Dashboard map[string]any `json:"dashboard"`
		FolderUID string         `json:"folderUid"`
		Overwrite bool           `json:"overwrite"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Dashboard == nil {
		reply(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	uid, _ := req.Dashboard["uid"].(string)
	if uid == "" {
		f.nextID++
		uid = fmt.Sprintf("gen%d", f.nextID)
	}
	version := 1
	if old, ok := f.dashboards[uid]; ok {
		if !req.Overwrite {
			reply(w, http.StatusPreconditionFailed, map[string]any{"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
			return
		}
		version = old.version + 1
	}
	f.nextID++
	req.Dashboard["uid"], req.Dashboard["id"], req.Dashboard["version"] = uid, f.nextID, version
	f.dashboards[uid] = &fakeDashboard{json: req.Dashboard, folderUID: req.FolderUID, version: version}
	reply(w, http.StatusOK, map[string]any{"id": f.nextID, "uid": uid, "url": "/d/" + uid + "/x", "status": "success", "version": version, "slug": "x"})
}

func (f *fakeGrafana) dataSource(w http.ResponseWriter, method, uid string, body []byte) {
	var ds map[string]any
	for _, d := range f.datasources {
		if d["uid"] == uid {
			ds = d
		}
	}
	if ds == nil {
		reply(w, http.StatusNotFound, map[string]any{"message": "Data source not found"})
		return
	}
	if method == http.MethodGet {
		reply(w, http.StatusOK, ds)
		return
	}
	var cmd map[string]any
	if err := json.Unmarshal(body, &cmd); err != nil {
		reply(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	if v, _ := cmd["version"].(float64); int(v) < ds["version"].(int) {
		reply(w, http.StatusConflict, map[string]any{"message": "Datasource has already been updated by someone else. Please reload and try again"})
		return
	}
	ds["isDefault"] = cmd["isDefault"] == true
	ds["version"] = ds["version"].(int) + 1
	if ds["isDefault"] == true {
		for _, d := range f.datasources {
			if d["uid"] != uid {
				d["isDefault"] = false
			}
		}
	}
	reply(w, http.StatusOK, map[string]any{"datasource": ds, "id": ds["id"], "message": "Datasource updated", "name": ds["name"]})
}

// defaultSource returns the UID of the default data source.
func (f *fakeGrafana) defaultSource() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.datasources {
		if d["isDefault"] == true {
			return d["uid"].(string)
		}
	}
	return ""
}

// dashboard returns a stored dashboard's title, folder and version.
func (f *fakeGrafana) dashboard(uid string) (title, folder string, version int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.dashboards[uid]
	if !ok {
		return "", "", 0, false
	}
	title, _ = d.json["title"].(string)
	return title, d.folderUID, d.version, true
}
