package traceql_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/obs-migrate/migrate/translators/traceql"
)

// fuzzOptions are the option sets every fuzzed search is rendered with.
var fuzzOptions = []traceql.Options{
	{},
	{Scope: traceql.ScopeSpan, Events: true, ErrorAttribute: true, RegexTagValues: true},
	{Scope: traceql.ScopeResource, KeepVariables: true, OmitMostRecent: true, SpansPerSpanSet: 2, Now: now},
}

// FuzzParseSearch parses arbitrary input. ParseSearch must not panic, and it
// must fail only with a *ParamError. A search it accepts must render under
// every option set into a query that the evaluator's strict parser reads, with
// a grade that its reasons explain.
func FuzzParseSearch(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	for _, tc := range errorCases {
		if len(tc.in) < 1024 {
			f.Add(tc.in)
		}
	}
	for _, tc := range renderCases {
		if tc.search != "" {
			f.Add(tc.search)
		}
	}
	f.Add("service=a&tags=k=\"a\\\nb\"&tag=x:`")
	f.Add(`/api/traces?service=s&tags={"a\u0000":"\ufeff"}`)

	f.Fuzz(func(t *testing.T, in string) {
		s, err := traceql.ParseSearch(in)
		if err != nil {
			var pe *traceql.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseSearch(%q) error %T is not a *ParamError: %v", in, err, err)
			}
			if pe.Offset > len(pe.Value) || !utf8.ValidString(err.Error()) {
				t.Fatalf("ParseSearch(%q): bad error %q (offset %d of %d bytes)", in, err, pe.Offset, len(pe.Value))
			}
			return
		}
		if len(s.Tags) > traceql.MaxTags {
			t.Fatalf("ParseSearch(%q) returned %d tags", in, len(s.Tags))
		}
		for _, opts := range fuzzOptions {
			res := traceql.Render(s, opts)
			checkReasons(t, res)
			checkWindow(t, res)
			if res.Query == "" {
				continue
			}
			if !utf8.ValidString(res.Query) || strings.ContainsAny(res.Query, "\x00\ufeff") {
				t.Fatalf("Render(%q) wrote text Tempo rejects: %q", in, res.Query)
			}
			if _, err := parseQuery(res.Query); err != nil {
				t.Fatalf("Render(%q): %v", in, err)
			}
		}
	})
}

// FuzzParseTags checks that tags written back as logfmt parse to the same
// tags.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{
		`error=true http.status_code=500`, `http.url="/api/a b" k`, `{"a":"1","b":"x y"}`, `"k k"="v \" \\ v"`,
		`k= x=1`, `{"a\nb":"c\\d"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tags, err := traceql.ParseTags(in)
		if err != nil {
			return
		}
		back := formatLogfmt(tags)
		again, err := traceql.ParseTags(back)
		if err != nil {
			t.Fatalf("ParseTags(%q) = %q, written back as %q, which fails: %v", in, tags, back, err)
		}
		if diff := cmp.Diff(tags, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("ParseTags(%q) written back as %q reads differently (-first +second):\n%s", in, back, diff)
		}
	})
}

// formatLogfmt writes tags as logfmt, quoting every key and value.
func formatLogfmt(tags []traceql.Tag) string {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	parts := make([]string, 0, len(tags))
	for _, t := range tags {
		parts = append(parts, `"`+quote.Replace(t.Key)+`"="`+quote.Replace(t.Value)+`"`)
	}
	return strings.Join(parts, " ")
}

// checkWindow holds for every result. Tempo's start and end are not
// negative, and the start is not after the end. The range is relative to
// now or in RFC 3339 within the years 1973 to 9999, and it does not end
// before it starts.
func checkWindow(t *testing.T, res traceql.Result) {
	t.Helper()
	p := res.Tempo
	if p.Start < 0 {
		t.Errorf("Tempo start %d is negative", p.Start)
	}
	if p.End < 0 {
		t.Errorf("Tempo end %d is negative", p.End)
	}
	if p.End > 0 && p.Start > p.End {
		t.Errorf("Tempo start %d is after end %d", p.Start, p.End)
	}
	if res.Range == nil {
		return
	}
	start, startOK := rangeTime(res.Range.Start)
	end, endOK := rangeTime(res.Range.End)
	if !startOK || !endOK {
		t.Errorf("range %+v is neither relative nor RFC 3339 within the years 1973 to 9999", *res.Range)
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		t.Errorf("range %+v ends before it starts", *res.Range)
	}
}

// rangeTime reads one end of a range: empty, now, now-<lookback>, or RFC
// 3339. The time is zero unless it is RFC 3339.
func rangeTime(text string) (time.Time, bool) {
	if text == "" || text == "now" || strings.HasPrefix(text, "now-") {
		return time.Time{}, true
	}
	tm, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, false
	}
	return tm, tm.Year() >= 1973 && tm.Year() <= 9999
}
