package kql

import (
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Parse parses a KQL query. Empty or all-whitespace input matches every
// document. Errors are *ast.SyntaxError values that carry the byte offset of
// the problem. The error wraps ast.ErrTooDeep when the input nests deeper
// than ast.MaxDepth, and ast.ErrInvalidUTF8 when it is not valid UTF-8.
func Parse(src string) (*ast.Query, error) {
	if err := ast.CheckUTF8(ast.KQL, src); err != nil {
		return nil, err
	}
	p := &parser{src: src}
	root, err := p.parseTop()
	if err != nil {
		return nil, err
	}
	return &ast.Query{Root: root, Language: ast.KQL, Source: src, Notes: p.notes}, nil
}

// parser is a recursive-descent parser over the source bytes. It recurses only
// at parentheses, braces and `not`, where depth bounds it. Chains of `and` and
// `or` are parsed in loops.
type parser struct {
	src   string
	pos   int
	depth int
	notes fidelity.Reasons
}

// scope is the nested field that encloses an expression. Field names inside
// a nested query are given its path as a prefix.
type scope struct {
	path string
}

// fullName returns the path of field as Elasticsearch names it.
func (s scope) fullName(field string) string {
	if s.path == "" {
		return field
	}
	return s.path + "." + field
}

// frame describes the group being parsed, so that an unexpected token can be
// reported against the bracket that is still open. A zero frame is the whole
// query.
type frame struct {
	closer byte
	open   int
	kind   string
}

// operand parses one side of a boolean operator.
type operand func() (ast.Node, error)

func (p *parser) parseTop() (ast.Node, error) {
	p.skipSpace()
	if p.eof() {
		return ast.MatchAll{}, nil
	}
	root, err := p.parseOr(scope{})
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.unexpected(frame{})
	}
	return root, nil
}

// parseOr parses a query: conditions joined by `or`, `and` and `not`.
func (p *parser) parseOr(s scope) (ast.Node, error) {
	sub := func() (ast.Node, error) { return p.parseSub(s) }
	not := func() (ast.Node, error) { return p.parseNot("query", sub) }
	and := func() (ast.Node, error) { return p.parseChain("and", "query", not) }
	return p.parseChain("or", "query", and)
}

// parseChain parses operands joined by the keyword op ("and" or "or") into one
// flat list. It loops, so a long chain costs no stack.
func (p *parser) parseChain(op, operandName string, next operand) (ast.Node, error) {
	first, err := next()
	if err != nil {
		return nil, err
	}
	nodes := []ast.Node{first}
	for {
		at, ok := p.binaryKeywordAhead(op)
		if !ok {
			break
		}
		word := p.src[at : at+len(op)]
		p.pos = at + len(op)
		p.skipSpace()
		if p.atOperandEnd() {
			return nil, p.errorf(p.pos, "expected a %s after %q", operandName, word)
		}
		n, err := next()
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return first, nil
	}
	if op == "and" {
		return ast.And{Children: nodes}, nil
	}
	return ast.Or{Children: nodes}, nil
}

// parseNot parses any number of leading `not` keywords and the operand they
// negate. Each `not` counts as one level of nesting.
func (p *parser) parseNot(operandName string, next operand) (ast.Node, error) {
	count := 0
	for p.keywordAt(p.pos, "not") {
		at := p.pos
		if err := p.enter(at); err != nil {
			return nil, err
		}
		count++
		p.pos += len("not")
		p.skipSpace()
		if p.atOperandEnd() {
			word := p.src[at : at+len("not")]
			return nil, p.errorf(p.pos, "expected a %s after %q", operandName, word)
		}
	}
	n, err := next()
	if err != nil {
		return nil, err
	}
	p.depth -= count
	for range count {
		n = ast.Not{Child: n}
	}
	return n, nil
}

// parseSub parses a parenthesised query or a single expression.
func (p *parser) parseSub(s scope) (ast.Node, error) {
	if p.peek() != '(' {
		return p.parseExpression(s)
	}
	f := frame{closer: ')', open: p.pos, kind: "group"}
	return p.parseGroup(f, "empty parentheses: put a query between ( and )",
		func() (ast.Node, error) { return p.parseOr(s) })
}

// parseGroup parses the bracketed content at f.open, which body reads, and the
// closing bracket.
func (p *parser) parseGroup(f frame, emptyMsg string, body operand) (ast.Node, error) {
	if err := p.enter(f.open); err != nil {
		return nil, err
	}
	p.pos = f.open + 1
	p.skipSpace()
	if p.peek() == f.closer {
		return nil, p.errorf(p.pos, "%s", emptyMsg)
	}
	if p.eof() {
		return nil, p.missingCloser(f)
	}
	n, err := body()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	switch {
	case p.peek() == f.closer:
		p.pos++
	case p.eof():
		return nil, p.missingCloser(f)
	default:
		return nil, p.unexpected(f)
	}
	p.depth--
	return n, nil
}

// parseExpression parses `field:value`, `field:(values)`, `field:{ query }`,
// `field <op> value`, or free text with no field.
func (p *parser) parseExpression(s scope) (ast.Node, error) {
	if err := p.checkExpressionStart(); err != nil {
		return nil, err
	}
	lit, err := p.scanLiteral()
	if err != nil {
		return nil, err
	}
	afterLiteral := p.pos
	p.skipSpace()
	switch p.peek() {
	case ':':
		return p.parseFieldValue(s, lit)
	case '<', '>':
		return p.parseRange(s, lit)
	}
	p.pos = afterLiteral
	if s.path != "" {
		return nil, p.errorf(lit.start,
			"free text %q inside the nested query on %q has no field: write it as field:value",
			p.src[lit.start:lit.end], s.path)
	}
	return valueNode("", false, lit), nil
}

// parseFieldValue parses what follows `field:` when the colon is at p.pos.
func (p *parser) parseFieldValue(s scope, lit literal) (ast.Node, error) {
	field, err := p.fieldName(lit)
	if err != nil {
		return nil, err
	}
	label := p.src[lit.start:lit.end] + ":"
	p.pos++
	p.skipSpace()
	if p.peek() == '{' {
		return p.parseNested(s, field)
	}
	target := valueTarget{field: s.fullName(field), anyField: field == "*"}
	return p.parseValues(target, fmt.Sprintf("a value after %q", label))
}

// parseNested parses `{ query }` at p.pos for the nested field.
func (p *parser) parseNested(s scope, field string) (ast.Node, error) {
	path := s.fullName(field)
	f := frame{closer: '}', open: p.pos, kind: "nested query"}
	q, err := p.parseGroup(f, "empty nested query: put a condition between { and }",
		func() (ast.Node, error) { return p.parseOr(scope{path: path}) })
	if err != nil {
		return nil, err
	}
	return ast.Nested{Path: path, Query: q}, nil
}

// parseRange parses `<op> value` when the operator is at p.pos.
func (p *parser) parseRange(s scope, lit literal) (ast.Node, error) {
	field, err := p.fieldName(lit)
	if err != nil {
		return nil, err
	}
	op := p.operatorAt(p.pos)
	label := p.src[lit.start:lit.end] + " " + op
	p.pos += len(op)
	p.skipSpace()
	if err := p.checkValueStart(fmt.Sprintf("a value after %q", label)); err != nil {
		return nil, err
	}
	value, err := p.scanLiteral()
	if err != nil {
		return nil, err
	}
	if value.wildcard {
		return nil, p.errorf(value.start,
			"range value %q contains a wildcard: quote the value or escape the * as \\*",
			p.src[value.start:value.end])
	}
	return rangeNode(s.fullName(field), op, value.value), nil
}

func rangeNode(field, op, value string) ast.Range {
	r := ast.Range{Field: field}
	switch op {
	case ">", ">=":
		r.From, r.HasFrom, r.IncludeFrom = value, true, op == ">="
	default:
		r.To, r.HasTo, r.IncludeTo = value, true, op == "<="
	}
	return r
}

// fieldName returns the unescaped name of a field literal.
func (p *parser) fieldName(lit literal) (string, error) {
	if lit.value == "" {
		return "", p.errorf(lit.start, "empty field name: name a field before the operator")
	}
	if lit.escapedStar || (lit.quoted && strings.Contains(lit.value, "*")) {
		p.notes.Addf(fidelity.Approximate, "kql_field_literal_star",
			"field name %q has a literal * that will be read as a wildcard, because the "+
				"query tree cannot mark a literal * in a field name", lit.value)
	}
	return lit.value, nil
}

// enter records one more level of nesting opened at offset at.
func (p *parser) enter(at int) error {
	if p.depth >= ast.MaxDepth {
		e := p.errorf(at,
			"query nests more than %d levels of parentheses, braces and \"not\": simplify it",
			ast.MaxDepth)
		e.Err = ast.ErrTooDeep
		return e
	}
	p.depth++
	return nil
}
