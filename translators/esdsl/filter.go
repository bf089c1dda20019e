package esdsl

import (
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Filter is one Kibana filter pill, as stored under searchSourceJSON.filter
// or a dashboard's filter array.
type Filter struct {
	// Node is the pill's condition with Negate already applied.
	Node ast.Node
	// Disabled is set when the user switched the pill off. The pill is
	// still parsed, so its problems show, but Kibana does not apply it and
	// a caller should skip it and count it as skipped.
	Disabled bool
	// Negate is set on an "exclude" pill; Node is then an ast.Not.
	Negate bool
	// Alias is the label the user gave the pill, or "".
	Alias string
	Meta  Meta
	// Notes are the parse notes for this pill alone.
	Notes fidelity.Reasons
	// Source is the pill's JSON as written.
	Source string
}

// Meta holds the descriptive fields of a pill's meta object. Kibana shows
// them; the condition itself comes from the pill's query.
type Meta struct {
	// Type is the pill kind that Kibana built: phrase, phrases, range,
	// exists, query_string, custom, combined, spatial_filter and others.
	// Kibana 5 pills have none.
	Type string
	// Key is the field the pill was built on, if any.
	Key string
	// Value is the value as Kibana displayed it, when meta.value is a
	// string, number or boolean.
	Value string
	// Index is the data view (index pattern) id; exports from Kibana 7.x
	// on replace it with a reference named by indexRefName.
	Index string
	// ControlledBy is the id of the input control that owns the pill.
	ControlledBy string
	// Relation is AND or OR for a combined pill.
	Relation string
}

// ParseFilter parses one Kibana filter pill.
func ParseFilter(raw []byte) (Filter, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return Filter{}, err
	}
	return parseFilterValue(raw, v, "")
}

// ParseFilters parses a JSON array of Kibana filter pills. null reads as no
// pills.
func ParseFilters(raw []byte) ([]Filter, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	switch v.kind {
	case kindNull:
		return nil, nil
	case kindArray:
	default:
		p := &parser{raw: raw}
		return nil, p.typeError(v, "", "an array of filter pills")
	}
	filters := make([]Filter, 0, len(v.elems))
	for i, e := range v.elems {
		f, err := parseFilterValue(raw, e, joinIndex("", i))
		if err != nil {
			return nil, err
		}
		filters = append(filters, f)
	}
	return filters, nil
}

func parseFilterValue(raw []byte, v *value, path string) (Filter, error) {
	p := &parser{raw: raw}
	f, err := p.pill(v, path, 0)
	if err != nil {
		return Filter{}, err
	}
	f.Notes = p.notes.list
	return f, nil
}

// pill parses one filter pill at path. depth counts combined pills.
func (p *parser) pill(v *value, path string, depth int) (Filter, error) {
	if depth >= ast.MaxDepth {
		e := p.errorf(v.start, path, "combined filters nested deeper than %d levels", ast.MaxDepth)
		e.Err = ast.ErrTooDeep
		return Filter{}, e
	}
	if v.kind != kindObject {
		return Filter{}, p.typeError(v, path, "a filter pill object")
	}
	f := Filter{Source: string(p.raw[v.start:v.end])}
	if mv := v.field("meta"); mv != nil {
		if err := p.meta(mv, joinKey(path, "meta"), &f); err != nil {
			return Filter{}, err
		}
	}

	var err error
	if f.Node, err = p.pillQuery(v, path, depth, &f); err != nil {
		return Filter{}, err
	}
	if f.Negate {
		f.Node = ast.Not{Child: f.Node}
	}
	return f, nil
}

// pillQuery finds the pill's query: under "query" in current pills, or as a
// query name next to meta in Kibana 5 and 6 pills ({"meta":...,"exists":...}).
// A pill with meta alone is rebuilt from meta.
func (p *parser) pillQuery(v *value, path string, depth int, f *Filter) (ast.Node, error) {
	var found *member
	for i, m := range v.members {
		if m.key == "meta" || m.key == "$state" {
			continue
		}
		if found != nil {
			return nil, p.errorf(m.keyStart, path,
				"the filter pill holds two queries, %q and %q; keep one", found.key, m.key)
		}
		found = &v.members[i]
	}
	switch {
	case found == nil:
		return p.metaQuery(v, path, depth, f)
	case found.key == "query":
		return p.query(found.val, joinKey(path, "query"), 0)
	}
	return p.dispatch(query{name: found.key, body: found.val, path: joinKey(path, found.key)})
}

// meta reads a pill's meta object into f.
func (p *parser) meta(v *value, path string, f *Filter) error {
	if v.kind == kindNull {
		return nil
	}
	if v.kind != kindObject {
		return p.typeError(v, path, "an object")
	}
	for _, m := range v.members {
		if err := p.metaMember(m, joinKey(path, m.key), f); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) metaMember(m member, path string, f *Filter) error {
	var err error
	switch m.key {
	case "negate":
		f.Negate, err = p.optionalBool(m.val, path)
	case "disabled":
		f.Disabled, err = p.optionalBool(m.val, path)
	case "alias":
		f.Alias, err = p.optionalString(m.val, path)
	case "type":
		f.Meta.Type, err = p.optionalString(m.val, path)
	case "key":
		f.Meta.Key, err = p.optionalString(m.val, path)
	case "index":
		f.Meta.Index, err = p.optionalString(m.val, path)
	case "controlledBy":
		f.Meta.ControlledBy, err = p.optionalString(m.val, path)
	case "relation":
		f.Meta.Relation, err = p.optionalString(m.val, path)
	case "value":
		if m.val.scalar() {
			f.Meta.Value = m.val.text
		}
	}
	// Other keys (apply, indexRefName, field, group, isMultiIndex, ...)
	// only describe how Kibana shows the pill.
	return err
}

// optionalBool is boolValue that also accepts null as false.
func (p *parser) optionalBool(v *value, path string) (bool, error) {
	if v.kind == kindNull {
		return false, nil
	}
	return p.boolValue(v, path)
}

// metaQuery rebuilds the condition of a pill that has meta but no query,
// the way Kibana builds that pill type.
func (p *parser) metaQuery(v *value, path string, depth int, f *Filter) (ast.Node, error) {
	mv := v.field("meta")
	if mv == nil || mv.kind != kindObject || f.Meta.Type == "" {
		return nil, p.errorf(v.start, path, "the filter pill has no query and no meta.type to rebuild it from")
	}

	metaPath := joinKey(path, "meta")
	switch f.Meta.Type {
	case "combined":
		return p.combinedPill(f, metaPath, mv, depth)
	case "phrase", "phrases", "exists", "range":
	default:
		return nil, p.errorf(v.start, path,
			"the filter pill has no query, and a pill of meta.type %q cannot be rebuilt from its meta", f.Meta.Type)
	}
	if f.Meta.Key == "" {
		return nil, p.errorf(mv.start, metaPath, "missing key; a %s pill without a query needs the field name in meta.key", f.Meta.Type)
	}
	if f.Meta.Type == "exists" {
		return ast.Exists{Field: f.Meta.Key}, nil
	}

	params, paramsPath := mv.field("params"), joinKey(metaPath, "params")
	if params == nil {
		return nil, p.errorf(mv.start, metaPath, "missing params; a %s pill without a query needs meta.params", f.Meta.Type)
	}
	switch f.Meta.Type {
	case "phrase":
		return p.phraseParams(f.Meta.Key, params, paramsPath)
	case "phrases":
		return p.phrasesParams(f.Meta.Key, params, paramsPath)
	}
	if params.kind != kindObject {
		return nil, p.typeError(params, paramsPath, "an object")
	}
	return p.rangeBounds(f.Meta.Key, params, paramsPath)
}

// phraseParams reads a phrase pill's params, {"query":v}, into a match_phrase.
func (p *parser) phraseParams(key string, params *value, path string) (ast.Node, error) {
	v := params
	if params.kind == kindObject {
		if v = params.field("query"); v == nil {
			return nil, p.errorf(params.start, path, "missing query; a phrase pill's params need the value")
		}
		path = joinKey(path, "query")
	}
	text, err := p.scalarText(v, path)
	if err != nil {
		return nil, err
	}
	return ast.Term{Field: key, Value: text, Mode: ast.Phrase}, nil
}

// phrasesParams reads a phrases pill's params, an array of values, into an
// Or of match_phrase.
func (p *parser) phrasesParams(key string, params *value, path string) (ast.Node, error) {
	if params.kind != kindArray {
		return nil, p.typeError(params, path, "an array of values")
	}
	nodes := make([]ast.Node, len(params.elems))
	for i, e := range params.elems {
		text, err := p.scalarText(e, joinIndex(path, i))
		if err != nil {
			return nil, err
		}
		nodes[i] = ast.Term{Field: key, Value: text, Mode: ast.Phrase}
	}
	return orOf(nodes), nil
}

// combinedPill rebuilds a combined pill (Kibana 8.6 and later) from the
// pills in meta.params, joined by meta.relation. Disabled inner pills are
// left out, as Kibana leaves them out.
func (p *parser) combinedPill(f *Filter, metaPath string, mv *value, depth int) (ast.Node, error) {
	params, paramsPath := mv.field("params"), joinKey(metaPath, "params")
	if params == nil {
		return nil, p.errorf(mv.start, metaPath, "missing params; a combined pill needs its pills in meta.params")
	}
	if params.kind != kindArray {
		return nil, p.typeError(params, paramsPath, "an array of filter pills")
	}
	var nodes []ast.Node
	for i, e := range params.elems {
		inner, err := p.pill(e, joinIndex(paramsPath, i), depth+1)
		if err != nil {
			return nil, err
		}
		if !inner.Disabled {
			nodes = append(nodes, inner.Node)
		}
	}
	switch strings.ToUpper(f.Meta.Relation) {
	case "", "AND":
		return andOf(nodes), nil
	case "OR":
		return orOf(nodes), nil
	}
	return nil, p.errorf(mv.field("relation").start, joinKey(metaPath, "relation"),
		"invalid relation %q; expected AND or OR", f.Meta.Relation)
}
