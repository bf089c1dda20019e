// Package recording loads HTTP exchanges recorded from real servers (the
// files under testdata/recordings) and serves them to clients under test.
//
// Two file shapes exist. Loki, Tempo and Jaeger recordings store bodies as
// strings, or as {"base64": ...} for binary bodies. Elasticsearch examples
// store a parsed JSON body, with "body_raw" holding the exact text when the
// source had one and "body_is_text" marking NDJSON kept as a string.
package recording

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Exchange is one recorded request and its response.
type Exchange struct {
	// Name is the file name without folder and extension.
	Name     string
	Server   string
	Config   string
	Request  Request
	Response *Response
}

// Request is the recorded request. Query values are decoded; a repeated
// parameter has several values in the order sent.
type Request struct {
	Method string
	Path   string
	Query  map[string][]string
	Header http.Header
	Body   []byte
}

// Response is the recorded response, nil for a request-only example.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

type rawExchange struct {
	Server   string          `json:"server"`
	Config   string          `json:"config"`
	Request  rawMessage      `json:"request"`
	Response json.RawMessage `json:"response"`
}

type rawMessage struct {
	Method  string                     `json:"method"`
	Path    string                     `json:"path"`
	Query   map[string]json.RawMessage `json:"query"`
	Headers map[string]json.RawMessage `json:"headers"`
	Body    json.RawMessage            `json:"body"`
	BodyRaw *string                    `json:"body_raw"`
	Status  int                        `json:"status"`
}

// Dir returns the absolute path of testdata/recordings/NAME in this
// repository, for example Dir("loki-3.7.6").
func Dir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "recordings", name)
}

// Load reads one recording file.
func Load(path string) (*Exchange, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw rawExchange
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("recording %s: %w", path, err)
	}
	ex := &Exchange{
		Name:   strings.TrimSuffix(filepath.Base(path), ".json"),
		Server: raw.Server,
		Config: raw.Config,
	}
	ex.Request, err = decodeRequest(raw.Request)
	if err != nil {
		return nil, fmt.Errorf("recording %s: request: %w", path, err)
	}
	if len(raw.Response) > 0 && string(raw.Response) != "null" {
		var resp rawMessage
		if err := json.Unmarshal(raw.Response, &resp); err != nil {
			return nil, fmt.Errorf("recording %s: response: %w", path, err)
		}
		body, err := decodeBody(resp.Body, resp.BodyRaw)
		if err != nil {
			return nil, fmt.Errorf("recording %s: response body: %w", path, err)
		}
		ex.Response = &Response{Status: resp.Status, Header: header(resp.Headers), Body: body}
	}
	return ex, nil
}

// MustLoad loads testdata/recordings/DIR/NAME.json or fails the test.
func MustLoad(t testing.TB, dir, name string) *Exchange {
	t.Helper()
	ex, err := Load(filepath.Join(Dir(dir), name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func decodeRequest(m rawMessage) (Request, error) {
	req := Request{Method: m.Method, Path: m.Path, Query: map[string][]string{}, Header: header(m.Headers)}
	for key, raw := range m.Query {
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			req.Query[key] = []string{one}
			continue
		}
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			return req, fmt.Errorf("query %s: %w", key, err)
		}
		req.Query[key] = many
	}
	body, err := decodeBody(m.Body, m.BodyRaw)
	req.Body = body
	return req, err
}

// decodeBody returns a body's bytes: body_raw when present, a string as is,
// {"base64": ...} decoded, and any other JSON value as its compact text.
func decodeBody(raw json.RawMessage, bodyRaw *string) ([]byte, error) {
	if bodyRaw != nil {
		return []byte(*bodyRaw), nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []byte(s), nil
	}
	var b64 struct {
		Base64 *string `json:"base64"`
	}
	if err := json.Unmarshal(raw, &b64); err == nil && b64.Base64 != nil {
		return base64.StdEncoding.DecodeString(*b64.Base64)
	}
	return raw, nil
}

// header decodes recorded headers, whose values are a string or, for a
// header sent several times, a list of strings.
func header(m map[string]json.RawMessage) http.Header {
	h := http.Header{}
	for k, raw := range m {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			h.Add(k, one)
			continue
		}
		var many []string
		_ = json.Unmarshal(raw, &many)
		for _, v := range many {
			h.Add(k, v)
		}
	}
	return h
}

// Write sends the recorded response to w.
func (r *Response) Write(w http.ResponseWriter) {
	for k, vs := range r.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

// Server serves recorded responses. Each route matches a method and path;
// a route with several responses plays them in order and then repeats the
// last, so a test can script a 429 followed by a success.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	routes   map[string][]*Response
	requests []*http.Request
	bodies   [][]byte
}

// NewServer starts a loopback server and closes it when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{routes: map[string][]*Response{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Handle adds responses for method and path, played in order.
func (s *Server) Handle(method, path string, responses ...*Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := method + " " + path
	s.routes[key] = append(s.routes[key], responses...)
}

// Replay adds each exchange's response under its recorded method and path.
func (s *Server) Replay(exchanges ...*Exchange) {
	for _, ex := range exchanges {
		s.Handle(ex.Request.Method, ex.Request.Path, ex.Response)
	}
}

// Requests returns the requests served so far, with their bodies.
func (s *Server) Requests() ([]*http.Request, [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.requests...), append([][]byte(nil), s.bodies...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 0, 512)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, body)
	key := r.Method + " " + r.URL.Path
	queue := s.routes[key]
	var resp *Response
	if len(queue) > 0 {
		resp = queue[0]
		if len(queue) > 1 {
			s.routes[key] = queue[1:]
		}
	}
	s.mu.Unlock()
	if resp == nil {
		http.Error(w, "no recording for "+key+"; routes: "+strings.Join(s.keys(), ", "), http.StatusNotImplemented)
		return
	}
	resp.Write(w)
}

func (s *Server) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.routes))
	for k := range s.routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
