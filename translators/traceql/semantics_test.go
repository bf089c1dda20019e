package traceql_test

import (
	"testing"
	"time"

	"github.com/obs-migrate/migrate/translators/traceql"
)

// selects renders the search and reports which traces the query selects,
// by trace ID.
func selects(t *testing.T, search string, opts traceql.Options, traces ...trace) map[string]bool {
	t.Helper()
	s, err := traceql.ParseSearch(search)
	if err != nil {
		t.Fatalf("ParseSearch(%q): %v", search, err)
	}
	res := traceql.Render(s, opts)
	q, err := parseQuery(res.Query)
	if err != nil {
		t.Fatalf("rendered query of %q: %v", search, err)
	}
	got := map[string]bool{}
	for _, tr := range traces {
		got[tr.id] = q.matches(tr)
	}
	return got
}

func checkSelection(t *testing.T, what string, got, want map[string]bool) {
	t.Helper()
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s: no trace %s was evaluated", what, id)
		} else if g != w {
			t.Errorf("%s: selects %s = %t, want %t", what, id, g, w)
		}
	}
}

// jaegerSpanTrace builds a one-span Jaeger trace of service checkout.
func jaegerSpanTrace(id string, tags ...jaegerKV) jaegerTrace {
	return jaegerTrace{
		TraceID:   id,
		Processes: map[string]jaegerProcess{"p1": {ServiceName: "checkout"}},
		Spans: []jaegerSpan{{
			TraceID: id, SpanID: "1", OperationName: "GET /cart", StartTime: 1_000_000, Duration: 1000,
			Tags: tags, ProcessID: "p1",
		}},
	}
}

// TestErrorTagSemantics checks error=true on spans whose Jaeger error tag
// was a boolean or a string, after migration through the Jaeger
// translator, and on a span that reached Tempo over OTLP with an error
// attribute. Jaeger compares tag values as text, so its error=true search
// matches both the boolean and the string tag.
func TestErrorTagSemantics(t *testing.T) {
	boolTag := migrate(jaegerSpanTrace("b", jaegerKV{Key: "error", Type: "bool", Value: true}))
	stringTag := migrate(jaegerSpanTrace("s", jaegerKV{Key: "error", Type: "string", Value: "true"}))
	noError := migrate(jaegerSpanTrace("n", jaegerKV{Key: "http.method", Type: "string", Value: "GET"}))
	otlpAttr := trace{id: "o", resources: []resource{{
		attrs: attrs{"service.name": "checkout"},
		spans: []span{{name: "GET /cart", attrs: attrs{"error": true}}},
	}}}
	if boolTag.resources[0].spans[0].status != "error" || stringTag.resources[0].spans[0].status != "" {
		t.Fatalf("migrate: the boolean tag must become the error status and the string tag must not")
	}
	traces := []trace{boolTag, stringTag, noError, otlpAttr}
	b, str, n, o := boolTag.id, stringTag.id, noError.id, otlpAttr.id

	for _, search := range []string{
		"service=checkout&tag=error:true",        // API
		`service=checkout&tags={"error":"true"}`, // UI URL
		"service=checkout&tags=error=true",       // logfmt
		"service=checkout&tags=error",            // logfmt key alone
	} {
		// Default: exact for boolean error tags, the Jaeger clients' form.
		checkSelection(t, search, selects(t, search, traceql.Options{}, traces...),
			map[string]bool{b: true, str: false, n: false, o: false})
		// With error attributes: the string tag and the OTLP attribute too.
		checkSelection(t, search+" with ErrorAttribute",
			selects(t, search, traceql.Options{ErrorAttribute: true}, traces...),
			map[string]bool{b: true, str: true, n: false, o: true})
	}

	checkSelection(t, "error=false", selects(t, "service=checkout&tag=error:false", traceql.Options{}, traces...),
		map[string]bool{b: false, str: true, n: true, o: true})
}

// TestMinDurationIsSpanLevel checks that minDuration selects a trace by one
// slow span, not by the length of the trace.
func TestMinDurationIsSpanLevel(t *testing.T) {
	const ms = time.Millisecond
	oneSlowSpan := trace{id: "slow-span", resources: []resource{{
		attrs: attrs{"service.name": "api"},
		spans: []span{
			{name: "handler", start: 0, end: 1200 * ms},
			{name: "flush", start: 1400 * ms, end: 1500 * ms},
		},
	}}}
	longTraceShortSpans := trace{id: "long-trace", resources: []resource{{
		attrs: attrs{"service.name": "api"},
		spans: []span{
			{name: "a", start: 0, end: 900 * ms},
			{name: "b", start: 1000 * ms, end: 1900 * ms},
			{name: "c", start: 2100 * ms, end: 3000 * ms},
		},
	}}}
	exactlyOneSecond := trace{id: "boundary", resources: []resource{{
		attrs: attrs{"service.name": "api"},
		spans: []span{{name: "x", start: 0, end: 1000 * ms}},
	}}}
	if oneSlowSpan.duration() != 1500*ms || longTraceShortSpans.duration() != 3000*ms {
		t.Fatal("the traces do not last 1.5 s and 3 s")
	}
	traces := []trace{oneSlowSpan, longTraceShortSpans, exactlyOneSecond}

	checkSelection(t, "minDuration=1s", selects(t, "service=api&minDuration=1s", traceql.Options{}, traces...),
		map[string]bool{"slow-span": true, "long-trace": false, "boundary": true})
	checkSelection(t, "maxDuration=1s", selects(t, "service=api&maxDuration=1s", traceql.Options{}, traces...),
		map[string]bool{"slow-span": true, "long-trace": true, "boundary": true})
	checkSelection(t, "1.1s to 1.3s", selects(t, "service=api&minDuration=1.1s&maxDuration=1.3s", traceql.Options{}, traces...),
		map[string]bool{"slow-span": true, "long-trace": false, "boundary": false})

	// A trace-level rendering selects the wrong trace, which is why Render
	// never writes trace:duration.
	q, err := parseQuery(`{ resource.service.name = "api" && trace:duration >= 2s }`)
	if err != nil {
		t.Fatal(err)
	}
	if !q.matches(longTraceShortSpans) || q.matches(oneSlowSpan) {
		t.Error("the evaluator does not tell trace:duration from duration")
	}
}

// TestTagsOnOneSpan checks that all tags must hold on one span.
func TestTagsOnOneSpan(t *testing.T) {
	split := trace{id: "split", resources: []resource{{
		attrs: attrs{"service.name": "shop"},
		spans: []span{
			{name: "a", attrs: attrs{"http.method": "POST"}},
			{name: "b", attrs: attrs{"http.status_code": int64(500)}},
		},
	}}}
	together := trace{id: "together", resources: []resource{{
		attrs: attrs{"service.name": "shop"},
		spans: []span{
			{name: "a", attrs: attrs{"http.method": "POST", "http.status_code": int64(500)}},
			{name: "b"},
		},
	}}}
	otherService := trace{id: "other-service", resources: []resource{
		{attrs: attrs{"service.name": "shop"}, spans: []span{{name: "a"}}},
		{attrs: attrs{"service.name": "db"}, spans: []span{{name: "q", attrs: attrs{"http.method": "POST", "http.status_code": int64(500)}}}},
	}}
	search := "service=shop&tags=http.method=POST http.status_code=500"
	checkSelection(t, search, selects(t, search, traceql.Options{}, split, together, otherService),
		map[string]bool{"split": false, "together": true, "other-service": false})

	// Two spansets joined at the top level would select the split trace.
	q, err := parseQuery(`{ resource.service.name = "shop" && .http.method = "POST" } && { .http.status_code = 500 }`)
	if err != nil {
		t.Fatal(err)
	}
	if !q.matches(split) {
		t.Error("the evaluator does not join separate spansets")
	}
}

// TestTypedValues checks that a value matches attributes of the type that
// prints as it, as Jaeger's text comparison does, and no other.
func TestTypedValues(t *testing.T) {
	withAttr := func(id string, v any) trace {
		return trace{id: id, resources: []resource{{
			attrs: attrs{"service.name": "a"},
			spans: []span{{attrs: attrs{"code": v}}},
		}}}
	}
	traces := []trace{
		withAttr("int", int64(503)), withAttr("string", "503"), withAttr("padded", "0503"),
		withAttr("float", 1.5), withAttr("bool", true), withAttr("other-int", int64(504)),
	}
	cases := []struct {
		search string
		want   map[string]bool
	}{
		{"service=a&tag=code:503", map[string]bool{"int": true, "string": true, "padded": false, "other-int": false}},
		{"service=a&tag=code:0503", map[string]bool{"int": false, "string": false, "padded": true}},
		{"service=a&tag=code:1.5", map[string]bool{"float": true, "int": false}},
		{"service=a&tag=code:true", map[string]bool{"bool": true, "string": false}},
	}
	for _, tc := range cases {
		checkSelection(t, tc.search, selects(t, tc.search, traceql.Options{}, traces...), tc.want)
	}
}

// TestScopes checks where tags are looked up: unscoped covers span and
// process tags; event attributes only with Events.
func TestScopes(t *testing.T) {
	tr := trace{id: "t", resources: []resource{{
		attrs: attrs{"service.name": "a", "host.name": "web-1"},
		spans: []span{{
			attrs:  attrs{"http.method": "GET"},
			events: []event{{name: "exception", attrs: attrs{"exception.type": "Timeout"}}},
		}},
	}}}
	cases := []struct {
		search string
		opts   traceql.Options
		want   bool
	}{
		{"service=a&tags=host.name=web-1", traceql.Options{}, true},
		{"service=a&tags=http.method=GET", traceql.Options{}, true},
		{"service=a&tags=host.name=web-1", traceql.Options{Scope: traceql.ScopeSpan}, false},
		{"service=a&tags=http.method=GET", traceql.Options{Scope: traceql.ScopeResource}, false},
		{"service=a&tags=exception.type=Timeout", traceql.Options{}, false},
		{"service=a&tags=exception.type=Timeout", traceql.Options{Events: true}, true},
		{"service=a&tags=event=exception", traceql.Options{}, true},
		{"service=a&tags=http.method=PUT", traceql.Options{Events: true}, false},
	}
	for _, tc := range cases {
		checkSelection(t, tc.search, selects(t, tc.search, tc.opts, tr), map[string]bool{"t": tc.want})
	}
}

// TestEvaluatorRejects checks that the evaluator fails on text Render must
// not write.
func TestEvaluatorRejects(t *testing.T) {
	for _, text := range []string{
		`{ .a = "x\ny" }`, `{ .a = "x` + "\n" + `y" }`, `{ .a = "unterminated }`, `{ .a = }`,
		`{ .a = "b" `, `{ .a = "b" } trailing`, `{ .a ~ "b" }`, `{ trace:bogus = 1 }`,
	} {
		if _, err := parseQuery(text); err == nil {
			t.Errorf("parseQuery(%q) succeeded", text)
		}
	}
}
