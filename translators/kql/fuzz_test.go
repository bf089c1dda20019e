package kql

import (
	"errors"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/ast"
)

// FuzzParse checks that Parse never panics, that a failure is a
// *ast.SyntaxError with an offset inside the input, and that a success is a
// complete tree that ast.Format can print.
func FuzzParse(f *testing.F) {
	for _, c := range parseCases {
		f.Add(c.in)
	}
	for _, c := range errorCases {
		f.Add(c.in)
	}
	f.Add("a:\xff")
	f.Add(strings.Repeat("(", ast.MaxDepth+1))

	f.Fuzz(func(t *testing.T, src string) {
		q, err := Parse(src)
		if err != nil {
			checkSyntaxError(t, src, err)
			return
		}
		if q == nil || q.Root == nil {
			t.Fatalf("Parse(%q) returned no tree and no error", src)
		}
		if q.Language != ast.KQL || q.Source != src {
			t.Errorf("Parse(%q) language %q source %q", src, q.Language, q.Source)
		}
		out := ast.Format(q.Root)
		if strings.Contains(out, "(nil)") || strings.Contains(out, "(?)") {
			t.Errorf("Parse(%q) built an incomplete tree: %s", src, out)
		}
	})
}

func checkSyntaxError(t *testing.T, src string, err error) {
	t.Helper()
	var se *ast.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse(%q) error %T %v, want *ast.SyntaxError", src, err, err)
	}
	if se.Offset < 0 || se.Offset > len(src) {
		t.Errorf("Parse(%q) error offset %d outside the input of %d bytes", src, se.Offset, len(src))
	}
	if se.Msg == "" {
		t.Errorf("Parse(%q) error has an empty message", src)
	}
	_ = se.Error()
}
