// Package translators converts Elasticsearch, Kibana and Jaeger queries and
// dashboards to Loki and Tempo. This package is the entry point for one
// query: it picks the parser for the source dialect and renders LogQL. The
// subpackages hold the parsers (kql, lucene, esdsl), the shared tree (ast),
// the LogQL renderer (logql) and the dashboard converters. Nothing here
// touches the network.
package translators
