package esdsl

import (
	"fmt"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// maxSubsets bounds the expansion of minimum_should_match into an Or of
// k-subsets: 64 keeps the LogQL readable and within query-length limits
// while covering the usual "2 of 3" and "3 of 5" cases (C(6,3) = 20).
const maxSubsets = 64

// maxExpandedNodes bounds the size of the tree that one expansion builds,
// counted as if shared subtrees were copied. Without it, should clauses
// that are themselves expanded bools would multiply their sizes, and a
// short query could give a renderer billions of nodes to walk.
const maxExpandedNodes = 10000

// boolClauses holds the parsed clauses of a bool query.
type boolClauses struct {
	required []ast.Node // must and filter
	negated  []ast.Node // must_not
	should   []ast.Node
	msm      *value // minimum_should_match, or nil
	msmPath  string
}

// boolQuery parses {"bool":{...}}. All must and filter clauses have to
// match and no must_not clause may. With no must or filter clause, at least
// minimum_should_match should clauses (default 1) have to match. Next to
// must or filter clauses, should clauses only score unless
// minimum_should_match is set.
func (p *parser) boolQuery(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	var c boolClauses
	for _, m := range q.body.members {
		if err := p.boolMember(q, m, &c); err != nil {
			return nil, err
		}
	}

	conjuncts := append([]ast.Node(nil), c.required...)
	for _, n := range c.negated {
		conjuncts = append(conjuncts, ast.Not{Child: n})
	}
	should, err := p.shouldPart(q, &c)
	if err != nil {
		return nil, err
	}
	if should != nil {
		conjuncts = append(conjuncts, should)
	}
	return andOf(conjuncts), nil
}

func (p *parser) boolMember(q query, m member, c *boolClauses) error {
	path := joinKey(q.path, m.key)
	var err error
	switch m.key {
	case "must", "filter":
		c.required, err = p.clauses(m.val, path, q.depth, c.required)
	case "must_not":
		c.negated, err = p.clauses(m.val, path, q.depth, c.negated)
	case "should":
		c.should, err = p.clauses(m.val, path, q.depth, c.should)
	case "minimum_should_match":
		if m.val.kind != kindString && m.val.kind != kindNumber {
			return p.typeError(m.val, path, "an integer or a percentage such as \"75%\"")
		}
		c.msm, c.msmPath = m.val, path
	case "boost":
		p.boostIgnored()
	case "_name", "adjust_pure_negative", "disable_coord":
	default:
		p.unknownOption("bool query", q.path, m.key)
	}
	return err
}

// clauses parses one clause value, an object or an array of objects, and
// appends the queries to out.
func (p *parser) clauses(v *value, path string, depth int, out []ast.Node) ([]ast.Node, error) {
	switch v.kind {
	case kindObject:
		n, err := p.query(v, path, depth+1)
		if err != nil {
			return nil, err
		}
		return append(out, n), nil
	case kindArray:
		for i, e := range v.elems {
			n, err := p.query(e, joinIndex(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	return nil, p.typeError(v, path, "a query object or an array of them")
}

// shouldPart returns the condition that the should clauses add, or nil when
// they add none.
func (p *parser) shouldPart(q query, c *boolClauses) (ast.Node, error) {
	n := len(c.should)
	if n == 0 {
		return nil, nil
	}
	scoringOnly := len(c.required) > 0
	if c.msm == nil && scoringOnly {
		p.note(fidelity.Exact, "optional_clause_ignored",
			"The should clauses of the bool query at %s only affect scores next to its must or filter clauses, so they were dropped.",
			q.path)
		return nil, nil
	}

	k := 1
	if c.msm != nil {
		var err error
		if k, err = minimumShouldMatch(n, c.msm.text); err != nil {
			return nil, p.errorf(c.msm.start, c.msmPath, "%v", err)
		}
	}
	if k <= 0 && scoringOnly {
		p.note(fidelity.Exact, "optional_clause_ignored",
			"The bool query at %s needs none of its should clauses next to its must or filter clauses, so they were dropped.",
			q.path)
		return nil, nil
	}
	// With no required clause, Lucene still needs one should clause to
	// match, whatever minimum_should_match is set to.
	return p.atLeast(q, c, max(k, 1)), nil
}

// atLeast returns the condition "at least k of the should clauses match".
func (p *parser) atLeast(q query, c *boolClauses, k int) ast.Node {
	n := len(c.should)
	switch {
	case k == 1:
		return orOf(c.should)
	case k == n:
		return andOf(c.should)
	case k > n:
		return ast.MatchNone{}
	}

	count, ok := binomial(n, k, maxSubsets)
	if !ok {
		return p.tooManySubsets(q, c, k, fmt.Sprintf("more than %d alternatives", maxSubsets))
	}
	// Each clause appears in C(n-1, k-1) = count*k/n of the alternatives.
	size := count + 1
	for _, s := range c.should {
		size += treeSize(s, maxExpandedNodes) * count * k / n
	}
	if size > maxExpandedNodes {
		return p.tooManySubsets(q, c, k, fmt.Sprintf("more than %d nodes", maxExpandedNodes))
	}

	alternatives := make([]ast.Node, 0, count)
	forEachSubset(n, k, func(idx []int) {
		members := make([]ast.Node, len(idx))
		for i, j := range idx {
			members[i] = c.should[j]
		}
		alternatives = append(alternatives, ast.And{Children: members})
	})
	return ast.Or{Children: alternatives}
}

func (p *parser) tooManySubsets(q query, c *boolClauses, k int, limit string) ast.Node {
	return ast.Unsupported{
		Kind: "minimum_should_match",
		Text: p.rawText(q),
		Reason: fmt.Sprintf("minimum_should_match %s asks for %d of %d should clauses, "+
			"which would expand to %s.", c.msm.text, k, len(c.should), limit),
	}
}

// treeSize counts the nodes of n as if shared subtrees were copied, and
// stops counting past limit.
func treeSize(n ast.Node, limit int) int {
	size := 1
	var children []ast.Node
	switch n := n.(type) {
	case ast.And:
		children = n.Children
	case ast.Or:
		children = n.Children
	case ast.Not:
		children = []ast.Node{n.Child}
	case ast.Nested:
		children = []ast.Node{n.Query}
	}
	for _, c := range children {
		if size > limit {
			break
		}
		size += treeSize(c, limit-size)
	}
	return size
}

// binomial returns C(n, k), or false when it exceeds limit.
func binomial(n, k, limit int) (int, bool) {
	if k > n-k {
		k = n - k
	}
	c := 1
	for i := 1; i <= k; i++ {
		// c*(n-k+i)/i stays an integer at every step.
		c = c * (n - k + i) / i
		if c > limit {
			return 0, false
		}
	}
	return c, true
}

// forEachSubset calls fn with every k-subset of 0..n-1 in lexicographic
// order. fn must not keep idx.
func forEachSubset(n, k int, fn func(idx []int)) {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		fn(idx)
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}
