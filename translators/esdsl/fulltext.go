package esdsl

import (
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// textOptions are the options shared by match, match_phrase and
// multi_match.
type textOptions struct {
	query    *value
	operator ast.Operator
	// zeroTermsAll is zero_terms_query: all, which matches every document
	// when the analyzer leaves no token.
	zeroTermsAll bool
	// typ is match's type (boolean, phrase, phrase_prefix) or multi_match's
	// (best_fields, phrase, ...).
	typ       string
	fuzziness string
	slop      int
}

// match parses {"match":{"f":"v"}} and {"match":{"f":{"query":"v",...}}}.
// Kibana 5 and 6 phrase filters use the long form with "type":"phrase".
func (p *parser) match(q query) (ast.Node, error) {
	field, v, path, err := p.singleField(q, false)
	if err != nil {
		return nil, err
	}
	if v.kind != kindObject {
		text, err := p.scalarText(v, path)
		if err != nil {
			return nil, err
		}
		return ast.Term{Field: field, Value: text, Mode: ast.Analyzed}, nil
	}

	opts, err := p.textOptions(q, v, path)
	if err != nil {
		return nil, err
	}
	switch opts.typ {
	case "", "boolean":
	case "phrase":
		return ast.Term{Field: field, Value: opts.query.text, Mode: ast.Phrase, Slop: opts.slop, ZeroTermsAll: opts.zeroTermsAll}, nil
	case "phrase_prefix":
		return p.phrasePrefix(q), nil
	default:
		return nil, p.errorf(v.field("type").start, joinKey(path, "type"),
			"invalid match type %q; expected boolean, phrase or phrase_prefix", opts.typ)
	}
	return textNode(field, opts), nil
}

// textNode builds the node for an analysed or fuzzy match on one field.
func textNode(field string, opts textOptions) ast.Node {
	if opts.fuzziness != "" {
		return ast.Fuzzy{Field: field, Value: opts.query.text, Fuzziness: opts.fuzziness}
	}
	return ast.Term{Field: field, Value: opts.query.text, Mode: ast.Analyzed, Operator: opts.operator, ZeroTermsAll: opts.zeroTermsAll}
}

// matchPhrase parses match_phrase in its short and long forms.
func (p *parser) matchPhrase(q query) (ast.Node, error) {
	field, v, path, err := p.singleField(q, false)
	if err != nil {
		return nil, err
	}
	if v.kind != kindObject {
		text, err := p.scalarText(v, path)
		if err != nil {
			return nil, err
		}
		return ast.Term{Field: field, Value: text, Mode: ast.Phrase}, nil
	}
	opts, err := p.textOptions(q, v, path)
	if err != nil {
		return nil, err
	}
	return ast.Term{Field: field, Value: opts.query.text, Mode: ast.Phrase, Slop: opts.slop, ZeroTermsAll: opts.zeroTermsAll}, nil
}

// textOptions reads the long form of a full-text query. The query option is
// required.
func (p *parser) textOptions(q query, v *value, path string) (textOptions, error) {
	var opts textOptions
	for _, m := range v.members {
		if err := p.textOption(q, m, joinKey(path, m.key), &opts); err != nil {
			return opts, err
		}
	}
	if opts.query == nil {
		return opts, p.errorf(v.start, path, "missing \"query\"; the %s query needs the text to search for", q.name)
	}
	if opts.fuzziness == "0" {
		// Zero edits is a plain match.
		opts.fuzziness = ""
	}
	return opts, nil
}

func (p *parser) textOption(q query, m member, path string, opts *textOptions) error {
	var err error
	switch m.key {
	case "query":
		if !m.val.scalar() {
			return p.typeError(m.val, path, "a string, number or boolean")
		}
		opts.query = m.val
	case "operator":
		opts.operator, err = p.operator(m.val, path)
	case "type":
		opts.typ, err = p.stringValue(m.val, path)
	case "fuzziness":
		opts.fuzziness, err = p.scalarText(m.val, path)
	case "slop", "phrase_slop":
		opts.slop, err = p.intValue(m.val, path)
	case "analyzer":
		p.analyzerIgnored(q.path, m.val.text)
	case "minimum_should_match", "cutoff_frequency":
		p.note(fidelity.Approximate, "option_ignored",
			"The %s query at %s sets %s, which the translation cannot express; it matches as if the option were absent.",
			q.name, q.path, m.key)
	case "boost":
		p.boostIgnored()
	case "zero_terms_query":
		var mode string
		if mode, err = p.stringValue(m.val, path); err == nil {
			switch strings.ToLower(mode) {
			case "all":
				opts.zeroTermsAll = true
			case "none":
			default:
				err = p.errorf(m.val.start, path, "invalid zero_terms_query %q: use none or all", mode)
			}
		}
	case "_name", "lenient", "auto_generate_synonyms_phrase_query",
		"prefix_length", "max_expansions", "fuzzy_transpositions", "fuzzy_rewrite",
		"tie_breaker", "use_dis_max", "rewrite":
		// These change scoring, error handling or fuzzy expansion limits.
	case "fields":
		if q.name != "multi_match" {
			p.unknownOption(q.name+" query", q.path, m.key)
		}
	default:
		p.unknownOption(q.name+" query", q.path, m.key)
	}
	return err
}

// operator reads "and" or "or" in any case.
func (p *parser) operator(v *value, path string) (ast.Operator, error) {
	s, err := p.stringValue(v, path)
	if err != nil {
		return ast.OpOr, err
	}
	switch strings.ToLower(s) {
	case "or":
		return ast.OpOr, nil
	case "and":
		return ast.OpAnd, nil
	}
	return ast.OpOr, p.errorf(v.start, path, "invalid operator %q; expected and or or", s)
}

// phrasePrefix returns the Unsupported node for a phrase-prefix query.
func (p *parser) phrasePrefix(q query) ast.Node {
	return ast.Unsupported{
		Kind: "match_phrase_prefix",
		Text: p.rawText(q),
		Reason: "A phrase whose last word is a prefix needs token positions and " +
			"term expansion, which LogQL filters do not have.",
	}
}

// multiMatch parses multi_match: the same text matched against each field,
// any field matching.
func (p *parser) multiMatch(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	opts, err := p.textOptions(q, q.body, q.path)
	if err != nil {
		return nil, err
	}
	fields, err := p.multiMatchFields(q)
	if err != nil {
		return nil, err
	}

	switch opts.typ {
	case "", "best_fields", "most_fields", "cross_fields":
		if opts.typ == "cross_fields" && opts.operator == ast.OpAnd {
			p.note(fidelity.Approximate, "cross_fields",
				"The cross_fields multi_match at %s needs every word in some field; the translation needs every word in one field.",
				q.path)
		}
	case "phrase":
		opts.fuzziness = ""
	case "phrase_prefix":
		return p.phrasePrefix(q), nil
	case "bool_prefix":
		return ast.Unsupported{Kind: "match_bool_prefix", Text: p.rawText(q), Reason: unsupportedReasons["match_bool_prefix"]}, nil
	default:
		v := q.body.field("type")
		return nil, p.errorf(v.start, joinKey(q.path, "type"),
			"invalid multi_match type %q; expected best_fields, most_fields, cross_fields, phrase, phrase_prefix or bool_prefix",
			opts.typ)
	}

	nodes := make([]ast.Node, len(fields))
	for i, f := range fields {
		if opts.typ == "phrase" {
			nodes[i] = ast.Term{Field: f, Value: opts.query.text, Mode: ast.Phrase, Slop: opts.slop}
			continue
		}
		nodes[i] = textNode(f, opts)
	}
	return orOf(nodes), nil
}

// multiMatchFields reads "fields", a string or an array of strings, and
// drops per-field boosts such as "title^2". No fields means the default
// field, returned as "".
func (p *parser) multiMatchFields(q query) ([]string, error) {
	v := q.body.field("fields")
	if v == nil || v.kind == kindNull {
		return []string{""}, nil
	}
	path := joinKey(q.path, "fields")
	var names []*value
	switch v.kind {
	case kindString:
		names = []*value{v}
	case kindArray:
		names = v.elems
	default:
		return nil, p.typeError(v, path, "an array of field names")
	}
	if len(names) == 0 {
		return []string{""}, nil
	}

	fields := make([]string, len(names))
	for i, n := range names {
		name, err := p.stringValue(n, joinIndex(path, i))
		if err != nil {
			return nil, err
		}
		fields[i] = p.stripBoost(name)
	}
	return fields, nil
}

// stripBoost removes a "^2" suffix from a field name and notes it.
func (p *parser) stripBoost(field string) string {
	i := strings.LastIndexByte(field, '^')
	if i < 0 {
		return field
	}
	p.note(fidelity.Exact, "boost_ignored",
		"The field boost in %q only changes relevance scores; it was dropped.", field)
	return field[:i]
}

// singleField returns the one field of a single-field query such as term or
// match, its value and the value's path. With options, scalar "boost" and
// "_name" members sit beside the field, as range and terms allow.
func (p *parser) singleField(q query, options bool) (string, *value, string, error) {
	if err := p.object(q); err != nil {
		return "", nil, "", err
	}
	var found *member
	for i, m := range q.body.members {
		if options && (m.key == "boost" || m.key == "_name") && m.val.scalar() {
			if m.key == "boost" {
				p.boostIgnored()
			}
			continue
		}
		if found != nil {
			return "", nil, "", p.errorf(m.keyStart, q.path,
				"the %s query takes one field, found %q and %q; combine several in a bool query",
				q.name, found.key, m.key)
		}
		found = &q.body.members[i]
	}
	if found == nil {
		return "", nil, "", p.errorf(q.body.start, q.path, "the %s query names no field", q.name)
	}
	return found.key, found.val, joinKey(q.path, found.key), nil
}
