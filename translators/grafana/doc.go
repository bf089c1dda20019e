// Package grafana converts Grafana dashboards whose panels query
// Elasticsearch, OpenSearch or Jaeger into dashboards that query Loki and
// Tempo.
//
// Dashboards are edited as raw JSON: every field the conversion does not
// touch is written back as it was read, in the same order, with numbers in
// the same text. Targets on Elasticsearch and OpenSearch become Loki
// targets, with their Lucene queries translated to LogQL and their metric
// and bucket aggregations to LogQL metric queries; targets on Jaeger become
// Tempo targets with TraceQL. Data source references, data source and ad
// hoc variables, terms variables and annotations move with them. Panels on
// other data sources, and dashboards already on Loki and Tempo, are left as
// they are. Every target gets a fidelity grade with reasons.
package grafana
