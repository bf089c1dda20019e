package esdsl

import (
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// rangeQuery parses {"range":{"f":{"gte":...,"lt":...}}}.
func (p *parser) rangeQuery(q query) (ast.Node, error) {
	field, v, path, err := p.singleField(q, true)
	if err != nil {
		return nil, err
	}
	if v.kind != kindObject {
		return nil, p.typeError(v, path, "an object")
	}
	return p.rangeBounds(field, v, path)
}

// rangeBounds reads the bounds of a range on field. Bounds keep their JSON
// text, so date math such as now-15m/m stays as written. Like Elasticsearch,
// it applies the options in order, so a later bound replaces an earlier one;
// a null bound is open.
func (p *parser) rangeBounds(field string, v *value, path string) (ast.Node, error) {
	r := ast.Range{Field: field, IncludeFrom: true, IncludeTo: true}
	for _, m := range v.members {
		if err := p.rangeOption(&r, m, path); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (p *parser) rangeOption(r *ast.Range, m member, rangePath string) error {
	path := joinKey(rangePath, m.key)
	var err error
	switch m.key {
	case "gte", "gt", "from":
		r.From, r.HasFrom, err = p.bound(m.val, path)
		if m.key != "from" {
			r.IncludeFrom = m.key == "gte"
		}
	case "lte", "lt", "to":
		r.To, r.HasTo, err = p.bound(m.val, path)
		if m.key != "to" {
			r.IncludeTo = m.key == "lte"
		}
	case "include_lower":
		r.IncludeFrom, err = p.boolValue(m.val, path)
	case "include_upper":
		r.IncludeTo, err = p.boolValue(m.val, path)
	case "format":
		r.Format, err = p.optionalString(m.val, path)
	case "time_zone":
		r.TimeZone, err = p.optionalString(m.val, path)
	case "relation":
		err = p.relation(m.val, path)
	case "boost":
		p.boostIgnored()
	case "_name":
	default:
		p.unknownOption("range query", rangePath, m.key)
	}
	return err
}

// bound reads one bound: a string or number, or null for an open end.
func (p *parser) bound(v *value, path string) (string, bool, error) {
	if v.kind == kindNull {
		return "", false, nil
	}
	if v.kind != kindString && v.kind != kindNumber {
		return "", false, p.typeError(v, path, "a string or number")
	}
	return v.text, true, nil
}

// relation checks a range relation. Only range fields tell the relations
// apart, and on other fields every relation matches the same documents.
// The parser cannot see the mapping, so it notes a relation other than
// intersects.
func (p *parser) relation(v *value, path string) error {
	s, err := p.stringValue(v, path)
	if err != nil {
		return err
	}
	switch strings.ToLower(s) {
	case "intersects":
	case "contains", "within":
		p.note(fidelity.Approximate, "range_relation",
			"The range at %s uses relation %q, which only differs from intersects on range fields; the translation compares single values.",
			path, s)
	default:
		return p.errorf(v.start, path, "invalid relation %q; expected intersects, contains or within", s)
	}
	return nil
}
