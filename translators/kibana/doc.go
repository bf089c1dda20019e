// Package kibana converts Kibana saved objects (dashboards, visualizations,
// saved searches, Lens and TSVB panels) into Grafana dashboards on Loki.
//
// It reads NDJSON exports (Kibana 7 and 8), legacy JSON exports (an objects
// list, an array, or one object) and Kibana 5 and 6 exports, resolves
// references across every file of a batch, and renders each panel's query,
// filters and aggregations as LogQL. Every panel and query gets a fidelity
// grade, and every object an entry in the batch report. One malformed
// object is reported with its file and id; the rest of the batch goes on.
package kibana
