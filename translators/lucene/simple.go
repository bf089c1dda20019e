package lucene

import (
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
)

// ParseSimple parses a simple_query_string query the way Lucene's
// SimpleQueryParser does. Bad syntax is read as text, so the only errors are
// invalid UTF-8 (wrapping ast.ErrInvalidUTF8) and groups or operator changes
// nested deeper than ast.MaxDepth (wrapping ast.ErrTooDeep).
//
// The operators are `+` (AND) and `|` (OR). A `-` directly before a word,
// phrase or group negates it. `"…"` is a phrase and `"…"~N` one with slop N.
// `word~N` is a fuzzy match with N clamped to 2, and a bare `~` means 2.
// `word*` is a prefix, `( … )` groups, and a backslash escapes the next
// character. Whitespace joins with opts.DefaultOperator. Operators apply left to right with no
// precedence: a change of operator makes everything before it one operand.
// A query that is `*` alone matches everything, and one with no words
// matches nothing, as in Lucene.
func ParseSimple(src string, opts Options) (*ast.Query, error) {
	if err := ast.CheckUTF8(ast.Lucene, src); err != nil {
		return nil, err
	}
	q := &ast.Query{Root: ast.MatchAll{}, Language: ast.Lucene, Source: src}
	if strings.TrimFunc(src, func(r rune) bool { return r <= ' ' }) == "*" {
		return q, nil
	}
	s := newSimpleParser(src, opts)
	root, _, err := s.parseRegion(0, len(src), 0)
	if err != nil {
		return nil, err
	}
	if root == nil {
		root = ast.MatchNone{}
	}
	q.Root = root
	return q, nil
}

// simpleOp is the operator between two simple_query_string operands.
type simpleOp int

const (
	opNone simpleOp = iota
	opMust
	opShould
)

// simpleParser reads simple_query_string. Lucene's parser rescans the text
// for the closing quote or parenthesis each time it meets an opening one.
// The tables built once here give the same results in constant time.
type simpleParser struct {
	src       string
	op        ast.Operator
	defaultOp simpleOp
	fields    []string

	// nextQuote[i] is the first unescaped `"` at or after i, or len(src).
	nextQuote []int
	// closeParen[i] is the unescaped `)` that closes a group whose content
	// starts at i, counting unescaped parentheses only, or -1.
	closeParen []int
}

func newSimpleParser(src string, opts Options) *simpleParser {
	s := &simpleParser{
		src: src, op: opts.DefaultOperator, defaultOp: opShould,
		fields: defaultFields(opts.DefaultFields),
	}
	if opts.DefaultOperator == ast.OpAnd {
		s.defaultOp = opMust
	}
	s.buildTables()
	return s
}

// buildTables fills nextQuote and closeParen. A backslash escapes the next
// byte unless it is itself escaped. Every scan that Lucene makes starts just
// after a quote or parenthesis, never inside a run of backslashes, so it
// pairs backslashes the same way as this single pass from the start.
func (s *simpleParser) buildTables() {
	n := len(s.src)
	escaped := make([]bool, n+1)
	for i := 0; i < n; i++ {
		if s.src[i] == '\\' && !escaped[i] {
			escaped[i+1] = true
		}
	}

	s.nextQuote = make([]int, n+1)
	s.nextQuote[n] = n
	for i := n - 1; i >= 0; i-- {
		s.nextQuote[i] = s.nextQuote[i+1]
		if s.src[i] == '"' && !escaped[i] {
			s.nextQuote[i] = i
		}
	}

	// depth[i] counts unescaped `(` minus unescaped `)` in src[:i]. The
	// group whose content starts at i closes at the first x >= i where
	// depth[x+1] == depth[i]-1. Walking right to left, nearest[d+n] is the
	// smallest x seen so far with depth[x+1] == d.
	depth := make([]int, n+1)
	for i := 0; i < n; i++ {
		depth[i+1] = depth[i]
		if !escaped[i] {
			switch s.src[i] {
			case '(':
				depth[i+1]++
			case ')':
				depth[i+1]--
			}
		}
	}
	nearest := make([]int, 2*n+2)
	for i := range nearest {
		nearest[i] = -1
	}
	s.closeParen = make([]int, n+1)
	s.closeParen[n] = -1
	for x := n - 1; x >= 0; x-- {
		nearest[depth[x+1]+n] = x
		if d := depth[x] - 1 + n; d >= 0 {
			s.closeParen[x] = nearest[d]
		} else {
			s.closeParen[x] = -1
		}
	}
}

// simpleState is the query built so far in one group, as in Lucene's
// SimpleQueryParser.State.
type simpleState struct {
	// items is the single operand read so far, or the operands of the
	// boolean query that kind names.
	items []ast.Node
	kind  simpleOp
	// height is the largest tree height among items.
	height int
	// prev is the operator that joined the last two operands, and cur is
	// the operator written since the last operand.
	prev, cur simpleOp
	// not counts the `-` signs directly before the next operand.
	not int
}

// node returns the query built so far, or nil.
func (st *simpleState) node() (ast.Node, int) {
	switch {
	case len(st.items) == 0:
		return nil, 0
	case st.kind == opNone:
		return st.items[0], st.height
	case st.kind == opMust:
		var children []ast.Node
		for _, n := range st.items {
			children = appendAnd(children, n)
		}
		return ast.And{Children: children}, st.height + 1
	}
	var children []ast.Node
	for _, n := range st.items {
		if or, ok := n.(ast.Or); ok {
			children = append(children, or.Children...)
			continue
		}
		children = append(children, n)
	}
	return ast.Or{Children: children}, st.height + 1
}

// parseRegion parses src[start:end], the whole query or a group's content.
func (s *simpleParser) parseRegion(start, end, depth int) (ast.Node, int, error) {
	var st simpleState
	for i := start; i < end; {
		var err error
		switch c := s.src[i]; c {
		case '(':
			i, err = s.group(&st, i, end, depth)
		case ')':
			i++ // Lucene ignores a stray closing parenthesis.
		case '"':
			i, err = s.phrase(&st, i, end)
		case '+', '|':
			if st.cur == opNone && len(st.items) > 0 {
				st.cur = opShould
				if c == '+' {
					st.cur = opMust
				}
			}
			i++
		case '-':
			st.not++
			i++
			continue
		case ' ', '\t', '\n', '\r':
			i++
		default:
			i, err = s.word(&st, i, end)
		}
		if err != nil {
			return nil, 0, err
		}
		// A `-` negates only what directly follows it, so anything else,
		// whitespace included, resets the count.
		st.not = 0
	}
	n, h := st.node()
	return n, h, nil
}

// add joins an operand to the query built so far, as Lucene's
// buildQueryTree does. A change of operator wraps everything so far into the
// first operand of a new boolean query.
func (s *simpleParser) add(st *simpleState, branch ast.Node, height, at int) error {
	if st.not%2 == 1 {
		branch = ast.Not{Child: branch}
		height++
	}
	op := st.cur
	st.cur = opNone
	if len(st.items) == 0 {
		st.items = append(st.items, branch)
		st.height = height
		return s.checkHeight(height, at)
	}
	if op == opNone {
		op = s.defaultOp
	}
	if st.prev != op {
		top, h := st.node()
		st.items = []ast.Node{top}
		st.kind = op
		st.height = h
	}
	st.items = append(st.items, branch)
	st.height = max(st.height, height)
	st.prev = op
	return s.checkHeight(st.height+1, at)
}

func (s *simpleParser) checkHeight(height, at int) error {
	if height <= ast.MaxDepth {
		return nil
	}
	e := ast.NewSyntaxError(ast.Lucene, s.src, at,
		"the query nests more than %d levels of groups, negations and operator changes: simplify it",
		ast.MaxDepth)
	e.Err = ast.ErrTooDeep
	return e
}

// group reads `( … )` at i. An unclosed parenthesis is skipped and the rest
// is read as if it were not there. An empty `()` is ignored and clears the
// pending operator.
func (s *simpleParser) group(st *simpleState, i, end, depth int) (int, error) {
	start := i + 1
	closing := s.closeParen[start]
	if closing < 0 || closing >= end {
		return start, nil
	}
	if closing == start {
		st.cur = opNone
		return start + 1, nil
	}
	if depth+1 > ast.MaxDepth {
		return 0, s.checkHeight(depth+1, i)
	}
	sub, h, err := s.parseRegion(start, closing, depth+1)
	if err != nil {
		return 0, err
	}
	if sub != nil {
		if err := s.add(st, sub, h, i); err != nil {
			return 0, err
		}
	}
	return closing + 1, nil
}

// phrase reads `"…"` at i, with an optional `~N`. An unclosed quote is
// skipped and what follows it is read normally.
func (s *simpleParser) phrase(st *simpleState, i, end int) (int, error) {
	start := i + 1
	closing := s.nextQuote[start]
	if closing >= end {
		return start, nil
	}
	text := removeEscapes(s.src[start:closing])
	next := closing + 1
	slop := 0
	if next < end && s.src[next] == '~' {
		if next+1 < end {
			slop, next = s.fuzziness(next, end)
		} else {
			next++
		}
	}
	n := onFields(s.fields, "", func(f string) ast.Node {
		return ast.Term{Field: f, Value: text, Mode: ast.Phrase, Slop: slop}
	})
	return next, s.add(st, n, 0, i)
}

// wordEnd reports whether c ends a word.
func wordEnd(c byte) bool {
	switch c {
	case '"', '|', '+', '(', ')', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// word reads a word at i: a term, a prefix (`abc*`) or a fuzzy term
// (`abc~N`).
func (s *simpleParser) word(st *simpleState, i, end int) (int, error) {
	start := i
	var b []byte
	escaped, prefix, fuzzy := false, false, false
	for ; i < end; i++ {
		c := s.src[i]
		if escaped {
			escaped = false
		} else {
			if c == '\\' {
				escaped = true
				continue
			}
			if wordEnd(c) {
				break
			}
			if len(b) > 0 && c == '~' {
				fuzzy = true
				break
			}
			// Lucene tracks whether the last unescaped character was a
			// `*` after at least one other character.
			prefix = len(b) > 0 && c == '*'
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		return i, nil
	}
	text := string(b)
	var build func(f string) ast.Node
	switch {
	case fuzzy:
		var edits int
		edits, i = s.fuzziness(i, end)
		if edits = min(edits, 2); edits > 0 {
			build = func(f string) ast.Node {
				return ast.Fuzzy{Field: f, Value: text, Fuzziness: strconv.Itoa(edits)}
			}
		}
	case prefix:
		build = func(f string) ast.Node { return ast.Prefix{Field: f, Value: text[:len(text)-1]} }
	}
	if build == nil {
		build = func(f string) ast.Node {
			return ast.Term{Field: f, Value: text, Mode: ast.Analyzed, Operator: s.op}
		}
	}
	return i, s.add(st, onFields(s.fields, "", build), 0, start)
}

// fuzziness reads the number after the `~` at i, up to the end of the word.
// As in Lucene, no number means 2, anything that is not an integer means 0,
// and a negative number means 0.
func (s *simpleParser) fuzziness(i, end int) (int, int) {
	j := i + 1
	for j < end && !wordEnd(s.src[j]) {
		j++
	}
	text := s.src[i+1 : j]
	if text == "" {
		return 2, j
	}
	n, err := strconv.ParseInt(text, 10, 32)
	if err != nil || n < 0 {
		return 0, j
	}
	return int(n), j
}

// removeEscapes drops each unescaped backslash and keeps the character after
// it.
func removeEscapes(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	escaped := false
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteByte(s[i])
	}
	return b.String()
}
