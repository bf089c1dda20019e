package logql_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/kql"
	"github.com/obs-migrate/migrate/translators/logql"
	"github.com/obs-migrate/migrate/translators/lucene"
)

// quotedString matches a LogQL string literal: backticks, or double quotes
// with escapes.
var quotedString = regexp.MustCompile("`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\"")

// FuzzRender parses KQL and Lucene input and renders it for two mappings.
// Rendering must not panic, and every string literal after a regex
// operator must compile as RE2, which is what Loki compiles it with.
func FuzzRender(f *testing.F) {
	for _, tc := range renderCases {
		f.Add(tc.src)
	}
	schemas := []*logql.Schema{
		logql.NewSchema(testMapping(), true, nil),
		logql.NewSchema(plans.DefaultLogMapping(), false, nil),
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, parse := range []func(string) (any, error){
			func(s string) (any, error) { return kql.Parse(s) },
			func(s string) (any, error) { return lucene.Parse(s) },
		} {
			q, err := parse(src)
			if err != nil {
				continue
			}
			for _, s := range schemas {
				res := logql.Render(toQuery(q), s)
				checkRegexes(t, res.String())
			}
		}
	})
}

func checkRegexes(t *testing.T, query string) {
	t.Helper()
	for _, loc := range quotedString.FindAllStringIndex(query, -1) {
		before := strings.TrimRight(query[:loc[0]], " ")
		if !strings.HasSuffix(before, "~") {
			continue
		}
		lit := query[loc[0]:loc[1]]
		val := lit[1 : len(lit)-1]
		if lit[0] == '"' {
			var err error
			if val, err = strconv.Unquote(lit); err != nil {
				t.Fatalf("invalid string literal %s in %s: %v", lit, query, err)
			}
		}
		if _, err := regexp.Compile(val); err != nil {
			t.Fatalf("regex %s in %s does not compile: %v", lit, query, err)
		}
	}
}

func toQuery(v any) *ast.Query { return v.(*ast.Query) }
