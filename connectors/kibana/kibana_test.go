package kibana

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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

func TestExportSpacePaths(t *testing.T) {
	tests := []struct {
		name, space, basePath, wantPath string
	}{
		{"empty space is default", "", "", "/api/saved_objects/_export"},
		{"default space has no prefix", "default", "", "/api/saved_objects/_export"},
		{"other space", "marketing", "", "/s/marketing/api/saved_objects/_export"},
		{"other space under base path", "marketing", "/kibana", "/kibana/s/marketing/api/saved_objects/_export"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKibana(t)
			f.basePath = tt.basePath
			c, _ := newTestClient(t, Config{URL: f.URL + tt.basePath, Space: tt.space})
			exp, err := c.Export(context.Background(), ExportRequest{})
			if err != nil {
				t.Fatalf("Export: %v", err)
			}
			reqs := f.seen()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			if reqs[0].Path != tt.wantPath {
				t.Errorf("path = %q, want %q", reqs[0].Path, tt.wantPath)
			}
			if len(exp.Objects) != 3 {
				t.Errorf("got %d objects, want the recording's 3", len(exp.Objects))
			}
		})
	}
}

func TestExportRequestHeadersAndBody(t *testing.T) {
	f := newFakeKibana(t)
	c, _ := newTestClient(t, Config{URL: f.URL, Space: "marketing"})
	_, err := c.Export(context.Background(), ExportRequest{IncludeReferencesDeep: true})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	req := f.seen()[0]
	if req.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.Method)
	}
	if got := req.Header.Get("kbn-xsrf"); got != "true" {
		t.Errorf("kbn-xsrf = %q, want %q", got, "true")
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	want := map[string]any{
		"type":                  []any{"index-pattern", "search", "visualization", "lens", "map", "dashboard", "tag"},
		"includeReferencesDeep": true,
		"excludeExportDetails":  false,
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
}

func TestExportObjectsOmitsTypes(t *testing.T) {
	f := newFakeKibana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	objects := []ObjectRef{{Type: "dashboard", ID: "9a8b7c6d-checkout-dashboard"}}
	if _, err := c.Export(context.Background(), ExportRequest{Types: []string{"search"}, Objects: objects, IncludeReferencesDeep: true}); err != nil {
		t.Fatalf("Export: %v", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(f.seen()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["type"]; ok {
		t.Errorf("request body has type beside objects, which Kibana rejects: %s", f.seen()[0].Body)
	}
	if got, want := string(body["objects"]), `[{"type":"dashboard","id":"9a8b7c6d-checkout-dashboard"}]`; got != want {
		t.Errorf("objects = %s, want %s", got, want)
	}
}

func TestExportMatchesRecording(t *testing.T) {
	f := newFakeKibana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	exp, err := c.Export(context.Background(), ExportRequest{IncludeReferencesDeep: true})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	raw := recordedExport(t)
	if !bytes.Equal(exp.Raw, raw) {
		t.Error("Export.Raw differs from the bytes the server sent")
	}
	lines := splitLines(raw)
	if len(exp.Objects) != len(lines)-1 {
		t.Fatalf("got %d objects, want %d (every line but the summary)", len(exp.Objects), len(lines)-1)
	}
	for i, obj := range exp.Objects {
		if string(obj) != lines[i] {
			t.Errorf("object %d differs from line %d", i, i+1)
		}
	}
	if !exp.HasSummary {
		t.Fatal("HasSummary = false, want true")
	}
	if exp.Summary.ExportedCount != 3 || exp.Summary.MissingRefCount != 0 {
		t.Errorf("summary = %+v, want exportedCount 3 and missingRefCount 0", exp.Summary)
	}
}

func TestParseExportSummary(t *testing.T) {
	input := `{"type":"dashboard","id":"d1","attributes":{"title":"Checkout"},"references":[{"type":"index-pattern","id":"gone","name":"kibanaSavedObjectMeta.searchSourceJSON.index"}]}
{"excludedObjects":[{"id":"c1","type":"config","reason":"excluded"}],"excludedObjectsCount":1,"exportedCount":1,"missingRefCount":2,"missingReferences":[{"id":"gone","type":"index-pattern"},{"id":"s1","type":"search"}]}
`
	exp, err := ParseExport([]byte(input))
	if err != nil {
		t.Fatalf("ParseExport: %v", err)
	}
	want := ExportSummary{
		ExportedCount:        1,
		MissingRefCount:      2,
		MissingReferences:    []ObjectRef{{Type: "index-pattern", ID: "gone"}, {Type: "search", ID: "s1"}},
		ExcludedObjectsCount: 1,
		ExcludedObjects:      []ExcludedObject{{Type: "config", ID: "c1", Reason: "excluded"}},
	}
	if diff := cmp.Diff(want, exp.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(exp.Objects) != 1 {
		t.Errorf("got %d objects, want 1: the summary line is not an object", len(exp.Objects))
	}
}

func TestParseExportLineEndings(t *testing.T) {
	tests := []struct {
		name, input string
		objects     int
		summary     bool
	}{
		{"no trailing newline", `{"type":"a","id":"1"}` + "\n" + `{"exportedCount":1}`, 1, true},
		{"blank lines", "\n\n" + `{"type":"a","id":"1"}` + "\n\n  \n" + `{"type":"b","id":"2"}` + "\n\n", 2, false},
		{"CRLF", `{"type":"a","id":"1"}` + "\r\n" + `{"exportedCount":1,"missingRefCount":0,"missingReferences":[]}` + "\r\n", 1, true},
		{"byte order mark", "\xef\xbb\xbf" + `{"type":"a","id":"1"}` + "\n", 1, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := ParseExport([]byte(tt.input))
			if err != nil {
				t.Fatalf("ParseExport: %v", err)
			}
			if len(exp.Objects) != tt.objects {
				t.Errorf("got %d objects, want %d", len(exp.Objects), tt.objects)
			}
			if exp.HasSummary != tt.summary {
				t.Errorf("HasSummary = %v, want %v", exp.HasSummary, tt.summary)
			}
		})
	}
}

func TestParseExportErrors(t *testing.T) {
	obj := `{"type":"dashboard","id":"d1","attributes":{}}`
	tests := []struct {
		name, input string
		want        []string
	}{
		{"bad JSON on line 3", obj + "\n" + obj + "\n" + `{"type":"search","id":` + "\n", []string{"line 3:", "invalid JSON"}},
		{"bad line after blank lines", obj + "\n\n\n" + `{"type":"x"` + "\n", []string{"line 4:"}},
		{"line after summary", obj + "\n" + `{"exportedCount":1}` + "\n" + obj + "\n", []string{"line 3:", "export details line 2"}},
		{"missing type", `{"id":"d1"}`, []string{"line 1:", "type"}},
		{"id not a string", obj + "\n" + `{"type":"a","id":7}`, []string{"line 2:", "id"}},
		{"JSON array of Kibana 6", `[{"_id":"x","_type":"dashboard"}]`, []string{"line 1:", "Kibana 5 or 6"}},
		{"not an object", "\n\"text\"", []string{"line 2:", "not a JSON object"}},
		{"pretty-printed object", "{\n  \"type\": \"dashboard\",\n  \"id\": \"d1\"\n}\n", []string{"line 1:", "one whole object per line"}},
		{"summary with wrong types", `{"exportedCount":"3"}`, []string{"line 1:", "export details"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExport([]byte(tt.input))
			if err == nil {
				t.Fatal("ParseExport returned no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

// TestParseExportCorpus parses the real exports in testdata/kibana. The
// expected counts come from a plain line scan: a non-blank line that holds
// "exportedCount" and no "attributes" is the summary, every other one an
// object.
func TestParseExportCorpus(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "kibana", "*.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("found %d NDJSON exports in testdata/kibana, want at least 10", len(paths))
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wantObjects, wantSummary := 0, -1
			for _, line := range splitLines(data) {
				if strings.Contains(line, `"exportedCount"`) && !strings.Contains(line, `"attributes"`) {
					var s struct{ ExportedCount int }
					if err := json.Unmarshal([]byte(line), &s); err != nil {
						t.Fatal(err)
					}
					wantSummary = s.ExportedCount
					continue
				}
				wantObjects++
			}
			exp, err := ParseExport(data)
			if err != nil {
				t.Fatalf("ParseExport: %v", err)
			}
			if len(exp.Objects) != wantObjects {
				t.Errorf("got %d objects, want %d", len(exp.Objects), wantObjects)
			}
			if exp.HasSummary != (wantSummary >= 0) {
				t.Errorf("HasSummary = %v, want %v", exp.HasSummary, wantSummary >= 0)
			}
			if exp.HasSummary && exp.Summary.ExportedCount != wantSummary {
				t.Errorf("ExportedCount = %d, want %d", exp.Summary.ExportedCount, wantSummary)
			}
		})
	}
}

func TestExportUnknownTypeIsPermanent(t *testing.T) {
	f := newFakeKibana(t)
	c, sleeper := newTestClient(t, Config{URL: f.URL, Space: "marketing"})
	_, err := c.Export(context.Background(), ExportRequest{Types: []string{"dashboard", "nosuchtype"}})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}

	if apiErr.Status != http.StatusBadRequest {
		t.Errorf("Status = %d, want 400", apiErr.Status)
	}
	if apiErr.Reason != "Bad Request" {
		t.Errorf("Reason = %q, want %q", apiErr.Reason, "Bad Request")
	}
	if want := "Trying to export non-exportable type(s): nosuchtype"; apiErr.Message != want {
		t.Errorf("Message = %q, want %q", apiErr.Message, want)
	}
	if !strings.Contains(err.Error(), "nosuchtype") || !strings.Contains(err.Error(), "/s/marketing/api/saved_objects/_export") {
		t.Errorf("error %q does not name the type and the path", err)
	}
	if !strings.Contains(apiErr.Hint, "ExportRequest.Types") {
		t.Errorf("Hint = %q, want advice on ExportRequest.Types", apiErr.Hint)
	}
	if httpx.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("httpx.StatusOf = %d, want 400", httpx.StatusOf(err))
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("server saw %d requests, want 1: a 400 is not retried", n)
	}
	if n := len(sleeper.Waits()); n != 0 {
		t.Errorf("client waited %d times, want 0", n)
	}
}

func TestErrorHints(t *testing.T) {
	tests := []struct {
		name, space string
		status      int
		message     string
		wantHint    string
	}{
		{"unauthorized", "", 401, "[security_exception]: unable to authenticate user", "username and password or the API key"},
		{"forbidden", "ops", 403, "Unable to bulk_get index-pattern", `space "ops"`},
		{"unknown space", "nospace", 404, "Not Found", `space "nospace" exists`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKibana(t)
			f.spaces["ops"] = true
			if tt.status != http.StatusNotFound {
				f.fail(fakeFailure{status: tt.status, message: tt.message})
			}
			c, _ := newTestClient(t, Config{URL: f.URL, Space: tt.space})
			_, err := c.Export(context.Background(), ExportRequest{})
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if apiErr.Status != tt.status {
				t.Errorf("Status = %d, want %d", apiErr.Status, tt.status)
			}
			if apiErr.Message != tt.message {
				t.Errorf("Message = %q, want %q", apiErr.Message, tt.message)
			}
			if !strings.Contains(err.Error(), tt.wantHint) {
				t.Errorf("error %q does not contain hint %q", err, tt.wantHint)
			}
		})
	}
}

func TestExportRetriesServerErrors(t *testing.T) {
	f := newFakeKibana(t)
	f.fail(
		fakeFailure{status: http.StatusServiceUnavailable, message: "Kibana server is not ready yet"},
		fakeFailure{status: http.StatusTooManyRequests, retryAfter: "7", message: "Too Many Requests"},
	)
	c, sleeper := newTestClient(t, Config{URL: f.URL})
	exp, err := c.Export(context.Background(), ExportRequest{})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if len(exp.Objects) != 3 {
		t.Errorf("got %d objects, want 3", len(exp.Objects))
	}
	if n := len(f.seen()); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}
	waits := sleeper.Waits()
	if len(waits) != 2 {
		t.Fatalf("client waited %d times, want 2", len(waits))
	}
	if waits[1] < 7*time.Second {
		t.Errorf("wait after the 429 = %v, want at least Retry-After 7s", waits[1])
	}
}

func TestExportGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFakeKibana(t)
	for range 3 {
		f.fail(fakeFailure{status: http.StatusBadGateway, message: "Bad Gateway"})
	}
	c, _ := newTestClient(t, Config{URL: f.URL, MaxAttempts: 2})
	_, err := c.Export(context.Background(), ExportRequest{})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if apiErr.Err.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", apiErr.Err.Attempts)
	}
	if !strings.Contains(err.Error(), "after 2 attempts") {
		t.Errorf("error %q does not count the attempts", err)
	}
}

func TestExportCountMismatch(t *testing.T) {
	f := newFakeKibana(t)
	lines := splitLines(f.export)
	// Drop the second object but keep the summary, which still counts 3.
	f.export = []byte(strings.Join([]string{lines[0], lines[2], lines[3]}, "\n") + "\n")
	c, _ := newTestClient(t, Config{URL: f.URL})
	_, err := c.Export(context.Background(), ExportRequest{})
	if err == nil {
		t.Fatal("Export returned no error for a response with fewer objects than its summary counts")
	}
	if !strings.Contains(err.Error(), "returned 2 objects but its summary line counts 3") {
		t.Errorf("error %q does not give both counts", err)
	}
}

func TestExportInvalidResponse(t *testing.T) {
	f := newFakeKibana(t)
	f.export = []byte(`{"type":"dashboard","id":"d1"}` + "\n<html>proxy error</html>\n")
	c, _ := newTestClient(t, Config{URL: f.URL})
	_, err := c.Export(context.Background(), ExportRequest{})
	if err == nil || !strings.Contains(err.Error(), "line 2:") {
		t.Errorf("error = %v, want one naming line 2", err)
	}
}

func TestWriteExport(t *testing.T) {
	f := newFakeKibana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	dir := filepath.Join(t.TempDir(), "exports")
	path := filepath.Join(dir, "default.ndjson")
	exp, err := c.WriteExport(context.Background(), ExportRequest{}, path)
	if err != nil {
		t.Fatalf("WriteExport: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, recordedExport(t)) {
		t.Error("written file differs from the server's response")
	}
	if !bytes.Equal(got, exp.Raw) {
		t.Error("written file differs from Export.Raw")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the export (no temporary file)", len(entries))
	}
}

func TestWriteExportLeavesNoFileOnError(t *testing.T) {
	f := newFakeKibana(t)
	c, _ := newTestClient(t, Config{URL: f.URL})
	path := filepath.Join(t.TempDir(), "bad.ndjson")
	if _, err := c.WriteExport(context.Background(), ExportRequest{Types: []string{"nosuchtype"}}, path); err == nil {
		t.Fatal("WriteExport returned no error")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) = %v, want not exist", path, err)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		body        string
		wantVersion string
		wantOverall string
	}{
		{
			"8.x available", 200, "",
			"8.14.3", "available",
		},
		{
			"7.x legacy format", 200,
			`{"name":"kb","uuid":"u","version":{"number":"7.17.22","build_hash":"h","build_number":46000,"build_snapshot":false},"status":{"overall":{"since":"2024-06-01T10:00:00.000Z","state":"green","title":"Green","nickname":"Looking good","icon":"success","uiColor":"secondary"},"statuses":[]},"metrics":{}}`,
			"7.17.22", "green",
		},
		{
			"8.x unavailable returns 503", 503,
			`{"name":"kb","uuid":"u","version":{"number":"8.15.0","build_hash":"h","build_number":1,"build_snapshot":false},"status":{"overall":{"level":"unavailable","summary":"elasticsearch is unavailable"},"core":{},"plugins":{}},"metrics":{}}`,
			"8.15.0", "unavailable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKibana(t)
			f.statusCode = tt.code
			if tt.body != "" {
				f.status = []byte(tt.body)
			}
			c, sleeper := newTestClient(t, Config{URL: f.URL})
			st, err := c.Status(context.Background())
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if st.Version != tt.wantVersion || st.Overall != tt.wantOverall {
				t.Errorf("Status = %+v, want version %s and overall %s", st, tt.wantVersion, tt.wantOverall)
			}
			if n := len(sleeper.Waits()); n != 0 {
				t.Errorf("client waited %d times, want 0", n)
			}
		})
	}
}

func TestStatusNotKibana(t *testing.T) {
	f := newFakeKibana(t)
	f.status = []byte(`{"name":"es01","cluster_name":"docker-cluster","version":{"number":"8.14.3"},"tagline":"You Know, for Search"}`)
	c, _ := newTestClient(t, Config{URL: f.URL})
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Overall != "" {
		t.Errorf("Overall = %q for an Elasticsearch root document, want empty", st.Overall)
	}
	f.status = []byte(`<html>login</html>`)
	if _, err := c.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("Status on an HTML page: error = %v, want invalid JSON", err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"basic", Config{Username: "elastic", Password: "s3cret-pass"}, "Basic " + base64.StdEncoding.EncodeToString([]byte("elastic:s3cret-pass"))},
		{"API key", Config{APIKey: "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="}, "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="},
		{"none", Config{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKibana(t)
			tt.cfg.URL = f.URL
			c, _ := newTestClient(t, tt.cfg)
			if _, err := c.Status(context.Background()); err != nil {
				t.Fatalf("Status: %v", err)
			}
			if got := f.seen()[0].Header.Get("Authorization"); got != tt.want {
				t.Errorf("Authorization = %q, want %q", got, tt.want)
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
		{"space display name", Config{URL: "http://127.0.0.1:5601", Space: "Marketing Team"}, "invalid space ID"},
		{"username and API key", Config{URL: "http://127.0.0.1:5601", Username: "u", Password: "p", APIKey: "k"}, "keep one of them"},
		{"password alone", Config{URL: "http://127.0.0.1:5601", Password: "p"}, "without a username"},
		{"URL without scheme", Config{URL: "kibana:5601"}, "invalid URL"},
		{"credentials in URL", Config{URL: "http://elastic:pw@127.0.0.1:5601"}, "carries credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error %q shows the URL's password", err)
			}
		})
	}
}

func TestErrorsHideCredentials(t *testing.T) {
	const password, apiKey = "pa55-word-never-shown", "a2V5LW5ldmVyLXNob3du"
	f := newFakeKibana(t)
	var errs []error
	for _, cfg := range []Config{{Username: "elastic", Password: password}, {APIKey: apiKey}} {
		cfg.URL = f.URL
		c, _ := newTestClient(t, cfg)
		f.fail(fakeFailure{status: http.StatusUnauthorized, message: "unable to authenticate"})
		_, err := c.Export(context.Background(), ExportRequest{})
		errs = append(errs, err)
		_, err = c.Export(context.Background(), ExportRequest{Types: []string{"bogus"}})
		errs = append(errs, err)
		f.fail(fakeFailure{status: http.StatusForbidden, message: "forbidden"})
		_, err = c.Status(context.Background())
		errs = append(errs, err)
	}
	cfg := Config{URL: "http://127.0.0.1:1", APIKey: apiKey, MaxAttempts: 1, Timeout: time.Second}
	c, _ := newTestClient(t, cfg)
	_, err := c.Export(context.Background(), ExportRequest{})
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d returned no error", i)
		}
		for _, secret := range []string{password, apiKey} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %d shows a credential: %q", i, err)
			}
		}
	}
	if !slices.ContainsFunc(errs, func(err error) bool { return httpx.StatusOf(err) == 0 }) {
		t.Error("no transport error was checked")
	}
}
