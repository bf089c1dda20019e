package esdsl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Parse parses one query DSL object such as {"bool":{...}}. It also accepts
// a search body, {"query":{...}}, whose post_filter is combined with the
// query and whose other keys (size, sort, aggs and the like) are ignored
// because they do not select documents.
func Parse(raw []byte) (*ast.Query, error) {
	root, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	p := &parser{raw: raw}
	node, err := p.top(root)
	if err != nil {
		return nil, err
	}
	return &ast.Query{Root: node, Language: ast.ESDSL, Source: string(raw), Notes: p.notes.list}, nil
}

// parser walks decoded JSON and collects notes.
type parser struct {
	raw   []byte
	notes noteSet
}

// query is one `{"name": body}` query under way.
type query struct {
	name string
	body *value
	// path is the JSON path of body, for messages.
	path  string
	depth int
}

// top parses the root value: a search body when it has a "query" key,
// otherwise one query.
func (p *parser) top(root *value) (ast.Node, error) {
	if root.kind != kindObject || root.field("query") == nil {
		return p.query(root, "", 0)
	}
	return p.searchBody(root)
}

// searchBody parses {"query":..., "post_filter":..., ...}.
func (p *parser) searchBody(root *value) (ast.Node, error) {
	var conjuncts []ast.Node
	for _, m := range root.members {
		switch m.key {
		case "query", "post_filter":
			n, err := p.query(m.val, m.key, 0)
			if err != nil {
				return nil, err
			}
			conjuncts = append(conjuncts, n)
		case "min_score":
			p.note(fidelity.Approximate, "min_score_ignored",
				"The search sets min_score %s, which drops documents by relevance score; the translation keeps every match.",
				p.raw[m.val.start:m.val.end])
		case "runtime_mappings":
			p.note(fidelity.Approximate, "runtime_fields",
				"The search defines runtime fields, which are computed by scripts at search time; conditions on them compare fields that the logs do not hold.")
		default:
			if !searchBodyKeys[m.key] {
				p.unknownOption("search body", "", m.key)
			}
		}
	}
	return andOf(conjuncts), nil
}

// searchBodyKeys are search request keys that do not change which
// documents match.
var searchBodyKeys = map[string]bool{
	"_source": true, "aggregations": true, "aggs": true, "collapse": true,
	"docvalue_fields": true, "explain": true, "ext": true, "fields": true,
	"from": true, "highlight": true, "indices_boost": true, "pit": true,
	"profile": true, "rescore": true, "script_fields": true, "search_after": true,
	"seq_no_primary_term": true, "size": true, "slice": true, "sort": true,
	"stats": true, "stored_fields": true, "suggest": true, "terminate_after": true,
	"timeout": true, "track_scores": true, "track_total_hits": true, "version": true,
}

// query parses a value that must be an object holding exactly one query.
func (p *parser) query(v *value, path string, depth int) (ast.Node, error) {
	if depth >= ast.MaxDepth {
		e := p.errorf(v.start, path, "queries nested deeper than %d levels", ast.MaxDepth)
		e.Err = ast.ErrTooDeep
		return nil, e
	}
	if v.kind != kindObject {
		return nil, p.errorf(v.start, path, "expected a query object, found %s", v.kind.article())
	}
	switch len(v.members) {
	case 0:
		return nil, p.errorf(v.start, path, "empty query object; give one query, such as {\"match_all\":{}}")
	case 1:
	default:
		return nil, p.errorf(v.members[1].keyStart, path,
			"one object holds two queries, %q and %q; combine them in a bool query",
			v.members[0].key, v.members[1].key)
	}
	m := v.members[0]
	return p.dispatch(query{name: m.key, body: m.val, path: joinKey(path, m.key), depth: depth})
}

// dispatch parses q by its name.
func (p *parser) dispatch(q query) (ast.Node, error) {
	switch q.name {
	case "bool":
		return p.boolQuery(q)
	case "match":
		return p.match(q)
	case "match_phrase":
		return p.matchPhrase(q)
	case "multi_match":
		return p.multiMatch(q)
	case "term":
		return p.term(q)
	case "terms":
		return p.terms(q)
	case "ids":
		return p.ids(q)
	case "range":
		return p.rangeQuery(q)
	case "exists":
		return p.exists(q)
	case "missing":
		return p.missing(q)
	case "wildcard":
		return p.wildcard(q)
	case "prefix":
		return p.prefix(q)
	case "regexp":
		return p.regexp(q)
	case "fuzzy":
		return p.fuzzy(q)
	case "query_string":
		return p.queryString(q)
	case "simple_query_string":
		return p.simpleQueryString(q)
	case "match_all":
		return p.matchAll(q, ast.MatchAll{})
	case "match_none":
		return p.matchAll(q, ast.MatchNone{})
	case "constant_score":
		return p.constantScore(q)
	case "boosting":
		return p.boosting(q)
	case "dis_max":
		return p.disMax(q)
	case "function_score", "script_score":
		return p.functionScore(q)
	case "nested":
		return p.nested(q)
	}
	return p.unsupported(q)
}

// errorf builds a syntax error at offset whose message starts with path.
func (p *parser) errorf(offset int, path, format string, args ...any) *ast.SyntaxError {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return ast.NewSyntaxError(ast.ESDSL, string(p.raw), offset, "%s", msg)
}

// typeError reports a value of the wrong JSON type.
func (p *parser) typeError(v *value, path, expected string) error {
	return p.errorf(v.start, path, "expected %s, found %s", expected, v.kind.article())
}

// object checks that q's body is an object.
func (p *parser) object(q query) error {
	if q.body.kind != kindObject {
		return p.typeError(q.body, q.path, "an object")
	}
	return nil
}

// rawText returns q as the JSON text {"name":body}, with the body as written.
func (p *parser) rawText(q query) string {
	name, _ := json.Marshal(q.name)
	return "{" + string(name) + ":" + string(p.raw[q.body.start:q.body.end]) + "}"
}

// unknownOption notes an option this parser does not understand. The option
// is ignored, so the translation may match differently.
func (p *parser) unknownOption(subject, path, key string) {
	where := ""
	if path != "" {
		where = " at " + path
	}
	p.note(fidelity.Approximate, "unknown_option",
		"The %s%s has an option %q that the translator does not know; it was ignored.", subject, where, key)
}

// boostIgnored notes a dropped boost.
func (p *parser) boostIgnored() {
	p.note(fidelity.Exact, "boost_ignored",
		"Boosts only change relevance scores, which logs do not have; they were dropped.")
}

// analyzerIgnored notes a search-time analyzer that the renderer cannot use.
func (p *parser) analyzerIgnored(path, analyzer string) {
	p.note(fidelity.Approximate, "analyzer_ignored",
		"The query at %s names the analyzer %q; the translation assumes the field's own analyzer.", path, analyzer)
}

// scalarText returns a string's text, or a number's or boolean's JSON text.
func (p *parser) scalarText(v *value, path string) (string, error) {
	if !v.scalar() {
		return "", p.typeError(v, path, "a string, number or boolean")
	}
	return v.text, nil
}

// stringValue returns the text of a value that must be a string.
func (p *parser) stringValue(v *value, path string) (string, error) {
	if v.kind != kindString {
		return "", p.typeError(v, path, "a string")
	}
	return v.text, nil
}

// optionalString is stringValue that also accepts null as "".
func (p *parser) optionalString(v *value, path string) (string, error) {
	if v.kind == kindNull {
		return "", nil
	}
	return p.stringValue(v, path)
}

// boolValue reads a boolean. Like Elasticsearch, it also accepts the strings
// "true" and "false".
func (p *parser) boolValue(v *value, path string) (bool, error) {
	if v.kind == kindBool || v.kind == kindString {
		switch v.text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, p.typeError(v, path, "true or false")
}

// intValue reads an integer given as a JSON number or a numeric string.
func (p *parser) intValue(v *value, path string) (int, error) {
	if v.kind == kindNumber || v.kind == kindString {
		if n, err := strconv.Atoi(strings.TrimSpace(v.text)); err == nil {
			return n, nil
		}
	}
	return 0, p.typeError(v, path, "an integer")
}

// andOf returns the conjunction of nodes, without a wrapper for one node.
func andOf(nodes []ast.Node) ast.Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	if len(nodes) == 0 {
		return ast.MatchAll{}
	}
	return ast.And{Children: nodes}
}

// orOf returns the disjunction of nodes, without a wrapper for one node.
func orOf(nodes []ast.Node) ast.Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	if len(nodes) == 0 {
		return ast.MatchNone{}
	}
	return ast.Or{Children: nodes}
}
