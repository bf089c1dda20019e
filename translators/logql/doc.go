// Package logql renders the shared query tree as LogQL for one log mapping.
//
// Each condition goes to the cheapest place that keeps its meaning: a matcher
// in the stream selector, then a structured-metadata filter, then a line
// filter, then the parser and label-filter expressions with explicit
// parentheses. A condition on the timestamp field becomes the query's time
// range. Field types decide the comparison: keyword fields compare whole
// values, text fields match analysed tokens (approximately), numeric fields
// compare numbers, and ip fields use ip().
//
// A condition that LogQL cannot express is replaced by "true", which widens
// the result to a superset of what Elasticsearch returns; the result is then
// approximate and names each dropped condition. When nothing remains of a
// query that did constrain something, the result is unsupported.
package logql
