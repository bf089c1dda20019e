package grammar_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/internal/grammar"
)

// checkAll runs Check and fails the test when the checker cannot run or
// returns the wrong number of results.
func checkAll(t *testing.T, queries []grammar.Query) []grammar.Result {
	t.Helper()
	results, err := grammar.Check(t.Context(), queries)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(results) != len(queries) {
		t.Fatalf("Check returned %d results for %d queries", len(results), len(queries))
	}
	return results
}

func describeErrors(spans []grammar.Span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString("\n  ")
		b.WriteString(s.Message)
		b.WriteString(": ")
		b.WriteString(s.Context)
	}
	return b.String()
}

type validCase struct {
	name  string
	query string
}

func checkValid(t *testing.T, lang string, cases []validCase) {
	t.Helper()
	queries := make([]grammar.Query, len(cases))
	for i, c := range cases {
		queries[i] = grammar.Query{ID: c.name, Lang: lang, Text: c.query}
	}
	results := checkAll(t, queries)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			if r.ID != c.name {
				t.Errorf("result ID = %q, want %q", r.ID, c.name)
			}
			if !r.OK {
				t.Errorf("query %s rejected:%s\ntree: %s", c.query, describeErrors(r.Errors), r.Tree)
			}
			if len(r.Errors) != 0 {
				t.Errorf("valid query has %d error spans", len(r.Errors))
			}
		})
	}
}

type invalidCase struct {
	name        string
	query       string
	wantFrom    int
	wantMessage string
}

func checkInvalid(t *testing.T, lang string, cases []invalidCase) {
	t.Helper()
	queries := make([]grammar.Query, len(cases))
	for i, c := range cases {
		queries[i] = grammar.Query{ID: c.name, Lang: lang, Text: c.query}
	}
	results := checkAll(t, queries)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			if r.OK {
				t.Fatalf("query %q accepted, want a parse error; tree: %s", c.query, r.Tree)
			}
			if len(r.Errors) == 0 {
				t.Fatalf("rejected query %q has no error span", c.query)
			}
			first := r.Errors[0]
			if first.From != c.wantFrom {
				t.Errorf("first error From = %d, want %d:%s", first.From, c.wantFrom, describeErrors(r.Errors))
			}
			if first.To < first.From || first.To > len(c.query) {
				t.Errorf("first error span [%d, %d] is outside the query of %d bytes",
					first.From, first.To, len(c.query))
			}
			if first.Message != c.wantMessage {
				t.Errorf("first error Message = %q, want %q", first.Message, c.wantMessage)
			}
			if first.Context == "" {
				t.Errorf("first error has no Context")
			}
		})
	}
}

var validLogQL = []validCase{
	{"stream selector", `{job="varlogs"}`},
	{"matcher operators", `{job="x", env!="prod", app=~"api|web", host!~"db-.*"}`},
	{"line filter backticks", "{job=\"x\"} |= `connection \"refused\"`"},
	{"line filters double quotes", `{job="x"} |= "error" != "timeout"`},
	{"line filter regex", `{a="b"} |~ "(?i)\\berror\\b"`},
	{"json parser", `{job="x"} | json`},
	{"logfmt parser", `{job="x"} | logfmt`},
	{
		"label filters and or parentheses",
		`{job="x"} | json | status="500" and (level="error" or level="warn")`,
	},
	{"numeric comparisons", `{job="x"} | logfmt | status >= 500 and latency_ms < 250.5`},
	{"duration and bytes comparisons", `{job="x"} | logfmt | duration > 10s or size >= 20KB`},
	{"error label filter", `{job="x"} | json | __error__=""`},
	{"unwrap label named bytes", `sum_over_time({job="x"} | json | unwrap bytes [5m])`},
	{"unwrap bytes conversion", `sum_over_time({job="x"} | logfmt | unwrap bytes(size) [5m])`},
	{
		"sum by count_over_time auto",
		`sum by (host) (count_over_time({job="x"} |= "a" [$__auto]))`,
	},
	{
		"quantile_over_time by",
		`quantile_over_time(0.95, {a="b"} | json | unwrap latency | __error__="" [$__interval]) by (host)`,
	},
	{"topk", `topk(10, sum by (x) (count_over_time({a="b"}[5m])))`},
	{"label_format line copy", `{a=~".+"} | label_format line_copy="{{ __line__ }}"`},
	{
		"label_replace back-reference",
		`label_replace(rate({a="b"}[5m]), "dst", "$1", "src", "(.*)")`,
	},
	{"variables in strings", `sum(rate({host="${host}", job="[[job]]"} |= "$search" [$__rate_interval]))`},
	{"valid escapes", `{a="b"} |= "tab\t quote\" hex\x41 unicode\u00e9 octal\101"`},
	{"multibyte text", `{app="café"} |= "naïve ☃"`},
}

func TestCheckValidLogQL(t *testing.T) {
	checkValid(t, grammar.LangLogQL, validLogQL)
}

func TestCheckInvalidLogQL(t *testing.T) {
	checkInvalid(t, grammar.LangLogQL, []invalidCase{
		{"unclosed selector", `{a="b"`, 6, "syntax error"},
		{"unclosed call", `sum(`, 4, "syntax error"},
		{"trailing pipe", `{a="b"} | json |`, 16, "syntax error"},
		{"line filter without string", `{a="b"} |= `, 11, "syntax error"},
		{"comparison without value", `{a="b"} | status >`, 18, "syntax error"},
		{"empty", ``, 0, "empty query"},
		{"blank", "  \n", 0, "empty query"},
		{"unwrap outside range aggregation", `{job="x"} | json | unwrap bytes`, 19, "syntax error"},
		{
			"invalid escape in line filter", `{a="b"} |= "\."`, 12,
			`invalid escape sequence \. in a double-quoted string`,
		},
		{
			"invalid escape in matcher", `{a="\d+"}`, 4,
			`invalid escape sequence \d in a double-quoted string`,
		},
		{
			"single quote escape", `{a="b"} |= "it\'s"`, 14,
			`invalid escape sequence \' in a double-quoted string`,
		},
		{
			"escape beyond max rune", `{a="b"} |= "\U00110000"`, 12,
			`invalid escape sequence \U in a double-quoted string`,
		},
		{"line break in double quotes", "{a=\"b\"} |= \"x\ny\"", 11, "syntax error"},
	})
}

var validTraceQL = []validCase{
	{
		"intrinsics and resource",
		`{ resource.service.name = "frontend" && name = "GET /" && duration >= 1s }`,
	},
	{"status", `{ status = error }`},
	{"number or string", `{ span.http.status_code = 500 || span.http.status_code = "500" }`},
	{"select", `{ .a = "b" } | select(span.c)`},
	{"with hint", `{ kind = client } with (most_recent=true)`},
	{"variables", `{ resource.service.name = "$service" && duration > $__interval }`},
}

func TestCheckValidTraceQL(t *testing.T) {
	checkValid(t, grammar.LangTraceQL, validTraceQL)
}

func TestCheckInvalidTraceQL(t *testing.T) {
	checkInvalid(t, grammar.LangTraceQL, []invalidCase{
		{"missing value", `{ a = }`, 2, "syntax error"},
		{"unclosed filter", `{ .a = "b"`, 10, "syntax error"},
		{"empty", ``, 0, "empty query"},
		{"invalid escape", `{ .a = "\." }`, 7, "syntax error"},
	})
}

// TestCheckStringEscapes pins which escape sequences each language accepts in
// double-quoted strings. Loki unquotes with Prometheus' rules, which accept a
// \u escape of a UTF-16 surrogate. The TraceQL grammar accepts only \" and \\.
func TestCheckStringEscapes(t *testing.T) {
	cases := []struct {
		name   string
		lang   string
		query  string
		wantOK bool
	}{
		{"logql go escapes", grammar.LangLogQL, `{a="b"} |= "\a\b\f\n\r\t\v\\\""`, true},
		{"logql surrogate", grammar.LangLogQL, `{a="b"} |= "\ud800"`, true},
		{"logql octal above 255", grammar.LangLogQL, `{a="b"} |= "\400"`, false},
		{"logql short hex", grammar.LangLogQL, `{a="b"} |= "\x4"`, false},
		{"logql raw tab", grammar.LangLogQL, "{a=\"x\ty\"}", true},
		{"logql backticks keep backslashes", grammar.LangLogQL, "{a=\"b\"} |= `\\.\\d`", true},
		{"logql line break in backticks", grammar.LangLogQL, "{a=\"b\"} |= `x\ny`", true},
		{"traceql quote and backslash", grammar.LangTraceQL, `{ .a = "x\"y\\z" }`, true},
		{"traceql newline escape", grammar.LangTraceQL, `{ .a = "x\ny" }`, false},
		{"traceql tab escape", grammar.LangTraceQL, `{ .a = "x\ty" }`, false},
		{"traceql unicode escape", grammar.LangTraceQL, `{ .a = "caf\u00e9" }`, false},
		{"traceql raw tab", grammar.LangTraceQL, "{ .a = \"x\ty\" }", true},
		{"traceql raw line break", grammar.LangTraceQL, "{ .a = \"x\ny\" }", false},
		{"traceql backticks", grammar.LangTraceQL, "{ .a =~ `x\\.y` }", true},
	}
	queries := make([]grammar.Query, len(cases))
	for i, c := range cases {
		queries[i] = grammar.Query{ID: c.name, Lang: c.lang, Text: c.query}
	}
	results := checkAll(t, queries)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			if r.OK != c.wantOK {
				t.Errorf("OK = %v, want %v for %q:%s", r.OK, c.wantOK, c.query, describeErrors(r.Errors))
			}
		})
	}
}

func TestCheckInterpolation(t *testing.T) {
	cases := []struct {
		name  string
		lang  string
		query string
		want  string
	}{
		{
			"auto", grammar.LangLogQL,
			`count_over_time({a="b"}[$__auto])`, `count_over_time({a="b"}[1m])`,
		},
		{
			"interval", grammar.LangLogQL,
			`rate({a="b"}[$__interval])`, `rate({a="b"}[1m])`,
		},
		{
			"rate interval", grammar.LangLogQL,
			`rate({a="b"}[$__rate_interval])`, `rate({a="b"}[1m])`,
		},
		{
			"range and range seconds", grammar.LangLogQL,
			`count_over_time({a="b"}[$__range]) / $__range_s`, `count_over_time({a="b"}[1h]) / 3600`,
		},
		{
			"milliseconds", grammar.LangLogQL,
			`count_over_time({a="b"}[1m]) * $__interval_ms / $__range_ms`,
			`count_over_time({a="b"}[1m]) * 60000 / 3600000`,
		},
		{
			"braced builtin", grammar.LangLogQL,
			`rate({a="b"}[${__interval}])`, `rate({a="b"}[1m])`,
		},
		{"braced variable", grammar.LangLogQL, `{host="${host}"}`, `{host="value"}`},
		{"braced variable with format", grammar.LangLogQL, `{host=~"${host:regex}"}`, `{host=~"value"}`},
		{"bare variable", grammar.LangLogQL, `{host="$host"}`, `{host="value"}`},
		{"bracket variable", grammar.LangLogQL, `{host="[[host]]"}`, `{host="value"}`},
		{"bracket variable with format", grammar.LangLogQL, `{host=~"[[host:pipe]]"}`, `{host=~"value"}`},
		{"variable in backticks", grammar.LangLogQL, "{a=\"b\"} |= `$search`", "{a=\"b\"} |= `value`"},
		{
			"traceql", grammar.LangTraceQL,
			`{ resource.service.name = "$service" && duration > $__interval }`,
			`{ resource.service.name = "value" && duration > 1m }`,
		},
	}
	queries := make([]grammar.Query, len(cases))
	for i, c := range cases {
		queries[i] = grammar.Query{ID: c.name, Lang: c.lang, Text: c.query}
	}
	results := checkAll(t, queries)

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			if r.Interpolated != c.want {
				t.Errorf("Interpolated = %q, want %q", r.Interpolated, c.want)
			}
			if !r.OK {
				t.Errorf("interpolated query rejected:%s", describeErrors(r.Errors))
			}
		})
	}
}

func TestCheckKeepsTextWithoutVariables(t *testing.T) {
	queries := []grammar.Query{
		{ID: "plain", Lang: grammar.LangLogQL, Text: `{a="b"} |= "$"`},
		{
			ID: "back-reference", Lang: grammar.LangLogQL,
			Text: `label_replace(rate({a="b"}[5m]), "dst", "$1", "src", "(.*)")`,
		},
	}
	for _, r := range checkAll(t, queries) {
		if r.Interpolated != "" {
			t.Errorf("%s: Interpolated = %q, want empty", r.ID, r.Interpolated)
		}
	}
}

func TestCheckOffsetsInInterpolatedText(t *testing.T) {
	queries := []grammar.Query{
		{ID: "variable", Lang: grammar.LangLogQL, Text: `{host="${host}"} | json |`},
		{ID: "multibyte", Lang: grammar.LangLogQL, Text: `{a="ü"} | json |`},
	}
	results := checkAll(t, queries)

	cases := []struct {
		result   grammar.Result
		wantFrom int
	}{
		// `{host="value"} | json |` is 23 bytes.
		{results[0], 23},
		// ü is two bytes in UTF-8.
		{results[1], 17},
	}
	for _, c := range cases {
		if len(c.result.Errors) != 1 {
			t.Errorf("%s: got %d errors, want 1:%s", c.result.ID, len(c.result.Errors),
				describeErrors(c.result.Errors))
			continue
		}
		if got := c.result.Errors[0].From; got != c.wantFrom {
			t.Errorf("%s: From = %d, want %d", c.result.ID, got, c.wantFrom)
		}
	}
}

func TestCheckMixedBatchOrder(t *testing.T) {
	queries := []grammar.Query{
		{ID: "t1", Lang: grammar.LangTraceQL, Text: `{ status = error }`},
		{ID: "l1", Lang: grammar.LangLogQL, Text: `{a="b"`},
		{ID: "l2", Lang: grammar.LangLogQL, Text: `{a="b"}`},
		{ID: "t2", Lang: grammar.LangTraceQL, Text: `{ a = }`},
	}
	wantOK := []bool{true, false, true, false}
	results := checkAll(t, queries)

	for i, r := range results {
		if r.ID != queries[i].ID {
			t.Errorf("result %d: ID = %q, want %q", i, r.ID, queries[i].ID)
		}
		if r.OK != wantOK[i] {
			t.Errorf("result %s: OK = %v, want %v", r.ID, r.OK, wantOK[i])
		}
	}
}

func TestCheckEmptyBatch(t *testing.T) {
	results := checkAll(t, nil)
	if len(results) != 0 {
		t.Errorf("got %d results, want none", len(results))
	}
}

func TestCheckUnknownLanguage(t *testing.T) {
	_, err := grammar.Check(t.Context(), []grammar.Query{{ID: "q", Lang: "promql", Text: "up"}})
	if err == nil {
		t.Fatal("Check accepted language promql")
	}
	if !strings.Contains(err.Error(), `unknown language "promql"`) {
		t.Errorf("error %q does not name the language", err)
	}
}

func TestCheckInvalidUTF8(t *testing.T) {
	_, err := grammar.Check(t.Context(), []grammar.Query{{ID: "q", Lang: grammar.LangLogQL, Text: "{a=\"\xff\"}"}})
	if err == nil {
		t.Fatal("Check accepted invalid UTF-8")
	}
	if !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("error %q does not say the text is invalid UTF-8", err)
	}
}

func TestCheckCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := grammar.Check(ctx, []grammar.Query{{ID: "q", Lang: grammar.LangLogQL, Text: `{a="b"}`}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a canceled context returned %v, want context.Canceled", err)
	}
}

// newRootWithoutModules creates a repository root that has the checker
// script but no node_modules.
func newRootWithoutModules(t *testing.T) string {
	t.Helper()
	realRoot, err := grammar.FindRoot()
	if err != nil {
		t.Fatalf("FindRoot: %v", err)
	}
	script, err := os.ReadFile(filepath.Join(realRoot, "tools", "grammar", "check.mjs"))
	if err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tools", "grammar"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "tools", "grammar", "check.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func assertInstallHint(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, grammar.ErrUnavailable) {
		t.Errorf("error %v does not wrap ErrUnavailable", err)
	}
	for _, hint := range []string{`"make test"`, `"npm ci --prefix tools/grammar"`} {
		if err != nil && !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %s", err, hint)
		}
	}
}

func TestCheckMissingModules(t *testing.T) {
	root := newRootWithoutModules(t)
	_, err := grammar.Checker{Root: root}.Check(t.Context(),
		[]grammar.Query{{ID: "q", Lang: grammar.LangLogQL, Text: `{a="b"}`}})
	assertInstallHint(t, err)
	if err != nil && !strings.Contains(err.Error(), "node_modules") {
		t.Errorf("error %q does not name the missing node_modules", err)
	}
}

func TestCheckMissingNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := grammar.Check(t.Context(), []grammar.Query{{ID: "q", Lang: grammar.LangLogQL, Text: `{a="b"}`}})
	assertInstallHint(t, err)
	if err != nil && !strings.Contains(err.Error(), "node") {
		t.Errorf("error %q does not name node", err)
	}
}

func TestFindRoot(t *testing.T) {
	root, err := grammar.FindRoot()
	if err != nil {
		t.Fatalf("FindRoot: %v", err)
	}
	for _, name := range []string{"go.mod", filepath.Join("tools", "grammar", "check.mjs")} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("root %s has no %s: %v", root, name, err)
		}
	}
}

// TestCheckPrefixes checks every prefix of every valid sample in one batch:
// most prefixes are invalid, cut inside strings, escapes, variables and
// multibyte characters, and every result must still be consistent.
func TestCheckPrefixes(t *testing.T) {
	var queries []grammar.Query
	addPrefixes := func(lang string, cases []validCase) {
		for _, c := range cases {
			for end := range len(c.query) {
				if utf8.RuneStart(c.query[end]) {
					id := fmt.Sprintf("%s/%s/%d", lang, c.name, end)
					queries = append(queries, grammar.Query{ID: id, Lang: lang, Text: c.query[:end]})
				}
			}
		}
	}
	addPrefixes(grammar.LangLogQL, validLogQL)
	addPrefixes(grammar.LangTraceQL, validTraceQL)
	results := checkAll(t, queries)

	for i, r := range results {
		if r.ID != queries[i].ID {
			t.Fatalf("result %d: ID = %q, want %q", i, r.ID, queries[i].ID)
		}
		checkResultInvariants(t, queries[i].Text, r)
	}
	// The first query is the empty prefix of the first sample.
	if results[0].OK {
		t.Errorf("empty prefix %q: OK = true, want false", queries[0].ID)
	}
}

func FuzzCheck(f *testing.F) {
	seeds := []string{
		`{job="x"} | json | status >= 500`,
		`sum by (host) (count_over_time({job="x"} |= "a" [$__auto]))`,
		`{a="${host:regex}"} |~ "(?i)\\berror\\b" | [[x]]`,
		`{ resource.service.name = "frontend" && duration >= 1s }`,
		`{a="ü"} |= "\u00e9\." | json |`,
		``,
	}
	for _, s := range seeds {
		f.Add(s, true)
		f.Add(s, false)
	}

	f.Fuzz(func(t *testing.T, text string, logql bool) {
		if !utf8.ValidString(text) {
			t.Skip("invalid UTF-8 is rejected before parsing")
		}
		lang := grammar.LangTraceQL
		if logql {
			lang = grammar.LangLogQL
		}
		results, err := grammar.Check(t.Context(), []grammar.Query{{ID: "fuzz", Lang: lang, Text: text}})
		if err != nil {
			t.Fatalf("Check(%q): %v", text, err)
		}
		if len(results) != 1 {
			t.Fatalf("Check(%q) returned %d results, want 1", text, len(results))
		}
		if results[0].ID != "fuzz" {
			t.Errorf("ID = %q, want fuzz", results[0].ID)
		}
		checkResultInvariants(t, text, results[0])
	})
}

func checkResultInvariants(t *testing.T, text string, r grammar.Result) {
	t.Helper()
	if r.OK != (len(r.Errors) == 0) {
		t.Errorf("%s: OK = %v with %d errors", r.ID, r.OK, len(r.Errors))
	}
	parsed := text
	if r.Interpolated != "" {
		parsed = r.Interpolated
	}
	for _, s := range r.Errors {
		if s.From < 0 || s.From > s.To || s.To > len(parsed) {
			t.Errorf("%s: span [%d, %d] outside the %d-byte query %q", r.ID, s.From, s.To, len(parsed), parsed)
		}
	}
}
