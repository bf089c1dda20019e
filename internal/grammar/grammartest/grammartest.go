// Package grammartest provides test helpers that check generated LogQL and
// TraceQL with package grammar. It imports package testing, so it lives apart
// from grammar to keep testing out of any binary that imports grammar.
package grammartest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
)

// checkFunc is the signature of grammar.Check and grammar.Checker.Check.
type checkFunc func(context.Context, []grammar.Query) ([]grammar.Result, error)

// RequireValid fails t with t.Fatalf unless every query parses with Grafana's
// grammar for its language. The message lists each failing query with the
// text around each error. RequireValid never skips: when the checker cannot
// run, for example because node_modules is not installed, it fails with the
// command that installs what is missing.
func RequireValid(t testing.TB, queries []grammar.Query) {
	t.Helper()
	requireValid(t, grammar.Check, queries)
}

func requireValid(t testing.TB, check checkFunc, queries []grammar.Query) {
	t.Helper()
	results, err := check(t.Context(), queries)
	if err != nil {
		t.Fatalf("checking %d queries with Grafana's grammars: %v", len(queries), err)
		return
	}

	var failures []string
	for i, r := range results {
		if !r.OK {
			failures = append(failures, describeFailure(queries[i], r))
		}
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d queries do not parse with Grafana's grammars:\n%s",
			len(failures), len(queries), strings.Join(failures, "\n"))
	}
}

func describeFailure(q grammar.Query, r grammar.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s query %q: %q", q.Lang, q.ID, q.Text)
	if r.Interpolated != "" {
		fmt.Fprintf(&b, "\n    interpolated: %q", r.Interpolated)
	}
	for _, s := range r.Errors {
		fmt.Fprintf(&b, "\n    %s at bytes %d-%d: %q", s.Message, s.From, s.To, s.Context)
	}
	return b.String()
}
