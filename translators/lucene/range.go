package lucene

import (
	"github.com/obs-migrate/migrate/translators/ast"
)

// rangeKind is the kind of a token inside `[ … ]` or `{ … }`, where Lucene's
// lexer switches to a state of its own.
type rangeKind int

const (
	rangeEOF rangeKind = iota
	rangeClose
	rangeWord   // any run of characters up to whitespace, ] or }
	rangeQuoted // "…", with text between the quotes
)

type rangeToken struct {
	kind       rangeKind
	start, end int
	text       string
}

// lexRange reads the next token inside a range.
func (p *parser) lexRange() (rangeToken, error) {
	p.skipSpace()
	start := p.pos
	if start == len(p.src) {
		return rangeToken{kind: rangeEOF, start: start, end: start}, nil
	}
	switch p.src[start] {
	case ']', '}':
		p.pos++
		return rangeToken{kind: rangeClose, start: start, end: p.pos, text: p.src[start:p.pos]}, nil
	case '"':
		for i := start + 1; i < len(p.src); i++ {
			switch p.src[i] {
			case '\\':
				i++
			case '"':
				p.pos = i + 1
				return rangeToken{kind: rangeQuoted, start: start, end: p.pos, text: p.src[start+1 : i]}, nil
			}
		}
		return rangeToken{}, p.errorf(start,
			"the quoted range bound that starts here has no closing quote: add a \"")
	}
	for p.pos < len(p.src) && p.src[p.pos] != ']' && p.src[p.pos] != '}' && spaceAt(p.src, p.pos) == 0 {
		p.pos++
	}
	return rangeToken{kind: rangeWord, start: start, end: p.pos, text: p.src[start:p.pos]}, nil
}

// parseRange parses the rest of `[a TO b]`, `{a TO b}` or a mix of the two
// after the opening bracket, and a boost. An unquoted `*` is an open bound.
func (p *parser) parseRange(open token, field string) (ast.Node, error) {
	r := ast.Range{IncludeFrom: open.text == "["}
	var err error
	if r.From, r.HasFrom, err = p.rangeBound(open); err != nil {
		return nil, err
	}

	if err := p.expectTO(open); err != nil {
		return nil, err
	}

	if r.To, r.HasTo, err = p.rangeBound(open); err != nil {
		return nil, err
	}

	if r.IncludeTo, err = p.rangeEnd(open); err != nil {
		return nil, err
	}

	if err := p.skipBoost(); err != nil {
		return nil, err
	}
	return p.onFields(field, func(f string) ast.Node {
		r.Field = f
		return r
	}), nil
}

// expectTO reads the TO between the bounds of a range.
func (p *parser) expectTO(open token) error {
	t, err := p.lexRange()
	switch {
	case err != nil:
		return err
	case t.kind == rangeWord && t.text == "TO":
		return nil
	case t.kind == rangeEOF:
		return p.unclosedRange(open)
	}
	return p.errorf(t.start,
		"a range needs TO between its bounds, as in [a TO b], but found %s", p.describeRange(t))
}

// rangeEnd reads the closing bracket of a range and reports whether it
// includes the upper bound.
func (p *parser) rangeEnd(open token) (bool, error) {
	t, err := p.lexRange()
	switch {
	case err != nil:
		return false, err
	case t.kind == rangeClose:
		return t.text == "]", nil
	case t.kind == rangeEOF:
		return false, p.unclosedRange(open)
	}
	return false, p.errorf(t.start,
		"expected ] or } to close the range, found %s: quote a bound that contains spaces",
		p.describeRange(t))
}

// rangeBound reads one bound. It reports false for an open bound.
func (p *parser) rangeBound(open token) (string, bool, error) {
	t, err := p.lexRange()
	if err != nil {
		return "", false, err
	}
	switch t.kind {
	case rangeEOF:
		return "", false, p.unclosedRange(open)
	case rangeClose:
		return "", false, p.errorf(t.start,
			"the range is missing a bound: write [a TO b], with * for an open end")
	case rangeWord:
		if t.text == "*" {
			return "", false, nil
		}
		v, err := p.unescape(t.text, t.start)
		return v, true, err
	}
	v, err := p.unescape(t.text, t.start+1)
	return v, true, err
}

func (p *parser) unclosedRange(open token) error {
	return p.errorf(open.start,
		"the range that starts here has no closing ] or }: write it as [a TO b] or {a TO b}")
}

func (p *parser) describeRange(t rangeToken) string {
	if t.kind == rangeEOF {
		return "end of query"
	}
	return "`" + p.src[t.start:t.end] + "`"
}
