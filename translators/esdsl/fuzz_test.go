package esdsl

import (
	"errors"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/ast"
)

// seedQueries returns every query of the test tables.
func seedQueries() []string {
	var seeds []string
	for _, group := range [][]parseCase{leafCases, compoundCases, boolCases, stringQueryTreeCases} {
		for _, tc := range group {
			seeds = append(seeds, tc.in)
		}
	}
	for _, tc := range queryStringCases {
		seeds = append(seeds, tc.in)
	}
	for _, group := range [][]errorCase{errorCases, queryStringErrorCases} {
		for _, tc := range group {
			seeds = append(seeds, tc.in)
		}
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range seedQueries() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		q, err := Parse(raw)
		if err != nil {
			checkFuzzError(t, raw, err)
			return
		}
		checkFuzzTree(t, raw, q.Root)
	})
}

func FuzzParseFilter(f *testing.F) {
	for _, tc := range filterCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range filterErrorCases {
		f.Add([]byte(tc.in))
	}
	for _, s := range seedQueries() {
		f.Add([]byte(`{"meta":{"negate":true},"query":` + s + `}`))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		filter, err := ParseFilter(raw)
		if err != nil {
			checkFuzzError(t, raw, err)
			return
		}
		checkFuzzTree(t, raw, filter.Node)
		if filter.Negate {
			if _, ok := filter.Node.(ast.Not); !ok {
				t.Errorf("negated pill %q parsed into %s, want a not", raw, ast.Format(filter.Node))
			}
		}
	})
}

func checkFuzzError(t *testing.T, raw []byte, err error) {
	t.Helper()
	var se *ast.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("parsing %q: error %T is not an *ast.SyntaxError: %v", raw, err, err)
	}
	if se.Offset < 0 || se.Offset > len(raw) {
		t.Fatalf("parsing %q: offset %d outside the input of %d bytes", raw, se.Offset, len(raw))
	}
	if se.Source != string(raw) {
		t.Fatalf("parsing %q: error source %q is not the input", raw, se.Source)
	}
	_ = se.Error()
}

func checkFuzzTree(t *testing.T, raw []byte, n ast.Node) {
	t.Helper()
	if s := ast.Format(n); strings.Contains(s, "(nil)") || strings.Contains(s, "(?)") {
		t.Fatalf("parsing %q gave a tree with a nil node: %s", raw, s)
	}
}
