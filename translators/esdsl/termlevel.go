package esdsl

import (
	"slices"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// termOptions holds the long form of a term-level query on one field.
type termOptions struct {
	value           string
	caseInsensitive bool
	fuzziness       string
	flags           string
}

// termLevelOptions lists the options each term-level query accepts besides
// boost and _name.
var termLevelOptions = map[string][]string{
	"term":     {"value", "case_insensitive"},
	"wildcard": {"value", "wildcard", "case_insensitive", "rewrite"},
	"prefix":   {"value", "case_insensitive", "rewrite"},
	"regexp":   {"value", "flags", "flags_value", "case_insensitive", "max_determinized_states", "rewrite"},
	"fuzzy":    {"value", "fuzziness", "prefix_length", "max_expansions", "transpositions", "rewrite"},
}

// termLevel reads {"q":{"f":v}} or {"q":{"f":{"value":v,...}}} for term,
// wildcard, prefix, regexp and fuzzy.
func (p *parser) termLevel(q query) (string, termOptions, error) {
	field, v, path, err := p.singleField(q, false)
	if err != nil {
		return "", termOptions{}, err
	}
	if v.kind != kindObject {
		text, err := p.scalarText(v, path)
		return field, termOptions{value: text}, err
	}

	var opts termOptions
	hasValue := false
	for _, m := range v.members {
		mpath := joinKey(path, m.key)
		if !slices.Contains(termLevelOptions[q.name], m.key) {
			p.commonOption(q, m)
			continue
		}
		var err error
		switch m.key {
		case "value", "wildcard":
			opts.value, err = p.scalarText(m.val, mpath)
			hasValue = true
		case "case_insensitive":
			opts.caseInsensitive, err = p.boolValue(m.val, mpath)
		case "fuzziness":
			opts.fuzziness, err = p.scalarText(m.val, mpath)
		case "flags":
			opts.flags, err = p.stringValue(m.val, mpath)
		case "flags_value":
			opts.flags = "flags_value " + m.val.text
		}
		if err != nil {
			return "", opts, err
		}
	}
	if !hasValue {
		return "", opts, p.errorf(v.start, path, "missing \"value\"; the %s query needs a value to compare", q.name)
	}
	return field, opts, nil
}

// commonOption handles boost and _name, and notes anything else as unknown.
func (p *parser) commonOption(q query, m member) {
	switch m.key {
	case "boost":
		p.boostIgnored()
	case "_name":
	default:
		p.unknownOption(q.name+" query", q.path, m.key)
	}
}

// term parses a term query: the value compared unanalysed.
func (p *parser) term(q query) (ast.Node, error) {
	field, opts, err := p.termLevel(q)
	if err != nil {
		return nil, err
	}
	return ast.Term{Field: field, Value: opts.value, Mode: ast.Exact, CaseInsensitive: opts.caseInsensitive}, nil
}

// wildcard parses a wildcard query. Its pattern syntax (`*`, `?` and
// backslash escapes) is the one ast.Wildcard uses, so the pattern is kept as
// written.
func (p *parser) wildcard(q query) (ast.Node, error) {
	field, opts, err := p.termLevel(q)
	if err != nil {
		return nil, err
	}
	return ast.Wildcard{Field: field, Pattern: opts.value, CaseInsensitive: opts.caseInsensitive}, nil
}

func (p *parser) prefix(q query) (ast.Node, error) {
	field, opts, err := p.termLevel(q)
	if err != nil {
		return nil, err
	}
	return ast.Prefix{Field: field, Value: opts.value, CaseInsensitive: opts.caseInsensitive}, nil
}

// regexp parses a regexp query. ast.Regexp has no flags, so flags other
// than ALL are noted: the renderer reads every optional operator.
func (p *parser) regexp(q query) (ast.Node, error) {
	field, opts, err := p.termLevel(q)
	if err != nil {
		return nil, err
	}
	if opts.flags != "" && !strings.EqualFold(opts.flags, "ALL") {
		p.note(fidelity.Approximate, "regexp_flags",
			"The regexp query at %s limits its operators with %q; the translation reads the pattern with all of them enabled.",
			q.path, opts.flags)
	}
	return ast.Regexp{Field: field, Pattern: opts.value, CaseInsensitive: opts.caseInsensitive}, nil
}

// fuzzy parses a fuzzy query; Elasticsearch's default fuzziness is AUTO.
func (p *parser) fuzzy(q query) (ast.Node, error) {
	field, opts, err := p.termLevel(q)
	if err != nil {
		return nil, err
	}
	if opts.fuzziness == "" {
		opts.fuzziness = "AUTO"
	}
	return ast.Fuzzy{Field: field, Value: opts.value, Fuzziness: opts.fuzziness}, nil
}

// terms parses {"terms":{"f":[v1,v2]}}: any of the values, compared
// unanalysed. A terms lookup, which fetches the values from another
// document, is unsupported.
func (p *parser) terms(q query) (ast.Node, error) {
	field, v, path, err := p.singleField(q, true)
	if err != nil {
		return nil, err
	}
	switch v.kind {
	case kindObject:
		return ast.Unsupported{
			Kind:   "terms_lookup",
			Text:   p.rawText(q),
			Reason: "A terms lookup reads its values from another document at search time; the translation cannot fetch them.",
		}, nil
	case kindArray:
	default:
		return nil, p.typeError(v, path, "an array of values")
	}
	return p.exactValues(field, v, path)
}

// exactValues returns an Or of exact terms, one per array element.
func (p *parser) exactValues(field string, v *value, path string) (ast.Node, error) {
	nodes := make([]ast.Node, len(v.elems))
	for i, e := range v.elems {
		text, err := p.scalarText(e, joinIndex(path, i))
		if err != nil {
			return nil, err
		}
		nodes[i] = ast.Term{Field: field, Value: text, Mode: ast.Exact}
	}
	return orOf(nodes), nil
}

// ids parses {"ids":{"values":[...]}} as terms on _id.
func (p *parser) ids(q query) (ast.Node, error) {
	if err := p.object(q); err != nil {
		return nil, err
	}
	var values *value
	for _, m := range q.body.members {
		switch m.key {
		case "values":
			if m.val.kind != kindArray {
				return nil, p.typeError(m.val, joinKey(q.path, m.key), "an array of ids")
			}
			values = m.val
		case "type", "types":
			// Mapping types, removed in Elasticsearch 7; ids are unique
			// within an index anyway.
		default:
			p.commonOption(q, m)
		}
	}
	if values == nil {
		return nil, p.errorf(q.body.start, q.path, "missing \"values\"; the ids query needs an array of ids")
	}
	return p.exactValues("_id", values, joinKey(q.path, "values"))
}

// exists parses {"exists":{"field":"f"}}.
func (p *parser) exists(q query) (ast.Node, error) {
	field, err := p.fieldOption(q)
	if err != nil {
		return nil, err
	}
	return ast.Exists{Field: field}, nil
}

// missing parses the Elasticsearch 2 query {"missing":{"field":"f"}}, which
// Kibana 4 filters used, as the negation of exists.
func (p *parser) missing(q query) (ast.Node, error) {
	field, err := p.fieldOption(q)
	if err != nil {
		return nil, err
	}
	return ast.Not{Child: ast.Exists{Field: field}}, nil
}

// fieldOption reads the "field" option of exists and missing.
func (p *parser) fieldOption(q query) (string, error) {
	if err := p.object(q); err != nil {
		return "", err
	}
	field, found := "", false
	for _, m := range q.body.members {
		switch m.key {
		case "field":
			var err error
			if field, err = p.stringValue(m.val, joinKey(q.path, m.key)); err != nil {
				return "", err
			}
			found = true
		case "existence", "null_value":
			// Options of missing in Elasticsearch 2; their defaults
			// match the translation.
		default:
			p.commonOption(q, m)
		}
	}
	if !found {
		return "", p.errorf(q.body.start, q.path, "missing \"field\"; the %s query needs a field name", q.name)
	}
	return field, nil
}
