package kql

import "github.com/obs-migrate/migrate/translators/ast"

// valueTarget is the field that a value or value list is compared with.
type valueTarget struct {
	field string
	// anyField is set when the field was written as `*`, so that `*:*`
	// matches every document.
	anyField bool
}

// parseValues parses a single value or a parenthesised value list such as
// `(a or b and not c)`. want names what is expected, for the error when no
// value follows.
func (p *parser) parseValues(t valueTarget, want string) (ast.Node, error) {
	if p.peek() == '(' {
		f := frame{closer: ')', open: p.pos, kind: "value list"}
		return p.parseGroup(f, "empty value list: put at least one value between ( and )",
			func() (ast.Node, error) { return p.parseValueOr(t) })
	}
	if err := p.checkValueStart(want); err != nil {
		return nil, err
	}
	lit, err := p.scanLiteral()
	if err != nil {
		return nil, err
	}
	return valueNode(t.field, t.anyField, lit), nil
}

// parseValueOr parses the inside of a value list.
func (p *parser) parseValueOr(t valueTarget) (ast.Node, error) {
	item := func() (ast.Node, error) { return p.parseValues(t, "a value") }
	not := func() (ast.Node, error) { return p.parseNot("value", item) }
	and := func() (ast.Node, error) { return p.parseChain("and", "value", not) }
	return p.parseChain("or", "value", and)
}

// valueNode builds the condition that compares field with one literal. An
// empty field is the default field.
func valueNode(field string, anyField bool, lit literal) ast.Node {
	switch {
	case lit.quoted:
		return ast.Term{Field: field, Value: lit.value, Mode: ast.Phrase}
	case lit.wildcard && lit.pattern == "*":
		if field == "" || anyField {
			return ast.MatchAll{}
		}
		return ast.Exists{Field: field}
	case lit.wildcard:
		return ast.Wildcard{Field: field, Pattern: lit.pattern}
	}
	return ast.Term{Field: field, Value: lit.value, Mode: ast.Analyzed}
}
