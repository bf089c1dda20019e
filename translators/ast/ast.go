// Package ast defines the boolean query tree that every source dialect parses
// into: Kibana's KQL, Lucene query_string as Elasticsearch reads it, and the
// Elasticsearch query DSL with Kibana filter pills. Renderers turn the tree
// into LogQL. The tree keeps the source's matching mode (analysed match,
// exact term, phrase) so the renderer can apply field types from the mapping.
package ast

import (
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Language names a source dialect.
type Language string

// Source dialects.
const (
	KQL    Language = "kql"
	Lucene Language = "lucene"
	ESDSL  Language = "esdsl"
)

// MaxDepth bounds the nesting of groups and boolean clauses that a parser
// accepts. Elasticsearch itself rejects bool queries nested deeper than 30
// (indices.query.bool.max_nested_depth in 8.x); the bound here is looser and
// exists so that hostile input cannot exhaust the stack.
const MaxDepth = 128

// Query is a parsed source query.
type Query struct {
	Root     Node
	Language Language
	// Source is the text that was parsed: the query string, or the JSON of
	// a DSL query.
	Source string
	// Notes are observations made while parsing that do not change the
	// results, such as an ignored boost.
	Notes fidelity.Reasons
}

// Node is one node of the tree. The concrete types are listed below; a
// switch over them is exhaustive.
type Node interface {
	node()
}

// And matches when every child matches. An And with no children matches
// everything.
type And struct{ Children []Node }

// Or matches when at least one child matches. An Or with no children matches
// nothing.
type Or struct{ Children []Node }

// Not matches when its child does not. Like Elasticsearch, a negated field
// condition keeps documents where the field is missing.
type Not struct{ Child Node }

// MatchAll matches every document: an empty KQL query, `*`, `*:*`, or
// match_all.
type MatchAll struct{}

// MatchNone matches no document: match_none.
type MatchNone struct{}

// Mode is how a value is compared with a field.
type Mode int

const (
	// Analyzed is a full-text match: the value goes through the field's
	// analyzer (KQL unquoted values, Lucene terms, DSL match). On a text
	// field any token matches unless Operator is OpAnd; on a keyword field
	// the whole value must match.
	Analyzed Mode = iota
	// Phrase is an analysed phrase: tokens adjacent and in order, or within
	// Slop moves (KQL and Lucene quoted values, match_phrase).
	Phrase
	// Exact compares the value unanalysed with the indexed terms (DSL term
	// and terms).
	Exact
)

func (m Mode) String() string {
	switch m {
	case Analyzed:
		return "match"
	case Phrase:
		return "phrase"
	case Exact:
		return "term"
	}
	return "mode?"
}

// Operator combines the tokens of an analysed multi-token value.
type Operator int

const (
	// OpOr needs any token to match; it is Elasticsearch's default.
	OpOr Operator = iota
	// OpAnd needs every token to match (match query with operator: and).
	OpAnd
)

// Term compares a field with one value.
type Term struct {
	// Field is the Elasticsearch field name. Empty means the default field
	// (free text with no field). It may hold `*` wildcards, which the
	// renderer expands against the mapping.
	Field string
	// Value is the unescaped value.
	Value string
	Mode  Mode
	// Slop is the proximity of a Phrase ("a b"~3); 0 means adjacent.
	Slop int
	// Operator applies to Analyzed values with several tokens.
	Operator Operator
	// CaseInsensitive is set by case_insensitive: true on DSL term queries.
	CaseInsensitive bool
	// ZeroTermsAll makes an analysed value that yields no token match every
	// document (zero_terms_query: all); by default it matches none.
	ZeroTermsAll bool
}

// Wildcard matches a field against a pattern where `*` is any run of
// characters and `?` one character. A backslash escapes the next character,
// so `\*` is a literal star.
type Wildcard struct {
	Field           string
	Pattern         string
	CaseInsensitive bool
}

// Prefix matches values that start with Value (DSL prefix).
type Prefix struct {
	Field           string
	Value           string
	CaseInsensitive bool
}

// Regexp matches a field against a Lucene regular expression, which is
// anchored at both ends and has its own operators.
type Regexp struct {
	Field           string
	Pattern         string
	CaseInsensitive bool
}

// Range bounds a field. An empty bound is open. Values are kept as written,
// including date math such as now-15m/m.
type Range struct {
	Field       string
	From, To    string
	IncludeFrom bool
	IncludeTo   bool
	HasFrom     bool
	HasTo       bool
	// Format and TimeZone come from a DSL range on a date field.
	Format   string
	TimeZone string
}

// Exists matches documents that have a value for the field.
type Exists struct{ Field string }

// Fuzzy is an edit-distance match (Lucene term~2, DSL fuzzy). LogQL has no
// equivalent.
type Fuzzy struct {
	Field     string
	Value     string
	Fuzziness string
}

// Nested is a condition on the elements of a nested field (KQL
// `items:{ name:a and qty > 1 }`, DSL nested). Fields inside Query are full
// paths. Elasticsearch requires all conditions to hold on one element; a
// flattened log line cannot keep that correlation.
type Nested struct {
	Path  string
	Query Node
}

// Unsupported is a source construct with no meaning in LogQL, such as a
// script or a geo query. Text holds the original so it can be reported.
type Unsupported struct {
	Kind   string
	Text   string
	Reason string
}

func (And) node()         {}
func (Or) node()          {}
func (Not) node()         {}
func (MatchAll) node()    {}
func (MatchNone) node()   {}
func (Term) node()        {}
func (Wildcard) node()    {}
func (Prefix) node()      {}
func (Regexp) node()      {}
func (Range) node()       {}
func (Exists) node()      {}
func (Fuzzy) node()       {}
func (Nested) node()      {}
func (Unsupported) node() {}
