package kibana

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obs-migrate/migrate/internal/recording"
)

// fakeKibana is a test server whose responses follow the Kibana 8.x REST API
// reference pages "Export saved objects" (POST /api/saved_objects/_export,
// and /s/{space_id}/api/saved_objects/_export outside the default space)
// and "Get Kibana's status" (GET /api/status). Errors use Kibana's JSON
// envelope {statusCode, error, message}.
type fakeKibana struct {
	*httptest.Server
	t *testing.T

	mu sync.Mutex
	// basePath is stripped from request paths, as a proxy or Kibana's
	// server.basePath setting does.
	basePath string
	// export is the NDJSON every successful export returns.
	export []byte
	// exportable are the types the fake registers as exportable.
	exportable map[string]bool
	// spaces are the space IDs besides "default".
	spaces map[string]bool
	// status is the response body of GET /api/status.
	status     []byte
	statusCode int
	// failures are sent first, one per request, before normal routing.
	failures []fakeFailure
	requests []fakeRequest
}

type fakeFailure struct {
	status     int
	retryAfter string
	message    string
}

type fakeRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// recordedExport returns the NDJSON body of the Kibana export recording.
func recordedExport(t testing.TB) []byte {
	t.Helper()
	ex := recording.MustLoad(t, "elasticsearch-8", "kibana_saved_objects_export__dashboard_deep")
	if ex.Response == nil || len(ex.Response.Body) == 0 {
		t.Fatal("the Kibana export recording has no response body")
	}
	return ex.Response.Body
}

func newFakeKibana(t *testing.T) *fakeKibana {
	t.Helper()
	f := &fakeKibana{
		t:          t,
		export:     recordedExport(t),
		exportable: map[string]bool{},
		spaces:     map[string]bool{"marketing": true},
		statusCode: http.StatusOK,
		status:     []byte(`{"name":"kb1","uuid":"5b2de169-2785-441b-ae8c-186a1936b17d","version":{"number":"8.14.3","build_hash":"0000000000000000000000000000000000000000","build_number":74000,"build_snapshot":false,"build_flavor":"traditional"},"status":{"overall":{"level":"available","summary":"All services and plugins are available"},"core":{},"plugins":{}},"metrics":{}}`),
	}
	for _, typ := range append([]string{"query", "config", "canvas-workpad"}, DefaultTypes...) {
		f.exportable[typ] = true
	}
	delete(f.exportable, "config") // Kibana 8.x registers config as not exportable
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeKibana) fail(failures ...fakeFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, failures...)
}

func (f *fakeKibana) seen() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

func writeEnvelope(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]any{"statusCode": status, "error": http.StatusText(status), "message": message})
	_, _ = w.Write(body)
}

func (f *fakeKibana) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	basePath := f.basePath
	var failure *fakeFailure
	if len(f.failures) > 0 {
		failure = &f.failures[0]
		f.failures = f.failures[1:]
	}
	f.mu.Unlock()
	if failure != nil {
		if failure.retryAfter != "" {
			w.Header().Set("Retry-After", failure.retryAfter)
		}
		writeEnvelope(w, failure.status, failure.message)
		return
	}

	path, ok := strings.CutPrefix(r.URL.Path, basePath)
	if !ok {
		writeEnvelope(w, http.StatusNotFound, "Not Found")
		return
	}
	if rest, ok := strings.CutPrefix(path, "/s/"); ok {
		space, tail, _ := strings.Cut(rest, "/")
		if !f.spaces[space] {
			writeEnvelope(w, http.StatusNotFound, "Not Found")
			return
		}
		path = "/" + tail
	}
	switch {
	case r.Method == http.MethodGet && path == "/api/status":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(f.statusCode)
		_, _ = w.Write(f.status)
	case r.Method == http.MethodPost && path == "/api/saved_objects/_export":
		f.serveExport(w, r, body)
	default:
		writeEnvelope(w, http.StatusNotFound, "Not Found")
	}
}

func (f *fakeKibana) serveExport(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get("kbn-xsrf") == "" {
		writeEnvelope(w, http.StatusBadRequest, "Request must contain a kbn-xsrf header.")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeEnvelope(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}

	var req struct {
		Type    json.RawMessage `json:"type"`
		Objects []ObjectRef     `json:"objects"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeEnvelope(w, http.StatusBadRequest, "[request body]: "+err.Error())
		return
	}
	var types []string
	if len(req.Type) > 0 {
		var one string
		if json.Unmarshal(req.Type, &one) == nil {
			types = []string{one}
		} else if err := json.Unmarshal(req.Type, &types); err != nil {
			writeEnvelope(w, http.StatusBadRequest, "[request body.type]: expected a string or an array of strings")
			return
		}
	}

	switch {
	case len(types) > 0 && len(req.Objects) > 0:
		writeEnvelope(w, http.StatusBadRequest, `Can't specify both "types" and "objects" properties when exporting`)
		return
	case len(types) == 0 && len(req.Objects) == 0:
		writeEnvelope(w, http.StatusBadRequest, "Either `type` or `objects` are required.")
		return
	}
	var rejected []string
	for _, typ := range types {
		if !f.exportable[typ] {
			rejected = append(rejected, typ)
		}
	}
	if len(rejected) > 0 {
		writeEnvelope(w, http.StatusBadRequest, "Trying to export non-exportable type(s): "+strings.Join(rejected, ", "))
		return
	}

	f.mu.Lock()
	export := f.export
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="export.ndjson"`)
	_, _ = w.Write(export)
}

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
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c, sleeper
}

// splitLines returns the non-blank lines of an NDJSON text, trimmed.
func splitLines(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
