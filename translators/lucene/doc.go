// Package lucene parses Lucene query strings, as Elasticsearch's query_string
// query and Kibana's "lucene" query language read them, and the
// simple_query_string syntax, into the shared query tree.
//
// Parse and ParseWithOptions follow Lucene's classic query parser. A query is
// a list of clauses. Each clause may carry a modifier (`+` required, `-`, `!`
// or `NOT` prohibited) and may be joined to the previous one by `AND`/`&&` or
// `OR`/`||`. The occurrence of each clause follows Lucene's addClause rules,
// so `a OR b AND c` means `b AND c`: the optional `a` only affects scoring
// next to required clauses, and the parser drops it with a note. Operators are
// uppercase only, so a lowercase `and` is searched as a word, with a note.
//
// Beyond Lucene's grammar the parser accepts what Elasticsearch adds:
// `_exists_:field`, `field:*` as an exists query, one-sided ranges such as
// `age:>=10`, and field names with wildcards (`book.\*:x`, and also the
// unescaped `city.*:x`). Grafana template variable references (`$var`,
// `${var}`, `${var:format}`, `[[var]]`) are read as term text, because
// dashboards store queries before Grafana interpolates them.
//
// NOTE: Elasticsearch analyses a run of bare terms such as `a b c` as one
// text, while this parser keeps one clause per term. The two agree unless a
// keyword field or a multi-word synonym is involved.
//
// ParseSimple follows Lucene's SimpleQueryParser, which simple_query_string
// uses. It never rejects bad syntax: an unclosed quote or parenthesis is
// skipped and the rest is read as text. Operators group strictly left to
// right with no precedence, so `a | b + c` means `(a | b) + c`. A word ending
// in an unescaped `*` becomes an ast.Prefix, as in Lucene, rather than an
// ast.Wildcard.
package lucene
