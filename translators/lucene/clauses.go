package lucene

import (
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// occur is the role of a clause in its boolean query, as in Lucene's
// BooleanClause.Occur.
type occur int

const (
	should occur = iota
	must
	mustNot
)

// clause is one parsed clause with its source span.
type clause struct {
	node       ast.Node
	occur      occur
	start, end int
}

// addClause appends c with the occurrence that Lucene's
// QueryParserBase.addClause gives it. A clause introduced by AND also makes
// the previous clause required. Under the AND default operator, a clause
// introduced by OR makes the previous one optional. Neither changes a
// prohibited clause.
func addClause(clauses []clause, conj conjunction, mod modifier, c clause, op ast.Operator) []clause {
	if n := len(clauses); n > 0 {
		last := &clauses[n-1]
		if conj == conjAnd && last.occur != mustNot {
			last.occur = must
		}
		if op == ast.OpAnd && conj == conjOr && last.occur != mustNot {
			last.occur = should
		}
	}
	switch {
	case mod == modProhibited:
		c.occur = mustNot
	case op == ast.OpOr && (mod == modRequired || conj == conjAnd):
		c.occur = must
	case op == ast.OpOr:
		c.occur = should
	case conj == conjOr:
		// Under AND, Lucene ignores + on a clause introduced by OR.
		c.occur = should
	default:
		c.occur = must
	}
	return append(clauses, c)
}

// combine turns a clause list into a node. Required clauses become conjuncts
// and prohibited ones negated conjuncts. Optional clauses form one
// disjunction, unless a required clause exists: then they only affect scoring,
// so they are dropped with a note. A list of prohibited clauses alone matches
// everything else, as Elasticsearch makes it by adding match_all.
func (p *parser) combine(clauses []clause) ast.Node {
	if len(clauses) == 1 && clauses[0].occur != mustNot {
		return clauses[0].node
	}
	var required, optional, prohibited []clause
	for _, c := range clauses {
		switch c.occur {
		case must:
			required = append(required, c)
		case should:
			optional = append(optional, c)
		default:
			prohibited = append(prohibited, c)
		}
	}

	var out []ast.Node
	switch {
	case len(required) > 0:
		for _, c := range required {
			out = appendAnd(out, c.node)
		}
		if len(optional) > 0 {
			p.noteDropped(optional)
		}
	case len(optional) > 0:
		or := orOf(optional)
		if len(prohibited) == 0 {
			return or
		}
		out = appendAnd(out, or)
	}
	if len(prohibited) == 0 && len(out) == 1 {
		return out[0]
	}
	for _, c := range prohibited {
		out = append(out, ast.Not{Child: c.node})
	}
	return ast.And{Children: out}
}

// appendAnd appends n as a conjunct, splicing in the children of an And.
func appendAnd(out []ast.Node, n ast.Node) []ast.Node {
	if and, ok := n.(ast.And); ok {
		return append(out, and.Children...)
	}
	return append(out, n)
}

// orOf joins the clauses' nodes into one disjunction, splicing in the
// children of nested Or nodes.
func orOf(clauses []clause) ast.Node {
	if len(clauses) == 1 {
		return clauses[0].node
	}
	var children []ast.Node
	for _, c := range clauses {
		if or, ok := c.node.(ast.Or); ok {
			children = append(children, or.Children...)
			continue
		}
		children = append(children, c.node)
	}
	return ast.Or{Children: children}
}

// noteDropped records the optional clauses that combine dropped.
func (p *parser) noteDropped(optional []clause) {
	const maxNamed = 5
	var names []string
	for i, c := range optional {
		if i == maxNamed {
			names = append(names, fmt.Sprintf("%d more", len(optional)-maxNamed))
			break
		}
		names = append(names, quoteExcerpt(p.src[c.start:c.end]))
	}
	named := "clause " + names[0]
	if len(names) > 1 {
		named = "clauses " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	p.notes.Addf(fidelity.Exact, "optional_clause_ignored",
		"Dropped the optional %s: next to required clauses (AND, + or the AND default operator), "+
			"Lucene uses optional clauses only for scoring. So `a OR b AND c` matches the same documents as `b AND c`. "+
			"Write `(a OR b) AND c` if one of the alternatives must match.",
		named)
}

// quoteExcerpt quotes a clause's source text, shortened to 60 characters.
func quoteExcerpt(s string) string {
	const limit = 60
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return "`" + s + "`"
}

func (p *parser) noteBoost() {
	p.notes.Addf(fidelity.Exact, "boost_ignored",
		"A boost (^n) was dropped: it only changes relevance scores, which Loki does not have, and not which documents match.")
}

func (p *parser) noteLowercase(word string) {
	p.notes.Addf(fidelity.Exact, "lowercase_operator",
		"`%s` was searched as a word: Lucene only recognises the uppercase operators AND, OR and NOT.", word)
}

func (p *parser) noteBareOperator(op string) {
	p.notes.Addf(fidelity.Exact, "bare_operator",
		"`%s` followed by a space is not an operator in Lucene, so it was searched as the text %q, which most analyzers drop. "+
			"Attach it to the next clause, as in %sterm, to use it as an operator.",
		op, op, op)
}

func (p *parser) noteFuzzyIgnored() {
	p.notes.Addf(fidelity.Exact, "fuzzy_ignored",
		"A ~ after a wildcard or regular expression was ignored, as Lucene ignores it there.")
}
