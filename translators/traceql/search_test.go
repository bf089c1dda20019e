package traceql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/obs-migrate/migrate/translators/traceql"
)

type parseCase struct {
	name string
	in   string
	want traceql.Search // Original is filled in by the test
}

var parseCases = []parseCase{
	{
		name: "UI URL with JSON tags",
		in: "http://jaeger:16686/search?service=frontend&operation=GET%20%2Fdispatch" +
			"&tags=%7B%22error%22%3A%22true%22%7D&minDuration=1s&limit=20&lookback=1h",
		want: traceql.Search{
			Form: traceql.FormUI, Service: "frontend", Operation: "GET /dispatch",
			Tags: []traceql.Tag{{Key: "error", Value: "true"}}, MinDuration: "1s", Limit: 20, Lookback: "1h",
		},
	},
	{
		name: "UI URL with start, end, empty parameters and UI-only parameters",
		in: "https://tracing.example.com/jaeger/search?end=1700003600000000&limit=20&lookback=custom" +
			"&maxDuration&minDuration=&service=checkout&start=1700000000000000&uiFind=abc",
		want: traceql.Search{
			Form: traceql.FormUI, Service: "checkout", Limit: 20, Lookback: "custom",
			Start: 1700000000000000, End: 1700003600000000, Ignored: []string{"uiFind"},
		},
	},
	{
		name: "API URL with repeated tag parameters, in order",
		in:   "/api/traces?service=rec-frontend&tag=http.response.status_code:500&tag=host.name:web-1&tag=url:http://a:8080/x",
		want: traceql.Search{
			Form: traceql.FormAPI, Service: "rec-frontend",
			Tags: []traceql.Tag{
				{Key: "http.response.status_code", Value: "500"},
				{Key: "host.name", Value: "web-1"},
				{Key: "url", Value: "http://a:8080/x"},
			},
		},
	},
	{
		name: "tag parameters come before the tags parameter, as Jaeger merges them",
		in:   `service=a&tags={"b":"2","a":"1"}&tag=c:3`,
		want: traceql.Search{
			Form: traceql.FormAPI, Service: "a",
			Tags: []traceql.Tag{{Key: "c", Value: "3"}, {Key: "b", Value: "2"}, {Key: "a", Value: "1"}},
		},
	},
	{
		name: "bare query string with logfmt tags",
		in:   `service=frontend&tags=error=true%20http.status_code=500%20http.url="/api/a%20b"`,
		want: traceql.Search{
			Form: traceql.FormAPI, Service: "frontend",
			Tags: []traceql.Tag{
				{Key: "error", Value: "true"},
				{Key: "http.status_code", Value: "500"},
				{Key: "http.url", Value: "/api/a b"},
			},
		},
	},
	{
		name: "leading question mark and spaces",
		in:   "  ?service=frontend&maxDuration=2s&minDuration=500ms&spanKind=server  ",
		want: traceql.Search{
			Form: traceql.FormAPI, Service: "frontend", MinDuration: "500ms", MaxDuration: "2s", SpanKind: "server",
		},
	},
	{
		name: "trace IDs on the API",
		in:   "/api/traces?traceID=abc123&traceID=00000000000000000000000000DEF456",
		want: traceql.Search{
			Form: traceql.FormAPI, TraceIDs: []string{"abc123", "00000000000000000000000000DEF456"},
		},
	},
	{
		name: "UI trace page",
		in:   "http://localhost:16686/trace/952b3fe65bc9152aecbf29ea74ffb48b",
		want: traceql.Search{Form: traceql.FormUI, TraceIDs: []string{"952b3fe65bc9152aecbf29ea74ffb48b"}},
	},
	{
		name: "no service parses; Render reports it",
		in:   "/api/traces?start=1796396620606944&end=1796400280606944",
		want: traceql.Search{Form: traceql.FormAPI, Start: 1796396620606944, End: 1796400280606944},
	},
}

func TestParseSearch(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := traceql.ParseSearch(tc.in)
			if err != nil {
				t.Fatalf("ParseSearch(%q): %v", tc.in, err)
			}
			want := tc.want
			want.Original = tc.in
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseSearch(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseTags(t *testing.T) {
	cases := []struct {
		in   string
		want []traceql.Tag
	}{
		{`error=true http.status_code=500`, []traceql.Tag{{"error", "true"}, {"http.status_code", "500"}}},
		{`  http.url="/api/a b"   db.statement="select \"x\" from t\\1" `, []traceql.Tag{
			{"http.url", "/api/a b"}, {"db.statement", `select "x" from t\1`},
		}},
		{`error`, []traceql.Tag{{"error", "true"}}},
		{`k= other=1`, []traceql.Tag{{"k", ""}, {"other", "1"}}},
		{`k="" q=a=b`, []traceql.Tag{{"k", ""}, {"q", "a=b"}}},
		{`"k k"=v "kind"`, []traceql.Tag{{"k k", "v"}, {"kind", "true"}}},
		{"a=1\tb=2\nc=3", []traceql.Tag{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{`k=C:\temp`, []traceql.Tag{{"k", `C:\temp`}}},
		{`k=é✓ x=$service`, []traceql.Tag{{"k", "é✓"}, {"x", "$service"}}},
		{`{"error":"true","http.status_code":"500"}`, []traceql.Tag{{"error", "true"}, {"http.status_code", "500"}}},
		{` { "b" : "1" , "a":"2", "b":"3" } `, []traceql.Tag{{"b", "1"}, {"a", "2"}, {"b", "3"}}},
		{`{}`, nil},
		{``, nil},
		{`   `, nil},
	}
	for _, tc := range cases {
		got, err := traceql.ParseTags(tc.in)
		if err != nil {
			t.Errorf("ParseTags(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ParseTags(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

type errorCase struct {
	name   string
	in     string
	param  string
	offset int
	msg    string // the whole error text
	is     error
}

var errorCases = []errorCase{
	{
		name: "bad JSON, as Jaeger reports it", in: `service=a&tags={not json`, param: "tags", offset: 1,
		msg: `invalid tags at offset 1 ("{⟦⟧not json"): bad JSON: invalid character 'n' looking for beginning of object key string`,
	},
	{
		name: "unclosed JSON", in: `service=a&tags={"a":"b"`, param: "tags", offset: 7,
		msg: `invalid tags at offset 7 ("{\"a\":\"b⟦⟧\""): bad JSON: unexpected end of JSON input`,
	},
	{
		name: "non-string JSON value", in: `service=a&tags={"error":true}`, param: "tags", offset: 9,
		msg: `invalid tags at offset 9 ("{\"error\":⟦⟧true}"): the value of "error" is the boolean true; ` +
			`Jaeger accepts only string values, as in {"error":"true"}`,
	},
	{
		name: "JSON array", in: `service=a&tags=["a"]`, param: "tags", offset: -1,
		msg: `invalid tags "[\"a\"]": expected a JSON object of strings, as in {"error":"true"}`,
	},
	{
		name: "unterminated logfmt quote", in: `service=a&tags=error=true http.url="/api/a b`, param: "tags", offset: 20,
		msg: `invalid tags at offset 20 ("error=true http.url=⟦⟧\"/api/a b"): unterminated quoted value: end it with a double quote`,
	},
	{
		name: "quote inside an unquoted value", in: `service=a&tags=k=a"b`, param: "tags", offset: 3,
		msg: `invalid tags at offset 3 ("k=a⟦⟧\"b"): a double quote inside an unquoted value: ` +
			`quote the whole value, as in k="a \"b\""`,
	},
	{
		name: "text right after a quoted value", in: `service=a&tags=k="a"b=1`, param: "tags", offset: 5,
		msg: `invalid tags at offset 5 ("k=\"a\"⟦⟧b=1"): unexpected 'b' after the quoted value: separate tags with spaces`,
	},
	{
		name: "missing logfmt key", in: `service=a&tags==v`, param: "tags", offset: 0,
		msg: `invalid tags at offset 0 ("⟦⟧=v"): missing key before "="`,
	},
	{
		name: "bad duration", in: "service=a&minDuration=1x", param: "minDuration", offset: -1,
		msg: `invalid minDuration "1x": expected a duration such as 500ms, 1.2s or 100us ` +
			`(units ns, us, µs, ms, s, m, h): time: unknown unit "x" in duration "1x"`,
	},
	{
		name: "negative duration", in: "service=a&maxDuration=-1s", param: "maxDuration", offset: -1,
		msg: `invalid maxDuration "-1s": the duration is negative`,
	},
	{
		name: "reversed durations", in: "service=a&minDuration=2s&maxDuration=1s", param: "maxDuration", offset: -1,
		msg: `invalid maxDuration "1s": it is shorter than minDuration 2s; Jaeger rejects such a search`,
	},
	{
		name: "tag without a colon", in: "service=a&tag=error", param: "tag", offset: -1,
		msg: `invalid tag "error": expected key:value, as in tag=error:true`,
	},
	{
		name: "bad limit", in: "service=a&limit=-5", param: "limit", offset: -1,
		msg: `invalid limit "-5": expected a positive whole number of traces, such as 20`,
	},
	{
		name: "bad lookback", in: "service=a&lookback=yesterday", param: "lookback", offset: -1,
		msg: `invalid lookback "yesterday": expected a number and a unit (s, m, h, d or w) such as 1h or 2d, or custom`,
	},
	{
		name: "end before start", in: "service=a&start=1700003600000000&end=1700000000000000", param: "end", offset: -1,
		msg: `invalid end "1700000000000000": it is before start 1700003600000000`,
	},
	{
		name: "start in milliseconds", in: "service=a&start=1700000000000", param: "start", offset: -1,
		msg: `invalid start "1700000000000": Jaeger expects microseconds since the epoch, and a value below 1e14 ` +
			`(1973-03-03) is not one; as milliseconds it is 2023-11-14T22:13:20Z, which is 1700000000000000 in microseconds`,
	},
	{
		name: "end in seconds", in: "service=a&end=1700003600", param: "end", offset: -1,
		msg: `invalid end "1700003600": Jaeger expects microseconds since the epoch, and a value below 1e14 ` +
			`(1973-03-03) is not one; as seconds it is 2023-11-14T23:13:20Z, which is 1700003600000000 in microseconds`,
	},
	{
		name: "start too small for any unit", in: "service=a&start=20", param: "start", offset: -1,
		msg: `invalid start "20": Jaeger expects microseconds since the epoch, and a value below 1e14 ` +
			`(1973-03-03) is not one; write a time such as 1700000000000000`,
	},
	{
		name: "end after the year 9999", in: "service=a&end=9223372036854775807", param: "end", offset: -1,
		msg: `invalid end "9223372036854775807": Jaeger expects microseconds since the epoch, and this is after ` +
			`9999-12-31T23:59:59.999999Z; if it is nanoseconds, it is 9223372036854775 in microseconds`,
	},
	{
		name: "start beyond int64", in: "service=a&start=99999999999999999999", param: "start", offset: -1,
		msg: `invalid start "99999999999999999999": expected microseconds since the epoch, such as 1700000000000000`,
	},
	{
		name: "lookback of 999999 days", in: "service=a&lookback=999999d", param: "lookback", offset: -1,
		msg: `invalid lookback "999999d": it is longer than 100 years (36500d), the longest lookback accepted`,
	},
	{
		name: "lookback of 999999 weeks", in: "service=a&lookback=999999w", param: "lookback", offset: -1,
		msg: `invalid lookback "999999w": it is longer than 100 years (36500d), the longest lookback accepted`,
	},
	{
		name: "repeated service", in: "service=a&service=b", param: "service", offset: -1,
		msg: `invalid service "a, b": given 2 times; give it once`,
	},
	{
		name: "bad trace ID", in: "traceID=xyz", param: "traceID", offset: -1,
		msg: `invalid traceID "xyz": expected up to 32 hexadecimal digits`,
	},
	{
		name: "v3 API", in: "http://h:16686/api/v3/traces?query.service_name=a", param: "", offset: -1,
		msg: `invalid search "http://h:16686/api/v3/traces?query.service_name=a": the /api/v3 search form ` +
			`is not supported: give the Jaeger UI /search URL or an /api/traces URL`,
	},
	{
		name: "unknown path", in: "http://h:16686/dependencies?service=a", param: "", offset: -1,
		msg: `invalid search "http://h:16686/dependencies?service=a": unrecognised path "/dependencies": ` +
			`expected a Jaeger UI /search or /trace/ID URL, or an /api/traces URL`,
	},
	{
		name: "bad percent encoding", in: "service=%zz", param: "", offset: -1,
		msg: `invalid search "service=%zz": the query string does not decode: invalid URL escape "%zz"`,
	},
	{
		name: "invalid UTF-8", in: "service=%ff", param: "service", offset: -1,
		msg: "invalid service \"\ufffd\": the value is not valid UTF-8",
	},
	{
		name: "empty", in: " ", param: "", offset: -1,
		msg: `invalid search " ": empty search: pass a Jaeger search URL or a query string such as service=frontend`,
	},
	{
		name: "too many tags", in: "service=a&tags=" + strings.Repeat("k=v ", traceql.MaxTags+1), param: "tags", offset: -1,
		msg: `invalid tags: more than the 64 tags accepted`, is: traceql.ErrTooManyTags,
	},
	{
		name: "too many tags across parameters", in: "service=a&tag=x:1&tags=" + strings.Repeat("k=v ", traceql.MaxTags),
		param: "tags", offset: -1, msg: `invalid tags: 65 tags, more than the 64 accepted`, is: traceql.ErrTooManyTags,
	},
	{
		name: "too large", in: "service=" + strings.Repeat("a", traceql.MaxInputBytes), param: "", offset: -1,
		msg: `invalid search: the search is 65544 bytes, more than the 65536 accepted`, is: traceql.ErrInputTooLarge,
	},
}

func TestParseSearchErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := traceql.ParseSearch(tc.in)
			if err == nil {
				t.Fatalf("ParseSearch(%q) succeeded, want an error", tc.in)
			}
			var pe *traceql.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseSearch(%q) error %T is not a *ParamError: %v", tc.in, err, err)
			}
			if pe.Param != tc.param || pe.Offset != tc.offset {
				t.Errorf("error names parameter %q at offset %d, want %q at %d", pe.Param, pe.Offset, tc.param, tc.offset)
			}
			if err.Error() != tc.msg {
				t.Errorf("error text\n got: %s\nwant: %s", err, tc.msg)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v", tc.is)
			}
		})
	}
}
