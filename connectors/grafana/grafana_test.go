package grafana

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/obs-migrate/migrate/connectors/httpx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testToken = "glsa_T3stT0kenNeverShown_5f3a9c1e"

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		setup     func(f *fakeGrafana)
		wantAuth  string
		wantOrgID string
	}{
		{
			name:     "bearer token",
			cfg:      Config{Token: testToken},
			setup:    func(f *fakeGrafana) { f.token = testToken },
			wantAuth: "Bearer " + testToken,
		},
		{
			name:      "basic with organization",
			cfg:       Config{Username: "admin", Password: "pa55", OrgID: 3},
			setup:     func(f *fakeGrafana) { f.user, f.password = "admin", "pa55" },
			wantAuth:  "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:pa55")),
			wantOrgID: "3",
		},
		{
			name:      "token with organization",
			cfg:       Config{Token: testToken, OrgID: 12},
			setup:     func(f *fakeGrafana) { f.token = testToken },
			wantAuth:  "Bearer " + testToken,
			wantOrgID: "12",
		},
		{name: "anonymous", cfg: Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGrafana(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			tt.cfg.URL = f.URL
			c, _ := newTestClient(t, tt.cfg)
			if _, err := c.DataSources(context.Background()); err != nil {
				t.Fatalf("DataSources: %v", err)
			}
			if _, err := c.SearchDashboards(context.Background()); err != nil {
				t.Fatalf("SearchDashboards: %v", err)
			}
			for _, req := range f.seen() {
				if got := req.Header.Get("Authorization"); got != tt.wantAuth {
					t.Errorf("%s: Authorization = %q, want %q", req.Path, got, tt.wantAuth)
				}
				if got := req.Header.Get("X-Grafana-Org-Id"); got != tt.wantOrgID {
					t.Errorf("%s: X-Grafana-Org-Id = %q, want %q", req.Path, got, tt.wantOrgID)
				}
			}
		})
	}
}

func TestNewRejectsConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"token and username", Config{URL: "http://127.0.0.1:3000", Token: testToken, Username: "admin", Password: "x"}, "keep one of them"},
		{"password alone", Config{URL: "http://127.0.0.1:3000", Password: "x"}, "without a username"},
		{"negative organization", Config{URL: "http://127.0.0.1:3000", OrgID: -1}, "invalid organization ID -1"},
		{"URL without scheme", Config{URL: "grafana:3000"}, "invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	f := newFakeGrafana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	h, err := c.Health(context.Background())
	if err != nil {
		t.Fatalf("Health: %v", err)
	}
	if want := (Health{Version: "10.4.2", Database: "ok", Commit: "03f502a94d"}); h != want {
		t.Errorf("Health = %+v, want %+v", h, want)
	}

	f.fail(http.MethodGet, "/api/health", fakeFailure{status: 503, body: `{"commit":"03f502a94d","database":"failing","version":"10.4.2"}`})
	h, err = c.Health(context.Background())
	if err != nil {
		t.Fatalf("Health with a failing database: %v", err)
	}
	if h.Database != "failing" {
		t.Errorf("Database = %q, want failing", h.Database)
	}
	if n := len(f.seenPath("/api/health")); n != 2 {
		t.Errorf("server saw %d health requests, want 2: a 503 health document is not retried", n)
	}
}

func TestDataSources(t *testing.T) {
	f := newFakeGrafana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	got, err := c.DataSources(context.Background())
	if err != nil {
		t.Fatalf("DataSources: %v", err)
	}
	if len(got) != 15 {
		t.Fatalf("got %d data sources, want 15", len(got))
	}
	want := DataSource{ID: 1, UID: "es-default", Name: "Elasticsearch", Type: "elasticsearch", URL: "http://127.0.0.1:9200", IsDefault: true}
	if got[0] != want {
		t.Errorf("first data source = %+v, want %+v", got[0], want)
	}
	if got[10].Type != "grafana-opensearch-datasource" || got[10].IsDefault {
		t.Errorf("data source 11 = %+v, want a non-default OpenSearch one", got[10])
	}
}

func TestAlertRulesRaw(t *testing.T) {
	f := newFakeGrafana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	rules, err := c.AlertRules(context.Background())
	if err != nil {
		t.Fatalf("AlertRules: %v", err)
	}
	var want []json.RawMessage
	if err := json.Unmarshal([]byte(fakeAlertRulesJSON), &want); err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || !bytes.Equal(rules[0], want[0]) {
		t.Errorf("AlertRules = %s, want the server's rule bytes", rules)
	}
}

func TestSearchDashboardsPaging(t *testing.T) {
	f := newFakeGrafana(t)
	f.loadCorpus(t)
	c, _ := newTestClient(t, Config{URL: f.URL, PageSize: 5})
	refs, err := c.SearchDashboards(context.Background())
	if err != nil {
		t.Fatalf("SearchDashboards: %v", err)
	}
	corpus := corpusDashboards(t)
	if len(refs) != len(corpus) {
		t.Errorf("got %d dashboards, want %d", len(refs), len(corpus))
	}
	titles := make([]string, 0, len(refs))
	for _, r := range refs {
		titles = append(titles, r.Title)
	}
	if !sort.StringsAreSorted(titles) {
		t.Errorf("titles are not in the server's order: %q", titles)
	}
	reqs := f.seenPath("/api/search")
	wantPages := (len(corpus)+4)/5 + 1 // full pages, then the empty one
	if len(reqs) != wantPages {
		t.Fatalf("client fetched %d pages, want %d", len(reqs), wantPages)
	}
	for i, req := range reqs {
		q := req.Query
		if q.Get("type") != "dash-db" || q.Get("limit") != "5" || q.Get("page") != strconv.Itoa(i+1) {
			t.Errorf("request %d query = %v, want type=dash-db, limit=5, page=%d", i, q, i+1)
		}
	}
}

func TestSearchDashboardsServerIgnoresPage(t *testing.T) {
	f := newFakeGrafana(t)
	f.loadCorpus(t)
	f.ignorePage = true
	c, _ := newTestClient(t, Config{URL: f.URL, PageSize: 4})
	refs, err := c.SearchDashboards(context.Background())
	if err != nil {
		t.Fatalf("SearchDashboards: %v", err)
	}
	if len(refs) != 4 {
		t.Errorf("got %d dashboards, want the 4 of the only page the server returns", len(refs))
	}
	if n := len(f.seenPath("/api/search")); n != 2 {
		t.Errorf("client fetched %d pages, want 2: it stops when a page repeats", n)
	}
}

// TestDashboardRawRoundTrip imports every corpus dashboard and reads it
// back: all top-level members but "id" keep their exact bytes.
func TestDashboardRawRoundTrip(t *testing.T) {
	for name, input := range corpusDashboards(t) {
		t.Run(name, func(t *testing.T) {
			f := newFakeGrafana(t)
			c, _ := newTestClient(t, Config{URL: f.URL})
			res, err := c.ImportDashboard(context.Background(), input, "", true, "migrated")
			if err != nil {
				t.Fatalf("ImportDashboard: %v", err)
			}
			received := f.stored(res.UID)
			if received == nil {
				t.Fatalf("server has no dashboard %s", res.UID)
			}
			compareExceptID(t, "sent", input, received.raw)

			back, meta, err := c.Dashboard(context.Background(), res.UID)
			if err != nil {
				t.Fatalf("Dashboard: %v", err)
			}
			if !bytes.Equal(back, received.raw) {
				t.Error("Dashboard returned other bytes than the server stored")
			}
			if meta.Version != res.Version {
				t.Errorf("meta version = %d, want %d", meta.Version, res.Version)
			}
		})
	}
}

// compareExceptID checks that got is want with its top-level "id" set to
// null and nothing else changed.
func compareExceptID(t *testing.T, what string, want, got []byte) {
	t.Helper()
	var wantMembers, gotMembers map[string]json.RawMessage
	if err := json.Unmarshal(want, &wantMembers); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &gotMembers); err != nil {
		t.Fatalf("%s dashboard is not a JSON object: %v", what, err)
	}
	if len(gotMembers) != len(wantMembers) {
		t.Errorf("%s dashboard has %d members, want %d", what, len(gotMembers), len(wantMembers))
	}
	for key, w := range wantMembers {
		g, ok := gotMembers[key]
		switch {
		case !ok:
			t.Errorf("%s dashboard lost member %q", what, key)
		case key == "id":
			if string(g) != "null" {
				t.Errorf("%s dashboard id = %s, want null", what, g)
			}
		case !bytes.Equal(g, w):
			t.Errorf("%s dashboard member %q changed", what, key)
		}
	}
	// ImportDashboard trims the whitespace around the object.
	if _, hadID := wantMembers["id"]; !hadID && !bytes.Equal(got, bytes.TrimSpace(want)) {
		t.Errorf("%s dashboard without id differs from the input", what)
	}
	if len(bytes.TrimSpace(got)) != len(bytes.TrimSpace(want))-len(wantMembers["id"])+len(gotMembers["id"]) {
		t.Errorf("%s dashboard differs in length beyond the id value", what)
	}
}

func TestImportDashboardRequest(t *testing.T) {
	f := newFakeGrafana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	dashboard := json.RawMessage("{\n  \"id\": 42,\n  \"uid\": \"abc\",\n  \"title\": \"Errors <5xx> & more\",\n  \"version\": 3,\n  \"panels\": [ ]\n}")
	res, err := c.ImportDashboard(context.Background(), dashboard, "fold0001", false, "from Kibana")
	if err != nil {
		t.Fatalf("ImportDashboard: %v", err)
	}
	if want := (ImportResult{UID: "abc", URL: "/d/abc/x", Version: 1}); res != want {
		t.Errorf("ImportResult = %+v, want %+v", res, want)
	}
	reqs := f.seenPath("/api/dashboards/db")
	if len(reqs) != 1 {
		t.Fatalf("server saw %d saves, want 1", len(reqs))
	}
	want := "{\"dashboard\":{\n  \"id\": null,\n  \"uid\": \"abc\",\n  \"title\": \"Errors <5xx> & more\",\n  \"version\": 3,\n  \"panels\": [ ]\n},\"folderUid\":\"fold0001\",\"overwrite\":false,\"message\":\"from Kibana\"}"
	if diff := cmp.Diff(want, string(reqs[0].Body)); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	if got := reqs[0].Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
}

func TestImportDashboardRejectsInput(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"array", `[{"title":"x"}]`, "not a JSON object"},
		{"invalid JSON", `{"title":`, "not a JSON object"},
		{"whole GET response", `{"meta":{"version":1},"dashboard":{"title":"x"}}`, `pass its "dashboard" member`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGrafana(t)
			c, _ := newTestClient(t, Config{URL: f.URL})
			_, err := c.ImportDashboard(context.Background(), json.RawMessage(tt.input), "", true, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
			if n := len(f.seen()); n != 0 {
				t.Errorf("server saw %d requests, want 0", n)
			}
		})
	}
}

func TestImportPreconditionFailed(t *testing.T) {
	tests := []struct {
		name, dashboard, reason, hint string
	}{
		{"version mismatch", `{"uid":"M94gguRWz","title":"Other title","version":7}`, "version-mismatch", "exists at another version"},
		{"name exists", `{"uid":"new-uid","title":"Pod Logs","version":1}`, "name-exists", "same title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGrafana(t)
			f.loadCorpus(t)
			c, sleeper := newTestClient(t, Config{URL: f.URL, Token: testToken})
			_, err := c.ImportDashboard(context.Background(), json.RawMessage(tt.dashboard), "", false, "")
			var pf *PreconditionFailedError
			if !errors.As(err, &pf) {
				t.Fatalf("error %v (%T) is not a *PreconditionFailedError", err, err)
			}
			if pf.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", pf.Reason, tt.reason)
			}
			if pf.Message == "" {
				t.Error("Message is empty, want Grafana's message")
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusPreconditionFailed {
				t.Errorf("errors.As(*APIError) = %v, want status 412", apiErr)
			}
			if httpx.StatusOf(err) != http.StatusPreconditionFailed {
				t.Errorf("httpx.StatusOf = %d, want 412", httpx.StatusOf(err))
			}
			if !strings.Contains(err.Error(), tt.hint) || !strings.Contains(err.Error(), "overwrite") {
				t.Errorf("error %q lacks the hint %q and overwrite", err, tt.hint)
			}
			if n := len(f.seenPath("/api/dashboards/db")); n != 1 || len(sleeper.Waits()) != 0 {
				t.Errorf("server saw %d saves and the client waited %d times, want 1 and 0", n, len(sleeper.Waits()))
			}
		})
	}
}

func TestImportNotRetriedOnServerError(t *testing.T) {
	f := newFakeGrafana(t)
	f.fail(http.MethodPost, "/api/dashboards/db", fakeFailure{status: http.StatusBadGateway, body: "<html>bad gateway</html>"})
	c, _ := newTestClient(t, Config{URL: f.URL})
	_, err := c.ImportDashboard(context.Background(), json.RawMessage(`{"title":"x"}`), "", true, "")
	if httpx.StatusOf(err) != http.StatusBadGateway {
		t.Fatalf("error = %v, want status 502", err)
	}
	if n := len(f.seenPath("/api/dashboards/db")); n != 1 {
		t.Errorf("server saw %d saves, want 1: a save that may have succeeded is not sent again", n)
	}
}

func TestRetryAfterOn429(t *testing.T) {
	f := newFakeGrafana(t)
	f.loadCorpus(t)
	f.fail(http.MethodGet, "/api/search", fakeFailure{status: http.StatusTooManyRequests, retryAfter: "3", body: `{"message":"Too many requests"}`})
	c, sleeper := newTestClient(t, Config{URL: f.URL})
	refs, err := c.SearchDashboards(context.Background())
	if err != nil {
		t.Fatalf("SearchDashboards: %v", err)
	}
	if len(refs) != len(corpusDashboards(t)) {
		t.Errorf("got %d dashboards, want all", len(refs))
	}
	waits := sleeper.Waits()
	if len(waits) != 1 || waits[0] < 3*time.Second {
		t.Errorf("waits = %v, want one of at least Retry-After 3s", waits)
	}
	if n := len(f.seenPath("/api/search")); n != 3 {
		t.Errorf("server saw %d searches, want 3 (the 429, one page, the empty page)", n)
	}
}

func TestTimeout(t *testing.T) {
	f := newFakeGrafana(t)
	f.stall["/api/datasources"] = true
	c, _ := newTestClient(t, Config{URL: f.URL, Token: testToken, Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	_, err := c.DataSources(context.Background())
	if err == nil {
		t.Fatal("DataSources returned no error")
	}
	if !httpx.IsTimeout(err) {
		t.Errorf("httpx.IsTimeout(%v) = false, want true", err)
	}
	// A timed-out request is not resent: it would likely time out again.
	if n := len(f.seenPath("/api/datasources")); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestUnauthorizedHint(t *testing.T) {
	f := newFakeGrafana(t)
	f.token = "glsa_the_right_one"
	c, _ := newTestClient(t, Config{URL: f.URL, Token: testToken})
	_, err := c.SearchDashboards(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if apiErr.Status != http.StatusUnauthorized || apiErr.Message != "Invalid API key" || apiErr.MessageID != "api-keys.invalid" {
		t.Errorf("APIError = %d %q %q, want 401 %q %q", apiErr.Status, apiErr.Message, apiErr.MessageID, "Invalid API key", "api-keys.invalid")
	}
	if !strings.Contains(err.Error(), "service account token") {
		t.Errorf("error %q has no hint about the token", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("server saw %d requests, want 1: a 401 is not retried", n)
	}
}

func TestForbiddenHintNamesRole(t *testing.T) {
	forbidden := fakeFailure{status: http.StatusForbidden, body: `{"message":"You'll need additional permissions to perform this action. Permissions needed: any of alert.provisioning:read","messageId":"accesscontrol.permissions","statusCode":403}`}
	tests := []struct {
		name, method, path string
		run                func(c *Client) error
		wantRole           string
	}{
		{"alert rules", http.MethodGet, "/api/v1/provisioning/alert-rules", func(c *Client) error { _, err := c.AlertRules(context.Background()); return err }, "Admin role in Grafana 10"},
		{"import", http.MethodPost, "/api/dashboards/db", func(c *Client) error {
			_, err := c.ImportDashboard(context.Background(), json.RawMessage(`{"title":"x"}`), "", true, "")
			return err
		}, "Editor role"},
		{"search", http.MethodGet, "/api/search", func(c *Client) error { _, err := c.SearchDashboards(context.Background()); return err }, "Viewer role"},
		{"data sources", http.MethodGet, "/api/datasources", func(c *Client) error { _, err := c.DataSources(context.Background()); return err }, "datasources:read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGrafana(t)
			f.fail(tt.method, tt.path, forbidden)
			c, _ := newTestClient(t, Config{URL: f.URL, Token: testToken})
			err := tt.run(c)
			if httpx.StatusOf(err) != http.StatusForbidden {
				t.Fatalf("error = %v, want status 403", err)
			}
			if !strings.Contains(err.Error(), tt.wantRole) || !strings.Contains(err.Error(), "Permissions needed") {
				t.Errorf("error %q lacks the role %q or Grafana's message", err, tt.wantRole)
			}
		})
	}
}

func TestEnsureFolder(t *testing.T) {
	f := newFakeGrafana(t)
	f.folders = []fakeFolder{{id: 1, uid: "existing", title: "Logs"}}
	c, _ := newTestClient(t, Config{URL: f.URL})
	ctx := context.Background()

	found, err := c.EnsureFolder(ctx, "Logs")
	if err != nil {
		t.Fatalf("EnsureFolder(Logs): %v", err)
	}
	if found != (Folder{UID: "existing", Title: "Logs"}) {
		t.Errorf("EnsureFolder(Logs) = %+v, want the existing folder", found)
	}
	if n := len(f.seenPath("/api/folders")); n != 2 {
		t.Errorf("finding took %d requests, want 2 (one page, the empty page)", n)
	}

	created, err := c.EnsureFolder(ctx, "Migrated from Kibana")
	if err != nil {
		t.Fatalf("EnsureFolder(create): %v", err)
	}
	if created.UID == "" || created.Title != "Migrated from Kibana" {
		t.Errorf("created folder = %+v, want a UID and the title", created)
	}
	var posts []fakeRequest
	for _, r := range f.seenPath("/api/folders") {
		if r.Method == http.MethodPost {
			posts = append(posts, r)
		}
	}
	if len(posts) != 1 || string(posts[0].Body) != `{"title":"Migrated from Kibana"}` {
		t.Fatalf("POST requests = %d, body %q, want one with the title", len(posts), posts)
	}

	again, err := c.EnsureFolder(ctx, "Migrated from Kibana")
	if err != nil {
		t.Fatalf("EnsureFolder(again): %v", err)
	}
	if again.UID != created.UID {
		t.Errorf("second EnsureFolder returned UID %q, want %q", again.UID, created.UID)
	}
	general, err := c.EnsureFolder(ctx, "general")
	if err != nil || general.UID != "" {
		t.Errorf("EnsureFolder(general) = %+v, %v, want the root folder with no UID", general, err)
	}
	if _, err := c.EnsureFolder(ctx, "  "); err == nil {
		t.Error("EnsureFolder with a blank title returned no error")
	}
}

func TestEnsureFolderCreatedMeanwhile(t *testing.T) {
	f := newFakeGrafana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	// Another client creates the folder between the listing and the POST:
	// the POST gets 409 and a new listing finds the folder.
	f.fail(http.MethodPost, "/api/folders", fakeFailure{status: http.StatusConflict, body: `{"message":"a folder with the same name already exists"}`})
	f.mu.Lock()
	f.failures["GET /api/folders"] = []fakeFailure{{status: 200, body: `[]`}}
	f.folders = []fakeFolder{{id: 9, uid: "theirs", title: "Shared"}}
	f.mu.Unlock()
	got, err := c.EnsureFolder(context.Background(), "Shared")
	if err != nil {
		t.Fatalf("EnsureFolder: %v", err)
	}
	if got.UID != "theirs" {
		t.Errorf("EnsureFolder = %+v, want the folder the other client created", got)
	}
}

func TestFoldersNested(t *testing.T) {
	folders := []fakeFolder{
		{id: 1, uid: "a", title: "Team A"},
		{id: 2, uid: "b", title: "Team B"},
		{id: 3, uid: "a1", title: "Logs", parentUID: "a"},
		{id: 4, uid: "a1x", title: "Old", parentUID: "a1"},
	}
	tests := []struct {
		name     string
		nested   bool
		want     []Folder
		maxCalls int
	}{
		{"nested folders", true, []Folder{
			{UID: "a", Title: "Team A"},
			{UID: "b", Title: "Team B"},
			{UID: "a1", Title: "Logs", ParentUID: "a"},
			{UID: "a1x", Title: "Old", ParentUID: "a1"},
		}, 12},
		// Without nested folders Grafana lists all four at the top level
		// and ignores parentUid. Two requests list the top level, and two
		// list it again for parentUid=a, which ends the walk.
		{"flat folders", false, []Folder{
			{UID: "a", Title: "Team A"},
			{UID: "b", Title: "Team B"},
			{UID: "a1", Title: "Logs"},
			{UID: "a1x", Title: "Old"},
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGrafana(t)
			f.folders, f.nested = folders, tt.nested
			c, _ := newTestClient(t, Config{URL: f.URL})
			got, err := c.Folders(context.Background())
			if err != nil {
				t.Fatalf("Folders: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Folders (-want +got):\n%s", diff)
			}
			if n := len(f.seenPath("/api/folders")); n > tt.maxCalls {
				t.Errorf("Folders sent %d requests, want at most %d", n, tt.maxCalls)
			}
		})
	}
}

// TestErrorsNeverShowToken collects the errors of every failure path with
// a token and a password set, and checks that none shows either.
func TestErrorsNeverShowToken(t *testing.T) {
	const password = "Pa55-never-shown"
	f := newFakeGrafana(t)
	f.loadCorpus(t)
	ctx := context.Background()
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Fatalf("call %d returned no error", len(errs))
		}
		errs = append(errs, err)
	}

	bad, _ := newTestClient(t, Config{URL: f.URL, Token: testToken})
	f.token = "glsa_the_right_one"
	_, err := bad.DataSources(ctx)
	collect(err)
	f.token = ""

	c, _ := newTestClient(t, Config{URL: f.URL, Token: testToken, MaxAttempts: 2})
	_, _, err = c.Dashboard(ctx, "does-not-exist")
	collect(err)
	_, _, err = c.Dashboard(ctx, "../admin")
	collect(err)
	_, err = c.ImportDashboard(ctx, json.RawMessage(`{"uid":"M94gguRWz","title":"x","version":99}`), "", false, "")
	collect(err)
	f.fail(http.MethodGet, "/api/v1/provisioning/alert-rules", fakeFailure{status: 403, body: `{"message":"forbidden"}`})
	_, err = c.AlertRules(ctx)
	collect(err)
	f.fail(http.MethodGet, "/api/datasources", fakeFailure{status: 500, body: `{"message":"internal"}`}, fakeFailure{status: 500, body: `{"message":"internal"}`})
	_, err = c.DataSources(ctx)
	collect(err)
	f.fail(http.MethodGet, "/api/folders", fakeFailure{status: 200, body: `{"not":"a list"}`})
	_, err = c.Folders(ctx)
	collect(err)
	_, err = c.DashboardsByDataSource(ctx, nil)
	collect(err)
	f.stall["/api/search"] = true
	slow, _ := newTestClient(t, Config{URL: f.URL, Token: testToken, Timeout: 30 * time.Millisecond, MaxAttempts: 1})
	_, err = slow.SearchDashboards(ctx)
	collect(err)
	closed, _ := newTestClient(t, Config{URL: "http://127.0.0.1:1", Username: "admin", Password: password, MaxAttempts: 1, Timeout: time.Second})
	_, err = closed.Health(ctx)
	collect(err)
	f.user, f.password = "admin", "other"
	basic, _ := newTestClient(t, Config{URL: f.URL, Username: "admin", Password: password})
	_, err = basic.DataSources(ctx)
	collect(err)

	for i, err := range errs {
		for _, secret := range []string{testToken, password} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %d shows a credential: %q", i, err)
			}
		}
	}
	if !slices.ContainsFunc(errs, func(err error) bool { return httpx.IsTimeout(err) }) {
		t.Error("no timeout error was checked")
	}
}

func TestDashboardRejectsUID(t *testing.T) {
	c, _ := newTestClient(t, Config{URL: "http://127.0.0.1:1"})
	for _, uid := range []string{"", "a/b", "x?y", "a b"} {
		if _, _, err := c.Dashboard(context.Background(), uid); err == nil || !strings.Contains(err.Error(), "invalid dashboard UID") {
			t.Errorf("Dashboard(%q) error = %v, want invalid dashboard UID", uid, err)
		}
	}
}
