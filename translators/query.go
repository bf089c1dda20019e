package translators

import (
	"errors"
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/esdsl"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/kql"
	"github.com/obs-migrate/migrate/translators/logql"
	"github.com/obs-migrate/migrate/translators/lucene"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// ParseLanguage accepts a source dialect name as the command line and Kibana
// write it: kql or kuery, lucene, esdsl or dsl.
func ParseLanguage(s string) (ast.Language, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "kql", "kuery":
		return ast.KQL, nil
	case "lucene":
		return ast.Lucene, nil
	case "esdsl", "dsl":
		return ast.ESDSL, nil
	}
	return "", fmt.Errorf("unknown query language %q: use kql, lucene or esdsl", s)
}

// Parse parses a query in one of the source dialects.
func Parse(lang ast.Language, text string) (*ast.Query, error) {
	switch lang {
	case ast.KQL:
		return kql.Parse(text)
	case ast.Lucene:
		return lucene.Parse(text)
	case ast.ESDSL:
		return esdsl.Parse([]byte(text))
	}
	return nil, fmt.Errorf("unknown query language %q", lang)
}

// QueryResult is one translated query, in the JSON form of
// `migrate translate query -o json`.
type QueryResult struct {
	// Query is the LogQL or TraceQL text, or nil when Fidelity is
	// unsupported.
	Query          *string          `json:"query"`
	Language       string           `json:"language"`
	SourceLanguage string           `json:"source_language"`
	Original       string           `json:"original"`
	Fidelity       fidelity.Level   `json:"fidelity"`
	Reasons        fidelity.Reasons `json:"reasons"`
	Range          *logql.TimeRange `json:"range,omitempty"`
	// Tempo holds the Tempo search parameters of a TraceQL result, or nil.
	Tempo *traceql.Params `json:"tempo,omitempty"`

	// Log is the rendered log query, for building metric queries on it.
	Log *logql.LogQuery `json:"-"`

	parseErr error
}

// ParseError returns the parse error when the query did not parse.
func (r QueryResult) ParseError() error { return r.parseErr }

// Text returns the query text or "".
func (r QueryResult) Text() string {
	if r.Query == nil {
		return ""
	}
	return *r.Query
}

// TranslateQuery parses and renders one query. A parse error gives an
// unsupported result whose reason carries the error and its position.
func TranslateQuery(lang ast.Language, text string, schema *logql.Schema) QueryResult {
	q, err := Parse(lang, text)
	if err != nil {
		return Unparsable(lang, text, err)
	}
	return FromRendered(q, logql.Render(q, schema))
}

// TranslateParsed renders a query that was already parsed.
func TranslateParsed(q *ast.Query, schema *logql.Schema) QueryResult {
	return FromRendered(q, logql.Render(q, schema))
}

// FromRendered wraps a render result.
func FromRendered(q *ast.Query, r *logql.Result) QueryResult {
	res := QueryResult{
		Language:       "logql",
		SourceLanguage: string(q.Language),
		Original:       q.Source,
		Fidelity:       r.Fidelity,
		Reasons:        r.Reasons,
		Range:          r.Range,
		Log:            r.Query,
	}
	if r.Query != nil {
		s := r.Query.String()
		res.Query = &s
	}
	return res
}

// Unparsable is the result for a query that did not parse.
func Unparsable(lang ast.Language, text string, err error) QueryResult {
	code := "syntax_error"
	if errors.Is(err, ast.ErrTooDeep) {
		code = "too_deep"
	}
	var reasons fidelity.Reasons
	reasons.Add(fidelity.Reason{Code: code, Message: err.Error(), Level: fidelity.Unsupported})
	return QueryResult{
		Language:       "logql",
		SourceLanguage: string(lang),
		Original:       text,
		Fidelity:       fidelity.Unsupported,
		Reasons:        reasons,
		parseErr:       err,
	}
}

// SourceJaeger is the source_language of a translated Jaeger search.
const SourceJaeger = "jaeger"

// TranslateJaeger parses a Jaeger search (a Jaeger UI or API URL, or a query
// string) and renders it as TraceQL with its Tempo search parameters. A
// parse error gives an unsupported result whose reason carries the error.
func TranslateJaeger(text string, opts traceql.Options) QueryResult {
	res := QueryResult{Language: "traceql", SourceLanguage: SourceJaeger, Original: text}
	s, err := traceql.ParseSearch(text)
	if err != nil {
		code := "syntax_error"
		switch {
		case errors.Is(err, traceql.ErrInputTooLarge):
			code = "too_large"
		case errors.Is(err, traceql.ErrTooManyTags):
			code = "too_many_tags"
		}
		res.Fidelity = fidelity.Unsupported
		res.Reasons.Add(fidelity.Reason{Code: code, Message: err.Error(), Level: fidelity.Unsupported})
		res.parseErr = err
		return res
	}

	r := traceql.Render(s, opts)
	res.Fidelity, res.Reasons = r.Fidelity, r.Reasons
	if r.Query != "" {
		res.Query = &r.Query
		res.Tempo = &r.Tempo
	}
	if r.Range != nil {
		res.Range = &logql.TimeRange{Start: r.Range.Start, End: r.Range.End}
	}
	return res
}
