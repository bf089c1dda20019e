package kibana

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/esdsl"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// queryPart is one query string or filter pill that applies to a panel.
type queryPart struct {
	// Where names the part for reports, such as "query" or "filter 2".
	Where  string
	Lang   ast.Language
	Text   string
	Parsed *ast.Query
	Err    error
	// bucket marks a condition built from a bucket aggregation rather than
	// a query the user wrote; the report does not count it as a query.
	bucket bool
}

// QueryRecord is one translated query in the report.
type QueryRecord struct {
	Where          string           `json:"where"`
	SourceLanguage string           `json:"source_language"`
	Original       string           `json:"original"`
	Query          *string          `json:"query"`
	Fidelity       fidelity.Level   `json:"fidelity"`
	Reasons        fidelity.Reasons `json:"reasons"`
}

// parseQueryValue reads a searchSourceJSON "query" value: {query, language}
// in Kibana 6.3+, a DSL query object in Kibana 5 and 6, or a bare string.
func parseQueryValue(v any, where string) (queryPart, bool) {
	switch q := v.(type) {
	case nil:
		return queryPart{}, false
	case string:
		return parseText(ast.Lucene, q, where)
	case map[string]any:
		lang, hasLang := q["language"].(string)
		if hasLang {
			l, err := translators.ParseLanguage(lang)
			if err != nil {
				return queryPart{Where: where, Text: marshalCompact(q["query"]), Err: err}, true
			}
			switch inner := q["query"].(type) {
			case string:
				return parseText(l, inner, where)
			case map[string]any:
				// Kibana let the lucene bar hold raw DSL.
				return parseDSL(inner, where)
			case nil:
				return queryPart{}, false
			default:
				return queryPart{
					Where: where, Lang: l, Text: marshalCompact(inner),
					Err: fmt.Errorf("the query is a JSON %s, expected a string", jsonKind(inner)),
				}, true
			}
		}
		if len(q) == 0 {
			return queryPart{}, false
		}
		if text, ok := q["query"].(string); ok && len(q) == 1 {
			// Kibana 6.0 to 6.2 stored {query} without a language; the
			// query bar was Lucene then.
			return parseText(ast.Lucene, text, where)
		}
		return parseDSL(q, where)
	}
	return queryPart{Where: where, Text: marshalCompact(v), Err: fmt.Errorf("the query is a JSON %s", jsonKind(v))}, true
}

func parseText(lang ast.Language, text, where string) (queryPart, bool) {
	if strings.TrimSpace(text) == "" {
		return queryPart{}, false
	}
	p := queryPart{Where: where, Lang: lang, Text: text}
	p.Parsed, p.Err = translators.Parse(lang, text)
	return p, true
}

func parseDSL(q map[string]any, where string) (queryPart, bool) {
	raw, err := json.Marshal(q)
	p := queryPart{Where: where, Lang: ast.ESDSL, Text: string(raw), Err: err}
	if err == nil {
		p.Parsed, p.Err = esdsl.Parse(raw)
	}
	if p.Err == nil {
		if _, all := p.Parsed.Root.(ast.MatchAll); all {
			return queryPart{}, false
		}
	}
	return p, true
}

// parseFilters reads a filter pill list. Disabled pills are not queries;
// they are counted so the report can say they were skipped.
func parseFilters(v any, where string) (parts []queryPart, disabled int) {
	list, _ := v.([]any)
	for i, item := range list {
		raw, err := json.Marshal(item)
		name := fmt.Sprintf("%sfilter %d", where, i+1)
		if err != nil {
			parts = append(parts, queryPart{Where: name, Lang: ast.ESDSL, Err: err})
			continue
		}
		f, err := esdsl.ParseFilter(raw)
		if err != nil {
			parts = append(parts, queryPart{Where: name, Lang: ast.ESDSL, Text: string(raw), Err: err})
			continue
		}
		if f.Disabled {
			disabled++
			continue
		}
		q := &ast.Query{Root: f.Node, Language: ast.ESDSL, Source: string(raw), Notes: f.Notes}
		parts = append(parts, queryPart{Where: name, Lang: ast.ESDSL, Text: string(raw), Parsed: q})
	}
	return parts, disabled
}

// searchSourceParts returns the query and filters of a decoded
// searchSourceJSON.
func searchSourceParts(source map[string]any, prefix string) ([]queryPart, int) {
	if source == nil {
		return nil, 0
	}
	var parts []queryPart
	if p, ok := parseQueryValue(source["query"], prefix+"query"); ok {
		parts = append(parts, p)
	}
	filters, disabled := parseFilters(source["filter"], prefix)
	return append(parts, filters...), disabled
}

// record translates one part on its own, for the report.
func record(p queryPart, schema *logql.Schema) QueryRecord {
	var res translators.QueryResult
	if p.Err != nil {
		res = translators.Unparsable(p.Lang, p.Text, p.Err)
	} else {
		res = translators.TranslateParsed(p.Parsed, schema)
	}
	return QueryRecord{
		Where:          p.Where,
		SourceLanguage: string(p.Lang),
		Original:       p.Text,
		Query:          res.Query,
		Fidelity:       res.Fidelity,
		Reasons:        res.Reasons.Sorted(),
	}
}

// combine renders the conjunction of every part for one panel. Parts that
// did not parse are left out, and the result says so.
func combine(parts []queryPart, schema *logql.Schema) translators.QueryResult {
	var (
		roots []ast.Node
		texts []string
		notes fidelity.Reasons
	)
	for _, p := range parts {
		if p.Err != nil {
			notes.Addf(fidelity.Approximate, "query_unparsable",
				"the %s could not be parsed and is left out, so the panel can show more than in Kibana: %v", p.Where, p.Err)
			continue
		}
		roots = append(roots, p.Parsed.Root)
		texts = append(texts, p.Text)
		notes.Merge(p.Parsed.Notes)
	}
	lang := ast.KQL
	if len(parts) > 0 {
		lang = parts[0].Lang
	}
	q := &ast.Query{Root: ast.And{Children: roots}, Language: lang, Source: strings.Join(texts, " AND "), Notes: notes}
	return translators.TranslateParsed(q, schema)
}
