package lucene

import (
	"errors"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/translators/ast"
)

type simpleCase struct {
	name string
	in   string
	opts Options
	want string
}

var simpleCases = []simpleCase{
	// Whitespace and the default operator.
	{name: "empty", in: "", want: "(none)"},
	{name: "only operators", in: "+|- ", want: "(none)"},
	{name: "single word", in: "a", want: `(match * "a")`},
	{name: "words default or", in: "a b", want: `(or (match * "a") (match * "b"))`},
	{name: "words default and", in: "a b", opts: andOp, want: `(and (match * "a" and) (match * "b" and))`},

	// Operators, left to right.
	{name: "and", in: "a + b", want: `(and (match * "a") (match * "b"))`},
	{name: "and without spaces", in: "a+b", want: `(and (match * "a") (match * "b"))`},
	{name: "or", in: "a | b", want: `(or (match * "a") (match * "b"))`},
	{name: "or then and", in: "a | b + c", want: `(and (or (match * "a") (match * "b")) (match * "c"))`},
	{name: "and then or", in: "a + b | c", want: `(or (and (match * "a") (match * "b")) (match * "c"))`},
	{
		name: "whitespace then or under and", in: "a b | c", opts: andOp,
		want: `(or (and (match * "a" and) (match * "b" and)) (match * "c" and))`,
	},
	{name: "same operator flattens", in: "a | b | c", want: `(or (match * "a") (match * "b") (match * "c"))`},
	{name: "first operator wins", in: "a +| b", want: `(and (match * "a") (match * "b"))`},
	{name: "leading operator ignored", in: "+a", want: `(match * "a")`},
	{name: "trailing operator ignored", in: "a +", want: `(match * "a")`},

	// Negation.
	{name: "negated word", in: "-a", want: `(not (match * "a"))`},
	{name: "negation default or", in: "a -b", want: `(or (match * "a") (not (match * "b")))`},
	{
		name: "negation default and", in: "a -b", opts: andOp,
		want: `(and (match * "a" and) (not (match * "b" and)))`,
	},
	{name: "minus then space", in: "- a", want: `(match * "a")`},
	{name: "double minus", in: "--a", want: `(match * "a")`},
	{name: "triple minus", in: "---a", want: `(not (match * "a"))`},
	{name: "hyphen inside word", in: "a-b", want: `(match * "a-b")`},
	{name: "negated phrase", in: `-"a b"`, want: `(not (phrase * "a b"))`},
	{name: "negated group", in: "-(a b)", want: `(not (or (match * "a") (match * "b")))`},
	{name: "minus then operator", in: "a -+b", want: `(and (match * "a") (match * "b"))`},

	// Phrases.
	{name: "phrase", in: `"a b"`, want: `(phrase * "a b")`},
	{name: "phrase slop", in: `"a b"~2`, want: `(phrase * "a b" ~2)`},
	{name: "phrase tilde at end", in: `"a b"~`, want: `(phrase * "a b")`},
	{name: "phrase tilde then space", in: `"a b"~ c`, want: `(or (phrase * "a b" ~2) (match * "c"))`},
	{name: "phrase bad slop", in: `"a b"~x`, want: `(phrase * "a b")`},
	{name: "phrase escaped quote", in: `"a \"b\""`, want: `(phrase * "a \"b\"")`},
	{name: "unclosed quote", in: `"unclosed word`, want: `(or (match * "unclosed") (match * "word"))`},
	{name: "quote ends word", in: `a"b"`, want: `(or (match * "a") (phrase * "b"))`},

	// Prefix and fuzzy.
	{name: "prefix", in: "foo*", want: `(prefix * "foo")`},
	{name: "star alone", in: "*", want: "(all)"},
	{name: "star with spaces", in: "  *\t", want: "(all)"},
	{name: "star among words", in: "a *", want: `(or (match * "a") (match * "*"))`},
	{name: "inner star", in: "a*b", want: `(match * "a*b")`},
	{name: "escaped star", in: `a\*`, want: `(match * "a*")`},
	{name: "fuzzy default", in: "foo~", want: `(fuzzy * "foo" ~2)`},
	{name: "fuzzy one", in: "foo~1", want: `(fuzzy * "foo" ~1)`},
	{name: "fuzzy clamped", in: "foo~5", want: `(fuzzy * "foo" ~2)`},
	{name: "fuzzy zero", in: "foo~0", want: `(match * "foo")`},
	{name: "fuzzy not a number", in: "foo~x bar", want: `(or (match * "foo") (match * "bar"))`},
	{name: "fuzzy negative", in: "foo~-1", want: `(match * "foo")`},
	{name: "tilde first", in: "~a", want: `(match * "~a")`},

	// Groups.
	{name: "group or then and", in: "(a | b) + c", want: `(and (or (match * "a") (match * "b")) (match * "c"))`},
	{name: "and then group", in: "a + (b | c)", want: `(and (match * "a") (or (match * "b") (match * "c")))`},
	{name: "unclosed group", in: "(a b", want: `(or (match * "a") (match * "b"))`},
	{name: "stray close", in: "a) b", want: `(or (match * "a") (match * "b"))`},
	{name: "empty group", in: "()", want: "(none)"},
	{
		name: "empty group clears operator", in: "a + () b", opts: andOp,
		want: `(and (match * "a" and) (match * "b" and))`,
	},
	{name: "nested groups", in: "((a))", want: `(match * "a")`},
	{name: "quote inside group", in: `("a) b")`, want: `(or (match * "a") (match * "b"))`},
	{name: "escaped parens", in: `\(a\)`, want: `(match * "(a)")`},
	{name: "fuzzy eats escape", in: `a~\(b)`, want: `(or (match * "a") (match * "b"))`},

	// Escapes and text.
	{name: "escaped space", in: `a\ b`, want: `(match * "a b")`},
	{name: "trailing backslash", in: `a \`, want: `(match * "a")`},
	{name: "field syntax is text", in: "field:value", want: `(match * "field:value")`},
	{name: "grafana variable", in: "${host} [[x]]", want: `(or (match * "${host}") (match * "[[x]]"))`},

	// Default fields.
	{
		name: "default fields", in: "a*", opts: Options{DefaultFields: []string{"x", "y"}},
		want: `(or (prefix x "a") (prefix y "a"))`,
	},
	{
		name: "default field phrase", in: `"a b"`, opts: Options{DefaultFields: []string{"m"}},
		want: `(phrase m "a b")`,
	},
}

func TestParseSimple(t *testing.T) {
	for _, tc := range simpleCases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseSimple(tc.in, tc.opts)
			if err != nil {
				t.Fatalf("ParseSimple(%q) failed: %v", tc.in, err)
			}
			if got := ast.Format(q.Root); got != tc.want {
				t.Errorf("ParseSimple(%q)\n got: %s\nwant: %s", tc.in, got, tc.want)
			}
			if q.Language != ast.Lucene || q.Source != tc.in {
				t.Errorf("ParseSimple(%q) gave language %q and source %q", tc.in, q.Language, q.Source)
			}
		})
	}
}

func TestParseSimpleErrors(t *testing.T) {
	nested := strings.Repeat("(", 10000) + "a" + strings.Repeat(")", 10000)
	alternating := "a" + strings.Repeat(" | a + a", 200)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"invalid UTF-8", "a \xff", ast.ErrInvalidUTF8},
		{"nested groups", nested, ast.ErrTooDeep},
		{"alternating operators", alternating, ast.ErrTooDeep},
	}
	for _, tc := range tests {
		_, err := ParseSimple(tc.in, Options{})
		if !errors.Is(err, tc.want) {
			t.Errorf("ParseSimple(%s) error = %v, want %v", tc.name, err, tc.want)
		}
		var se *ast.SyntaxError
		if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(tc.in) {
			t.Errorf("ParseSimple(%s) error = %#v, want a SyntaxError inside the input", tc.name, err)
		}
	}
}

func TestParseSimpleDepthLimit(t *testing.T) {
	nested := func(n int) string {
		return strings.Repeat("(", n) + "a" + strings.Repeat(")", n)
	}
	if _, err := ParseSimple(nested(ast.MaxDepth), Options{}); err != nil {
		t.Errorf("ParseSimple(%d nested groups) failed: %v", ast.MaxDepth, err)
	}
	if _, err := ParseSimple(nested(ast.MaxDepth+1), Options{}); !errors.Is(err, ast.ErrTooDeep) {
		t.Errorf("ParseSimple(%d nested groups) error = %v, want ErrTooDeep", ast.MaxDepth+1, err)
	}
}

func TestParseSimpleLongInput(t *testing.T) {
	const n = 10000
	q, err := ParseSimple(strings.Repeat("a | ", n-1)+"a", Options{})
	if err != nil {
		t.Fatalf("ParseSimple(long or chain) failed: %v", err)
	}
	or, ok := q.Root.(ast.Or)
	if !ok || len(or.Children) != n {
		t.Errorf("ParseSimple(long or chain) root = %T with %d children, want or with %d", q.Root, len(or.Children), n)
	}

	// Unclosed parentheses and quotes are skipped one by one, and each must
	// cost constant time, not a rescan of the rest.
	for _, in := range []string{strings.Repeat("(", 200000) + "a", strings.Repeat(`a~\"`, 50000)} {
		if _, err := ParseSimple(in, Options{}); err != nil {
			t.Errorf("ParseSimple(%.10q…) failed: %v", in, err)
		}
	}
}
