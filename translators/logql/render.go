package logql

import (
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// MaxQueryBytes bounds the query text; longer queries are unsupported.
// NOTE: the bound is what testing reported Loki 3 to refuse, not a limit
// read from Loki's configuration.
const MaxQueryBytes = 128 << 10

// Result is one rendered query.
type Result struct {
	// Query is nil when Fidelity is Unsupported.
	Query    *LogQuery
	Fidelity fidelity.Level
	Reasons  fidelity.Reasons
	// Range is the time range that conditions on the timestamp field gave,
	// or nil.
	Range *TimeRange
}

// String returns the LogQL text, or "" for an unsupported result.
func (r *Result) String() string {
	if r.Query == nil {
		return ""
	}
	return r.Query.String()
}

// Render translates a parsed query for one schema.
func Render(q *ast.Query, s *Schema) *Result {
	r := &renderer{schema: s}
	r.reasons.Merge(q.Notes)

	root := simplify(q.Root)
	root, timeRange := r.extractTime(root)
	c := simplifyCond(r.compile(root, false))

	res := &Result{Range: timeRange}
	switch {
	case c == cFalse:
		r.reasons.Addf(fidelity.Unsupported, "matches_nothing",
			"the query can never match a document, so there is nothing to render")
	case c == cTrue && len(r.dropped) > 0:
		r.reasons.Addf(fidelity.Unsupported, "nothing_translatable",
			"no condition of the query could be translated; running the selector alone would return every line")
	default:
		res.Query = r.place(c)
	}
	if len(r.dropped) > 0 && res.Query != nil {
		r.reasons.Addf(fidelity.Approximate, "conditions_dropped",
			"%d condition(s) were left out, so the query can return lines that Elasticsearch would not: %s",
			len(r.dropped), strings.Join(r.dropped, "; "))
	}
	if res.Query != nil && len(res.Query.String()) > MaxQueryBytes {
		r.reasons.Addf(fidelity.Unsupported, "query_too_long",
			"the LogQL query is %d bytes long; Loki rejects queries of %d bytes or more, so split the source query", len(res.Query.String()), MaxQueryBytes)
		res.Query = nil
	}
	res.Reasons = r.reasons
	res.Fidelity = r.reasons.Level()
	if res.Query == nil {
		res.Fidelity = fidelity.Unsupported
	}
	return res
}

type renderer struct {
	schema  *Schema
	reasons fidelity.Reasons
	// dropped describes each condition replaced by "true".
	dropped []string
}

// drop records a condition that cannot be rendered and returns the
// condition that replaces it.
func (r *renderer) drop(n ast.Node, code, format string, args ...any) cond {
	msg := fmt.Sprintf(format, args...)
	r.reasons.Add(fidelity.Reason{Code: code, Message: msg, Level: fidelity.Approximate})
	r.dropped = append(r.dropped, ast.Format(n))
	return cTrue
}

// simplify flattens nested And and Or nodes and folds MatchAll and MatchNone.
func simplify(n ast.Node) ast.Node {
	switch n := n.(type) {
	case ast.And:
		var kids []ast.Node
		for _, c := range n.Children {
			c = simplify(c)
			switch c := c.(type) {
			case ast.MatchAll:
				continue
			case ast.MatchNone:
				return c
			case ast.And:
				kids = append(kids, c.Children...)
				continue
			}
			kids = append(kids, c)
		}
		switch len(kids) {
		case 0:
			return ast.MatchAll{}
		case 1:
			return kids[0]
		}
		return ast.And{Children: kids}
	case ast.Or:
		var kids []ast.Node
		for _, c := range n.Children {
			c = simplify(c)
			switch c := c.(type) {
			case ast.MatchNone:
				continue
			case ast.MatchAll:
				return c
			case ast.Or:
				kids = append(kids, c.Children...)
				continue
			}
			kids = append(kids, c)
		}
		switch len(kids) {
		case 0:
			return ast.MatchNone{}
		case 1:
			return kids[0]
		}
		return ast.Or{Children: kids}
	case ast.Not:
		switch c := simplify(n.Child).(type) {
		case ast.MatchAll:
			return ast.MatchNone{}
		case ast.MatchNone:
			return ast.MatchAll{}
		case ast.Not:
			return c.Child
		default:
			return ast.Not{Child: c}
		}
	case ast.Nested:
		return ast.Nested{Path: n.Path, Query: simplify(n.Query)}
	case nil:
		return ast.MatchAll{}
	}
	return n
}

// placement is where a compiled condition of the top level goes.
func (r *renderer) place(c cond) *LogQuery {
	q := &LogQuery{}
	var (
		metaExprs, lineFilters, prefilters, postExprs []string
		needParser, needLineCopy, numeric             bool
	)
	for _, conj := range conjuncts(c) {
		if _, isConst := conj.(condConst); isConst {
			// Only true can remain here: Render handles false.
			continue
		}
		if m, ok := selectorMatcher(conj); ok {
			q.Selector = append(q.Selector, m)
			continue
		}
		if lf, ok := lineFilter(conj); ok {
			lineFilters = append(lineFilters, lf)
			continue
		}
		info := inspect(conj)
		expr := exprString(conj)
		numeric = numeric || info.numeric
		if info.parsed || info.lineCopy {
			postExprs = append(postExprs, "| "+expr)
			needParser = needParser || info.parsed
			needLineCopy = needLineCopy || info.lineCopy
		} else {
			metaExprs = append(metaExprs, "| "+expr)
		}
		if l, ok := conj.(*leaf); ok && l.prefilter != "" {
			prefilters = append(prefilters, l.prefilter)
		}
	}
	q.Selector = r.completeSelector(q.Selector)
	q.Pre = append(append(metaExprs, lineFilters...), prefilters...)
	if needParser {
		q.Parser = r.schema.mapping.Parser
	}
	if needLineCopy {
		q.Post = append(q.Post, fmt.Sprintf("| label_format %s=%s", r.schema.lineCopyLabel(), Quote("{{ __line__ }}")))
	}
	q.Post = append(q.Post, postExprs...)
	q.ErrorFilter = numeric
	return q
}

// completeSelector adds the static labels and, when no matcher would select
// anything on its own, a fallback matcher. Loki needs at least one matcher
// that does not accept the empty string.
func (r *renderer) completeSelector(found []Matcher) []Matcher {
	m := r.schema.mapping
	var sel []Matcher
	for _, name := range sortedKeys(m.StaticLabels) {
		sel = append(sel, Matcher{Name: name, Op: "=", Value: m.StaticLabels[name]})
	}
	sel = append(sel, found...)
	for _, x := range sel {
		if (x.Op == "=" && x.Value != "") || (x.Op == "=~" && !matchesEmpty(x.Value)) {
			return sel
		}
	}
	switch {
	case !r.schema.mapped && r.schema.unmatched != "":
		r.reasons.Addf(fidelity.Approximate, "selector_unmapped",
			"%s, so the query searches every stream with a service_name label", r.schema.unmatched)
		return append([]Matcher{{Name: "service_name", Op: "=~", Value: ".+"}}, sel...)
	case !r.schema.mapped:
		r.reasons.Addf(fidelity.Approximate, "selector_unmapped",
			"no log mapping was given, so the query searches every stream with a service_name label; pass --mapping to select the streams of this index")
		return append([]Matcher{{Name: "service_name", Op: "=~", Value: ".+"}}, sel...)
	case len(m.Labels) > 0:
		name := sortedKeys(m.Labels)[0]
		r.reasons.Addf(fidelity.Approximate, "selector_any_label",
			"the mapping has no static labels, so the selector takes every stream with a %s label; entries without it are not searched (add static_labels to the mapping)", name)
		return append([]Matcher{{Name: name, Op: "=~", Value: ".+"}}, sel...)
	default:
		r.reasons.Addf(fidelity.Approximate, "selector_unmapped",
			"the mapping for %q has neither labels nor static labels, so the query searches every stream with a service_name label", m.Indices)
		return append([]Matcher{{Name: "service_name", Op: "=~", Value: ".+"}}, sel...)
	}
}
