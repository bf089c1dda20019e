package grammartest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a testing.TB that records Fatalf instead of failing the test.
type recorder struct {
	testing.TB
	failed  bool
	message string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.message = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runRecorded runs requireValid in its own goroutine, as the testing package
// runs a test, so that Fatalf can end it with runtime.Goexit.
func runRecorded(t *testing.T, check checkFunc, queries []grammar.Query) *recorder {
	t.Helper()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		requireValid(r, check, queries)
	}()
	<-done
	return r
}

func TestRequireValidPasses(t *testing.T) {
	RequireValid(t, []grammar.Query{
		{ID: "logql", Lang: grammar.LangLogQL, Text: `sum by (host) (count_over_time({job="x"} |= "a" [$__auto]))`},
		{ID: "traceql", Lang: grammar.LangTraceQL, Text: `{ status = error }`},
	})
}

func TestRequireValidListsEveryFailure(t *testing.T) {
	queries := []grammar.Query{
		{ID: "good", Lang: grammar.LangLogQL, Text: `{a="b"}`},
		{ID: "trailing-pipe", Lang: grammar.LangLogQL, Text: `{host="${host}"} | json |`},
		{ID: "open-filter", Lang: grammar.LangTraceQL, Text: `{ .a = "b"`},
	}
	r := runRecorded(t, grammar.Check, queries)

	if !r.failed {
		t.Fatal("RequireValid passed invalid queries")
	}
	wantParts := []string{
		"2 of 3 queries do not parse",
		`logql query "trailing-pipe"`,
		`interpolated: "{host=\"value\"} | json |"`,
		`syntax error at bytes 23-23: "{host=\"value\"} | json |⟦⟧"`,
		`traceql query "open-filter"`,
	}
	for _, want := range wantParts {
		if !strings.Contains(r.message, want) {
			t.Errorf("failure message does not contain %q:\n%s", want, r.message)
		}
	}
	if strings.Contains(r.message, `"good"`) {
		t.Errorf("failure message lists the valid query:\n%s", r.message)
	}
}

func TestRequireValidFailsWithoutModules(t *testing.T) {
	root := t.TempDir()
	script := filepath.Join(root, "tools", "grammar", "check.mjs")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	check := grammar.Checker{Root: root}.Check
	r := runRecorded(t, check, []grammar.Query{{ID: "q", Lang: grammar.LangLogQL, Text: `{a="b"}`}})

	if !r.failed {
		t.Fatal("RequireValid passed although the checker cannot run")
	}
	for _, want := range []string{"node_modules", `"make test"`, `"npm ci --prefix tools/grammar"`} {
		if !strings.Contains(r.message, want) {
			t.Errorf("failure message does not contain %q:\n%s", want, r.message)
		}
	}
}
