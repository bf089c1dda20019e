package logql

import (
	"regexp"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// cond is the compiled tree: negation is already pushed into the leaves, and
// each leaf knows every place it can be rendered.
type cond interface{}

type condConst bool

const (
	cTrue  = condConst(true)
	cFalse = condConst(false)
)

type condAnd []cond

type condOr []cond

// leaf is one field condition in every form it can take.
type leaf struct {
	// expr is the label-filter expression, without the leading pipe.
	expr     string
	parsed   bool // expr reads a label made by the parser
	lineCopy bool // expr reads the copy of the log line
	numeric  bool // expr compares numbers, so the error filter is needed
	// matcher is the stream-selector form, for stream labels.
	matcher *Matcher
	// eqName and eqValue are set on a positive string equality, so an OR
	// of several on one name can merge into one regex.
	eqName  string
	eqValue string
	// line is the line-filter stage, for conditions on the log line.
	line string
	// lineAlt is a positive search regex that can join other branches in
	// one line filter.
	lineAlt string
	// prefilter is a line filter implied by this condition, for a cheap
	// first pass before the parser.
	prefilter string
}

// compile turns the tree into conditions, pushing negation down to the
// leaves (De Morgan), because LogQL label filters have no `not`.
func (r *renderer) compile(n ast.Node, neg bool) cond {
	switch n := n.(type) {
	case ast.And:
		return r.compileList(n.Children, neg, neg)
	case ast.Or:
		return r.compileList(n.Children, neg, !neg)
	case ast.Not:
		return r.compile(n.Child, !neg)
	case ast.MatchAll:
		return condConst(!neg)
	case ast.MatchNone:
		return condConst(neg)
	case ast.Nested:
		r.reasons.Addf(fidelity.Approximate, "nested_flattened",
			"%s is a nested field: Elasticsearch requires its conditions to hold on one element, the log line cannot keep that correlation", n.Path)
		return r.compile(n.Query, neg)
	}
	return r.compileLeaf(n, neg)
}

func (r *renderer) compileList(children []ast.Node, neg, or bool) cond {
	out := make([]cond, len(children))
	for i, c := range children {
		out[i] = r.compile(c, neg)
	}
	if or {
		return condOr(out)
	}
	return condAnd(out)
}

// simplifyCond flattens nested lists and folds constants.
func simplifyCond(c cond) cond {
	switch c := c.(type) {
	case condAnd:
		var kids condAnd
		for _, k := range c {
			k = simplifyCond(k)
			switch k := k.(type) {
			case condConst:
				if !k {
					return cFalse
				}
				continue
			case condAnd:
				kids = append(kids, k...)
				continue
			}
			kids = append(kids, k)
		}
		switch len(kids) {
		case 0:
			return cTrue
		case 1:
			return kids[0]
		}
		return kids
	case condOr:
		var kids condOr
		for _, k := range c {
			k = simplifyCond(k)
			switch k := k.(type) {
			case condConst:
				if k {
					return cTrue
				}
				continue
			case condOr:
				kids = append(kids, k...)
				continue
			}
			kids = append(kids, k)
		}
		switch len(kids) {
		case 0:
			return cFalse
		case 1:
			return kids[0]
		}
		return kids
	}
	return c
}

// conjuncts lists the top-level conditions that must all hold.
func conjuncts(c cond) []cond {
	if and, ok := c.(condAnd); ok {
		return and
	}
	return []cond{c}
}

// selectorMatcher returns the stream-selector form of a top-level condition:
// a matcher on a stream label, or an OR of equalities on one label merged
// into a regex matcher.
func selectorMatcher(c cond) (Matcher, bool) {
	switch c := c.(type) {
	case *leaf:
		if c.matcher != nil {
			return *c.matcher, true
		}
	case condOr:
		name, re, ok := mergedEquality(c)
		if !ok || c[0].(*leaf).matcher == nil {
			return Matcher{}, false
		}
		return Matcher{Name: name, Op: "=~", Value: re}, true
	}
	return Matcher{}, false
}

// lineFilter returns the line-filter form of a top-level condition: a
// condition on the line, or an OR of positive ones merged into one regex.
func lineFilter(c cond) (string, bool) {
	switch c := c.(type) {
	case *leaf:
		if c.line != "" {
			return c.line, true
		}
	case condOr:
		alts := make([]string, 0, len(c))
		for _, k := range c {
			l, ok := k.(*leaf)
			if !ok || l.lineAlt == "" {
				return "", false
			}
			alts = append(alts, l.lineAlt)
		}
		return "|~ " + Quote(strings.Join(alts, "|")), true
	}
	return "", false
}

// mergedEquality turns an OR of string equalities on one name into one
// anchored regex, which Loki evaluates faster than a chain of ors.
func mergedEquality(c condOr) (name, re string, ok bool) {
	alts := make([]string, 0, len(c))
	for _, k := range c {
		l, isLeaf := k.(*leaf)
		if !isLeaf || l.eqName == "" || (name != "" && l.eqName != name) {
			return "", "", false
		}
		name = l.eqName
		alts = append(alts, regexp.QuoteMeta(l.eqValue))
	}
	return name, "^(?:" + strings.Join(alts, "|") + ")$", true
}

type condInfo struct{ parsed, lineCopy, numeric bool }

func inspect(c cond) condInfo {
	var info condInfo
	var walk func(cond)
	walk = func(c cond) {
		switch c := c.(type) {
		case *leaf:
			info.parsed = info.parsed || c.parsed
			info.lineCopy = info.lineCopy || c.lineCopy
			info.numeric = info.numeric || c.numeric
		case condAnd:
			for _, k := range c {
				walk(k)
			}
		case condOr:
			for _, k := range c {
				walk(k)
			}
		}
	}
	walk(c)
	return info
}

// exprString renders a condition as a label-filter expression. Every
// composite is parenthesised, because Loki's documented precedence (left to
// right) and its parser's (and before or) differ.
func exprString(c cond) string {
	switch c := c.(type) {
	case *leaf:
		return c.expr
	case condAnd:
		return "(" + joinExprs(c, " and ") + ")"
	case condOr:
		if name, re, ok := mergedEquality(c); ok {
			return name + "=~" + Quote(re)
		}
		return "(" + joinExprs(c, " or ") + ")"
	}
	return ""
}

func joinExprs(cs []cond, sep string) string {
	parts := make([]string, len(cs))
	for i, k := range cs {
		parts[i] = exprString(k)
	}
	return strings.Join(parts, sep)
}
