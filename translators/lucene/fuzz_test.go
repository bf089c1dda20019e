package lucene

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// fuzzSeeds returns every input of the parser tables.
func fuzzSeeds() []string {
	var seeds []string
	for _, tc := range parseCases {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range errorCases {
		seeds = append(seeds, tc.in)
	}
	for _, tc := range simpleCases {
		seeds = append(seeds, tc.in)
	}
	return seeds
}

// checkResult fails the test unless a parse either returned a tree with no
// nil nodes or a SyntaxError at an offset inside the input.
func checkResult(t *testing.T, src string, q *ast.Query, err error) {
	t.Helper()
	if err != nil {
		var se *ast.SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("error for %q is %T, want *ast.SyntaxError: %v", src, err, err)
		}
		if se.Offset < 0 || se.Offset > len(src) {
			t.Fatalf("error offset %d for %q is outside the input of %d bytes", se.Offset, src, len(src))
		}
		if se.Msg == "" {
			t.Fatalf("error for %q has no message", src)
		}
		_ = se.Error()
		return
	}
	if q == nil || q.Root == nil {
		t.Fatalf("no tree and no error for %q", src)
	}
	if f := ast.Format(q.Root); strings.Contains(f, "(nil)") || strings.Contains(f, "(?)") {
		t.Fatalf("tree for %q has a nil or unknown node: %s", src, f)
	}
	// Each group level adds at most an And and a Not or Or, and default
	// fields add one Or at the leaves.
	if d, limit := treeDepth(q.Root), 2*ast.MaxDepth+4; d > limit {
		t.Fatalf("tree for %q is %d levels deep, want at most %d", src, d, limit)
	}
	for _, n := range q.Notes {
		if n.Level != fidelity.Exact {
			t.Fatalf("note %s for %q has level %v, want exact", n.Code, src, n.Level)
		}
	}
}

// treeDepth returns the number of levels in a tree, counting a leaf as one.
func treeDepth(n ast.Node) int {
	var children []ast.Node
	switch n := n.(type) {
	case ast.And:
		children = n.Children
	case ast.Or:
		children = n.Children
	case ast.Not:
		children = []ast.Node{n.Child}
	case ast.Nested:
		children = []ast.Node{n.Query}
	}
	d := 0
	for _, c := range children {
		d = max(d, treeDepth(c))
	}
	return d + 1
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, src string, and bool) {
		opts := Options{}
		if and {
			opts = Options{DefaultOperator: ast.OpAnd, DefaultFields: []string{"a", "b"}}
		}
		q, err := ParseWithOptions(src, opts)
		checkResult(t, src, q, err)
		if err == nil && !utf8.ValidString(src) {
			t.Fatalf("invalid UTF-8 %q parsed without error", src)
		}
	})
}

func FuzzParseSimple(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, src string, and bool) {
		opts := Options{}
		if and {
			opts = Options{DefaultOperator: ast.OpAnd, DefaultFields: []string{"a", "b"}}
		}
		q, err := ParseSimple(src, opts)
		checkResult(t, src, q, err)
		if err != nil && !errors.Is(err, ast.ErrInvalidUTF8) && !errors.Is(err, ast.ErrTooDeep) {
			t.Fatalf("ParseSimple(%q) failed on syntax, which it must read as text: %v", src, err)
		}
	})
}
