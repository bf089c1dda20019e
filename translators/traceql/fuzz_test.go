package traceql_test

import (
	"errors"
	"strings"
	"testing"
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
