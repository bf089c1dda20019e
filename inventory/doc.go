// Package inventory takes stock of the old stack before anything moves:
// Elasticsearch indices, fields, volumes and field cardinalities, Jaeger
// services and operations, and the Kibana, Grafana and alert objects to
// convert. From the measurements it proposes a Loki label schema that fits
// the target's active-stream limit, and projects streams and ingest rates
// against Loki's limits, so a schema that would hit 429 "maximum active
// stream limit exceeded" is caught here instead of during the backfill.
package inventory
