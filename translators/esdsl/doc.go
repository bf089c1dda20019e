// Package esdsl parses the Elasticsearch query DSL, as Kibana stores it in
// saved searches, visualizations and filter pills, into the shared query
// tree of package ast.
//
// Parse reads one query object, or a search body that holds one under
// "query". ParseFilter and ParseFilters read Kibana filter pills, in the
// current form (the DSL under "query") and in the Kibana 5 and 6 form (the
// DSL query next to "meta").
//
// Queries that only change relevance scores (boosts, function_score,
// boosting) keep their filtering part and add an informational note.
// Queries that LogQL cannot express (scripts, geo, joins, spans, vectors and
// unknown query types) become ast.Unsupported nodes that keep their JSON, so
// a report can show them. Malformed input is an *ast.SyntaxError whose
// offset is the byte offset of the offending value and whose message names
// its JSON path.
package esdsl
