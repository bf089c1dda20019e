package esdsl

import (
	"slices"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// matchAll parses match_all and match_none, whose only options are boost
// and _name.
func (p *parser) matchAll(q query, n ast.Node) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	for _, m := range q.body.members {
		p.commonOption(q, m)
	}
	return n, nil
}

// subQuery parses the query under key in q's body, or returns nil when the
// key is absent.
func (p *parser) subQuery(q query, key string) (ast.Node, error) {
	v := q.body.field(key)
	if v == nil {
		return nil, nil
	}
	return p.query(v, joinKey(q.path, key), q.depth+1)
}

// requiredSubQuery is subQuery for a key that must be present.
func (p *parser) requiredSubQuery(q query, key string) (ast.Node, error) {
	n, err := p.subQuery(q, key)
	if err == nil && n == nil {
		err = p.errorf(q.body.start, q.path, "missing %q; the %s query needs it", key, q.name)
	}
	return n, err
}

// constantScore parses constant_score, which gives every match of its
// filter the same score.
func (p *parser) constantScore(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	p.otherOptions(q, "filter")
	return p.requiredSubQuery(q, "filter")
}

// boosting parses boosting: documents match by the positive query, and the
// negative query only lowers their scores.
func (p *parser) boosting(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	p.otherOptions(q, "positive", "negative", "negative_boost")
	positive, err := p.requiredSubQuery(q, "positive")
	if err != nil {
		return nil, err
	}
	// The negative query is parsed so that its errors show.
	if _, err := p.requiredSubQuery(q, "negative"); err != nil {
		return nil, err
	}
	p.note(fidelity.Exact, "scoring_ignored",
		"The boosting query at %s keeps its positive query; its negative query only lowers scores and was dropped.", q.path)
	return positive, nil
}

// disMax parses dis_max: a document matches when any of its queries does.
func (p *parser) disMax(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	p.otherOptions(q, "queries", "tie_breaker")
	v := q.body.field("queries")
	if v == nil {
		return nil, p.errorf(q.body.start, q.path, "missing \"queries\"; the dis_max query needs an array of queries")
	}
	nodes, err := p.clauses(v, joinKey(q.path, "queries"), q.depth, nil)
	if err != nil {
		return nil, err
	}
	return orOf(nodes), nil
}

// functionScore parses function_score and script_score. Both match the
// documents of their query (every document when function_score has none)
// and only change scores, except for min_score, which drops documents by
// score.
func (p *parser) functionScore(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	n, err := p.subQuery(q, "query")
	if err != nil {
		return nil, err
	}
	if n == nil {
		if q.name == "script_score" {
			return nil, p.errorf(q.body.start, q.path, "missing \"query\"; the script_score query needs it")
		}
		n = ast.MatchAll{}
	}

	p.note(fidelity.Exact, "scoring_ignored",
		"The %s query at %s only changes scores; its query was kept and its scoring dropped.", q.name, q.path)
	if v := q.body.field("min_score"); v != nil {
		p.note(fidelity.Approximate, "min_score_ignored",
			"The %s query at %s drops documents scoring below min_score %s; the translation keeps every match.",
			q.name, q.path, string(p.raw[v.start:v.end]))
	}
	return n, nil
}

// nested parses {"nested":{"path":"p","query":{...}}}.
func (p *parser) nested(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	p.otherOptions(q, "path", "query", "score_mode", "ignore_unmapped", "inner_hits")
	v := q.body.field("path")
	if v == nil {
		return nil, p.errorf(q.body.start, q.path, "missing \"path\"; the nested query needs the nested field's path")
	}
	path, err := p.stringValue(v, joinKey(q.path, "path"))
	if err != nil {
		return nil, err
	}
	inner, err := p.requiredSubQuery(q, "query")
	if err != nil {
		return nil, err
	}
	return ast.Nested{Path: path, Query: inner}, nil
}

// otherOptions passes every option of q other than the known keys to
// commonOption.
func (p *parser) otherOptions(q query, known ...string) {
	for _, m := range q.body.members {
		if !slices.Contains(known, m.key) {
			p.commonOption(q, m)
		}
	}
}
