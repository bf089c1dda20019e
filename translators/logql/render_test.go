package logql_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/esdsl"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/kql"
	"github.com/obs-migrate/migrate/translators/logql"
	"github.com/obs-migrate/migrate/translators/lucene"
)

// testMapping is a filebeat-style mapping: three stream labels, a static
// label, two structured-metadata fields, the message as the line, and
// logfmt for the rest.
func testMapping() plans.LogMapping {
	return plans.LogMapping{
		Indices:            "filebeat-*",
		Timestamp:          "@timestamp",
		Labels:             map[string]string{"service": "service.name", "namespace": "kubernetes.namespace", "level": "log.level"},
		StaticLabels:       map[string]string{"source": "filebeat"},
		StructuredMetadata: []string{"trace.id", "host.name"},
		Line:               "message",
		Parser:             plans.ParserLogfmt,
		DefaultField:       "message",
		Fields: map[string]string{
			"log.level": "keyword", "message": "text", "service.name": "keyword",
			"kubernetes.namespace": "keyword", "trace.id": "keyword", "host.name": "keyword",
			"user.name": "keyword", "url.path": "keyword", "client.ip": "ip",
			"http.response.status_code": "long", "event.duration": "double",
			"event.created": "date", "user.agent": "text", "service": "keyword",
			"error.type": "keyword", "tags": "keyword", "a.b": "keyword", "a_b": "keyword",
		},
	}
}

func parse(t *testing.T, lang ast.Language, src string) *ast.Query {
	t.Helper()
	var (
		q   *ast.Query
		err error
	)
	switch lang {
	case ast.KQL:
		q, err = kql.Parse(src)
	case ast.Lucene:
		q, err = lucene.Parse(src)
	case ast.ESDSL:
		q, err = esdsl.Parse([]byte(src))
	}
	if err != nil {
		t.Fatalf("parsing %s %q: %v", lang, src, err)
	}
	return q
}

type renderCase struct {
	name  string
	lang  ast.Language
	src   string
	want  string // "" when unsupported
	level fidelity.Level
	codes []string // reason codes that must be present
}

// renderCases cover each placement rule and each semantic trap.
var renderCases = []renderCase{
	// Placement: stream labels go into the selector, static labels always.
	{"label equality", ast.KQL, "log.level: error", `{source="filebeat", level="error"}`, fidelity.Exact, nil},
	{
		"label negation in selector", ast.KQL, "service.name:checkout and not kubernetes.namespace:dev",
		`{source="filebeat", service="checkout", namespace!="dev"}`, fidelity.Exact, nil,
	},
	{
		"or on one label merges into regex", ast.KQL, "service.name:(cart or checkout)",
		`{source="filebeat", service=~"^(?:cart|checkout)$"}`, fidelity.Exact, nil,
	},
	{"empty query is the selector", ast.KQL, "", `{source="filebeat"}`, fidelity.Exact, nil},
	{"match all", ast.Lucene, "*:*", `{source="filebeat"}`, fidelity.Exact, nil},
	// Structured metadata is filtered before the line filters and parser.
	{
		"metadata before line filter", ast.KQL, `trace.id:abc123 and message:"connection reset"`,
		"{source=\"filebeat\"} | trace_id=`abc123` |~ `(?i)\\bconnection[^\\p{L}\\p{N}_]+reset\\b`",
		fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"document id is es_id metadata", ast.ESDSL, `{"ids":{"values":["a1"]}}`,
		"{source=\"filebeat\"} | es_id=`a1`", fidelity.Exact, nil,
	},
	// Keyword fields compare whole values, exactly.
	{
		"keyword equality after parser", ast.KQL, "user.name:alice",
		"{source=\"filebeat\"} |= `alice` | logfmt | user_name=`alice`", fidelity.Exact, nil,
	},
	{
		"keyword or merges into regex", ast.KQL, "user.name:(alice or bob)",
		"{source=\"filebeat\"} | logfmt | user_name=~`^(?:alice|bob)$`", fidelity.Exact, nil,
	},
	{
		"keyword negation keeps missing", ast.KQL, "not user.name:alice",
		"{source=\"filebeat\"} | logfmt | user_name!=`alice`", fidelity.Exact, nil,
	},
	{
		"keyword wildcard anchored", ast.KQL, "url.path:/api/*",
		"{source=\"filebeat\"} | logfmt | url_path=~`(?s)^(?:/api/.*)$`", fidelity.Exact, nil,
	},
	{
		"keyword wildcard question mark", ast.Lucene, "user.name:al?ce",
		"{source=\"filebeat\"} | logfmt | user_name=~`(?s)^(?:al.ce)$`", fidelity.Exact, nil,
	},
	{
		"keyword term case insensitive", ast.ESDSL, `{"term":{"user.name":{"value":"Alice","case_insensitive":true}}}`,
		"{source=\"filebeat\"} |~ `(?i)Alice` | logfmt | user_name=~`(?i)^(?:Alice)$`", fidelity.Exact, nil,
	},
	{
		"keyword regex converted and anchored", ast.Lucene, `user.name:/al[a-z]+/`,
		"{source=\"filebeat\"} | logfmt | user_name=~`(?s)^(?:al[a-z]+)$`", fidelity.Exact, nil,
	},
	{
		"lucene regex literal string and anystring", ast.Lucene, `url.path:/"a.b"@/`,
		"{source=\"filebeat\"} | logfmt | url_path=~`(?s)^(?:(?:a\\.b)(?:.*))$`", fidelity.Exact, nil,
	},
	{
		"lucene regex complement unsupported", ast.Lucene, `user.name:/~(root)/ AND log.level:error`,
		`{source="filebeat", level="error"}`, fidelity.Approximate,
		[]string{"regexp_unconvertible", "conditions_dropped"},
	},
	// Text fields match analysed tokens: approximate, case-insensitive.
	{
		"text term on the line", ast.KQL, "message:timeout",
		"{source=\"filebeat\"} |~ `(?i)\\btimeout\\b`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"text value split into tokens", ast.KQL, "message:disk-full",
		"{source=\"filebeat\"} |~ `(?i)\\b(?:disk|full)\\b`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"text dotted token stays whole", ast.KQL, "message:system.syslog",
		"{source=\"filebeat\"} |~ `(?i)\\bsystem\\.syslog\\b`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"text not wildcard is a trap", ast.KQL, "not message:*3324*",
		"{source=\"filebeat\"} !~ `(?i)(?:^|[^\\p{L}\\p{N}_])[\\p{L}\\p{N}_]*3324[\\p{L}\\p{N}_]*(?:[^\\p{L}\\p{N}_]|$)`",
		fidelity.Approximate,
		[]string{"wildcard_text"},
	},
	{
		"text non-ascii token boundaries", ast.KQL, "message:größe",
		"{source=\"filebeat\"} |~ `(?i)(?:^|[^\\p{L}\\p{N}_])größe(?:[^\\p{L}\\p{N}_]|$)`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"text on a parsed field", ast.KQL, "user.agent:firefox",
		"{source=\"filebeat\"} |~ `(?i)firefox` | logfmt | user_agent=~`(?is)^(?:.*(?:\\bfirefox\\b).*)$`",
		fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"phrase with slop", ast.Lucene, `message:"disk full"~2`,
		"{source=\"filebeat\"} |~ `(?i)(?:\\bdisk[^\\p{L}\\p{N}_]+(?:[\\p{L}\\p{N}_]+[^\\p{L}\\p{N}_]+){0,2}full\\b|\\bfull[^\\p{L}\\p{N}_]+disk\\b)`",
		fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"match operator and", ast.ESDSL, `{"match":{"message":{"query":"disk full","operator":"and"}}}`,
		"{source=\"filebeat\"} |~ `(?i)\\bdisk\\b` |~ `(?i)\\bfull\\b`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"free text searches default field", ast.KQL, "timeout",
		"{source=\"filebeat\"} |~ `(?i)\\btimeout\\b`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"or of line terms is one regex", ast.Lucene, "message:panic OR message:fatal",
		"{source=\"filebeat\"} |~ `(?i:\\bpanic\\b)|(?i:\\bfatal\\b)`", fidelity.Approximate,
		[]string{"text_analysis"},
	},
	{
		"or mixing line and label uses line copy", ast.KQL, "host.name:web-1 or message:panic",
		"{source=\"filebeat\"} | label_format message_line=`{{ __line__ }}` | (host_name=`web-1` or message_line=~`(?is)^(?:.*(?:\\bpanic\\b).*)$`)",
		fidelity.Approximate,
		[]string{"text_analysis"},
	},
	// Numeric fields compare numbers; negation keeps missing values.
	{
		"numeric range", ast.KQL, "http.response.status_code >= 500",
		`{source="filebeat"} | logfmt | http_response_status_code >= 500 | __error__=""`, fidelity.Exact, nil,
	},
	{
		"numeric lucene range", ast.Lucene, "http.response.status_code:[400 TO 499}",
		`{source="filebeat"} | logfmt | (http_response_status_code >= 400 and http_response_status_code < 499) | __error__=""`, fidelity.Exact, nil,
	},
	{
		"numeric negation keeps missing", ast.KQL, "not http.response.status_code:404",
		`{source="filebeat"} | logfmt | (http_response_status_code != 404 or http_response_status_code="") | __error__=""`, fidelity.Exact, nil,
	},
	{
		"numeric open range", ast.Lucene, "event.duration:[1.5 TO *]",
		`{source="filebeat"} | logfmt | event_duration >= 1.5 | __error__=""`, fidelity.Exact, nil,
	},
	{
		"not a number is dropped", ast.KQL, "http.response.status_code:abc and log.level:error",
		`{source="filebeat", level="error"}`, fidelity.Approximate,
		[]string{"invalid_number", "conditions_dropped"},
	},
	// String ranges have no LogQL form.
	{"string range unsupported", ast.Lucene, "user.name:{alice TO bob}", "", fidelity.Unsupported, []string{"string_range", "nothing_translatable"}},
	// IP fields use ip().
	{"ip cidr", ast.KQL, "client.ip:10.0.0.0/8", `{source="filebeat"} | logfmt | client_ip=ip("10.0.0.0/8")`, fidelity.Exact, nil},
	{"ip range", ast.Lucene, "client.ip:[10.0.0.1 TO 10.0.0.9]", `{source="filebeat"} | logfmt | client_ip=ip("10.0.0.1-10.0.0.9")`, fidelity.Exact, nil},
	// Exists cannot tell empty from missing.
	{"exists", ast.Lucene, "_exists_:user.name", `{source="filebeat"} | logfmt | user_name!=""`, fidelity.Approximate, []string{"exists_empty"}},
	{"not exists on a label", ast.KQL, "not log.level:*", `{source="filebeat", level=""}`, fidelity.Approximate, []string{"exists_empty"}},
	// The timestamp becomes the range, not a stage.
	{"time range", ast.KQL, "log.level:error and @timestamp >= now-15m", `{source="filebeat", level="error"}`, fidelity.Exact, nil},
	{
		"time rounding approximate", ast.ESDSL, `{"range":{"@timestamp":{"gte":"now-1d/d","lt":"now/d"}}}`,
		`{source="filebeat"}`, fidelity.Approximate,
		[]string{"time_rounding"},
	},
	{"time inside or dropped", ast.KQL, "log.level:error or @timestamp > now-1h", "", fidelity.Unsupported, []string{"time_condition_nested"}},
	{
		"other date field", ast.KQL, "event.created > now-1d and log.level:warn", `{source="filebeat", level="warn"}`,
		fidelity.Approximate,
		[]string{"date_field"},
	},
	// Boolean logic: precedence kept with explicit parentheses.
	{
		"kql precedence", ast.KQL, "log.level:error or user.name:a and tags:b",
		"{source=\"filebeat\"} | logfmt | (level=`error` or (user_name=`a` and tags=`b`))", fidelity.Exact, nil,
	},
	{
		"lucene a or b and c", ast.Lucene, "user.name:a OR user.name:b AND tags:c",
		"{source=\"filebeat\"} | logfmt | user_name=`b` | tags=`c`", fidelity.Exact,
		[]string{"optional_clause_ignored"},
	},
	{
		"de morgan", ast.KQL, "not (user.name:a or tags:b)",
		"{source=\"filebeat\"} | logfmt | user_name!=`a` | tags!=`b`", fidelity.Exact, nil,
	},
	{
		"bool minimum should match", ast.ESDSL,
		`{"bool":{"should":[{"term":{"user.name":"a"}},{"term":{"tags":"b"}},{"term":{"error.type":"c"}}],"minimum_should_match":2}}`,
		"{source=\"filebeat\"} | logfmt | ((user_name=`a` and tags=`b`) or (user_name=`a` and error_type=`c`) or (tags=`b` and error_type=`c`))",
		fidelity.Exact, nil,
	},
	{
		"filter pill negate", ast.ESDSL, `{"bool":{"must_not":[{"match_phrase":{"log.level":"debug"}}]}}`,
		`{source="filebeat", level!="debug"}`, fidelity.Exact, nil,
	},
	// Fields that do not exist in Loki, and untranslatable queries.
	{
		"unknown field type assumed", ast.KQL, "foo:bar",
		"{source=\"filebeat\"} |~ `(?i)bar` | logfmt | foo=~`(?is)^(?:.*(?:\\bbar\\b).*)$`",
		fidelity.Approximate,
		[]string{"field_type_assumed", "text_analysis"},
	},
	{
		"fuzzy dropped", ast.Lucene, "user.name:alice~ AND log.level:error", `{source="filebeat", level="error"}`,
		fidelity.Approximate,
		[]string{"fuzzy_unsupported", "conditions_dropped"},
	},
	{"fuzzy alone unsupported", ast.Lucene, "message:quikc~", "", fidelity.Unsupported, []string{"fuzzy_unsupported", "nothing_translatable"}},
	{"script unsupported", ast.ESDSL, `{"script":{"script":"doc['a'].value > 1"}}`, "", fidelity.Unsupported, []string{"query_unsupported"}},
	{"match none", ast.ESDSL, `{"match_none":{}}`, "", fidelity.Unsupported, []string{"matches_nothing"}},
	// Field name wildcards expand against the mapping.
	{"field wildcard expands", ast.KQL, "kubernetes.*:prod", `{source="filebeat", namespace="prod"}`, fidelity.Exact, nil},
	{
		"parsed name collides with a label", ast.KQL, "service:web",
		"{source=\"filebeat\"} |= `web` | logfmt | service_extracted=`web`", fidelity.Exact, nil,
	},
	{
		"at sign sanitised", ast.Lucene, "@version:1",
		"{source=\"filebeat\"} | logfmt | _version=~`(?is)^(?:.*(?:\\b1\\b).*)$`", fidelity.Approximate,
		[]string{"field_type_assumed"},
	},
	// Found by adversarial testing: each case once graded exact or produced
	// invalid LogQL.
	{
		"pattern matching empty needs a value", ast.KQL, "user.name: **",
		"{source=\"filebeat\"} | logfmt | (user_name=~`(?s)^(?:.*.*)$` and user_name!=\"\")", fidelity.Approximate,
		[]string{"empty_value"},
	},
	{
		"negated pattern matching empty keeps missing", ast.Lucene, "NOT user.name:/a*/",
		"{source=\"filebeat\"} | logfmt | (user_name!~`(?s)^(?:a*)$` or user_name=\"\")", fidelity.Approximate,
		[]string{"empty_value"},
	},
	{
		"label pattern matching empty is not a matcher", ast.KQL, "service.name: **",
		"{source=\"filebeat\"} | (service=~`(?s)^(?:.*.*)$` and service!=\"\")", fidelity.Approximate,
		[]string{"empty_value"},
	},
	{
		"equal to empty string", ast.KQL, `user.name: ""`,
		"{source=\"filebeat\"} | logfmt | user_name=``", fidelity.Approximate,
		[]string{"empty_value"},
	},
	{
		"field star searches every field", ast.KQL, "*: alice",
		"{source=\"filebeat\"} |~ `(?i)\\balice\\b`", fidelity.Approximate,
		[]string{"default_field_all"},
	},
	{
		"huge integer loses precision in Loki", ast.KQL, "http.response.status_code: 9007199254740993",
		`{source="filebeat"} | logfmt | http_response_status_code == 9007199254740993 | __error__=""`, fidelity.Approximate,
		[]string{"number_precision"},
	},
	{
		"NaN is not a number", ast.KQL, "http.response.status_code: NaN and log.level: error",
		`{source="filebeat", level="error"}`, fidelity.Approximate,
		[]string{"invalid_number"},
	},
	{
		"digit separators are not a number", ast.Lucene, "http.response.status_code:1_000 AND log.level:error",
		`{source="filebeat", level="error"}`, fidelity.Approximate,
		[]string{"invalid_number"},
	},
	{
		"invalid ip dropped", ast.KQL, "client.ip: foo and log.level: error",
		`{source="filebeat", level="error"}`, fidelity.Approximate,
		[]string{"invalid_ip"},
	},
	{
		"dollar is not a grafana variable", ast.KQL, `user.name: "a$kw"`,
		"{source=\"filebeat\"} | logfmt | user_name=\"a\\u0024kw\"", fidelity.Exact, nil,
	},
	{
		"dollar in a regex is escaped for grafana", ast.Lucene, `user.name:/a\$__range/`,
		"{source=\"filebeat\"} | logfmt | user_name=~`(?s)^(?:a\\x24__range)$`", fidelity.Exact, nil,
	},
	{
		"NUL is escaped", ast.ESDSL, `{"term":{"user.name":"a\u0000b"}}`,
		"{source=\"filebeat\"} | logfmt | user_name=\"a\\x00b\"", fidelity.Exact, nil,
	},
	{
		"index name is not in loki", ast.KQL, "_index: logs-2024 and log.level: error",
		`{source="filebeat", level="error"}`, fidelity.Approximate,
		[]string{"field_not_in_loki"},
	},
	{
		"dotted and underscored names collide", ast.KQL, "a.b: x",
		"{source=\"filebeat\"} | logfmt | a_b=`x`", fidelity.Approximate,
		[]string{"field_name_collision"},
	},
	{
		"zero terms all matches everything", ast.ESDSL, `{"match":{"message":{"query":"!!!","zero_terms_query":"all"}}}`,
		`{source="filebeat"}`, fidelity.Approximate, nil,
	},
	{
		"zero terms none matches nothing", ast.ESDSL, `{"match":{"message":{"query":"!!!"}}}`,
		"", fidelity.Unsupported,
		[]string{"matches_nothing"},
	},
	{"keyword subfield", ast.KQL, "user.agent.keyword:curl", "{source=\"filebeat\"} |= `curl` | logfmt | user_agent=`curl`", fidelity.Exact, nil},
	{"escaping backtick value", ast.KQL, "user.name:\"a`b\"", "{source=\"filebeat\"} | logfmt | user_name=\"a`b\"", fidelity.Exact, nil},
	{"boost noted", ast.Lucene, "log.level:error^2", `{source="filebeat", level="error"}`, fidelity.Exact, []string{"boost_ignored"}},
}

func TestRender(t *testing.T) {
	schema := logql.NewSchema(testMapping(), true, nil)
	var generated []grammar.Query
	for _, tc := range renderCases {
		t.Run(tc.name, func(t *testing.T) {
			res := logql.Render(parse(t, tc.lang, tc.src), schema)
			if got := res.String(); got != tc.want {
				t.Errorf("Render(%s %q)\n got: %s\nwant: %s", tc.lang, tc.src, got, tc.want)
			}
			if res.Fidelity != tc.level {
				t.Errorf("fidelity = %s, want %s; reasons: %v", res.Fidelity, tc.level, codes(res.Reasons))
			}
			for _, code := range tc.codes {
				if !hasCode(res.Reasons, code) {
					t.Errorf("reason %s missing; reasons: %v", code, codes(res.Reasons))
				}
			}
			if tc.level == fidelity.Exact && res.Fidelity == fidelity.Exact && len(tc.codes) == 0 {
				for _, r := range res.Reasons {
					if r.Level > fidelity.Exact {
						t.Errorf("exact result has reason %s", r.Code)
					}
				}
			}
		})
		if tc.want != "" {
			generated = append(generated, grammar.Query{ID: tc.name, Lang: grammar.LangLogQL, Text: tc.want})
		}
	}
	grammartest.RequireValid(t, generated)
}

func TestRenderUnmapped(t *testing.T) {
	schema := logql.NewSchema(plans.DefaultLogMapping(), false, nil)
	res := logql.Render(parse(t, ast.KQL, "log.level: error"), schema)
	want := `{service_name=~".+"} |~ ` + "`(?i)error`" + ` | json | log_level=~` + "`(?is)^(?:.*(?:\\berror\\b).*)$`"
	if got := res.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !hasCode(res.Reasons, "selector_unmapped") || !hasCode(res.Reasons, "field_type_assumed") {
		t.Errorf("reasons %v lack selector_unmapped and field_type_assumed", codes(res.Reasons))
	}
	if res.Fidelity != fidelity.Approximate {
		t.Errorf("fidelity = %s, want approximate", res.Fidelity)
	}
}

func TestRenderTimeRange(t *testing.T) {
	schema := logql.NewSchema(testMapping(), true, nil)
	cases := []struct {
		lang       ast.Language
		src        string
		start, end string
	}{
		{ast.KQL, "@timestamp >= now-15m", "now-15m", "now"},
		{ast.KQL, `@timestamp >= "2024-01-02T03:04:05Z" and @timestamp < "2024-01-03T00:00:00Z"`, "2024-01-02T03:04:05Z", "2024-01-03T00:00:00Z"},
		{ast.Lucene, "@timestamp:[2024-01-01 TO 2024-01-02]", "2024-01-01T00:00:00Z", "2024-01-02T23:59:59.999Z"},
		{ast.ESDSL, `{"range":{"@timestamp":{"gte":1580000000000,"lte":1580003600000,"format":"epoch_millis"}}}`, "2020-01-26T00:53:20Z", "2020-01-26T01:53:20Z"},
		{ast.ESDSL, `{"range":{"@timestamp":{"gte":"2024-01-01T00:00:00","time_zone":"+02:00"}}}`, "2023-12-31T22:00:00Z", "now"},
		{ast.KQL, "@timestamp < now-1h", "", "now-1h"},
		{ast.KQL, "@timestamp >= 2024", "2024-01-01T00:00:00Z", "now"},
		{ast.Lucene, "@timestamp:[2023 TO 2024]", "2023-01-01T00:00:00Z", "2024-12-31T23:59:59.999Z"},
	}
	for _, tc := range cases {
		res := logql.Render(parse(t, tc.lang, tc.src), schema)
		if res.Range == nil {
			t.Errorf("%q: no range", tc.src)
			continue
		}
		if res.Range.Start != tc.start || res.Range.End != tc.end {
			t.Errorf("%q: range %s..%s, want %s..%s", tc.src, res.Range.Start, res.Range.End, tc.start, tc.end)
		}
	}
}

func TestRenderFieldNotInLoki(t *testing.T) {
	m := testMapping()
	m.Parser = plans.ParserNone
	res := logql.Render(parse(t, ast.KQL, "user.name:alice and log.level:error"), logql.NewSchema(m, true, nil))
	if got, want := res.String(), `{source="filebeat", level="error"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if !hasCode(res.Reasons, "field_not_in_loki") || res.Fidelity != fidelity.Approximate {
		t.Errorf("fidelity %s, reasons %v: want approximate with field_not_in_loki", res.Fidelity, codes(res.Reasons))
	}
}

func TestRenderSelectorFallbacks(t *testing.T) {
	m := testMapping()
	m.StaticLabels = nil
	res := logql.Render(parse(t, ast.KQL, "user.name:alice"), logql.NewSchema(m, true, nil))
	if !strings.HasPrefix(res.String(), `{level=~".+"}`) || !hasCode(res.Reasons, "selector_any_label") {
		t.Errorf("got %s with %v, want a level=~\".+\" selector and selector_any_label", res.String(), codes(res.Reasons))
	}
	// A negative matcher alone cannot select streams.
	res = logql.Render(parse(t, ast.KQL, "not log.level:debug"), logql.NewSchema(m, true, nil))
	if want := `{level=~".+", level!="debug"}`; res.String() != want {
		t.Errorf("got %s, want %s", res.String(), want)
	}
}

func codes(rs fidelity.Reasons) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Code)
	}
	sort.Strings(out)
	return out
}

func hasCode(rs fidelity.Reasons, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

func TestRenderZoneAssumed(t *testing.T) {
	schema := logql.NewSchema(testMapping(), true, nil)
	res := logql.Render(parse(t, ast.KQL, `@timestamp >= "2024-01-01T10:00:00"`), schema)
	if !hasCode(res.Reasons, "time_zone_assumed") || res.Fidelity != fidelity.Approximate {
		t.Errorf("fidelity %s, reasons %v: a time without zone must be approximate with time_zone_assumed", res.Fidelity, codes(res.Reasons))
	}
	res = logql.Render(parse(t, ast.KQL, `@timestamp >= "2024-01-01T10:00:00Z"`), schema)
	if hasCode(res.Reasons, "time_zone_assumed") {
		t.Error("a time with a zone must not be flagged")
	}
}

func TestRenderKeepVariables(t *testing.T) {
	schema := logql.NewSchema(testMapping(), true, nil).KeepVariables()
	cases := map[string]string{
		// A whole variable may hold several values, which Grafana writes
		// as a regex alternation for Loki.
		`user.name:$user`:     "{source=\"filebeat\"} | logfmt | user_name=~`$user`",
		`log.level:${level}`:  "{source=\"filebeat\", level=~\"${level}\"}",
		`user.name:pre$user`:  "{source=\"filebeat\"} | logfmt | user_name=`pre$user`",
		`NOT user.name:$user`: "{source=\"filebeat\"} | logfmt | user_name!~`$user`",
	}
	for src, want := range cases {
		res := logql.Render(parse(t, ast.Lucene, src), schema)
		if res.String() != want {
			t.Errorf("%s: got %s, want %s", src, res.String(), want)
		}
	}
	res := logql.Render(parse(t, ast.Lucene, `message:$word`), schema)
	if !hasCode(res.Reasons, "variable_whole_value") {
		t.Errorf("a variable on a text field lacks variable_whole_value: %v", codes(res.Reasons))
	}
}

func TestRenderTooLong(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		if i > 0 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "tags:value%d", i)
	}
	res := logql.Render(parse(t, ast.KQL, b.String()), logql.NewSchema(testMapping(), true, nil))
	if res.Fidelity != fidelity.Unsupported || !hasCode(res.Reasons, "query_too_long") {
		t.Errorf("fidelity %s, reasons %v: want unsupported with query_too_long", res.Fidelity, codes(res.Reasons))
	}
}
