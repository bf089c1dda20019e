package lucene

import (
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Options are the query_string settings that change how a query parses.
type Options struct {
	// DefaultOperator joins clauses that have no operator between them:
	// ast.OpOr (Elasticsearch's default) or ast.OpAnd.
	DefaultOperator ast.Operator
	// DefaultFields are the fields that unfielded terms search
	// (query_string default_field or fields). Empty, or a list containing
	// "*", leaves the field of such terms empty, which means free text.
	// With several fields a term becomes an ast.Or over them.
	DefaultFields []string
}

// Parse parses a query_string query with Elasticsearch's default options.
func Parse(src string) (*ast.Query, error) {
	return ParseWithOptions(src, Options{})
}

// ParseWithOptions parses a query_string query. Empty or all-whitespace input
// matches every document, as Kibana sends it. Errors are *ast.SyntaxError
// values that carry the byte offset of the problem. Groups nested deeper than
// ast.MaxDepth yield one that wraps ast.ErrTooDeep, and invalid UTF-8 yields
// one that wraps ast.ErrInvalidUTF8.
func ParseWithOptions(src string, opts Options) (*ast.Query, error) {
	if err := ast.CheckUTF8(ast.Lucene, src); err != nil {
		return nil, err
	}
	p := &parser{src: src, op: opts.DefaultOperator, fields: defaultFields(opts.DefaultFields)}
	root, err := p.parseTop()
	if err != nil {
		return nil, err
	}
	return &ast.Query{Root: root, Language: ast.Lucene, Source: src, Notes: p.notes}, nil
}

// defaultFields returns the fields that unfielded terms get, or nil for free
// text.
func defaultFields(fields []string) []string {
	var out []string
	for _, f := range fields {
		if f == "*" {
			return nil
		}
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parser is a recursive-descent parser for query_string. Recursion happens
// only at parentheses, which depth bounds, and clause lists are parsed in loops.
type parser struct {
	src    string
	op     ast.Operator
	fields []string
	notes  fidelity.Reasons

	// pos is the byte offset after the last token consumed.
	pos int
	// ahead is the token that peek read and next has not consumed yet.
	ahead *token
}

// errorf returns a SyntaxError at a byte offset.
func (p *parser) errorf(offset int, format string, args ...any) error {
	return ast.NewSyntaxError(ast.Lucene, p.src, offset, format, args...)
}

// tooDeep returns the error for a group opened at offset past ast.MaxDepth.
func (p *parser) tooDeep(offset int) error {
	e := ast.NewSyntaxError(ast.Lucene, p.src, offset,
		"groups are nested more than %d deep: remove some parentheses", ast.MaxDepth)
	e.Err = ast.ErrTooDeep
	return e
}

// next consumes and returns the next token.
func (p *parser) next() (token, error) {
	if p.ahead != nil {
		t := *p.ahead
		p.ahead = nil
		p.pos = t.end
		return t, nil
	}
	return p.lex()
}

// advance consumes the token that peek returned.
func (p *parser) advance() {
	p.pos = p.ahead.end
	p.ahead = nil
}

// peek returns the next token without consuming it.
func (p *parser) peek() (token, error) {
	if p.ahead != nil {
		return *p.ahead, nil
	}
	save := p.pos
	t, err := p.lex()
	p.pos = save
	if err != nil {
		return token{}, err
	}
	p.ahead = &t
	return t, nil
}

// parseTop parses the whole query.
func (p *parser) parseTop() (ast.Node, error) {
	p.skipSpace()
	if p.pos == len(p.src) {
		return ast.MatchAll{}, nil
	}
	root, err := p.parseQuery("", 0)
	if err != nil {
		return nil, err
	}
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tokRParen {
		return nil, p.errorf(t.start, "unexpected ) with no matching (: remove it or escape it as \\)")
	}
	return root, nil
}

// conjunction is the operator written before a clause.
type conjunction int

const (
	conjNone conjunction = iota
	conjAnd
	conjOr
)

// modifier is the prefix written before a clause.
type modifier int

const (
	modNone modifier = iota
	modRequired
	modProhibited
)

// parseQuery parses clauses until the end of the query or a `)`, which it
// leaves for the caller, and combines them. field is the field that
// unfielded terms get inside a `field:( … )` group.
func (p *parser) parseQuery(field string, depth int) (ast.Node, error) {
	var clauses []clause
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		if t.kind == tokEOF || t.kind == tokRParen {
			break
		}
		conj, err := p.parseConjunction(len(clauses) > 0)
		if err != nil {
			return nil, err
		}
		mod, err := p.parseModifier()
		if err != nil {
			return nil, err
		}
		c, err := p.parseClause(field, depth)
		if err != nil {
			return nil, err
		}
		clauses = addClause(clauses, conj, mod, c, p.op)
	}
	return p.combine(clauses), nil
}

// parseConjunction consumes an optional AND or OR before a clause and checks
// that a clause follows it.
func (p *parser) parseConjunction(hasPrevious bool) (conjunction, error) {
	t, err := p.peek()
	if err != nil || (t.kind != tokAnd && t.kind != tokOr) {
		return conjNone, err
	}
	if !hasPrevious {
		return conjNone, p.errorf(t.start,
			"%s has no clause before it: remove it or quote it to search for the word", t.describe(p.src))
	}
	p.advance()
	after, err := p.peek()
	if err != nil {
		return conjNone, err
	}
	switch after.kind {
	case tokEOF, tokRParen:
		return conjNone, p.errorf(t.start,
			"%s has no clause after it: add one or remove the operator", t.describe(p.src))
	case tokAnd, tokOr:
		return conjNone, p.errorf(after.start,
			"%s cannot follow %s: keep one operator between two clauses",
			after.describe(p.src), t.describe(p.src))
	}
	if t.kind == tokAnd {
		return conjAnd, nil
	}
	return conjOr, nil
}

// parseModifier consumes an optional +, -, ! or NOT and checks that a clause
// follows it.
func (p *parser) parseModifier() (modifier, error) {
	t, err := p.peek()
	if err != nil {
		return modNone, err
	}
	mod := modNone
	switch t.kind {
	case tokPlus:
		mod = modRequired
	case tokMinus, tokNot:
		mod = modProhibited
	default:
		return modNone, nil
	}
	p.advance()
	after, err := p.peek()
	if err != nil {
		return modNone, err
	}
	switch after.kind {
	case tokEOF, tokRParen, tokAnd, tokOr:
		return modNone, p.errorf(t.start,
			"%s has no clause after it: add one, or escape it with a backslash to search for it",
			t.describe(p.src))
	case tokPlus, tokMinus, tokNot:
		return modNone, p.errorf(after.start,
			"%s cannot follow %s: a clause takes one modifier, so use parentheses, as in -(-a)",
			after.describe(p.src), t.describe(p.src))
	}
	return mod, nil
}

// parseClause parses `field:value`, `field:( … )`, a group or a value.
func (p *parser) parseClause(field string, depth int) (clause, error) {
	t, err := p.next()
	if err != nil {
		return clause{}, err
	}
	start := t.start
	fielded := false
	if colon := p.colonAfter(); (t.kind == tokTerm || t.kind == tokWild) && colon >= 0 {
		fielded = true
		if field, err = p.fieldName(t); err != nil {
			return clause{}, err
		}
		p.pos = colon + 1
		if t, err = p.fieldValue(t, field); err != nil {
			return clause{}, err
		}
	}
	var n ast.Node
	switch t.kind {
	case tokLParen:
		n, err = p.parseGroup(t, field, depth)
	case tokRangeOpen:
		n, err = p.parseRange(t, field)
	case tokTerm, tokWild, tokBareOp, tokPhrase, tokRegex:
		// `status:and` is plainly a value, so only a bare word gets a note.
		if !fielded && t.kind == tokTerm && isLowercaseOperator(t.text) {
			p.noteLowercase(t.text)
		}
		n, err = p.parseValue(t, field)
	default:
		err = p.unexpected(t)
	}
	if err != nil {
		return clause{}, err
	}
	return clause{node: n, start: start, end: p.pos}, nil
}

// colonAfter returns the offset of the `:` that comes next after optional
// whitespace, or -1.
func (p *parser) colonAfter() int {
	i := p.pos
	for {
		n := spaceAt(p.src, i)
		if n == 0 {
			break
		}
		i += n
	}
	if i < len(p.src) && p.src[i] == ':' {
		return i
	}
	return -1
}

// fieldValue reads the token after `field:` and checks that it is a value.
func (p *parser) fieldValue(name token, field string) (token, error) {
	t, err := p.next()
	if err != nil {
		return token{}, err
	}
	switch t.kind {
	case tokEOF, tokRParen, tokAnd, tokOr, tokColon, tokRangeClose:
		return token{}, p.errorf(name.start,
			"field %q has no value: add one after the colon, or escape the colon as \\: if it is part of a term",
			field)
	case tokPlus, tokMinus, tokNot:
		return token{}, p.errorf(t.start,
			"%s after %q: put the modifier before the field, as in -%s:value, or escape it with a backslash",
			t.describe(p.src), field+":", field)
	}
	return t, nil
}

// unexpected returns the error for a token that cannot start a clause.
func (p *parser) unexpected(t token) error {
	switch t.kind {
	case tokColon:
		return p.errorf(t.start,
			"unexpected `:` with no field name before it: escape it as \\: to search for a colon")
	case tokRangeClose:
		return p.errorf(t.start,
			"unexpected %s outside a range: ranges are written [a TO b] or {a TO b}; escape it with a backslash to search for it",
			t.describe(p.src))
	case tokBoost:
		return p.errorf(t.start, "boost %s does not follow a term, phrase, group or range",
			t.describe(p.src))
	case tokSlop:
		return p.errorf(t.start,
			"%s must follow a term (fuzzy search) or a phrase (proximity search)",
			t.describe(p.src))
	}
	return p.errorf(t.start, "unexpected %s", t.describe(p.src))
}

// parseGroup parses `( … )` after the opening parenthesis, and a boost.
func (p *parser) parseGroup(open token, field string, depth int) (ast.Node, error) {
	if depth+1 > ast.MaxDepth {
		return nil, p.tooDeep(open.start)
	}
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind == tokRParen {
		return nil, p.errorf(open.start, "empty group (): put a query between the parentheses")
	}
	n, err := p.parseQuery(field, depth+1)
	if err != nil {
		return nil, err
	}
	if t, err = p.next(); err != nil {
		return nil, err
	}
	if t.kind != tokRParen {
		return nil, p.errorf(open.start, "the group that starts here has no closing ): add one")
	}
	if err := p.skipBoost(); err != nil {
		return nil, err
	}
	return n, nil
}

// skipBoost consumes an optional boost and notes that it was dropped.
func (p *parser) skipBoost() error {
	t, err := p.peek()
	if err != nil || t.kind != tokBoost {
		return err
	}
	p.advance()
	p.noteBoost()
	return nil
}
