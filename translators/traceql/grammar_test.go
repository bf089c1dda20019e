package traceql_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// grammarWords are the keywords and intrinsics of Grafana's TraceQL grammar;
// tag keys made of them must still parse as attribute names.
var grammarWords = []string{
	"avg", "by", "client", "coalesce", "compare", "consumer", "count_over_time", "duration", "error",
	"event", "event:name", "false", "histogram_over_time", "instrumentation", "instrumentation:name",
	"internal", "kind", "link", "link:spanID", "max", "min", "most_recent", "name", "nil", "ok",
	"parent", "producer", "quantile_over_time", "rate", "resource", "rootName", "select", "server",
	"span", "span:id", "span:name", "status", "statusMessage", "sum", "topk", "bottomk", "trace",
	"trace:id", "traceDuration", "true", "unset", "unspecified", "with", "ms", "s", "h",
}

// awkwardTags are keys and values that test quoting.
var awkwardTags = []traceql.Tag{
	{"k k", "v"},
	{`a"b`, `x"y`},
	{`a\b`, `x\y`},
	{"1abc", "1"},
	{"-x", "-1"},
	{"a-b.c/d", "e"},
	{"é", "ü"},
	{"a:b", "c:d"},
	{"a{b}", "{}"},
	{"a=b", "=="},
	{"a|b&c", "||&&"},
	{"a b\tc", "tab\there"},
	{"line", "a\nb"},
	{"a\nb", "line break in the key"},
	{"cr", "a\rb"},
	{"$var", "$var"},
	{"${x}", "${x:csv}"},
	{"[[y]]", "[[y]]"},
	{"//c", "/*c*/"},
	{"k.", "v"},
	{".k", "v"},
	{"a..b", "v"},
	{"x", "`"},
	{"n", "-0"},
	{"f", "0.5"},
	{"big", "9223372036854775807"},
	{"small", "-9223372036854775808"},
	{"e", "1e5"},
}

// grammarQueries returns every query that the render cases and a sweep of
// awkward keys, values and options produce.
func grammarQueries(t *testing.T) []grammar.Query {
	t.Helper()
	var queries []grammar.Query
	add := func(id string, res traceql.Result) {
		if res.Query != "" {
			queries = append(queries, grammar.Query{ID: id, Lang: grammar.LangTraceQL, Text: res.Query})
		}
	}
	for _, tc := range renderCases {
		add(tc.name, tc.render(t))
	}

	tags := append([]traceql.Tag{}, awkwardTags...)
	for _, w := range grammarWords {
		tags = append(tags, traceql.Tag{Key: w, Value: w}, traceql.Tag{Key: w + ".x", Value: "1"})
	}
	optionSets := []traceql.Options{
		{},
		{Scope: traceql.ScopeSpan, Events: true},
		{Scope: traceql.ScopeResource, ErrorAttribute: true},
		{KeepVariables: true, OmitMostRecent: true},
	}
	for i, opts := range optionSets {
		for _, tag := range tags {
			s := traceql.Search{Service: tag.Value, Operation: tag.Key, Tags: []traceql.Tag{tag}, MinDuration: "1.5s"}
			add(fmt.Sprintf("options %d, tag %q=%q", i, tag.Key, tag.Value), traceql.Render(s, opts))
		}
	}
	return queries
}

func TestRenderedQueriesParseWithGrafanaGrammar(t *testing.T) {
	queries := grammarQueries(t)
	if len(queries) < 200 {
		t.Fatalf("only %d queries to check", len(queries))
	}
	grammartest.RequireValid(t, queries)
}

// TestRenderedQueriesParseWithEvaluator checks the same queries with the
// evaluator's stricter parser, which also rejects escapes other than \" and
// \\.
func TestRenderedQueriesParseWithEvaluator(t *testing.T) {
	for _, q := range grammarQueries(t) {
		if _, err := parseQuery(q.Text); err != nil {
			t.Errorf("%s: %v", q.ID, err)
		}
	}
}

// TestQuotedNamesRoundTrip checks that each awkward key and value comes back
// from the rendered query unchanged.
func TestQuotedNamesRoundTrip(t *testing.T) {
	for _, tag := range awkwardTags {
		s := traceql.Search{Service: "svc", Tags: []traceql.Tag{tag}}
		res := traceql.Render(s, traceql.Options{Scope: traceql.ScopeSpan, OmitMostRecent: true})
		q, err := parseQuery(res.Query)
		if err != nil {
			t.Errorf("tag %q=%q: %v", tag.Key, tag.Value, err)
			continue
		}
		probe := trace{resources: []resource{{
			attrs: attrs{"service.name": "svc"},
			spans: []span{{attrs: attrs{tag.Key: tag.Value}}},
		}}}
		if strings.Contains(tag.Value, "\r") && strings.Contains(tag.Value, "\n") {
			continue // cannot be written; reported as unrepresentable
		}
		if !q.matches(probe) {
			t.Errorf("tag %q=%q: %s does not match a span with that string attribute", tag.Key, tag.Value, res.Query)
		}
	}
}
