package esdsl

import (
	"errors"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/lucene"
)

// stringQuery holds the options of query_string and simple_query_string
// that the translation uses.
type stringQuery struct {
	src          *value
	opts         lucene.Options
	defaultField *value
	fields       *value
	timeZone     string
	phraseSlop   int
	escape       bool
}

// queryString parses query_string with the Lucene query parser, using the
// default field and operator given in the query.
func (p *parser) queryString(q query) (ast.Node, error) {
	sq, err := p.stringQueryOptions(q)
	if err != nil {
		return nil, err
	}
	text := sq.src.text
	if strings.TrimSpace(text) == "" {
		// Elasticsearch matches nothing for an empty query_string; only
		// Kibana's query bar turns an empty query into match_all.
		return ast.MatchNone{}, nil
	}
	if sq.escape {
		text = escapeLucene(text)
	}
	res, err := lucene.ParseWithOptions(text, sq.opts)
	if err != nil {
		return nil, p.innerError(sq.src, joinKey(q.path, "query"), sq.escape, err)
	}
	p.merge(res.Notes)
	return applyStringOptions(res.Root, sq), nil
}

// simpleQueryString parses simple_query_string with the simple query
// parser, which reads bad syntax as text.
func (p *parser) simpleQueryString(q query) (ast.Node, error) {
	sq, err := p.stringQueryOptions(q)
	if err != nil {
		return nil, err
	}
	res, err := lucene.ParseSimple(sq.src.text, sq.opts)
	if err != nil {
		return nil, p.innerError(sq.src, joinKey(q.path, "query"), false, err)
	}
	p.merge(res.Notes)
	return res.Root, nil
}

func (p *parser) stringQueryOptions(q query) (stringQuery, error) {
	var sq stringQuery
	if err := p.object(q); err != nil {
		return sq, err
	}
	for _, m := range q.body.members {
		if err := p.stringQueryOption(q, m, &sq); err != nil {
			return sq, err
		}
	}
	if sq.src == nil {
		return sq, p.errorf(q.body.start, q.path, "missing \"query\"; the %s query needs the query text", q.name)
	}
	if sq.fields != nil && sq.defaultField != nil {
		return sq, p.errorf(sq.fields.start, joinKey(q.path, "fields"),
			"fields and default_field cannot be used together, as in Elasticsearch; keep one of them")
	}
	return sq, nil
}

func (p *parser) stringQueryOption(q query, m member, sq *stringQuery) error {
	path := joinKey(q.path, m.key)
	if q.name == "simple_query_string" && queryStringOnly[m.key] {
		p.unknownOption(q.name+" query", q.path, m.key)
		return nil
	}
	var err error
	switch m.key {
	case "query":
		_, err = p.stringValue(m.val, path)
		sq.src = m.val
	case "default_field":
		var f string
		if f, err = p.stringValue(m.val, path); err == nil {
			sq.defaultField = m.val
			sq.opts.DefaultFields = defaultFields([]string{f})
		}
	case "fields":
		sq.fields = m.val
		sq.opts.DefaultFields, err = p.stringQueryFields(m.val, path)
	case "default_operator":
		sq.opts.DefaultOperator, err = p.operator(m.val, path)
	case "time_zone":
		sq.timeZone, err = p.optionalString(m.val, path)
	case "phrase_slop":
		sq.phraseSlop, err = p.intValue(m.val, path)
	case "escape":
		sq.escape, err = p.boolValue(m.val, path)
	case "all_fields":
		// Elasticsearch 6 searches every field with all_fields: true,
		// which is the translation's default field.
	default:
		p.stringQueryOtherOption(q, m)
	}
	return err
}

// queryStringOnly lists the options that simple_query_string lacks.
var queryStringOnly = map[string]bool{
	"default_field": true, "time_zone": true, "phrase_slop": true, "escape": true,
}

// stringQueryOtherOption notes the options the translation cannot carry and
// ignores those that do not change which documents match.
func (p *parser) stringQueryOtherOption(q query, m member) {
	switch m.key {
	case "analyzer", "quote_analyzer":
		p.analyzerIgnored(q.path, m.val.text)
	case "minimum_should_match", "quote_field_suffix", "type", "flags":
		if m.key == "flags" && strings.EqualFold(m.val.text, "ALL") {
			return
		}
		if m.key == "type" && (m.val.text == "best_fields" || m.val.text == "most_fields") {
			return
		}
		p.note(fidelity.Approximate, "option_ignored",
			"The %s query at %s sets %s, which the translation cannot express; it matches as if the option were absent.",
			q.name, q.path, m.key)
	case "boost":
		p.boostIgnored()
	case "_name", "analyze_wildcard", "allow_leading_wildcard", "lenient",
		"auto_generate_synonyms_phrase_query", "enable_position_increments", "fuzziness",
		"fuzzy_max_expansions", "fuzzy_prefix_length", "fuzzy_transpositions", "fuzzy_rewrite",
		"max_determinized_states", "rewrite", "tie_breaker", "split_on_whitespace", "use_dis_max",
		"auto_generate_phrase_queries", "locale", "lowercase_expanded_terms":
		// These change scoring, error handling or expansion limits, or
		// were defaults that later versions removed.
	default:
		p.unknownOption(q.name+" query", q.path, m.key)
	}
}

// stringQueryFields reads "fields", a string or an array of strings, and
// drops boosts such as "title^2".
func (p *parser) stringQueryFields(v *value, path string) ([]string, error) {
	var names []*value
	switch v.kind {
	case kindString:
		names = []*value{v}
	case kindArray:
		names = v.elems
	default:
		return nil, p.typeError(v, path, "an array of field names")
	}
	fields := make([]string, len(names))
	for i, n := range names {
		name, err := p.stringValue(n, joinIndex(path, i))
		if err != nil {
			return nil, err
		}
		fields[i] = p.stripBoost(name)
	}
	return defaultFields(fields), nil
}

// defaultFields maps the catch-all names "*" and "_all" (the all field of
// Elasticsearch 5 and earlier) to no fields, the translation's default
// field.
func defaultFields(fields []string) []string {
	for _, f := range fields {
		if f == "*" || f == "_all" {
			return nil
		}
	}
	return fields
}

// innerError turns a Lucene parse error into a DSL syntax error at the
// same character of the raw query string. The Lucene error stays reachable
// through errors.Unwrap and errors.Is.
func (p *parser) innerError(src *value, path string, escaped bool, err error) error {
	offset := src.start
	msg := err.Error()
	var inner *ast.SyntaxError
	if errors.As(err, &inner) {
		msg = inner.Msg
		if !escaped {
			offset = p.rawOffset(src, inner.Offset)
		}
	}
	e := p.errorf(offset, path, "invalid Lucene query: %s", msg)
	e.Err = err
	return e
}

// rawOffset maps a byte offset in a string's decoded text to the offset of
// the same character in the raw JSON.
func (p *parser) rawOffset(v *value, decoded int) int {
	s := &scanner{src: p.raw, pos: v.start + 1}
	n := 0
	for n < decoded && s.pos < v.end-1 {
		if s.src[s.pos] != '\\' {
			s.pos++
			n++
			continue
		}
		b, err := s.escape(nil)
		if err != nil {
			break
		}
		n += len(b)
	}
	return s.pos
}

// escapeLucene escapes every character that the Lucene query syntax reads
// as an operator, as query_string's escape option does.
func escapeLucene(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\+-!():^[]"{}~*?|&/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// applyStringOptions applies query_string's time_zone to its date ranges and
// its phrase_slop to its phrases that set no slop.
func applyStringOptions(n ast.Node, sq stringQuery) ast.Node {
	if sq.timeZone == "" && sq.phraseSlop == 0 {
		return n
	}
	return mapLeaves(n, func(leaf ast.Node) ast.Node {
		switch l := leaf.(type) {
		case ast.Range:
			if l.TimeZone == "" {
				l.TimeZone = sq.timeZone
			}
			return l
		case ast.Term:
			if l.Mode == ast.Phrase && l.Slop == 0 {
				l.Slop = sq.phraseSlop
			}
			return l
		}
		return leaf
	})
}

// mapLeaves returns n with fn applied to every node that is not And, Or,
// Not or Nested.
func mapLeaves(n ast.Node, fn func(ast.Node) ast.Node) ast.Node {
	switch n := n.(type) {
	case ast.And:
		return ast.And{Children: mapAll(n.Children, fn)}
	case ast.Or:
		return ast.Or{Children: mapAll(n.Children, fn)}
	case ast.Not:
		return ast.Not{Child: mapLeaves(n.Child, fn)}
	case ast.Nested:
		return ast.Nested{Path: n.Path, Query: mapLeaves(n.Query, fn)}
	}
	return fn(n)
}

func mapAll(nodes []ast.Node, fn func(ast.Node) ast.Node) []ast.Node {
	out := make([]ast.Node, len(nodes))
	for i, c := range nodes {
		out[i] = mapLeaves(c, fn)
	}
	return out
}
