package kql

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/obs-migrate/migrate/translators/ast"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// parseCases pairs a query with the tree it parses to, printed by ast.Format.
// Format prints the default field as *.
var parseCases = []struct {
	in   string
	want string
}{
	// Kibana's grammar needs whitespace after a keyword, so a keyword at
	// the end of a query or before a bracket is text.
	{"a and", `(match * "a and")`},
	{"a or", `(match * "a or")`},
	{"(a and)", `(match * "a and")`},
	{"not", `(match * "not")`},
	{"a and not", `(and (match * "a") (match * "not"))`},
	{"kw: a or", `(match kw "a or")`},

	// Empty input.
	{"", `(all)`},
	{"   \t\r\n ", `(all)`},

	// Free text.
	{`error`, `(match * "error")`},
	{`  padded  `, `(match * "padded")`},
	{`hello world`, `(match * "hello world")`},
	{`"disk full"`, `(phrase * "disk full")`},
	{`err*`, `(wildcard * "err*")`},
	{`*`, `(all)`},
	{` * `, `(all)`},
	{`*err*`, `(wildcard * "*err*")`},

	// Field and unquoted value, spaces around the colon.
	{`status:200`, `(match status "200")`},
	{`message:hello world`, `(match message "hello world")`},
	{`message:  hello   world  `, `(match message "hello   world")`},
	{`field :value`, `(match field "value")`},
	{`field: value`, `(match field "value")`},
	{"field\t:\nvalue", `(match field "value")`},
	{`hello world:foo`, `(match hello world "foo")`},
	{`"my field":value`, `(match my field "value")`},
	{`event.dataset:system.syslog`, `(match event.dataset "system.syslog")`},
	{`url:https\://example.com/a?b=c`, `(match url "https://example.com/a?b=c")`},
	{`tag:v1.2-rc_3#x`, `(match tag "v1.2-rc_3#x")`},
	{`name:Zoë Ünïcode`, `(match name "Zoë Ünïcode")`},
	{"f:\u00a0x\u00a0y\u2003", `(match f "x\u00a0y")`},
	{"f:\vx\f or \ufeffy", `(or (match f "x") (match * "y"))`},

	// Keywords in any case, precedence NOT > AND > OR.
	{`a and b`, `(and (match * "a") (match * "b"))`},
	{`A AND b`, `(and (match * "A") (match * "b"))`},
	{`a Or b`, `(or (match * "a") (match * "b"))`},
	{`a oR b AnD c`, `(or (match * "a") (and (match * "b") (match * "c")))`},
	{`NOT a`, `(not (match * "a"))`},
	{`nOt a`, `(not (match * "a"))`},
	{`a or b and c`, `(or (match * "a") (and (match * "b") (match * "c")))`},
	{`a and b or c`, `(or (and (match * "a") (match * "b")) (match * "c"))`},
	{`not a and b`, `(and (not (match * "a")) (match * "b"))`},
	{`not a or b`, `(or (not (match * "a")) (match * "b"))`},
	{`a and not b or c`, `(or (and (match * "a") (not (match * "b"))) (match * "c"))`},
	{`a or b or c`, `(or (match * "a") (match * "b") (match * "c"))`},
	{`a and b and c`, `(and (match * "a") (match * "b") (match * "c"))`},
	{"a\tand\nb", `(and (match * "a") (match * "b"))`},
	{`a   or   b`, `(or (match * "a") (match * "b"))`},
	{`not not a`, `(not (not (match * "a")))`},

	// Parentheses group.
	{`(a)`, `(match * "a")`},
	{`( a )`, `(match * "a")`},
	{`((a))`, `(match * "a")`},
	{`(a or b) and c`, `(and (or (match * "a") (match * "b")) (match * "c"))`},
	{`a and (b or c)`, `(and (match * "a") (or (match * "b") (match * "c")))`},
	{`(a and b) and c`, `(and (and (match * "a") (match * "b")) (match * "c"))`},
	{`not (a or b)`, `(not (or (match * "a") (match * "b")))`},
	{
		`(a:1 or b:2) and not (c:3)`,
		`(and (or (match a "1") (match b "2")) (not (match c "3")))`,
	},

	// Words that contain a keyword but are not one.
	{`android`, `(match * "android")`},
	{`order:1`, `(match order "1")`},
	{`notes:x`, `(match notes "x")`},
	{`not:x`, `(match not "x")`},
	{`and:x or or:y`, `(or (match and "x") (match or "y"))`},
	{`message:cannot be`, `(match message "cannot be")`},
	{`a andb`, `(match * "a andb")`},
	{`band or c`, `(or (match * "band") (match * "c"))`},
	{`a nota`, `(match * "a nota")`},

	// Quoted values are phrases.
	{`field:"a b"`, `(phrase field "a b")`},
	{`field:"say \"hi\""`, `(phrase field "say \"hi\"")`},
	{`field:"back\\slash"`, `(phrase field "back\\slash")`},
	{`field:"tab\there"`, `(phrase field "tab\there")`},
	{`field:"cr\rlf\n"`, `(phrase field "cr\rlf\n")`},
	{`field:"C:\path"`, `(phrase field "C:\\path")`},
	{`field:"a*b"`, `(phrase field "a*b")`},
	{`field:"*"`, `(phrase field "*")`},
	{`field:"and or not"`, `(phrase field "and or not")`},
	{`field:"(a:b) {c} <d>"`, `(phrase field "(a:b) {c} <d>")`},
	{`field:""`, `(phrase field "")`},
	{`field:"\u00e9t\u00e9"`, `(phrase field "été")`},
	{`field:"\uD83D\uDE00"`, `(phrase field "😀")`},
	{`field:"\uZZZZ"`, `(phrase field "\\uZZZZ")`},
	{"field:\"two\nlines\"", `(phrase field "two\nlines")`},
	{`"a b" or c`, `(or (phrase * "a b") (match * "c"))`},

	// Escapes in unquoted text.
	{`message:foo\:bar`, `(match message "foo:bar")`},
	{`\and`, `(match * "and")`},
	{`\or`, `(match * "or")`},
	{`\NOT x`, `(match * "NOT x")`},
	{`\nothing`, `(match * "nothing")`},
	{`a \and b`, `(match * "a and b")`},
	{`f:\not found`, `(match f "not found")`},
	{`f:\(x\)`, `(match f "(x)")`},
	{`f:a\ b`, `(match f "a b")`},
	{`f:x\ `, `(match f "x ")`},
	{`f:a\\b`, `(match f "a\\b")`},
	{`f:\"q\"`, `(match f "\"q\"")`},
	{`f:\<\>\{\}`, `(match f "<>{}")`},
	{`f:a\tb\rc\nd`, `(match f "a\tb\rc\nd")`},
	{`f:\u0041\u00e9`, `(match f "Aé")`},
	{`f:a\*b`, `(match f "a*b")`},
	{`foo\:bar:baz`, `(match foo:bar "baz")`},

	// Wildcards: an unescaped * in an unquoted value.
	{`host:web*`, `(wildcard host "web*")`},
	{`host:*web*`, `(wildcard host "*web*")`},
	{`host:web?-*`, `(wildcard host "web\\?-*")`},
	{`host:web?`, `(match host "web?")`},
	{`f:a\*b*`, `(wildcard f "a\\*b*")`},
	{`f:a\\*`, `(wildcard f "a\\\\*")`},
	{`f:**`, `(wildcard f "**")`},
	{`f:hello wor*`, `(wildcard f "hello wor*")`},
	{`f:*`, `(exists f)`},
	{`f: *`, `(exists f)`},
	{`*:*`, `(all)`},
	{`machine.os*:windows`, `(match machine.os* "windows")`},
	{`machine.os*:win*`, `(wildcard machine.os* "win*")`},
	{`not f:*`, `(not (exists f))`},

	// Ranges.
	{`bytes >= 100`, `(range bytes [100 TO *})`},
	{`bytes > 100`, `(range bytes {100 TO *})`},
	{`bytes <= 100`, `(range bytes {* TO 100])`},
	{`bytes < 100`, `(range bytes {* TO 100})`},
	{`bytes>=100`, `(range bytes [100 TO *})`},
	{`bytes<100`, `(range bytes {* TO 100})`},
	{`bytes >  1.5e3`, `(range bytes {1.5e3 TO *})`},
	{`@timestamp < "2021-01-02T00:00:00"`, `(range @timestamp {* TO 2021-01-02T00:00:00})`},
	{`@timestamp >= now-15m`, `(range @timestamp [now-15m TO *})`},
	{`@timestamp < now/d`, `(range @timestamp {* TO now/d})`},
	{`"my field" > 5`, `(range my field {5 TO *})`},
	{`f >= "a b"`, `(range f [a b TO *})`},
	{`bytes > 10 and bytes < 20`, `(and (range bytes {10 TO *}) (range bytes {* TO 20}))`},
	{`not bytes < 0`, `(not (range bytes {* TO 0}))`},
	{`f > a\*b`, `(range f {a*b TO *})`},

	// Value lists.
	{
		`field:(a or b and c)`,
		`(or (match field "a") (and (match field "b") (match field "c")))`,
	},
	{`field:(not a)`, `(not (match field "a"))`},
	{`field:(not not a)`, `(not (not (match field "a")))`},
	{
		`field:((a or b) and c)`,
		`(and (or (match field "a") (match field "b")) (match field "c"))`,
	},
	{
		`field:(a or "b c" or d*)`,
		`(or (match field "a") (phrase field "b c") (wildcard field "d*"))`,
	},
	{`field:(*)`, `(exists field)`},
	{`field : ( a or b )`, `(or (match field "a") (match field "b"))`},
	{`field:(a b)`, `(match field "a b")`},
	{`field:(a)`, `(match field "a")`},
	{`f:(a) and g:b`, `(and (match f "a") (match g "b"))`},
	{`not f:(a or b)`, `(not (or (match f "a") (match f "b")))`},
	{`f:(a AND NOT b)`, `(and (match f "a") (not (match f "b")))`},
	{`*:(a or b)`, `(or (match * "a") (match * "b"))`},

	// Nested fields.
	{
		`items:{ name:banana and stock > 9 }`,
		`(nested items (and (match items.name "banana") (range items.stock {9 TO *})))`,
	},
	{`a:{ b:{ c:1 } }`, `(nested a (nested a.b (match a.b.c "1")))`},
	{
		`items:{ name:"x y" or tags:(a or b) }`,
		`(nested items (or (phrase items.name "x y") ` +
			`(or (match items.tags "a") (match items.tags "b"))))`,
	},
	{`items:{ not name:x }`, `(nested items (not (match items.name "x")))`},
	{`items : { name:* }`, `(nested items (exists items.name))`},
	{
		`items:{ (a:1 or b:2) and c:3 }`,
		`(nested items (and (or (match items.a "1") (match items.b "2")) (match items.c "3")))`,
	},
	{`items:{ x:1 } and y:2`, `(and (nested items (match items.x "1")) (match y "2"))`},
	{`not items:{x:1}`, `(not (nested items (match items.x "1")))`},
	{`items:{ *:* }`, `(nested items (all))`},

	// Queries from published Kibana exports.
	{
		`event.module:nginx AND message:*`,
		`(and (match event.module "nginx") (exists message))`,
	},
	{`pfelk.dhcp.action : "DHCPACK"`, `(phrase pfelk.dhcp.action "DHCPACK")`},
	{`not tags : "_grokparsefailure"`, `(not (phrase tags "_grokparsefailure"))`},
	{
		`suricata.eve.event_type:alert and not suricata.eve.alert.signature_id:(2012648 or 2013504)`,
		`(and (match suricata.eve.event_type "alert") (not (or ` +
			`(match suricata.eve.alert.signature_id "2012648") ` +
			`(match suricata.eve.alert.signature_id "2013504"))))`,
	},
	{
		`query_event.SearchMetrics.results.size > 0 and metrics.clicks.count : 0`,
		`(and (range query_event.SearchMetrics.results.size {0 TO *}) (match metrics.clicks.count "0"))`,
	},
	{
		`NOT aws.elb.request_processing_time<0 AND NOT aws.elb.response_processing_time<0`,
		`(and (not (range aws.elb.request_processing_time {* TO 0})) ` +
			`(not (range aws.elb.response_processing_time {* TO 0})))`,
	},
	{
		`http.response.status_code >= 300 and event.domain:haproxy.access`,
		`(and (range http.response.status_code [300 TO *}) (match event.domain "haproxy.access"))`,
	},
	{
		`event.domain:kubernetes AND ` +
			`(event.dataset:kubernetes.container OR event.dataset:kubernetes.node)`,
		`(and (match event.domain "kubernetes") (or (match event.dataset "kubernetes.container") ` +
			`(match event.dataset "kubernetes.node")))`,
	},
}

func TestParseTree(t *testing.T) {
	for _, c := range parseCases {
		t.Run(c.in, func(t *testing.T) {
			q, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.in, err)
			}
			if got := ast.Format(q.Root); got != c.want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", c.in, got, c.want)
			}
		})
	}
}

func TestParseQueryFields(t *testing.T) {
	const src = `status:200 and not tag:x`
	q, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if q.Language != ast.KQL {
		t.Errorf("Language = %q, want %q", q.Language, ast.KQL)
	}
	if q.Source != src {
		t.Errorf("Source = %q, want %q", q.Source, src)
	}
	if len(q.Notes) != 0 {
		t.Errorf("Notes = %v, want none", q.Notes)
	}
}

func TestParseKeepsFieldStar(t *testing.T) {
	q, err := Parse(`*:foo`)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	term, ok := q.Root.(ast.Term)
	if !ok {
		t.Fatalf("root is %T, want ast.Term", q.Root)
	}
	if term.Field != "*" {
		t.Errorf("Field = %q, want %q", term.Field, "*")
	}
	if term.Mode != ast.Analyzed {
		t.Errorf("Mode = %v, want %v", term.Mode, ast.Analyzed)
	}
}

func TestParseNotesLiteralStarInField(t *testing.T) {
	for _, src := range []string{`b\*:c`, `"b*":c`} {
		t.Run(src, func(t *testing.T) {
			q, err := Parse(src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := ast.Format(q.Root); got != `(match b* "c")` {
				t.Errorf("tree = %s, want (match b* \"c\")", got)
			}
			if len(q.Notes) != 1 || q.Notes[0].Code != "kql_field_literal_star" {
				t.Errorf("Notes = %v, want one kql_field_literal_star note", q.Notes)
			}
		})
	}
}

// errorCases pairs an invalid query with the byte offset of the error and a
// part of its message.
var errorCases = []struct {
	in     string
	offset int
	msg    string
}{
	// Brackets.
	{`(a and b`, 8, "missing closing parenthesis for the group opened at column 1"},
	{`foo and (bar`, 12, "opened at column 9"},
	{`not (`, 5, "missing closing parenthesis for the group opened at column 5"},
	{"(a\nand b", 8, "opened at line 1, column 1"},
	{`é:(a`, 5, "value list opened at column 3"},
	{`f:(a or b`, 9, "missing closing parenthesis for the value list opened at column 3"},
	{`a)`, 1, `unexpected ")": no group is open`},
	{`)`, 0, `unexpected ")": no group is open`},
	{`}`, 0, `unexpected "}": no nested query is open`},
	{`(a }`, 3, `")" to close the group opened at column 1, found "}"`},
	{`items:{ a:1 )`, 12, `"}" to close the nested query opened at column 7`},
	{`items:{ name:x`, 14, "missing closing brace for the nested query opened at column 7"},
	{`()`, 1, "empty parentheses"},
	{`( )`, 2, "empty parentheses"},
	{`field:()`, 7, "empty value list"},
	{`items:{}`, 7, "empty nested query"},

	// Missing values and fields.
	{`status:`, 7, `expected a value after "status:"`},
	{`status: `, 8, `expected a value after "status:"`},
	{`(status:)`, 8, `expected a value after "status:", found ")"`},
	{`status:>5`, 7, "a range has no colon"},
	{`status:not found`, 7, `found the keyword "not"`},
	{`status: and x`, 8, `found the keyword "and"`},
	{`bytes >=`, 8, `expected a value after "bytes >="`},
	{`bytes <`, 7, `expected a value after "bytes <"`},
	{`bytes > (5)`, 8, `expected a value after "bytes >", found "("`},
	{`bytes > 1*`, 8, "contains a wildcard"},
	{`:foo`, 0, `missing field name before ":"`},
	{`>5`, 0, `missing field name before ">"`},
	{`>= 5`, 0, `missing field name before ">="`},
	{`"":x`, 0, "empty field name"},
	{`"" > 5`, 0, "empty field name"},
	{`{a}`, 0, "a nested query follows a field and a colon"},
	{`items:{ banana }`, 8, `free text "banana" inside the nested query on "items" has no field`},

	// Keywords with nothing on one side.
	{`a and `, 6, `expected a query after "and"`},
	{`and b`, 0, `found the keyword "and"`},
	{`or b`, 0, `found the keyword "or"`},
	{`a and and b`, 6, `expected a query after "and"`},
	{`a and or b`, 6, `expected a query after "and"`},
	{`f:(a or )`, 8, `expected a value after "or"`},
	{`items:{ a:1 and }`, 16, `expected a query after "and"`},

	// Tokens that cannot follow a condition.
	{`status:200:300`, 10, `unexpected ":"`},
	{`a:b > 5`, 4, "a range compares one field with one value"},
	{`a < b < c`, 6, "a range compares one field with one value"},
	{`a "b"`, 2, `expected "and", "or" or the end of the query, found "\""`},
	{`"a" b`, 4, `expected "and", "or" or the end of the query, found "b"`},
	{`say "hi" or x`, 4, `expected "and", "or" or the end of the query`},
	{`a {b}`, 2, "a nested query follows a field and a colon"},
	{`a (b)`, 2, `unexpected "("`},
	{`not(a)`, 3, `"not" needs whitespace after it`},
	{`(a)and b`, 3, `"and" needs whitespace on both sides`},
	{`a or(b)`, 4, `"or" needs whitespace on both sides`},
	{`message:hello not world`, 14, `unexpected "not"`},
	{`f:(a not b)`, 5, `unexpected "not"`},

	// Quotes and escapes.
	{`"abc`, 0, "unterminated quoted string"},
	{`f:"say \"hi`, 2, "unterminated quoted string"},
	{`f:"a\"`, 2, "unterminated quoted string"},
	{`x:\d`, 2, `invalid escape \d`},
	{`x:\é`, 2, `invalid escape \é`},
	{`x:\u12`, 2, "invalid unicode escape"},
	{`x:\uD800`, 2, "invalid unicode escape"},
	{`a\`, 1, "ends with a backslash"},
}

func TestParseErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.in, func(t *testing.T) {
			q, err := Parse(c.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", c.in, ast.Format(q.Root))
			}
			var se *ast.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *ast.SyntaxError", c.in, err, err)
			}
			if se.Offset != c.offset {
				t.Errorf("Parse(%q) offset = %d, want %d (%v)", c.in, se.Offset, c.offset, err)
			}
			if !strings.Contains(se.Msg, c.msg) {
				t.Errorf("Parse(%q) message %q does not contain %q", c.in, se.Msg, c.msg)
			}
			if se.Language != ast.KQL || se.Source != c.in {
				t.Errorf("error language %q source %q, want %q %q", se.Language, se.Source, ast.KQL, c.in)
			}
		})
	}
}

func TestParseErrorPosition(t *testing.T) {
	_, err := Parse("a and\n(b or c")
	var se *ast.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse error = %v, want *ast.SyntaxError", err)
	}
	if se.Line() != 2 || se.Column() != 8 {
		t.Errorf("position = line %d, column %d, want line 2, column 8", se.Line(), se.Column())
	}
	if !strings.Contains(se.Msg, "opened at line 2, column 1") {
		t.Errorf("message %q does not name line 2, column 1", se.Msg)
	}
}

func TestParseInvalidUTF8(t *testing.T) {
	_, err := Parse("status:ok and a\xffb")
	if !errors.Is(err, ast.ErrInvalidUTF8) {
		t.Fatalf("Parse error = %v, want ast.ErrInvalidUTF8", err)
	}
	var se *ast.SyntaxError
	if !errors.As(err, &se) || se.Offset != 15 {
		t.Errorf("error = %#v, want a SyntaxError at offset 15", err)
	}
}

// nestings builds queries nested n levels deep, one per kind of nesting.
var nestings = []struct {
	name  string
	build func(n int) string
}{
	{"parentheses", func(n int) string {
		return strings.Repeat("(", n) + "a" + strings.Repeat(")", n)
	}},
	{"value lists", func(n int) string {
		return "f:" + strings.Repeat("(", n) + "a" + strings.Repeat(")", n)
	}},
	{"nested braces", func(n int) string {
		return strings.Repeat("x:{", n) + "a:1" + strings.Repeat("}", n)
	}},
	{"not chain", func(n int) string {
		return strings.Repeat("not ", n) + "a"
	}},
	{"not in value list", func(n int) string {
		return "f:(" + strings.Repeat("not ", n-1) + "a)"
	}},
}

func TestParseDepthLimit(t *testing.T) {
	for _, k := range nestings {
		t.Run(k.name, func(t *testing.T) {
			if _, err := Parse(k.build(ast.MaxDepth)); err != nil {
				t.Errorf("%d levels: %v, want success", ast.MaxDepth, err)
			}
			for _, n := range []int{ast.MaxDepth + 1, 10000} {
				_, err := Parse(k.build(n))
				if !errors.Is(err, ast.ErrTooDeep) {
					t.Errorf("%d levels: error %v, want ast.ErrTooDeep", n, err)
				}
				var se *ast.SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("%d levels: error %T, want *ast.SyntaxError", n, err)
				}
			}
		})
	}
}

func TestParseUnclosedDeepParentheses(t *testing.T) {
	_, err := Parse(strings.Repeat("(", 10000))
	if !errors.Is(err, ast.ErrTooDeep) {
		t.Fatalf("error = %v, want ast.ErrTooDeep", err)
	}
	var se *ast.SyntaxError
	if errors.As(err, &se) && se.Offset != ast.MaxDepth {
		t.Errorf("offset = %d, want %d", se.Offset, ast.MaxDepth)
	}
}

func TestParseLongFlatChains(t *testing.T) {
	const n = 10000
	cases := []struct {
		src  string
		want func(ast.Node) (int, bool)
	}{
		{strings.Repeat("a or ", n-1) + "a", func(r ast.Node) (int, bool) {
			or, ok := r.(ast.Or)
			return len(or.Children), ok
		}},
		{strings.Repeat("a and ", n-1) + "a", func(r ast.Node) (int, bool) {
			and, ok := r.(ast.And)
			return len(and.Children), ok
		}},
		{"f:(" + strings.Repeat("a or ", n-1) + "a)", func(r ast.Node) (int, bool) {
			or, ok := r.(ast.Or)
			return len(or.Children), ok
		}},
	}
	for _, c := range cases {
		q, err := Parse(c.src)
		if err != nil {
			t.Fatalf("Parse(%.20q…): %v", c.src, err)
		}
		if got, ok := c.want(q.Root); !ok || got != n {
			t.Errorf("Parse(%.20q…) root %T with %d children, want %d", c.src, q.Root, got, n)
		}
	}
}

// exportsDir holds real Kibana saved-object exports (.json and .ndjson)
// whose KQL queries TestParseKibanaExports parses.
const exportsDir = "../../testdata/kibana"

func TestParseKibanaExports(t *testing.T) {
	dir := exportsDir
	queries := kueryQueries(t, dir)
	if len(queries) == 0 {
		t.Fatalf("no non-empty KQL query found in %s", dir)
	}
	for _, q := range queries {
		if _, err := Parse(q.text); err != nil {
			t.Errorf("%s: Parse(%q): %v", q.file, q.text, err)
		}
	}
	t.Logf("parsed %d KQL queries from %s", len(queries), dir)
}

type exportQuery struct {
	file string
	text string
}

// kueryQueries returns the non-empty queries of every {"query": …,
// "language": "kuery"} object in the exports under dir. Saved objects keep
// searchSourceJSON, visState and similar fields as JSON inside strings,
// sometimes encoded twice, so strings that hold JSON are decoded and searched
// too.
func kueryQueries(t *testing.T, dir string) []exportQuery {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading exports: %v", err)
	}
	var out []exportQuery
	for _, f := range files {
		ext := filepath.Ext(f.Name())
		if f.IsDir() || (ext != ".json" && ext != ".ndjson") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatalf("reading export: %v", err)
		}
		for _, doc := range decodeDocuments(t, f.Name(), data) {
			walkJSON(doc, func(text string) {
				out = append(out, exportQuery{file: f.Name(), text: text})
			})
		}
	}
	return out
}

// decodeDocuments decodes a file that holds one JSON document or one per line.
func decodeDocuments(t *testing.T, name string, data []byte) []any {
	t.Helper()
	var doc any
	if err := json.Unmarshal(data, &doc); err == nil {
		return []any{doc}
	}
	var docs []any
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("%s line %d: invalid JSON: %v", name, i+1, err)
		}
		docs = append(docs, doc)
	}
	return docs
}

func walkJSON(v any, found func(string)) {
	switch v := v.(type) {
	case map[string]any:
		if q, ok := v["query"].(string); ok && v["language"] == "kuery" && strings.TrimSpace(q) != "" {
			found(q)
		}
		for _, child := range v {
			walkJSON(child, found)
		}
	case []any:
		for _, child := range v {
			walkJSON(child, found)
		}
	case string:
		s := strings.TrimSpace(v)
		if !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
			return
		}
		var inner any
		if json.Unmarshal([]byte(s), &inner) == nil {
			walkJSON(inner, found)
		}
	}
}
