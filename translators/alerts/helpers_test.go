package alerts_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/internal/grammar"
	"github.com/obs-migrate/migrate/internal/grammar/grammartest"
	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/alerts"
)

// inputsDir holds the hand-written source rules; see testdata/README.md.
const inputsDir = "testdata/inputs"

// readInputs reads every file of a folder, in sorted order, with paths
// relative to the package so that reports do not depend on the checkout.
func readInputs(t testing.TB, dir string) []alerts.Input {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no inputs in %s: %v", dir, err)
	}
	sort.Strings(names)
	inputs := make([]alerts.Input, len(names))
	for i, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		inputs[i] = alerts.Input{File: filepath.ToSlash(name), Data: data}
	}
	return inputs
}

// testMappings loads the mapping used by the tests.
func testMappings(t testing.TB) []plans.LogMapping {
	t.Helper()
	m, err := plans.LoadLogMappings("testdata/mapping.yaml")
	if err != nil {
		t.Fatalf("loading the test mapping: %v", err)
	}
	return m
}

// requireValidExprs checks every rule expression of a result with
// Grafana's LogQL grammar, and that every rule file decodes into the ruler
// structure.
func requireValidExprs(t *testing.T, res *alerts.Result) {
	t.Helper()
	var queries []grammar.Query
	for _, out := range res.Files {
		f, err := alerts.DecodeRuleFile(out.YAML)
		if err != nil {
			t.Fatalf("%s does not decode: %v", out.File, err)
		}
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				queries = append(queries, grammar.Query{ID: out.File + "/" + g.Name, Lang: grammar.LangLogQL, Text: r.Expr})
			}
		}
	}
	if len(queries) > 0 {
		grammartest.RequireValid(t, queries)
	}
}

// itemByID returns the report item of a source object.
func itemByID(t *testing.T, r *alerts.Report, id string) *alerts.Item {
	t.Helper()
	for _, it := range r.Items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("no report item for %q", id)
	return nil
}

func hasReason(it *alerts.Item, code string) bool {
	for _, r := range it.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

func reasonCodes(it *alerts.Item) string {
	codes := make([]string, len(it.Reasons))
	for i, r := range it.Reasons {
		codes[i] = r.Code
	}
	return strings.Join(codes, ", ")
}
