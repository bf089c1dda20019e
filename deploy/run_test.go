package deploy

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/internal/recording"
)

// standInLoki is a test server written for these tests. Its status,
// build info and config responses are recorded from Loki 3.7.6; pushes are
// decoded and kept, and query_range returns them in the shape of the
// recorded query_range_streams response.
type standInLoki struct {
	mu    sync.Mutex
	lines []string
	// dropPushes accepts pushes without keeping them, as a Loki whose
	// ingesters lose data would.
	dropPushes bool
}

func (s *standInLoki) handler(t *testing.T, config string) http.Handler {
	ready := recording.MustLoad(t, "loki-3.7.6", "status_ready")
	build := recording.MustLoad(t, "loki-3.7.6", "status_buildinfo")
	cfg := recording.MustLoad(t, "loki-3.7.6", config)
	pushed := recording.MustLoad(t, "loki-3.7.6", "push_protobuf_snappy_ok")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { ready.Response.Write(w) })
	mux.HandleFunc("GET /loki/api/v1/status/buildinfo", func(w http.ResponseWriter, _ *http.Request) { build.Response.Write(w) })
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) { cfg.Response.Write(w) })
	mux.HandleFunc("POST /loki/api/v1/push", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		var req push.PushRequest
		if err == nil {
			err = proto.Unmarshal(raw, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		if !s.dropPushes {
			for _, st := range req.Streams {
				for _, e := range st.Entries {
					s.lines = append(s.lines, e.Line)
				}
			}
		}
		s.mu.Unlock()
		pushed.Response.Write(w)
	})
	mux.HandleFunc("GET /loki/api/v1/query_range", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		values := make([][2]string, 0, len(s.lines))
		for _, l := range s.lines {
			values = append(values, [2]string{fmt.Sprint(time.Now().UnixNano()), l})
		}
		s.mu.Unlock()
		body, _ := json.Marshal(map[string]any{
			"status": "success",
			"data": map[string]any{
				"resultType": "streams",
				"result":     []any{map[string]any{"stream": map[string]string{"migrate_canary": "test"}, "values": values}},
				"stats":      map[string]any{},
			},
		})
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(body)
	})
	return mux
}

// standInTempo is a test server written for these tests. Its status,
// build info and config responses are recorded from Tempo 3.0.3; OTLP pushes
// are decoded and kept, and /api/v2/traces responds in the recorded v2
// shape, with base64 ids as Tempo writes them.
type standInTempo struct {
	mu     sync.Mutex
	traces map[string]ptrace.Traces
	// keepSpans, when positive, keeps only that many spans of a trace, as
	// Tempo does for a trace over max_bytes_per_trace.
	keepSpans int
}

func (s *standInTempo) handler(t *testing.T) http.Handler {
	ready := recording.MustLoad(t, "tempo-3.0.3", "status_ready")
	build := recording.MustLoad(t, "tempo-3.0.3", "status_buildinfo")
	cfg := recording.MustLoad(t, "tempo-3.0.3", "status_config_yaml")
	s.traces = map[string]ptrace.Traces{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { ready.Response.Write(w) })
	mux.HandleFunc("GET /api/status/buildinfo", func(w http.ResponseWriter, _ *http.Request) { build.Response.Write(w) })
	mux.HandleFunc("GET /status/config", func(w http.ResponseWriter, _ *http.Request) { cfg.Response.Write(w) })
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		td := req.Traces()
		if s.keepSpans > 0 {
			kept := 0
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(ptrace.Span) bool {
				kept++
				return kept > s.keepSpans
			})
		}
		id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
		s.mu.Lock()
		s.traces[hex.EncodeToString(id[:])] = td
		s.mu.Unlock()
		resp, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	})
	mux.HandleFunc("GET /api/v2/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		td, ok := s.traces[r.PathValue("id")]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			_, _ = w.Write([]byte(`{"trace":{},"metrics":{}}`))
			return
		}
		otlp, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		_, _ = fmt.Fprintf(w, `{"trace":%s,"metrics":{}}`, base64IDs(t, otlp))
	})
	return mux
}

// base64IDs rewrites OTLP JSON's hex ids as base64, as Tempo writes them.
func base64IDs(t *testing.T, otlp []byte) []byte {
	var doc any
	if err := json.Unmarshal(otlp, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") && s != "" {
					raw, _ := hex.DecodeString(s)
					x[k] = base64.StdEncoding.EncodeToString(raw)
					continue
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	out, _ := json.Marshal(doc)
	return out
}

type tempoPusher struct{ *tempo.Client }

func (p tempoPusher) Push(ctx context.Context, td ptrace.Traces) (tempo.PushResult, error) {
	return p.PushHTTP(ctx, td)
}

func liveTargets(t *testing.T, lokiSrv, tempoSrv *httptest.Server) Targets {
	t.Helper()
	lc, err := loki.New(loki.Config{URL: lokiSrv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tempo.New(tempo.Config{URL: tempoSrv.URL, OTLPHTTP: tempoSrv.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	return Targets{
		Loki: lc, LokiLimits: lc.Limits,
		Tempo: tempoPusher{tc}, TempoLimits: tc.Limits,
	}
}

func TestRunAgainstRecordedTargets(t *testing.T) {
	lokiStandIn := &standInLoki{}
	lokiSrv := httptest.NewServer(lokiStandIn.handler(t, "status_config_yaml"))
	defer lokiSrv.Close()
	tempoStandIn := &standInTempo{}
	tempoSrv := httptest.NewServer(tempoStandIn.handler(t))
	defer tempoSrv.Close()

	opts := Options{
		Inputs:  Inputs{Plan: testPlan(t), BackfillFrom: time.Now().Add(-24 * time.Hour), Now: time.Now()},
		Timeout: 2 * time.Second, Canary: true, CanaryWait: 2 * time.Second, Poll: 10 * time.Millisecond,
	}
	res := Run(t.Context(), liveTargets(t, lokiSrv, tempoSrv), opts)
	if res.Status() == Fail || res.Status() == Inconclusive {
		t.Fatalf("status %s:\n%s", res.Status(), res.Summary())
	}
	for _, name := range []string{"ready", "version", "canary", "out_of_order_window", "max_label_names_per_series"} {
		if c := find(t, res, "loki", name); c.Status == Fail || c.Status == Inconclusive {
			t.Errorf("loki %s: %+v", name, c)
		}
	}
	if c := find(t, res, "loki", "version"); !strings.Contains(c.Detail, "3.7.6") {
		t.Errorf("loki version: %+v", c)
	}
	if c := find(t, res, "tempo", "canary"); c.Status != Pass {
		t.Errorf("tempo canary: %+v", c)
	}
	if c := find(t, res, "tempo", "version"); !strings.Contains(c.Detail, "3.0.3") {
		t.Errorf("tempo version: %+v", c)
	}
	if len(lokiStandIn.lines) != 1 || len(tempoStandIn.traces) != 1 {
		t.Errorf("canaries written: %d lines, %d traces", len(lokiStandIn.lines), len(tempoStandIn.traces))
	}
}

func TestCanaryLossFails(t *testing.T) {
	lokiSrv := httptest.NewServer((&standInLoki{dropPushes: true}).handler(t, "status_config_yaml"))
	defer lokiSrv.Close()
	tempoSrv := httptest.NewServer((&standInTempo{keepSpans: 1}).handler(t))
	defer tempoSrv.Close()
	opts := Options{
		Inputs:  Inputs{Plan: testPlan(t), Now: time.Now()},
		Timeout: time.Second, Canary: true, CanaryWait: 100 * time.Millisecond, Poll: 10 * time.Millisecond,
	}
	res := Run(t.Context(), liveTargets(t, lokiSrv, tempoSrv), opts)
	if c := find(t, res, "loki", "canary"); c.Status != Fail || !strings.Contains(c.Detail, "did not return it") {
		t.Errorf("a Loki that drops the line: %+v", c)
	}
	if c := find(t, res, "tempo", "canary"); c.Status != Fail || !strings.Contains(c.Detail, "all 2 spans") {
		t.Errorf("a Tempo that drops a span: %+v", c)
	}
	if res.Status() != Fail {
		t.Errorf("status %s, want fail", res.Status())
	}
}

func TestUnreachableTargetsInconclusive(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	lc, _ := loki.New(loki.Config{URL: srv.URL, Timeout: 200 * time.Millisecond, MaxAttempts: 1})
	res := Run(t.Context(), Targets{Loki: lc, LokiLimits: lc.Limits}, Options{Inputs: Inputs{Plan: testPlan(t)}, Timeout: time.Second})
	if res.Status() != Inconclusive {
		t.Errorf("status %s, want inconclusive:\n%s", res.Status(), res.Summary())
	}
}

func TestMajorVersion(t *testing.T) {
	tests := map[string]int{"3.7.6": 3, "v2.9.1": 2, "10.4.0-pre": 10, "main-abc": 0, "": 0}
	for in, want := range tests {
		if got := majorVersion(in); got != want {
			t.Errorf("majorVersion(%q) = %d, want %d", in, got, want)
		}
	}
}

type refusingLoki struct{ Loki }

func (refusingLoki) Ready(context.Context) error {
	return &httpx.StatusError{System: "loki", Method: "GET", URL: "http://127.0.0.1:3100/ready", Status: http.StatusUnauthorized, Body: "no org id"}
}

type failingGrafana struct{}

func (failingGrafana) Version(context.Context) (string, error) {
	return "11.2.0", errors.New(`grafana 11.2.0 reports its database as "failing", not ok`)
}

func TestRefusedTargetsFail(t *testing.T) {
	res := Run(t.Context(), Targets{Loki: refusingLoki{}, Grafana: failingGrafana{}}, Options{Inputs: Inputs{Plan: testPlan(t)}})
	c := find(t, res, "loki", "ready")
	if c.Status != Fail || !strings.Contains(c.Detail, "check targets.loki.token") {
		t.Errorf("a 401 from /ready: %+v, want fail naming targets.loki.token", c)
	}
	if c := find(t, res, "grafana", "version"); c.Status != Fail {
		t.Errorf("a failing Grafana database: %+v, want fail", c)
	}
}
