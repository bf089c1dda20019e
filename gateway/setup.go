package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// setupPrefixes are the paths of the calls log shippers make besides
// ingesting: Filebeat, Logstash, Fluent Bit and Vector check the version
// (GET /, HEAD /), the license and features, and install index templates,
// ILM policies and ingest pipelines at start-up. In dual mode they are
// forwarded to Elasticsearch; in the other modes the gateway answers them.
var setupPrefixes = []string{
	"/_license", "/_xpack", "/_index_template", "/_template", "/_component_template",
	"/_ilm/", "/_ingest/pipeline", "/_nodes", "/_cluster/", "/_data_stream",
	"/_security/_authenticate", "/_cat/", "/_alias",
}

// isSetupCall reports whether the gateway serves a request outside the
// ingest APIs. Other requests, and every DELETE, are rejected: the gateway
// holds the plan's Elasticsearch credentials and must not become a general
// proxy for them.
func isSetupCall(method, path string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost:
	default:
		return false
	}
	if path == "/" {
		return method == http.MethodGet || method == http.MethodHead
	}
	for _, p := range setupPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// setupBodyLimit bounds the body of a set-up call; an index template is a
// few tens of kilobytes.
const setupBodyLimit = 16 << 20

func (g *Gateway) handleSetup(w http.ResponseWriter, r *http.Request) {
	rec, done := g.track(w, "setup")
	defer done()
	if !isSetupCall(r.Method, r.URL.Path) {
		writeESError(rec, &esError{
			status: http.StatusBadRequest, typ: "illegal_argument_exception",
			reason: fmt.Sprintf("the migrate gateway does not serve %s %s: it takes _bulk, _doc and _create requests and the start-up calls of log shippers", r.Method, r.URL.Path),
		})
		return
	}
	if g.Mode() != ModeDual {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, setupBodyLimit))
		writeSynthesized(rec, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, setupBodyLimit+1))
	if err != nil || len(body) > setupBodyLimit {
		writeESError(rec, &esError{status: http.StatusBadRequest, typ: "parse_exception", reason: fmt.Sprintf("reading the request body failed or it is over %d bytes", setupBodyLimit)})
		return
	}
	if len(body) == 0 {
		body = nil
	}
	resp, ferr := g.forward(r.Context(), r, body, r.URL.Query())
	if ferr != nil {
		writeESError(rec, forwardError(ferr))
		return
	}
	writeForwarded(rec, r, resp)
}

// gatewayVersion is the Elasticsearch version the gateway reports when
// Elasticsearch is no longer the primary. Beats 8.x compare it with their
// own version, so it is the last 8.x minor.
const gatewayVersion = "8.19.0"

// infoBody has the fields of GET / on Elasticsearch 8.17.0
// (info__8_17_0_recorded in the recordings).
var infoBody = `{"name":"migrate-gateway","cluster_name":"migrate-gateway","cluster_uuid":"migrate-gateway",` +
	`"version":{"number":"` + gatewayVersion + `","build_flavor":"default","build_type":"docker",` +
	`"build_hash":"0000000000000000000000000000000000000000","build_date":"2025-01-01T00:00:00.000000000Z",` +
	`"build_snapshot":false,"lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0",` +
	`"minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}`

// writeSynthesized answers a set-up call with a minimal body of the shape
// Elasticsearch 8.x returns: the cluster info for GET /, an active license,
// {} for templates, policies and pipelines (so a shipper finds them
// installed), and acknowledged:true for every PUT and POST.
func writeSynthesized(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Elastic-Product", "Elasticsearch")
	h.Set("Content-Type", "application/json")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	body := "{}"
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPut || r.Method == http.MethodPost:
		body = `{"acknowledged":true}`
	case path == "/":
		body = infoBody
	case strings.HasPrefix(path, "/_license"):
		body = `{"license":{"status":"active","uid":"migrate-gateway","type":"basic","issue_date_in_millis":0,"max_nodes":1000,"max_resource_units":null,"issued_to":"migrate-gateway","issuer":"elasticsearch","start_date_in_millis":-1}}`
	case strings.HasPrefix(path, "/_xpack"):
		body = `{"build":{"hash":"0000000000000000000000000000000000000000","date":"2025-01-01T00:00:00.000000000Z"},` +
			`"license":{"uid":"migrate-gateway","type":"basic","mode":"basic","status":"active"},` +
			`"features":{"ilm":{"available":true,"enabled":true},"security":{"available":true,"enabled":false}}}`
	case strings.HasPrefix(path, "/_nodes"):
		body = `{"_nodes":{"total":1,"successful":1,"failed":0},"cluster_name":"migrate-gateway","nodes":{}}`
	case path == "/_cluster/health" || strings.HasPrefix(path, "/_cluster/health/"):
		body = `{"cluster_name":"migrate-gateway","status":"green","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,` +
			`"active_primary_shards":0,"active_shards":0,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":0,` +
			`"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,` +
			`"active_shards_percent_as_number":100.0}`
	case strings.HasPrefix(path, "/_data_stream"):
		body = `{"data_streams":[]}`
	case strings.HasPrefix(path, "/_security/_authenticate"):
		body = `{"username":"migrate-gateway","roles":[],"full_name":null,"email":null,"metadata":{},"enabled":true,` +
			`"authentication_realm":{"name":"migrate-gateway","type":"native"},"lookup_realm":{"name":"migrate-gateway","type":"native"},"authentication_type":"realm"}`
	case strings.HasPrefix(path, "/_cat/"):
		if r.URL.Query().Get("format") == "json" {
			body = `[]`
		} else {
			h.Set("Content-Type", "text/plain; charset=UTF-8")
			body = ""
		}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
}

// readyCache keeps probe results for a short time, so that frequent
// /readyz calls do not load the primaries.
type readyCache struct {
	mu      sync.Mutex
	results map[string]readyResult
}

type readyResult struct {
	err error
	at  time.Time
}

const readyCacheTTL = 2 * time.Second

func (c *readyCache) check(ctx context.Context, name string, probe Probe) error {
	c.mu.Lock()
	if r, ok := c.results[name]; ok && time.Since(r.at) < readyCacheTTL {
		c.mu.Unlock()
		return r.err
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := probe(ctx)
	c.mu.Lock()
	if c.results == nil {
		c.results = map[string]readyResult{}
	}
	c.results[name] = readyResult{err: err, at: time.Now()}
	c.mu.Unlock()
	return err
}

// handleReady returns 200 when the current mode's primaries pass their
// probes and the queues are open, else 503 with the reasons.
func (g *Gateway) handleReady(w http.ResponseWriter, r *http.Request) {
	primaries := []string{destLoki, destTempo}
	if g.Mode() == ModeDual {
		primaries = []string{destElasticsearch, destJaeger}
	}
	var problems []string
	for _, name := range primaries {
		probe := g.cfg.Probes[name]
		if probe == nil {
			continue
		}
		if err := g.ready.check(r.Context(), name, probe); err != nil {
			problems = append(problems, fmt.Sprintf("%s (primary) is not reachable: %v", name, err))
		}
	}
	if g.closed.Load() {
		problems = append(problems, "the queues are closed: the gateway is shutting down")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Join(problems, "\n")+"\n")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}
