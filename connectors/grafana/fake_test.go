package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGrafana is a test server whose responses follow the Grafana 10 HTTP
// API reference pages. They are Health API (GET /api/health), Data source
// API (GET /api/datasources), Folder API (GET and POST /api/folders, with
// parentUid for nested folders) and Folder/Dashboard Search API
// (GET /api/search). They also include Dashboard API
// (GET /api/dashboards/uid/:uid, and POST /api/dashboards/db with its 412
// responses) and Alerting provisioning HTTP API
// (GET /api/v1/provisioning/alert-rules). Errors use Grafana's JSON body
// {"message": ...}.
//
// Dashboards are stored as the exact bytes received, so a test can compare
// what the client sent with what it read.
type fakeGrafana struct {
	*httptest.Server
	t *testing.T

	mu sync.Mutex
	// token or user and password, when set, are the only accepted
	// credentials.
	token, user, password string
	dashboards            map[string]*storedDashboard
	folders               []fakeFolder
	// nested makes /api/folders honour parentUid, as Grafana 11 does.
	nested bool
	// ignorePage makes /api/search and /api/folders return the first page
	// for every page number.
	ignorePage  bool
	datasources []byte
	alertRules  []byte
	// failures are sent first, per "METHOD path", one per request.
	failures map[string][]fakeFailure
	// stall makes requests to these paths wait until the client gives up.
	stall    map[string]bool
	requests []fakeRequest
	nextID   int
}

type storedDashboard struct {
	uid, title, folderUID string
	version, id           int
	raw                   []byte
}

type fakeFolder struct {
	id                    int
	uid, title, parentUID string
}

type fakeFailure struct {
	status     int
	retryAfter string
	body       string
}

type fakeRequest struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         []byte
}

func newFakeGrafana(t *testing.T) *fakeGrafana {
	t.Helper()
	f := &fakeGrafana{
		t:           t,
		dashboards:  map[string]*storedDashboard{},
		failures:    map[string][]fakeFailure{},
		stall:       map[string]bool{},
		datasources: []byte(fakeDataSourcesJSON),
		alertRules:  []byte(fakeAlertRulesJSON),
		nextID:      100,
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// corpusDashboards returns the real dashboards in testdata/grafana by file
// name, exactly as stored.
func corpusDashboards(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "grafana", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 15 {
		t.Fatalf("found %d dashboards in testdata/grafana, want at least 15", len(paths))
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = data
	}
	return out
}

// loadCorpus stores every corpus dashboard in the fake and returns their
// UIDs by file name. A dashboard without a uid gets its file name as UID,
// as Grafana would give it one when it was first saved.
func (f *fakeGrafana) loadCorpus(t testing.TB) map[string]string {
	t.Helper()
	uids := map[string]string{}
	for name, raw := range corpusDashboards(t) {
		var head struct {
			UID     string `json:"uid"`
			Title   string `json:"title"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if head.UID == "" {
			head.UID = name
		}
		f.mu.Lock()
		if _, dup := f.dashboards[head.UID]; dup {
			t.Fatalf("two corpus dashboards have UID %s", head.UID)
		}
		f.nextID++
		f.dashboards[head.UID] = &storedDashboard{uid: head.UID, title: head.Title, version: head.Version, id: f.nextID, raw: raw}
		f.mu.Unlock()
		uids[name] = head.UID
	}
	return uids
}

func (f *fakeGrafana) fail(method, path string, failures ...fakeFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := method + " " + path
	f.failures[key] = append(f.failures[key], failures...)
}

func (f *fakeGrafana) seen() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func (f *fakeGrafana) seenPath(path string) []fakeRequest {
	var out []fakeRequest
	for _, r := range f.seen() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeGrafana) stored(uid string) *storedDashboard {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dashboards[uid]
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (f *fakeGrafana) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	key := r.Method + " " + r.URL.Path
	var failure *fakeFailure
	if queue := f.failures[key]; len(queue) > 0 {
		failure = &queue[0]
		f.failures[key] = queue[1:]
	}
	stall := f.stall[r.URL.Path]
	f.mu.Unlock()

	if stall {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if failure != nil {
		if failure.retryAfter != "" {
			w.Header().Set("Retry-After", failure.retryAfter)
		}
		writeJSON(w, failure.status, failure.body)
		return
	}
	if r.URL.Path != "/api/health" && !f.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, `{"extra":null,"message":"Invalid API key","messageId":"api-keys.invalid","statusCode":401,"traceID":""}`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/health":
		writeJSON(w, http.StatusOK, `{"commit":"03f502a94d","database":"ok","version":"10.4.2"}`)
	case r.Method == http.MethodGet && r.URL.Path == "/api/datasources":
		writeJSON(w, http.StatusOK, string(f.datasources))
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/provisioning/alert-rules":
		writeJSON(w, http.StatusOK, string(f.alertRules))
	case r.Method == http.MethodGet && r.URL.Path == "/api/folders":
		f.serveFolders(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/api/folders":
		f.createFolder(w, body)
	case r.Method == http.MethodGet && r.URL.Path == "/api/search":
		f.serveSearch(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/dashboards/uid/"):
		f.serveDashboard(w, strings.TrimPrefix(r.URL.Path, "/api/dashboards/uid/"))
	case r.Method == http.MethodPost && r.URL.Path == "/api/dashboards/db":
		f.saveDashboard(w, body)
	default:
		writeJSON(w, http.StatusNotFound, `{"message":"Not found"}`)
	}
}

func (f *fakeGrafana) authorized(r *http.Request) bool {
	f.mu.Lock()
	token, user, password := f.token, f.user, f.password
	f.mu.Unlock()
	switch {
	case token != "":
		return r.Header.Get("Authorization") == "Bearer "+token
	case user != "":
		u, p, ok := r.BasicAuth()
		return ok && u == user && p == password
	}
	return true
}

// page returns the items of a 1-based page of size limit.
func page[T any](items []T, r *http.Request, ignorePage bool, maxLimit int) []T {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > maxLimit {
		limit = maxLimit
	}
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || p < 1 || ignorePage {
		p = 1
	}
	start := (p - 1) * limit
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+limit, len(items))]
}

func (f *fakeGrafana) serveFolders(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	parent := ""
	if f.nested {
		parent = r.URL.Query().Get("parentUid")
	}
	var items []map[string]any
	for _, fo := range f.folders {
		if f.nested && fo.parentUID != parent {
			continue
		}
		item := map[string]any{"id": fo.id, "uid": fo.uid, "title": fo.title}
		if f.nested && fo.parentUID != "" {
			item["parentUid"] = fo.parentUID
		}
		items = append(items, item)
	}
	ignorePage := f.ignorePage
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, mustMarshal(page(items, r, ignorePage, 1000)))
}

func (f *fakeGrafana) createFolder(w http.ResponseWriter, body []byte) {
	var req struct {
		Title string `json:"title"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Title == "" {
		writeJSON(w, http.StatusBadRequest, `{"message":"folder title cannot be empty"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fo := range f.folders {
		if fo.title == req.Title && fo.parentUID == "" {
			writeJSON(w, http.StatusConflict, `{"message":"a folder with the same name already exists"}`)
			return
		}
	}
	f.nextID++
	fo := fakeFolder{id: f.nextID, uid: fmt.Sprintf("fold%04d", f.nextID), title: req.Title}
	f.folders = append(f.folders, fo)
	writeJSON(w, http.StatusOK, mustMarshal(map[string]any{
		"id": fo.id, "uid": fo.uid, "orgId": 1, "title": fo.title, "url": "/dashboards/f/" + fo.uid + "/",
		"hasAcl": false, "canSave": true, "canEdit": true, "canAdmin": true, "canDelete": true,
		"createdBy": "admin", "created": "2024-05-02T10:00:00Z", "updatedBy": "admin", "updated": "2024-05-02T10:00:00Z", "version": 1,
	}))
}

func (f *fakeGrafana) folderTitle(uid string) string {
	for _, fo := range f.folders {
		if fo.uid == uid {
			return fo.title
		}
	}
	return ""
}

func (f *fakeGrafana) serveSearch(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("type") != "dash-db" {
		writeJSON(w, http.StatusBadRequest, `{"message":"the fake serves only type=dash-db"}`)
		return
	}
	f.mu.Lock()
	dashboards := make([]*storedDashboard, 0, len(f.dashboards))
	for _, d := range f.dashboards {
		dashboards = append(dashboards, d)
	}
	// Grafana sorts search hits by title.
	sort.Slice(dashboards, func(i, j int) bool { return dashboards[i].title < dashboards[j].title })
	var hits []map[string]any
	for _, d := range dashboards {
		hit := map[string]any{
			"id": d.id, "uid": d.uid, "orgId": 1, "title": d.title, "uri": "db/x", "url": "/d/" + d.uid + "/x",
			"slug": "", "type": "dash-db", "tags": []string{}, "isStarred": false, "sortMeta": 0,
		}
		if d.folderUID != "" {
			hit["folderUid"] = d.folderUID
			hit["folderTitle"] = f.folderTitle(d.folderUID)
			hit["folderUrl"] = "/dashboards/f/" + d.folderUID + "/"
		}
		hits = append(hits, hit)
	}
	ignorePage := f.ignorePage
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, mustMarshal(page(hits, r, ignorePage, 5000)))
}

func (f *fakeGrafana) serveDashboard(w http.ResponseWriter, uid string) {
	d := f.stored(uid)
	if d == nil {
		writeJSON(w, http.StatusNotFound, `{"message":"Dashboard not found"}`)
		return
	}
	f.mu.Lock()
	meta := mustMarshal(map[string]any{
		"type": "db", "canSave": true, "canEdit": true, "canAdmin": true, "canStar": true, "canDelete": true,
		"slug": "x", "url": "/d/" + d.uid + "/x", "expires": "0001-01-01T00:00:00Z",
		"created": "2024-05-02T10:00:00Z", "updated": "2024-05-02T10:00:00Z", "updatedBy": "admin", "createdBy": "admin",
		"version": d.version, "hasAcl": false, "isFolder": false, "folderId": 0,
		"folderUid": d.folderUID, "folderTitle": f.folderTitle(d.folderUID), "folderUrl": "",
		"provisioned": false, "provisionedExternalId": "", "annotationsPermissions": map[string]any{},
	})
	raw := d.raw
	f.mu.Unlock()
	// The stored bytes go out unchanged, as Grafana returns what it saved.
	writeJSON(w, http.StatusOK, `{"meta":`+meta+`,"dashboard":`+string(raw)+`}`)
}

func (f *fakeGrafana) saveDashboard(w http.ResponseWriter, body []byte) {
	var req struct {
		Dashboard json.RawMessage `json:"dashboard"`
		FolderUID string          `json:"folderUid"`
		Overwrite bool            `json:"overwrite"`
		Message   string          `json:"message"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Dashboard) == 0 {
		writeJSON(w, http.StatusBadRequest, `{"message":"bad request data"}`)
		return
	}
	var head struct {
		ID      json.RawMessage `json:"id"`
		UID     string          `json:"uid"`
		Title   string          `json:"title"`
		Version int             `json:"version"`
	}
	if err := json.Unmarshal(req.Dashboard, &head); err != nil {
		writeJSON(w, http.StatusBadRequest, `{"message":"bad request data"}`)
		return
	}
	if head.Title == "" {
		writeJSON(w, http.StatusBadRequest, `{"message":"Dashboard title cannot be empty","status":"empty-name"}`)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(head.ID) > 0 && string(head.ID) != "null" {
		// An id names a row of this Grafana's database.
		writeJSON(w, http.StatusNotFound, `{"message":"Dashboard not found","status":"not-found"}`)
		return
	}

	existing := f.dashboards[head.UID]
	if !req.Overwrite {
		if existing != nil && existing.version != head.Version {
			writeJSON(w, http.StatusPreconditionFailed, `{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}`)
			return
		}
		for _, d := range f.dashboards {
			if d.uid != head.UID && d.title == head.Title && d.folderUID == req.FolderUID {
				writeJSON(w, http.StatusPreconditionFailed, `{"message":"A dashboard with the same name in the folder already exists","status":"name-exists"}`)
				return
			}
		}
	}

	if head.UID == "" {
		head.UID = fmt.Sprintf("gen%06d", f.nextID)
	}
	version := 1
	f.nextID++
	id := f.nextID
	if existing != nil {
		version, id = existing.version+1, existing.id
	}
	f.dashboards[head.UID] = &storedDashboard{uid: head.UID, title: head.Title, folderUID: req.FolderUID, version: version, id: id, raw: bytes.Clone(req.Dashboard)}
	writeJSON(w, http.StatusOK, mustMarshal(map[string]any{
		"id": id, "slug": "x", "status": "success", "uid": head.UID, "url": "/d/" + head.UID + "/x", "version": version, "folderUid": req.FolderUID,
	}))
}

// fakeDataSourcesJSON is a GET /api/datasources response in Grafana 10's
// shape. Names and UIDs are those the corpus dashboards reference.
const fakeDataSourcesJSON = `[
{"id":1,"uid":"es-default","orgId":1,"name":"Elasticsearch","type":"elasticsearch","typeName":"Elasticsearch","typeLogoUrl":"public/app/plugins/datasource/elasticsearch/img/elasticsearch.svg","access":"proxy","url":"http://127.0.0.1:9200","user":"","database":"","basicAuth":false,"isDefault":true,"jsonData":{"timeField":"@timestamp"},"readOnly":false},
{"id":2,"uid":"gdev-es-v56-metrics","orgId":1,"name":"gdev-elasticsearch-v56-metrics","type":"elasticsearch","typeName":"Elasticsearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9200","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":true},
{"id":3,"uid":"gdev-es-v5-metrics","orgId":1,"name":"gdev-elasticsearch-v5-metrics","type":"elasticsearch","typeName":"Elasticsearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9200","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":true},
{"id":4,"uid":"gdev-es-v56-logs","orgId":1,"name":"gdev-elasticsearch-v56-logs","type":"elasticsearch","typeName":"Elasticsearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9200","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":true},
{"id":5,"uid":"gdev-es-v7-filebeat","orgId":1,"name":"gdev-elasticsearch-v7-filebeat","type":"elasticsearch","typeName":"Elasticsearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9200","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":true},
{"id":6,"uid":"archstats","orgId":1,"name":"Archiver Statistics","type":"elasticsearch","typeName":"Elasticsearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9200","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":7,"uid":"gardener-loki","orgId":1,"name":"loki","type":"loki","typeName":"Loki","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:3100","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":8,"uid":"P8E80F9AEF21F6940","orgId":1,"name":"Loki","type":"loki","typeName":"Loki","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:3100","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":9,"uid":"PBFA97CFB590B2093","orgId":1,"name":"Prometheus","type":"prometheus","typeName":"Prometheus","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9090","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":10,"uid":"webstore-metrics","orgId":1,"name":"Webstore Metrics","type":"prometheus","typeName":"Prometheus","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9090","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":11,"uid":"webstore-logs","orgId":1,"name":"OpenSearch","type":"grafana-opensearch-datasource","typeName":"OpenSearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9201","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{"flavor":"opensearch","version":"2.19.0"},"readOnly":false},
{"id":12,"uid":"webstore-traces","orgId":1,"name":"Jaeger","type":"jaeger","typeName":"Jaeger","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:16686","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":13,"uid":"aws-opensearch-ecommerce-sample","orgId":1,"name":"OpenSearch eCommerce","type":"grafana-opensearch-datasource","typeName":"OpenSearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9201","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":14,"uid":"aws-opensearch","orgId":1,"name":"OpenSearch traces","type":"grafana-opensearch-datasource","typeName":"OpenSearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9201","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false},
{"id":15,"uid":"aws-opensearch-web-traffic-sample","orgId":1,"name":"OpenSearch web traffic","type":"grafana-opensearch-datasource","typeName":"OpenSearch","typeLogoUrl":"","access":"proxy","url":"http://127.0.0.1:9201","user":"","database":"","basicAuth":false,"isDefault":false,"jsonData":{},"readOnly":false}
]`

// fakeAlertRulesJSON is a GET /api/v1/provisioning/alert-rules response in
// Grafana 10's shape: one rule on the Elasticsearch data source.
const fakeAlertRulesJSON = `[{"id":1,"uid":"bdn4t0dwa0etcb","orgID":1,"folderUID":"fold0101","ruleGroup":"checkout","title":"Checkout errors","condition":"C","data":[{"refId":"A","queryType":"","relativeTimeRange":{"from":600,"to":0},"datasourceUid":"es-default","model":{"query":"service.name:checkout AND log.level:error","metrics":[{"type":"count","id":"1"}],"bucketAggs":[{"type":"date_histogram","id":"2","field":"@timestamp"}],"timeField":"@timestamp","refId":"A"}},{"refId":"C","queryType":"","relativeTimeRange":{"from":0,"to":0},"datasourceUid":"__expr__","model":{"type":"threshold","expression":"A","conditions":[{"evaluator":{"type":"gt","params":[5]}}],"refId":"C"}}],"updated":"2024-05-02T10:00:00Z","noDataState":"NoData","execErrState":"Error","for":"5m","annotations":{"summary":"More than 5 checkout errors"},"labels":{"team":"shop"},"provenance":"","isPaused":false}]`

// noSleep records the waits between attempts instead of sleeping.
type noSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *noSleep) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return nil
}

func (s *noSleep) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func newTestClient(t *testing.T, cfg Config) (*Client, *noSleep) {
	t.Helper()
	sleeper := &noSleep{}
	if cfg.Sleep == nil {
		cfg.Sleep = sleeper.Sleep
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, sleeper
}
