package parity

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/internal/jaegertest"
	"github.com/obs-migrate/migrate/internal/recording"
	"github.com/obs-migrate/migrate/plans"
)

// tempoStandIn is a stand-in for Tempo 3.0.3, written for these tests. It
// is neither Tempo nor a recording: it keeps traces in memory and serves
// GET /api/v2/traces/{id} and GET /api/search for queries of the form
// { trace:id = "..." || ... }. Responses follow the recorded exchanges
// trace_by_id_v2_json (the v2 envelope, ids in base64, kinds and status
// codes as enum names), trace_by_id_v2_not_found_returns_200_empty and
// search_traceql_found (each trace shaped like the recorded one). A trace
// marked unsearchable is found by id only, as Tempo does for traces
// backfilled long after their time.
type tempoStandIn struct {
	*httptest.Server
	t testing.TB

	byID, notFound, search *recording.Response

	mu           sync.Mutex
	traces       map[string]ptrace.Traces
	unsearchable map[string]bool
}

func newTempoStandIn(t testing.TB) *tempoStandIn {
	t.Helper()
	load := func(name string) *recording.Response {
		return recording.MustLoad(t, "tempo-3.0.3", name).Response
	}
	s := &tempoStandIn{
		t:            t,
		byID:         load("trace_by_id_v2_json"),
		notFound:     load("trace_by_id_v2_not_found_returns_200_empty"),
		search:       load("search_traceql_found"),
		traces:       map[string]ptrace.Traces{},
		unsearchable: map[string]bool{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *tempoStandIn) client(t testing.TB) *tempo.Client {
	t.Helper()
	c, err := tempo.New(tempo.Config{URL: s.URL, Timeout: 5 * time.Second, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *tempoStandIn) store(td ptrace.Traces, searchable bool) {
	id, _ := traceIDOf(td)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.traces[id.String()] = td
	s.unsearchable[id.String()] = !searchable
}

var traceIDCondition = regexp.MustCompile(`trace:id = "([0-9a-f]{32})"`)

func (s *tempoStandIn) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v2/traces/"):
		td, ok := s.traces[strings.TrimPrefix(r.URL.Path, "/api/v2/traces/")]
		if !ok {
			s.notFound.Write(w)
			return
		}
		body, err := json.Marshal(map[string]any{"trace": tempoTraceJSON(s.t, td), "metrics": map[string]any{}})
		if err != nil {
			s.t.Fatal(err)
		}
		(&recording.Response{Status: s.byID.Status, Header: s.byID.Header.Clone(), Body: body}).Write(w)
	case r.URL.Path == "/api/search":
		var page map[string]any
		if err := json.Unmarshal(s.search.Body, &page); err != nil {
			s.t.Fatal(err)
		}
		recorded := page["traces"].([]any)[0].(map[string]any)
		traces := []any{}
		for _, m := range traceIDCondition.FindAllStringSubmatch(r.URL.Query().Get("q"), -1) {
			if _, ok := s.traces[m[1]]; ok && !s.unsearchable[m[1]] {
				tr := map[string]any{}
				for k, v := range recorded {
					tr[k] = v
				}
				tr["traceID"] = m[1]
				traces = append(traces, tr)
			}
		}
		page["traces"] = traces
		body, err := json.Marshal(page)
		if err != nil {
			s.t.Fatal(err)
		}
		(&recording.Response{Status: s.search.Status, Header: s.search.Header.Clone(), Body: body}).Write(w)
	default:
		http.Error(w, "stand-in: no handler for "+r.URL.Path, http.StatusNotImplemented)
	}
}

// tempoTraceJSON writes td as Tempo's by-id API does: OTLP JSON with ids
// in base64 and kinds and status codes as enum names.
func tempoTraceJSON(t testing.TB, td ptrace.Traces) map[string]any {
	data, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	kinds := []string{"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"}
	codes := []string{"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, val := range x {
				switch s := val.(type) {
				case string:
					if k == "traceId" || k == "spanId" || k == "parentSpanId" {
						raw, err := hex.DecodeString(s)
						if err != nil {
							t.Fatalf("id %q: %v", s, err)
						}
						x[k] = base64.StdEncoding.EncodeToString(raw)
					}
				case float64:
					if k == "kind" {
						x[k] = kinds[int(s)]
					}
				}
				if k == "status" {
					if st, ok := val.(map[string]any); ok {
						code, _ := st["code"].(float64)
						st["code"] = codes[int(code)]
					}
				}
				walk(val)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return v
}

// testSpan describes one span of a test trace.
type testSpan struct {
	id, parent byte
	service    string
	isError    bool
}

// makeTrace builds a trace whose spans start at start.
func makeTrace(traceByte byte, start time.Time, spans []testSpan) ptrace.Traces {
	td := ptrace.NewTraces()
	tid := pcommon.TraceID{0x7e, traceByte, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, traceByte}
	byService := map[string]ptrace.SpanSlice{}
	for i, sp := range spans {
		ss, ok := byService[sp.service]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", sp.service)
			ss = rs.ScopeSpans().AppendEmpty().Spans()
			byService[sp.service] = ss
		}
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{0x5b, traceByte, 0, 0, 0, 0, 0, sp.id})
		if sp.parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0x5b, traceByte, 0, 0, 0, 0, 0, sp.parent})
		}
		s.SetName("op")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i) * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(i+5) * time.Millisecond)))
		if sp.isError {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// withoutSpan returns a copy of td without the span whose last id byte is
// id.
func withoutSpan(td ptrace.Traces, id byte) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	for _, rs := range out.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID()[7] == id })
		}
	}
	return out
}

func traceCheckFor(t *testing.T, j *jaegertest.Jaeger, tp *tempoStandIn, services []string) Check {
	t.Helper()
	jc, err := jaeger.New(jaeger.Config{GRPC: j.QueryGRPC, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jc.Close() })
	p := testPlan(1)
	p.Traces = &plans.Traces{Services: services}
	r, rng, err := newRun(Options{
		Plan: p, Window: traceWindow,
		Sources: Sources{Jaeger: jc, Tempo: tp.client(t)},
		Rand:    rand.New(rand.NewPCG(3, 4)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r.traceCompleteness(t.Context(), rng)
}

// traceWindow covers the test traces, which start 10 minutes ago because
// Jaeger's memory storage serves recent spans.
var traceWindow = Window{
	From: time.Now().Add(-30 * time.Minute).Truncate(time.Second),
	To:   time.Now().Add(time.Minute).Truncate(time.Second),
}

// TestTraceCompleteness loads traces into a real Jaeger and compares them
// with a Tempo stand-in that holds them complete, with one span missing,
// or not at all.
func TestTraceCompleteness(t *testing.T) {
	j := jaegertest.Start(t)
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Microsecond)
	checkout := makeTrace(1, start, []testSpan{
		{1, 0, "frontend", false}, {2, 1, "frontend", false}, {3, 2, "payments", true},
	})
	health := makeTrace(2, start.Add(time.Second), []testSpan{{1, 0, "frontend", false}})
	backfilled := makeTrace(3, start.Add(2*time.Second), []testSpan{{1, 0, "payments", false}, {2, 1, "payments", false}})
	all := ptrace.NewTraces()
	for _, td := range []ptrace.Traces{checkout, health, backfilled} {
		for _, rs := range td.ResourceSpans().All() {
			rs.CopyTo(all.ResourceSpans().AppendEmpty())
		}
	}
	j.Load(t, all)

	t.Run("complete", func(t *testing.T) {
		tp := newTempoStandIn(t)
		tp.store(checkout, true)
		tp.store(health, true)
		tp.store(backfilled, false)
		c := traceCheckFor(t, j, tp, []string{"*"})
		if c.Verdict != Pass {
			t.Fatalf("verdict %s, want PASS; summary %q reason %q groups %+v", c.Verdict, c.Summary, c.Reason, c.Groups)
		}
		if !strings.Contains(c.Summary, "3 of 3 sampled Jaeger traces complete") {
			t.Errorf("summary %q, want 3 of 3 traces complete", c.Summary)
		}
		notes := strings.Join(groupNamed(t, c, "payments").Notes, " ")
		if !strings.Contains(notes, "Not found by search: 1 of") || !strings.Contains(notes, "not a loss") {
			t.Errorf("payments notes %q, want the backfilled trace reported as not found by search, not as a loss", notes)
		}
	})

	t.Run("one span missing", func(t *testing.T) {
		tp := newTempoStandIn(t)
		tp.store(withoutSpan(checkout, 3), true)
		tp.store(health, true)
		tp.store(backfilled, true)
		c := traceCheckFor(t, j, tp, []string{"*"})
		if c.Verdict != Fail {
			t.Fatalf("verdict %s, want FAIL; summary %q", c.Verdict, c.Summary)
		}
		m, _ := metricNamed(c, "traces_complete")
		if m.Pass || m.Value != 2.0/3 {
			t.Errorf("traces_complete %+v, want 2/3 and failing", m)
		}
		g := groupNamed(t, c, "frontend")
		missingSpan := pcommon.SpanID{0x5b, 1, 0, 0, 0, 0, 0, 3}.String()
		if len(g.Examples) != 1 || !strings.Contains(g.Examples[0], "1 spans missing in Tempo: "+missingSpan) {
			t.Errorf("frontend examples %q, want the checkout trace missing span %s", g.Examples, missingSpan)
		}
	})

	t.Run("status differs", func(t *testing.T) {
		tp := newTempoStandIn(t)
		tp.store(makeTrace(1, start, []testSpan{{1, 0, "frontend", false}, {2, 1, "frontend", false}, {3, 2, "payments", false}}), true)
		tp.store(health, true)
		tp.store(backfilled, true)
		c := traceCheckFor(t, j, tp, []string{"frontend", "payments"})
		if c.Verdict != Fail {
			t.Fatalf("verdict %s, want FAIL for a lost error status; summary %q", c.Verdict, c.Summary)
		}
		if ex := groupNamed(t, c, "frontend").Examples; len(ex) != 1 || !strings.Contains(ex[0], "status=error") {
			t.Errorf("examples %q, want the span whose error status was lost", ex)
		}
	})

	t.Run("trace not in tempo", func(t *testing.T) {
		tp := newTempoStandIn(t)
		tp.store(checkout, true)
		tp.store(health, true)
		c := traceCheckFor(t, j, tp, []string{"payments"})
		if c.Verdict != Fail {
			t.Fatalf("verdict %s, want FAIL; summary %q", c.Verdict, c.Summary)
		}
		if ex := groupNamed(t, c, "payments").Examples; len(ex) != 1 || !strings.Contains(ex[0], "not found in Tempo") {
			t.Errorf("examples %q, want the backfilled trace not found", ex)
		}
	})

	t.Run("unknown service", func(t *testing.T) {
		tp := newTempoStandIn(t)
		tp.store(checkout, true)
		tp.store(health, true)
		tp.store(backfilled, true)
		c := traceCheckFor(t, j, tp, []string{"frontend", "no-such-service"})
		if c.Verdict != Inconclusive {
			t.Fatalf("verdict %s, want INCONCLUSIVE for a service Jaeger does not list", c.Verdict)
		}
		if !strings.Contains(c.Reason, `"no-such-service"`) {
			t.Errorf("reason %q does not name the service", c.Reason)
		}
	})
}

func groupNamed(t testing.TB, c Check, name string) Group {
	t.Helper()
	i := slices.IndexFunc(c.Groups, func(g Group) bool { return g.Name == name })
	if i < 0 {
		t.Fatalf("no group %q in %+v", name, c.Groups)
	}
	return c.Groups[i]
}

func TestCompareTrace(t *testing.T) {
	old := map[string]spanInfo{
		"a": {service: "fe"},
		"b": {parent: "a", service: "fe"},
		"c": {parent: "b", service: "pay", isError: true},
	}
	tests := []struct {
		name                   string
		new                    map[string]spanInfo
		missing, extra, differ int
	}{
		{"same", old, 0, 0, 0},
		{"one missing", map[string]spanInfo{"a": old["a"], "b": old["b"]}, 1, 0, 0},
		{"extra span", map[string]spanInfo{"a": old["a"], "b": old["b"], "c": old["c"], "d": {}}, 0, 1, 0},
		{"other parent", map[string]spanInfo{"a": old["a"], "b": {parent: "x", service: "fe"}, "c": old["c"]}, 0, 0, 1},
		{"other service", map[string]spanInfo{"a": {service: "be"}, "b": old["b"], "c": old["c"]}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			missing, extra, differ := compareTrace(old, tt.new)
			if len(missing) != tt.missing || len(extra) != tt.extra || len(differ) != tt.differ {
				t.Errorf("missing %v extra %v differ %v, want %d, %d, %d", missing, extra, differ, tt.missing, tt.extra, tt.differ)
			}
		})
	}
}

func TestResolveServices(t *testing.T) {
	known := []string{"b", "a", "c"}
	tests := []struct {
		want              []string
		services, unknown []string
	}{
		{[]string{"*"}, []string{"a", "b", "c"}, nil},
		{[]string{"c", "a", "a"}, []string{"a", "c"}, nil},
		{[]string{"a", "z"}, []string{"a"}, []string{"z"}},
	}
	for _, tt := range tests {
		services, unknown := resolveServices(tt.want, known)
		if !slices.Equal(services, tt.services) || !slices.Equal(unknown, tt.unknown) {
			t.Errorf("resolveServices(%v) = %v, %v; want %v, %v", tt.want, services, unknown, tt.services, tt.unknown)
		}
	}
}
