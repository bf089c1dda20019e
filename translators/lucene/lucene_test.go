package lucene

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/ast"
)

// parseCase is one query_string input and the tree it must parse into.
type parseCase struct {
	name string
	in   string
	opts Options
	want string
	// notes are the codes of the notes the parse must produce, sorted.
	notes []string
}

var andOp = Options{DefaultOperator: ast.OpAnd}

var parseCases = []parseCase{
	// Empty input, as Kibana sends an empty query bar.
	{name: "empty", in: "", want: "(all)"},
	{name: "whitespace only", in: " \t\n\u3000", want: "(all)"},

	// Clause occurrence, after Lucene's addClause.
	{name: "single term", in: "a", want: `(match * "a")`},
	{
		name: "bare terms default or", in: "a b c",
		want: `(or (match * "a") (match * "b") (match * "c"))`,
	},
	{
		name: "bare terms default and", in: "a b c", opts: andOp,
		want: `(and (match * "a" and) (match * "b" and) (match * "c" and))`,
	},
	{
		name: "or then and", in: "a OR b AND c",
		want: `(and (match * "b") (match * "c"))`, notes: []string{"optional_clause_ignored"},
	},
	{
		name: "and then or", in: "a AND b OR c",
		want: `(and (match * "a") (match * "b"))`, notes: []string{"optional_clause_ignored"},
	},
	{
		name: "or then and default and", in: "a OR b AND c", opts: andOp,
		want: `(and (match * "b" and) (match * "c" and))`, notes: []string{"optional_clause_ignored"},
	},
	{
		name: "plus minus bare", in: "+a -b c",
		want: `(and (match * "a") (not (match * "b")))`, notes: []string{"optional_clause_ignored"},
	},
	{
		name: "only prohibited", in: "-a -b",
		want: `(and (not (match * "a")) (not (match * "b")))`,
	},
	{name: "leading NOT", in: "NOT a", want: `(and (not (match * "a")))`},
	{name: "bang", in: "!a", want: `(and (not (match * "a")))`},
	{name: "minus", in: "-a", want: `(and (not (match * "a")))`},
	{name: "and not", in: "a AND NOT b", want: `(and (match * "a") (not (match * "b")))`},
	{
		name: "symbol operators", in: "a && b || !c",
		want: `(and (match * "a") (match * "b") (not (match * "c")))`,
	},
	{name: "optional and prohibited", in: "a -b", want: `(and (match * "a") (not (match * "b")))`},
	{
		name: "two optional and prohibited", in: "a b -c",
		want: `(and (or (match * "a") (match * "b")) (not (match * "c")))`,
	},
	{
		name: "or default and", in: "a OR b", opts: andOp,
		want: `(or (match * "a" and) (match * "b" and))`,
	},
	{
		name: "or drops plus under and", in: "a OR +b", opts: andOp,
		want: `(or (match * "a" and) (match * "b" and))`,
	},
	{
		name: "plus then or", in: "+a OR b",
		want: `(match * "a")`, notes: []string{"optional_clause_ignored"},
	},
	{
		name: "or after two under and", in: "a b OR c", opts: andOp,
		want: `(match * "a" and)`, notes: []string{"optional_clause_ignored"},
	},
	{
		name: "or keeps prohibited under and", in: "-a OR b", opts: andOp,
		want: `(and (match * "b" and) (not (match * "a" and)))`,
	},
	{
		name: "and keeps prohibited", in: "-a AND b",
		want: `(and (match * "b") (not (match * "a")))`,
	},
	{
		name: "group and", in: "(a OR b) AND c",
		want: `(and (or (match * "a") (match * "b")) (match * "c"))`,
	},
	{
		name: "groups flatten or", in: "(a b) (c d)",
		want: `(or (match * "a") (match * "b") (match * "c") (match * "d"))`,
	},
	{
		name: "groups flatten and", in: "(a AND b) AND c",
		want: `(and (match * "a") (match * "b") (match * "c"))`,
	},
	{name: "negative group", in: "a AND (NOT b)", want: `(and (match * "a") (not (match * "b")))`},
	{
		name: "not group", in: "NOT (a OR b)",
		want: `(and (not (or (match * "a") (match * "b"))))`,
	},
	{name: "double negation", in: "-(-a)", want: `(and (not (and (not (match * "a")))))`},
	{name: "single group", in: "((a))", want: `(match * "a")`},
	{
		name: "status range and not", in: "status:[400 TO 499] AND -method:GET",
		want: `(and (range status [400 TO 499]) (not (match method "GET")))`,
	},

	// Lowercase operators are words.
	{
		name: "lowercase and", in: "a and b",
		want: `(or (match * "a") (match * "and") (match * "b"))`, notes: []string{"lowercase_operator"},
	},
	{
		name: "lowercase or", in: "a or b",
		want: `(or (match * "a") (match * "or") (match * "b"))`, notes: []string{"lowercase_operator"},
	},
	{
		name: "lowercase not", in: "not a",
		want: `(or (match * "not") (match * "a"))`, notes: []string{"lowercase_operator"},
	},
	{
		name: "mixed case", in: "a And b",
		want: `(or (match * "a") (match * "And") (match * "b"))`, notes: []string{"lowercase_operator"},
	},
	{name: "quoted and", in: `"and"`, want: `(phrase * "and")`},
	{name: "field value and", in: "status:and", want: `(match status "and")`},
	{
		name: "lowercase in field group", in: "f:(a or b)",
		want: `(or (match f "a") (match f "or") (match f "b"))`, notes: []string{"lowercase_operator"},
	},
	{
		name: "operator prefix word", in: "ANDROID NOTE ORACLE",
		want: `(or (match * "ANDROID") (match * "NOTE") (match * "ORACLE"))`,
	},
	{name: "ampersands in word", in: "a&&b", want: `(match * "a&&b")`},

	// Fields, phrases and groups.
	{name: "field term", in: "field:term", want: `(match field "term")`},
	{name: "field phrase", in: `field:"a phrase"`, want: `(phrase field "a phrase")`},
	{name: "phrase slop", in: `"a b"~3`, want: `(phrase * "a b" ~3)`},
	{name: "phrase tilde alone", in: `"a b"~`, want: `(phrase * "a b")`},
	{name: "phrase fraction slop", in: `"a b"~2.7`, want: `(phrase * "a b" ~2)`},
	{name: "phrase escaped quote", in: `"say \"hi\""`, want: `(phrase * "say \"hi\"")`},
	{name: "field group", in: "field:(a b)", want: `(or (match field "a") (match field "b"))`},
	{name: "field group or", in: "field:(a OR b)", want: `(or (match field "a") (match field "b"))`},
	{
		name: "field group and", in: "field:(a AND -b)",
		want: `(and (match field "a") (not (match field "b")))`,
	},
	{
		name: "field group inner field", in: "field:(a other:b)",
		want: `(or (match field "a") (match other "b"))`,
	},
	{
		name: "nested field groups", in: "f:(a (b OR g:c))",
		want: `(or (match f "a") (match f "b") (match g "c"))`,
	},
	{name: "spaces around colon", in: "field : value", want: `(match field "value")`},
	{name: "range after colon space", in: "time_queue: [0 TO *]", want: `(range time_queue [0 TO *])`},
	{name: "field does not leak", in: "a:b c", want: `(or (match a "b") (match * "c"))`},
	{name: "at sign field", in: "@metric:cpu", want: `(match @metric "cpu")`},
	{name: "hyphen inside", in: "a-b+c", want: `(match * "a-b+c")`},
	{name: "equals inside", in: "audit_res=failed", want: `(match * "audit_res=failed")`},
	{
		name: "bare operator", in: "a - b",
		want: `(or (match * "a") (match * "-") (match * "b"))`, notes: []string{"bare_operator"},
	},
	{
		name: "bare bang", in: "a ! b",
		want: `(or (match * "a") (match * "!") (match * "b"))`, notes: []string{"bare_operator"},
	},

	// Wildcards and exists.
	{name: "prefix", in: "foo*", want: `(wildcard * "foo*")`},
	{name: "question mark", in: "f?o", want: `(wildcard * "f?o")`},
	{name: "leading star", in: "*foo", want: `(wildcard * "*foo")`},
	{name: "field wildcard", in: "field:fo*o", want: `(wildcard field "fo*o")`},
	{name: "escaped star in wildcard", in: `a\*b*`, want: `(wildcard * "a\\*b*")`},
	{name: "escaped backslash in wildcard", in: `a\\b*`, want: `(wildcard * "a\\\\b*")`},
	{name: "escaped question in wildcard", in: `a\?b?`, want: `(wildcard * "a\\?b?")`},
	{name: "escaped colon in wildcard", in: `a\:b*`, want: `(wildcard * "a:b*")`},
	{name: "escaped star only", in: `a\*b`, want: `(match * "a*b")`},
	{name: "star", in: "*", want: "(all)"},
	{name: "star star", in: "*:*", want: "(all)"},
	{name: "field star", in: "field:*", want: "(exists field)"},
	{name: "wildcard field star", in: "city.*:*", want: "(exists city.*)"},
	{
		name: "star with default field", in: "*", opts: Options{DefaultFields: []string{"message"}},
		want: "(exists message)",
	},
	{
		name: "star with default fields", in: "*", opts: Options{DefaultFields: []string{"a", "b"}},
		want: "(or (exists a) (exists b))",
	},
	{name: "star with all fields", in: "*", opts: Options{DefaultFields: []string{"*"}}, want: "(all)"},
	{name: "exists", in: "_exists_:field", want: "(exists field)"},
	{name: "exists quoted", in: `_exists_:"trace.class"`, want: "(exists trace.class)"},
	{name: "not exists", in: "NOT _exists_:x", want: "(and (not (exists x)))"},
	{name: "exists group", in: "_exists_:(a OR b)", want: "(or (exists a) (exists b))"},

	// Regular expressions.
	{name: "regex", in: "/ab.*c/", want: `(regexp * "ab.*c")`},
	{name: "field regex escaped slash", in: `field:/a\/b/`, want: `(regexp field "a/b")`},
	{name: "regex escaped backslash", in: `/a\\/b/`, want: `(regexp * "a\\\\/b")`},
	{name: "regex longest match", in: `/a\/`, want: `(regexp * "a\\")`},
	{name: "regex other escapes kept", in: `/a\.b/`, want: `(regexp * "a\\.b")`},
	{name: "regex boost", in: "/[0-9]+/^2", want: `(regexp * "[0-9]+")`, notes: []string{"boost_ignored"}},
	{name: "regex fuzzy", in: "/ab/~2", want: `(regexp * "ab")`, notes: []string{"fuzzy_ignored"}},

	// Fuzzy terms.
	{name: "fuzzy auto", in: "term~", want: `(fuzzy * "term" ~AUTO)`},
	{name: "fuzzy one", in: "term~1", want: `(fuzzy * "term" ~1)`},
	{name: "field fuzzy", in: "field:term~2", want: `(fuzzy field "term" ~2)`},
	{name: "fuzzy then boost", in: "term~1^2", want: `(fuzzy * "term" ~1)`, notes: []string{"boost_ignored"}},
	{name: "boost then fuzzy", in: "term^2~1", want: `(fuzzy * "term" ~1)`, notes: []string{"boost_ignored"}},
	{name: "fuzzy after space", in: "term ~1", want: `(fuzzy * "term" ~1)`},
	{name: "wildcard fuzzy", in: "foo*~2", want: `(wildcard * "foo*")`, notes: []string{"fuzzy_ignored"}},

	// Boosts.
	{name: "term boost", in: "a^2", want: `(match * "a")`, notes: []string{"boost_ignored"}},
	{
		name: "fraction boost", in: "a^0.5 b", want: `(or (match * "a") (match * "b"))`,
		notes: []string{"boost_ignored"},
	},
	{name: "phrase boost", in: `"a b"^2`, want: `(phrase * "a b")`, notes: []string{"boost_ignored"}},
	{name: "phrase slop boost", in: `"a b"~2^3`, want: `(phrase * "a b" ~2)`, notes: []string{"boost_ignored"}},
	{
		name: "group boost", in: "(a b)^2", want: `(or (match * "a") (match * "b"))`,
		notes: []string{"boost_ignored"},
	},
	{name: "range boost", in: "f:[1 TO 2]^2", want: "(range f [1 TO 2])", notes: []string{"boost_ignored"}},

	// Ranges.
	{name: "inclusive range", in: "[a TO b]", want: "(range * [a TO b])"},
	{name: "exclusive range", in: "{a TO b}", want: "(range * {a TO b})"},
	{name: "mixed range", in: "f:[a TO b}", want: "(range f [a TO b})"},
	{name: "mixed range other way", in: "f:{a TO b]", want: "(range f {a TO b])"},
	{name: "open lower bound", in: "f:{* TO 10]", want: "(range f {* TO 10])"},
	{name: "open both bounds", in: "f:[* TO *]", want: "(range f [* TO *])"},
	{name: "quoted bounds", in: `f:["a b" TO "c\"d"]`, want: `(range f [a b TO c"d])`},
	{name: "escaped bound", in: `f:[a\:b TO c]`, want: `(range f [a:b TO c])`},
	{name: "date math", in: "@timestamp:[now-1d/d TO now]", want: "(range @timestamp [now-1d/d TO now])"},
	{name: "to as bound", in: "f:[TO TO TO]", want: "(range f [TO TO TO])"},
	{name: "range spacing", in: "f:[ 1  TO\t2 ]", want: "(range f [1 TO 2])"},
	{name: "greater than", in: "f:>10", want: "(range f {10 TO *])"},
	{name: "greater or equal", in: "f:>=10", want: "(range f [10 TO *])"},
	{name: "less than", in: "f:<10", want: "(range f [* TO 10})"},
	{name: "less or equal", in: "f:<=10", want: "(range f [* TO 10])"},
	{name: "unfielded one-sided", in: ">=2020-01-01", want: "(range * [2020-01-01 TO *])"},
	{name: "lone greater sign", in: "f:>", want: `(match f ">")`},
	{name: "quoted greater", in: `f:">10"`, want: `(phrase f ">10")`},
	{name: "real one-sided", in: "taxful_total_price:>250", want: "(range taxful_total_price {250 TO *])"},

	// Escaping.
	{name: "escaped space", in: `a\ b`, want: `(match * "a b")`},
	{name: "escaped colon", in: `a\:b`, want: `(match * "a:b")`},
	{name: "escaped parens", in: `\(a\)`, want: `(match * "(a)")`},
	{name: "escaped leading minus", in: `\-a`, want: `(match * "-a")`},
	{name: "escaped backslash", in: `\\`, want: `(match * "\\")`},
	{name: "escaped slash", in: `foo\/bar`, want: `(match * "foo/bar")`},
	{name: "escaped operators", in: `\+\!\^\~\&\&\|\|\[\]\{\}\"\=\<\>`, want: `(match * "+!^~&&||[]{}\"=<>")`},
	{name: "unicode escape", in: `\u0041bc`, want: `(match * "Abc")`},
	{name: "surrogate pair escape", in: `\uD83D\uDE00`, want: `(match * "😀")`},
	{name: "escaped field wildcard", in: `book.\*:(quick)`, want: `(match book.* "quick")`},
	{name: "unescaped field wildcard", in: "city.*:x", want: `(match city.* "x")`},
	{name: "escaped field colon", in: `field\:name:x`, want: `(match field:name "x")`},
	{name: "escaped AND", in: `\AND`, want: `(match * "AND")`},

	// Grafana template variables.
	{name: "dollar variable", in: "host:$host", want: `(match host "$host")`},
	{name: "braced variable", in: "appliance_identity:${appliance}", want: `(match appliance_identity "${appliance}")`},
	{
		name: "variable formats", in: "a:${v:csv} AND b:[[x]] AND c:[[y:raw]] AND d:${e.f}",
		want: `(and (match a "${v:csv}") (match b "[[x]]") (match c "[[y:raw]]") (match d "${e.f}"))`,
	},
	{name: "bracket variable alone", in: "[[var]]", want: `(match * "[[var]]")`},
	{name: "variable inside word", in: "pre-${v}-post", want: `(match * "pre-${v}-post")`},

	// Default fields.
	{
		name: "default field", in: "a", opts: Options{DefaultFields: []string{"message"}},
		want: `(match message "a")`,
	},
	{
		name: "default fields", in: "a f:b", opts: Options{DefaultFields: []string{"x", "y"}},
		want: `(or (match x "a") (match y "a") (match f "b"))`,
	},
	{
		name: "default fields required", in: "+a +b", opts: Options{DefaultFields: []string{"x", "y"}},
		want: `(and (or (match x "a") (match y "a")) (or (match x "b") (match y "b")))`,
	},
	{
		name: "default field phrase", in: `"p q"`, opts: Options{DefaultFields: []string{"message"}},
		want: `(phrase message "p q")`,
	},
	{
		name: "default field range", in: "[1 TO 2]", opts: Options{DefaultFields: []string{"n"}},
		want: "(range n [1 TO 2])",
	},
	{
		name: "default field regex", in: "/a.c/", opts: Options{DefaultFields: []string{"m"}},
		want: `(regexp m "a.c")`,
	},
	{
		name: "default field fuzzy", in: "a~1", opts: Options{DefaultFields: []string{"m"}},
		want: `(fuzzy m "a" ~1)`,
	},
	{
		name: "default field wildcard", in: "a*", opts: Options{DefaultFields: []string{"m"}},
		want: `(wildcard m "a*")`,
	},
	{
		name: "default field with all", in: "a", opts: Options{DefaultFields: []string{"m", "*"}},
		want: `(match * "a")`,
	},

	// Queries from real dashboards.
	{
		name: "kafka stack traces", in: `_exists_:"trace.class" AND fields.type:kafka`,
		want: `(and (exists trace.class) (match fields.type "kafka"))`,
	},
	{
		name: "ssh accepted", in: `program:sshd AND message:"Accepted publickey"`,
		want: `(and (match program "sshd") (phrase message "Accepted publickey"))`,
	},
	{
		name: "puppet missing AND", in: `logsource:$host_var AND program:puppet-agent message:"Finished catalog run"`,
		want:  `(and (match logsource "$host_var") (match program "puppet-agent"))`,
		notes: []string{"optional_clause_ignored"},
	},
	{
		name: "haproxy leading space", in: " _exists_:http.request.method AND haproxy.time_request: [0 TO *]",
		want: `(and (exists http.request.method) (range haproxy.time_request [0 TO *]))`,
	},
	{
		name: "ecommerce wildcards", in: "products.product_name:*cocktail dress*",
		want: `(or (wildcard products.product_name "*cocktail") (wildcard * "dress*"))`,
	},
	{
		name: "single quotes in phrase", in: `logsource:$host_var AND program:puppet-agent AND "Triggered 'refresh'"`,
		want: `(and (match logsource "$host_var") (match program "puppet-agent") (phrase * "Triggered 'refresh'"))`,
	},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseWithOptions(tc.in, tc.opts)
			if err != nil {
				t.Fatalf("ParseWithOptions(%q) failed: %v", tc.in, err)
			}
			if got := ast.Format(q.Root); got != tc.want {
				t.Errorf("ParseWithOptions(%q)\n got: %s\nwant: %s", tc.in, got, tc.want)
			}
			if diff := cmp.Diff(tc.notes, noteCodes(q)); diff != "" {
				t.Errorf("ParseWithOptions(%q) note codes (-want +got):\n%s", tc.in, diff)
			}
			if q.Language != ast.Lucene || q.Source != tc.in {
				t.Errorf("ParseWithOptions(%q) gave language %q and source %q", tc.in, q.Language, q.Source)
			}
		})
	}
}

// noteCodes returns the sorted, distinct codes of a query's notes, or nil.
func noteCodes(q *ast.Query) []string {
	seen := map[string]bool{}
	var codes []string
	for _, n := range q.Notes {
		if !seen[n.Code] {
			seen[n.Code] = true
			codes = append(codes, n.Code)
		}
	}
	sort.Strings(codes)
	return codes
}

func TestParseNoteMessages(t *testing.T) {
	tests := []struct {
		in, code string
		parts    []string
	}{
		{"a OR b AND c", "optional_clause_ignored", []string{"clause `a`", "scoring"}},
		{
			"+x a b c d e f g", "optional_clause_ignored",
			[]string{"clauses `a`, `b`, `c`, `d`, `e` and 2 more"},
		},
		{"a and b", "lowercase_operator", []string{"`and`", "uppercase"}},
		{"a^2", "boost_ignored", []string{"boost"}},
	}
	for _, tc := range tests {
		q, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q) failed: %v", tc.in, err)
		}
		found := false
		for _, n := range q.Notes {
			if n.Code != tc.code {
				continue
			}
			found = true
			for _, part := range tc.parts {
				if !strings.Contains(n.Message, part) {
					t.Errorf("Parse(%q) note %s = %q, want it to contain %q", tc.in, tc.code, n.Message, part)
				}
			}
			if n.Level != 0 {
				t.Errorf("Parse(%q) note %s has level %v, want exact", tc.in, tc.code, n.Level)
			}
		}
		if !found {
			t.Errorf("Parse(%q) has no %s note: %v", tc.in, tc.code, q.Notes)
		}
	}
}

// TestParseAllFields checks a case that ast.Format cannot show: the field
// `*` searches all fields, so it becomes the empty field even when default
// fields are set.
func TestParseAllFields(t *testing.T) {
	opts := Options{DefaultFields: []string{"message"}}
	tests := []struct {
		in   string
		want ast.Node
	}{
		{"*:foo", ast.Term{Value: "foo", Mode: ast.Analyzed}},
		{"*:*", ast.MatchAll{}},
		{`*:"a b"`, ast.Term{Value: "a b", Mode: ast.Phrase}},
		{"foo", ast.Term{Field: "message", Value: "foo", Mode: ast.Analyzed}},
	}
	for _, tc := range tests {
		q, err := ParseWithOptions(tc.in, opts)
		if err != nil {
			t.Fatalf("ParseWithOptions(%q) failed: %v", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, q.Root); diff != "" {
			t.Errorf("ParseWithOptions(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseRangeQuotedStar(t *testing.T) {
	q, err := Parse(`f:["*" TO *]`)
	if err != nil {
		t.Fatal(err)
	}
	want := ast.Range{Field: "f", From: "*", HasFrom: true, IncludeFrom: true, IncludeTo: true}
	if diff := cmp.Diff(ast.Node(want), q.Root); diff != "" {
		t.Errorf("quoted * bound (-want +got):\n%s", diff)
	}
}

// errorCase is an input that must fail at a byte offset with a message
// containing msg.
type errorCase struct {
	in     string
	offset int
	msg    string
}

var errorCases = []errorCase{
	{"(a", 0, "no closing )"},
	{"a AND (b", 6, "no closing )"},
	{"a)", 1, "unexpected ) with no matching ("},
	{"a ]", 2, "outside a range"},
	{"a }", 2, "outside a range"},
	{"[a b]", 3, "needs TO"},
	{"[a]", 2, "needs TO"},
	{"[a TO b", 0, "no closing ] or }"},
	{"[a TO", 0, "no closing ] or }"},
	{"f:[", 2, "no closing ] or }"},
	{"[]", 1, "missing a bound"},
	{"[a TO ]", 6, "missing a bound"},
	{"[a TO b c]", 8, "expected ] or }"},
	{`f:["a TO b]`, 3, "no closing quote"},
	{`[a TO b\]`, 7, "ends with a backslash"},
	{`"abc`, 0, "no closing quote"},
	{`a "abc`, 2, "no closing quote"},
	{`"abc\"`, 0, "no closing quote"},
	{"/abc", 0, "no closing /"},
	{"f:/abc", 2, "no closing /"},
	{"a AND", 2, "no clause after"},
	{"a OR ", 2, "no clause after"},
	{"(a OR )", 3, "no clause after"},
	{"AND a", 0, "no clause before"},
	{"|| a", 0, "no clause before"},
	{"a AND OR b", 6, "cannot follow"},
	{"a -", 2, "no clause after"},
	{"a NOT", 2, "no clause after"},
	{"+", 0, "no clause after"},
	{"a +AND b", 2, "no clause after"},
	{"--a", 1, "cannot follow"},
	{"NOT -a", 4, "cannot follow"},
	{"field:", 0, `field "field" has no value`},
	{"field: AND b", 0, `field "field" has no value`},
	{"(field:)", 1, `field "field" has no value`},
	{"field:-1", 6, "put the modifier before the field"},
	{`a\`, 1, "ends with a backslash"},
	{`a b\`, 3, "ends with a backslash"},
	{":a", 0, "no field name"},
	{"a:b:c", 3, "no field name"},
	{"a^", 1, "boost number"},
	{"a^x", 1, "boost number"},
	{"a^ 2", 1, "boost number"},
	{"^2", 0, "does not follow"},
	{"~2", 0, "must follow a term"},
	{"a AND ~2", 6, "must follow a term"},
	{"[a TO b]~2", 8, "must follow a term"},
	{"()", 0, "empty group"},
	{"a ( )", 2, "empty group"},
	{`\u00zz`, 0, "four hex digits"},
	{`a\u12`, 1, "four hex digits"},
	{`\ud800`, 0, "surrogate"},
	{`\uDC00\uD800`, 0, "surrogate"},
	{"a [[x", 2, "no closing ] or }"},
	{"f:${x", 3, "no closing ] or }"},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		_, err := Parse(tc.in)
		var se *ast.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v, want a *ast.SyntaxError", tc.in, err)
			continue
		}
		if se.Offset != tc.offset {
			t.Errorf("Parse(%q) error offset = %d, want %d (%v)", tc.in, se.Offset, tc.offset, err)
		}
		if !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%q) error = %q, want it to contain %q", tc.in, se.Msg, tc.msg)
		}
		if se.Language != ast.Lucene {
			t.Errorf("Parse(%q) error language = %q, want lucene", tc.in, se.Language)
		}
	}
}

func TestParseInvalidUTF8(t *testing.T) {
	_, err := Parse("a \xff")
	if !errors.Is(err, ast.ErrInvalidUTF8) {
		t.Fatalf("Parse(invalid UTF-8) error = %v, want ErrInvalidUTF8", err)
	}
	var se *ast.SyntaxError
	if !errors.As(err, &se) || se.Offset != 2 {
		t.Errorf("Parse(invalid UTF-8) error = %#v, want a SyntaxError at offset 2", err)
	}
}

func TestParseDepth(t *testing.T) {
	nested := func(n int) string {
		return strings.Repeat("(", n) + "a" + strings.Repeat(")", n)
	}
	q, err := Parse(nested(ast.MaxDepth))
	if err != nil {
		t.Fatalf("Parse(%d nested groups) failed: %v", ast.MaxDepth, err)
	}
	if got := ast.Format(q.Root); got != `(match * "a")` {
		t.Errorf("Parse(%d nested groups) = %s", ast.MaxDepth, got)
	}
	for _, n := range []int{ast.MaxDepth + 1, 10000} {
		_, err := Parse(nested(n))
		if !errors.Is(err, ast.ErrTooDeep) {
			t.Errorf("Parse(%d nested groups) error = %v, want ErrTooDeep", n, err)
		}
		var se *ast.SyntaxError
		if errors.As(err, &se) && se.Offset != ast.MaxDepth {
			t.Errorf("Parse(%d nested groups) error offset = %d, want %d", n, se.Offset, ast.MaxDepth)
		}
	}
	negated := strings.Repeat("-(a OR ", ast.MaxDepth) + "b" + strings.Repeat(")", ast.MaxDepth)
	q, err = Parse(negated)
	if err != nil {
		t.Fatalf("Parse(%d nested negated groups) failed: %v", ast.MaxDepth, err)
	}
	if d, limit := treeDepth(q.Root), 2*ast.MaxDepth+4; d > limit {
		t.Errorf("Parse(%d nested negated groups) tree is %d levels deep, want at most %d", ast.MaxDepth, d, limit)
	}
	if _, err := Parse(strings.Repeat("(", 10000)); !errors.Is(err, ast.ErrTooDeep) {
		t.Errorf("Parse(10000 unclosed groups) error = %v, want ErrTooDeep", err)
	}
}

func TestParseLongChains(t *testing.T) {
	const n = 10000
	tests := []struct {
		in   string
		kind string
	}{
		{strings.Repeat("a OR ", n-1) + "a", "or"},
		{strings.Repeat("a AND ", n-1) + "a", "and"},
		{strings.Repeat("a ", n), "or"},
		{strings.Repeat("-a ", n), "and"},
	}
	for _, tc := range tests {
		q, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%.20q…) failed: %v", tc.in, err)
		}
		var children []ast.Node
		switch root := q.Root.(type) {
		case ast.Or:
			children = root.Children
			if tc.kind != "or" {
				t.Errorf("Parse(%.20q…) root is or, want %s", tc.in, tc.kind)
			}
		case ast.And:
			children = root.Children
			if tc.kind != "and" {
				t.Errorf("Parse(%.20q…) root is and, want %s", tc.in, tc.kind)
			}
		default:
			t.Fatalf("Parse(%.20q…) root = %T, want a flat list", tc.in, q.Root)
		}
		if len(children) != n {
			t.Errorf("Parse(%.20q…) root has %d children, want %d", tc.in, len(children), n)
		}
	}
}

// corpusDir is the folder of real Kibana and Grafana exports.
func corpusDir(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "..", "testdata")
}

// TestParseCorpusQueries parses every Lucene query found in real Kibana
// saved objects and Grafana dashboards.
func TestParseCorpusQueries(t *testing.T) {
	dir := corpusDir(t)
	for _, sub := range []string{"kibana", "grafana"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*json"))
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, file := range files {
			for _, q := range extractQueries(t, file) {
				found++
				if _, err := Parse(q); err != nil {
					t.Errorf("%s: Parse(%q) failed: %v", filepath.Base(file), q, err)
				}
			}
		}
		if found == 0 {
			t.Errorf("found no Lucene queries in %s", filepath.Join(dir, sub))
		}
		t.Logf("parsed %d Lucene queries from %d files in %s", found, len(files), sub)
	}
}

// extractQueries returns the Lucene queries in a JSON or NDJSON export.
func extractQueries(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	dec := json.NewDecoder(f)
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decoding %s: %v", file, err)
		}
		walkQueries(v, &out)
	}
}

// walkQueries collects Lucene queries from a decoded export. It finds Kibana
// queries with "language": "lucene", query_string queries, Elasticsearch and
// OpenSearch targets of Grafana panels and annotations, and descends into
// strings that hold JSON, as Kibana stores searchSourceJSON and visState.
func walkQueries(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		if s := strings.TrimSpace(v); strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				walkQueries(inner, out)
			}
		}
	case []any:
		for _, x := range v {
			walkQueries(x, out)
		}
	case map[string]any:
		if q, ok := luceneQuery(v); ok {
			*out = append(*out, q)
		}
		for _, x := range v {
			walkQueries(x, out)
		}
	}
}

// luceneQuery returns the Lucene query that one JSON object holds, if any.
func luceneQuery(m map[string]any) (string, bool) {
	query, isString := m["query"].(string)
	if isString && m["language"] == "lucene" {
		return query, true
	}
	if qs, ok := m["query_string"].(map[string]any); ok {
		if q, ok := qs["query"].(string); ok {
			return q, true
		}
	}
	// A Grafana Elasticsearch or OpenSearch target: metrics and bucket
	// aggregations next to a Lucene query, unless it is a PPL query.
	_, metrics := m["metrics"]
	_, buckets := m["bucketAggs"]
	if _, ok := m["refId"]; ok && isString && (metrics || buckets) && m["queryType"] != "PPL" {
		return query, true
	}
	// A Grafana annotation on an Elasticsearch or OpenSearch data source.
	if _, ok := m["iconColor"]; ok && searchDatasource(m["datasource"]) {
		if target, ok := m["target"].(map[string]any); ok {
			if q, ok := target["query"].(string); ok {
				return q, true
			}
		}
		return query, isString
	}
	return "", false
}

// searchDatasource reports whether a Grafana datasource reference, a name or
// a {type, uid} object, names Elasticsearch or OpenSearch.
func searchDatasource(ds any) bool {
	var name string
	switch ds := ds.(type) {
	case string:
		name = ds
	case map[string]any:
		name, _ = ds["type"].(string)
	}
	name = strings.ToLower(name)
	return strings.Contains(name, "elastic") || strings.Contains(name, "opensearch")
}
