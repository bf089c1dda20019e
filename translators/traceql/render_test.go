package traceql_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// now is the clock of the render cases that resolve a lookback.
var now = time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)

type renderCase struct {
	name   string
	search string          // parsed with ParseSearch, unless built is set
	built  *traceql.Search // a search built by a caller, as a dashboard converter does
	opts   traceql.Options
	want   string // "" when unsupported
	level  fidelity.Level
	codes  []string           // every reason code, in order
	tempo  *traceql.Params    // checked when set
	rng    *traceql.TimeRange // checked when set
}

// noWindow are the reasons of a search on the API with no time window and
// no limit.
var noWindow = []string{"no_time_window", "limit"}

// attrCodes are the reasons of a search with one attribute tag.
func attrCodes(extra ...string) []string {
	return append(append([]string{}, extra...), "tag_scope", "log_fields", "no_time_window", "limit")
}

var renderCases = []renderCase{
	// One spanset: service, operation, tags and durations hold on one span.
	{
		name:   "service only",
		search: "service=frontend",
		want:   `{ resource.service.name = "frontend" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: noWindow,
		tempo: &traceql.Params{Limit: 100},
	},
	{
		name: "UI search with every field",
		search: "http://jaeger:16686/search?service=frontend&operation=GET%20%2Fdispatch" +
			"&tags=%7B%22error%22%3A%22true%22%7D&minDuration=1s&maxDuration=2s&limit=20&lookback=1h",
		opts: traceql.Options{Now: now},
		want: `{ resource.service.name = "frontend" && name = "GET /dispatch" && status = error` +
			` && duration >= 1s && duration <= 2s } with (most_recent=true)`,
		level: fidelity.Approximate,
		codes: []string{"error_string", "time_window", "limit", "duration_with_tags"},
		tempo: &traceql.Params{Start: now.Unix() - 3600, End: now.Unix(), Limit: 20},
		rng:   &traceql.TimeRange{Start: "now-1h", End: "now"},
	},
	{
		name:   "durations are span-level and inclusive, in one unit",
		search: "service=a&minDuration=1.2s&maxDuration=1h30m",
		want:   `{ resource.service.name = "a" && duration >= 1200ms && duration <= 90m } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: noWindow,
	},
	{
		name:   "small durations",
		search: "service=a&minDuration=1%C2%B5s&maxDuration=1500ns",
		want:   `{ resource.service.name = "a" && duration >= 1us && duration <= 1500ns } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: noWindow,
	},
	{
		name:   "a zero duration bounds nothing, as in Jaeger",
		search: "service=a&minDuration=0s",
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: noWindow,
	},

	// Tags and typed values.
	{
		name:   "integer value matches integer and string attributes",
		search: "service=a&tag=http.status_code:503",
		want:   `{ resource.service.name = "a" && (.http.status_code = 503 || .http.status_code = "503") } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes("typed_value"),
	},
	{
		name:   "negative integer, float and boolean values",
		search: "service=a&tags=t=-3 ratio=1.5 cached=true",
		want: `{ resource.service.name = "a" && (.t = -3 || .t = "-3") && (.ratio = 1.5 || .ratio = "1.5")` +
			` && (.cached = true || .cached = "true") } with (most_recent=true)`,
		level: fidelity.Approximate, codes: attrCodes("typed_value", "typed_value", "typed_value"),
	},
	{
		name:   "text that no typed value prints as stays a string",
		search: "service=a&tags=a=0503 b=1e3 c=2.50 d=True e=%2B1 f=99999999999999999999",
		want: `{ resource.service.name = "a" && .a = "0503" && .b = "1e3" && .c = "2.50" && .d = "True"` +
			` && .e = "+1" && .f = "99999999999999999999" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:   "repeated key uses the last value",
		search: "service=a&tag=k:1&tags=k=2",
		want:   `{ resource.service.name = "a" && (.k = 2 || .k = "2") } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes("duplicate_tag", "typed_value"),
	},
	{
		name:   "span scope",
		search: "service=a&tags=http.method=GET",
		opts:   traceql.Options{Scope: traceql.ScopeSpan},
		want:   `{ resource.service.name = "a" && span.http.method = "GET" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:   "resource scope",
		search: "service=a&tags=host.name=web-1",
		opts:   traceql.Options{Scope: traceql.ScopeResource},
		want:   `{ resource.service.name = "a" && resource.host.name = "web-1" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:   "events searched too",
		search: "service=a&tags=exception.type=TimeoutError code=7",
		opts:   traceql.Options{Events: true},
		want: `{ resource.service.name = "a" && (.exception.type = "TimeoutError" || event.exception.type = "TimeoutError")` +
			` && (.code = 7 || .code = "7" || event.code = 7 || event.code = "7") } with (most_recent=true)`,
		level: fidelity.Approximate,
		codes: []string{"typed_value", "tag_scope", "no_time_window", "limit"},
	},

	// error, span.kind and the other tags the Jaeger translator consumes.
	{
		name:   "error=true is the error status",
		search: "service=a&tag=error:true",
		want:   `{ resource.service.name = "a" && status = error } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"error_string", "no_time_window", "limit"},
	},
	{
		name:   "error=true with error attributes",
		search: "service=a&tags=error",
		opts:   traceql.Options{ErrorAttribute: true},
		want:   `{ resource.service.name = "a" && (status = error || .error = true || .error = "true") } with (most_recent=true)`,
		level:  fidelity.Approximate,
		codes:  []string{"error_attribute", "typed_value", "tag_scope", "log_fields", "no_time_window", "limit"},
	},
	{
		name:   "error=false",
		search: `service=a&tags={"error":"false"}`,
		want:   `{ resource.service.name = "a" && status != error } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"error_false", "no_time_window", "limit"},
	},
	{
		name:   "error with another value is an attribute, as Jaeger compares text",
		search: "service=a&tags=error=True",
		want:   `{ resource.service.name = "a" && .error = "True" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:   "span kinds",
		search: "service=a&tag=span.kind:client",
		want:   `{ resource.service.name = "a" && kind = client } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"translated_tag", "no_time_window", "limit"},
	},
	{
		name:  "other span kinds",
		built: &traceql.Search{Service: "a", Tags: []traceql.Tag{{"span.kind", "consumer"}}},
		want:  `{ resource.service.name = "a" && kind = consumer } with (most_recent=true)`,
		level: fidelity.Approximate, codes: []string{"translated_tag", "no_time_window", "limit"},
	},
	{
		name:   "an unknown span kind stays an attribute, quoted because span starts a scope",
		search: "service=a&tag=span.kind:CLIENT",
		want:   `{ resource.service.name = "a" && ."span.kind" = "CLIENT" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:   "OpenTelemetry status tags",
		search: `service=a&tags=otel.status_code=ERROR otel.status_description="upstream timeout"`,
		want: `{ resource.service.name = "a" && status = error && (statusMessage = "upstream timeout"` +
			` || .otel.status_description = "upstream timeout") } with (most_recent=true)`,
		level: fidelity.Approximate,
		codes: []string{"status_code_tag", "translated_tag", "tag_scope", "log_fields", "no_time_window", "limit"},
	},
	{
		name:   "scope, hostname, event and trace state tags",
		search: `service=a&tags=otel.scope.name=recorder hostname=web-1 event=exception w3c.tracestate=x`,
		want: `{ resource.service.name = "a" && (instrumentation:name = "recorder" || .otel.scope.name = "recorder")` +
			` && (.hostname = "web-1" || resource.host.name = "web-1")` +
			` && (event:name = "exception" || ."event" = "exception") } with (most_recent=true)`,
		level: fidelity.Approximate,
		codes: []string{"translated_tag", "hostname_tag", "translated_tag", "tracestate_tag", "tag_scope", "log_fields", "no_time_window", "limit"},
	},

	// Quoting.
	{
		name:   "keys that need quotes",
		search: `service=a&tags="k k"=1x "a\"b\\c"=v 1abc=v http.user-agent=curl resource.x=v with=v`,
		want: `{ resource.service.name = "a" && ."k k" = "1x" && ."a\"b\\c" = "v" && ."1abc" = "v"` +
			` && ."http.user-agent" = "curl" && ."resource.x" = "v" && ."with" = "v" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:   "values with quotes, backslashes and other characters",
		search: `service=a%22b&operation=C:%5Ctemp&tags=msg="say \"hi\" é✓	tab"`,
		want: `{ resource.service.name = "a\"b" && name = "C:\\temp" && .msg = "say \"hi\" é✓	tab" }` +
			` with (most_recent=true)`,
		level: fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:  "a value with a line break goes in backticks",
		built: &traceql.Search{Service: "a", Tags: []traceql.Tag{{"sql", "select 1\nfrom t"}}},
		want:  "{ resource.service.name = \"a\" && .sql = `select 1\nfrom t` } with (most_recent=true)",
		level: fidelity.Approximate, codes: attrCodes(),
	},
	{
		name:  "a value with a line break and a backtick cannot be written",
		built: &traceql.Search{Service: "a", Tags: []traceql.Tag{{"sql", "select `x`\nfrom t"}}},
		want:  `{ resource.service.name = "a" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: []string{"unrepresentable_value", "no_time_window", "limit"},
	},
	{
		name:  "nothing left",
		built: &traceql.Search{Service: "a\x00"},
		level: fidelity.Unsupported, codes: []string{"unrepresentable_value", "nothing_translatable"},
	},

	// Template variables.
	{
		name: "variables kept for dashboards",
		built: &traceql.Search{
			Service: "$service_name", Operation: "${operation}",
			Tags: []traceql.Tag{{"service.namespace", "$service_namespace"}, {"http.status_code", "$code"}},
		},
		opts: traceql.Options{KeepVariables: true},
		want: `{ resource.service.name = "$service_name" && name = "${operation}"` +
			` && .service.namespace = "$service_namespace" && .http.status_code = "$code" } with (most_recent=true)`,
		level: fidelity.Approximate,
		codes: []string{"variable_value", "variable_value", "tag_scope", "log_fields", "no_time_window", "limit"},
	},
	{
		name:  "variables in tags that may have become span fields",
		built: &traceql.Search{Service: "a", Tags: []traceql.Tag{{"otel.scope.name", "$scope"}, {"hostname", "${host}"}}},
		opts:  traceql.Options{KeepVariables: true},
		want: `{ resource.service.name = "a" && (instrumentation:name = "$scope" || .otel.scope.name = "$scope")` +
			` && (.hostname = "${host}" || resource.host.name = "${host}") } with (most_recent=true)`,
		level: fidelity.Approximate,
		codes: []string{"translated_tag", "hostname_tag", "tag_scope", "log_fields", "no_time_window", "limit"},
	},
	{
		name:  "a variable error value cannot become the status",
		built: &traceql.Search{Service: "a", Tags: []traceql.Tag{{"error", "$err"}}},
		opts:  traceql.Options{KeepVariables: true},
		want:  `{ resource.service.name = "a" && .error = "$err" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: attrCodes("variable_value"),
	},
	{
		name:   "a variable as the whole tags text cannot be translated",
		search: "service=a&tags=%24tags",
		opts:   traceql.Options{KeepVariables: true},
		level:  fidelity.Unsupported, codes: []string{"variable_tags"},
	},
	{
		name:   "a braced variable as the whole tags text cannot be translated",
		search: "service=a&tags=%24%7Btags%7D",
		opts:   traceql.Options{KeepVariables: true},
		level:  fidelity.Unsupported, codes: []string{"variable_tags"},
	},
	{
		name:   "a variable alone among other tags cannot be translated",
		search: "service=a&tags=error=true%20%5B%5Bextra%5D%5D",
		opts:   traceql.Options{KeepVariables: true},
		level:  fidelity.Unsupported, codes: []string{"error_string", "variable_tags"},
	},
	{
		name:   "a variable in a tag key drops that tag",
		search: "service=a&tags=%24k=v%20http.method=GET%20http.${part}=x",
		opts:   traceql.Options{KeepVariables: true},
		want:   `{ resource.service.name = "a" && .http.method = "GET" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes("variable_key", "variable_key"),
	},
	{
		name:   "without KeepVariables, a $ key is literal",
		search: "service=a&tags=%24tags",
		want:   `{ resource.service.name = "a" && (."$tags" = true || ."$tags" = "true") } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes("literal_dollar", "typed_value"),
	},
	{
		name:   "without KeepVariables, $ is literal",
		search: "service=%24svc&tags=k=%24v",
		want:   `{ resource.service.name = "$svc" && .k = "$v" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes("literal_dollar", "literal_dollar"),
	},

	// Window, limit and the other Tempo parameters.
	{
		name:   "start and end in microseconds become seconds that cover them",
		search: "/api/traces?service=a&start=1796396620606944&end=1796400280606944&limit=7",
		opts:   traceql.Options{SpansPerSpanSet: 5},
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"time_window", "limit"},
		tempo: &traceql.Params{Start: 1796396620, End: 1796400281, Limit: 7, SpansPerSpanSet: 5},
		rng:   &traceql.TimeRange{Start: "2026-12-04T15:03:40.606944Z", End: "2026-12-04T16:04:40.606944Z"},
	},
	{
		name:   "a UI lookback without a clock stays relative",
		search: "http://h/search?service=a&lookback=2d",
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"time_window", "limit"},
		tempo: &traceql.Params{Limit: 20},
		rng:   &traceql.TimeRange{Start: "now-2d", End: "now"},
	},
	{
		name: "start and end decide the window, not the UI lookback",
		search: "http://127.0.0.1:16686/search?end=1700003600000000&limit=20&lookback=2h&maxDuration&minDuration" +
			"&service=api&start=1700000000000000",
		opts:  traceql.Options{Now: now},
		want:  `{ resource.service.name = "api" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: []string{"ignored_lookback", "time_window", "limit"},
		tempo: &traceql.Params{Start: 1700000000, End: 1700003600, Limit: 20},
		rng:   &traceql.TimeRange{Start: "2023-11-14T22:13:20Z", End: "2023-11-14T23:13:20Z"},
	},
	{
		name:   "start alone runs to now, whatever the lookback",
		search: "service=a&start=1796396620606944&lookback=1h",
		opts:   traceql.Options{Now: now},
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"ignored_lookback", "time_window", "limit"},
		tempo: &traceql.Params{Start: 1796396620, End: now.Unix(), Limit: 100},
		rng:   &traceql.TimeRange{Start: "2026-12-04T15:03:40.606944Z", End: "now"},
	},
	{
		name:   "end alone leaves the start to Jaeger, whatever the lookback",
		search: "service=a&end=1796400280606944&lookback=1h",
		opts:   traceql.Options{Now: now},
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"ignored_lookback", "time_window", "limit"},
		tempo: &traceql.Params{End: 1796400281, Limit: 100},
		rng:   &traceql.TimeRange{End: "2026-12-04T16:04:40.606944Z"},
	},
	{
		name:  "a lookback reaching before 1973 starts the Tempo window there",
		built: &traceql.Search{Service: "a", Lookback: "36500d"},
		opts:  traceql.Options{Now: now},
		want:  `{ resource.service.name = "a" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: []string{"time_window", "limit"},
		tempo: &traceql.Params{Start: 100000000, End: now.Unix(), Limit: 100},
		rng:   &traceql.TimeRange{Start: "now-36500d", End: "now"},
	},
	{
		name:  "a lookback over 100 years is ignored",
		built: &traceql.Search{Service: "a", Lookback: "999999w"},
		opts:  traceql.Options{Now: now},
		want:  `{ resource.service.name = "a" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: []string{"invalid_lookback", "no_time_window", "limit"},
		tempo: &traceql.Params{Limit: 100},
	},
	{
		name:  "a clock after the year 9999 is not used",
		built: &traceql.Search{Service: "a", Lookback: "1h"},
		opts:  traceql.Options{Now: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		want:  `{ resource.service.name = "a" } with (most_recent=true)`,
		level: fidelity.Approximate, codes: []string{"time_window", "limit"},
		tempo: &traceql.Params{Limit: 100},
		rng:   &traceql.TimeRange{Start: "now-1h", End: "now"},
	},
	{
		name:  "start and end in milliseconds",
		built: &traceql.Search{Service: "a", Start: 1700000000000, End: 1700003600000},
		level: fidelity.Unsupported, codes: []string{"invalid_time"},
	},
	{
		name:  "end after the year 9999",
		built: &traceql.Search{Service: "a", End: math.MaxInt64},
		level: fidelity.Unsupported, codes: []string{"invalid_time"},
	},
	{
		name:  "negative start",
		built: &traceql.Search{Service: "a", Start: -1},
		level: fidelity.Unsupported, codes: []string{"invalid_time"},
	},
	{
		name:  "end before start",
		built: &traceql.Search{Service: "a", Start: 1700003600000000, End: 1700000000000000},
		level: fidelity.Unsupported, codes: []string{"invalid_time"},
	},
	{
		name:  "start after the clock, without end",
		built: &traceql.Search{Service: "a", Start: 1900000000000000},
		opts:  traceql.Options{Now: now},
		level: fidelity.Unsupported, codes: []string{"invalid_time"},
	},
	{
		name:   "a dashboard supplies the time range",
		search: "service=a",
		opts:   traceql.Options{DashboardTimeRange: true},
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: []string{"time_window", "limit"},
		tempo: &traceql.Params{Limit: 100},
	},
	{
		name:   "without the most_recent hint",
		search: "service=a&limit=50",
		opts:   traceql.Options{OmitMostRecent: true},
		want:   `{ resource.service.name = "a" }`,
		level:  fidelity.Approximate, codes: noWindow,
		tempo: &traceql.Params{Limit: 50},
	},
	{
		name:   "spanKind and UI-only parameters are noted",
		search: "http://h/search?service=a&spanKind=server&limit=20&uiFind=x",
		want:   `{ resource.service.name = "a" } with (most_recent=true)`,
		level:  fidelity.Approximate,
		codes:  []string{"no_time_window", "limit", "span_kind_parameter", "ignored_parameter"},
	},
	{
		name:   "Elasticsearch regex tag values",
		search: "service=a&tags=http.url=/api/v1.0 method=GET",
		opts:   traceql.Options{RegexTagValues: true},
		want:   `{ resource.service.name = "a" && .http.url = "/api/v1.0" && .method = "GET" } with (most_recent=true)`,
		level:  fidelity.Approximate, codes: attrCodes("regex_tag_value"),
	},

	// Trace IDs and searches Jaeger rejects.
	{
		name:   "trace IDs",
		search: "/api/traces?traceID=ABC123&traceID=952b3fe65bc9152aecbf29ea74ffb48b&service=ignored",
		want:   `{ trace:id = "00000000000000000000000000abc123" || trace:id = "952b3fe65bc9152aecbf29ea74ffb48b" }`,
		level:  fidelity.Approximate, codes: []string{"trace_id_lookup", "ignored_parameter"},
		tempo: &traceql.Params{Limit: 2},
	},
	{
		name:   "no service",
		search: "/api/traces?start=1796396620606944&end=1796400280606944",
		level:  fidelity.Unsupported, codes: []string{"missing_service"},
		tempo: &traceql.Params{},
	},
	{
		name:  "a duration that does not parse",
		built: &traceql.Search{Service: "a", MinDuration: "soon"},
		level: fidelity.Unsupported, codes: []string{"invalid_duration"},
	},
	{
		name:  "reversed durations",
		built: &traceql.Search{Service: "a", MinDuration: "2s", MaxDuration: "1s"},
		level: fidelity.Unsupported, codes: []string{"invalid_duration"},
	},
}

func (tc renderCase) render(t *testing.T) traceql.Result {
	t.Helper()
	s := traceql.Search{}
	if tc.built != nil {
		s = *tc.built
	} else {
		var err error
		if s, err = traceql.ParseSearch(tc.search); err != nil {
			t.Fatalf("ParseSearch(%q): %v", tc.search, err)
		}
	}
	return traceql.Render(s, tc.opts)
}

func TestRender(t *testing.T) {
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.render(t)
			if res.Query != tc.want {
				t.Errorf("query\n got: %s\nwant: %s", res.Query, tc.want)
			}
			if res.Fidelity != tc.level {
				t.Errorf("fidelity %s, want %s", res.Fidelity, tc.level)
			}
			if diff := cmp.Diff(tc.codes, codes(res.Reasons), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("reason codes (-want +got):\n%s\nreasons: %v", diff, res.Reasons)
			}
			if tc.tempo != nil && res.Tempo != *tc.tempo {
				t.Errorf("tempo parameters %+v, want %+v", res.Tempo, *tc.tempo)
			}
			if tc.rng != nil && (res.Range == nil || *res.Range != *tc.rng) {
				t.Errorf("range %+v, want %+v", res.Range, *tc.rng)
			}
			checkReasons(t, res)
			checkWindow(t, res)
		})
	}
}

// checkReasons holds for every result: an unsupported one has no query and
// a reason, and every reason has a code and a sentence.
func checkReasons(t *testing.T, res traceql.Result) {
	t.Helper()
	if (res.Fidelity == fidelity.Unsupported) != (res.Query == "") {
		t.Errorf("fidelity %s with query %q", res.Fidelity, res.Query)
	}
	if res.Fidelity != res.Reasons.Level() {
		t.Errorf("fidelity %s, but the reasons grade %s", res.Fidelity, res.Reasons.Level())
	}
	for _, r := range res.Reasons {
		if r.Code == "" || len(r.Message) < 20 {
			t.Errorf("reason %+v lacks a code or a sentence", r)
		}
	}
}

func codes(rs fidelity.Reasons) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]traceql.Scope{
		"": traceql.ScopeAny, "any": traceql.ScopeAny, "span": traceql.ScopeSpan, "resource": traceql.ScopeResource,
	} {
		if got, err := traceql.ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := traceql.ParseScope("event"); err == nil || err.Error() != `invalid tag scope "event": use any, span or resource` {
		t.Errorf("ParseScope(event) error = %v", err)
	}
}
