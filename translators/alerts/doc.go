// Package alerts converts Kibana alerting rules and Elasticsearch Watcher
// watches on logs into Loki ruler rules.
//
// It reads Kibana saved-object exports (NDJSON, Kibana 7 and 8), rules as
// the Kibana alerting API returns them, and watches as stored or as the
// Watcher API returns them. Four kinds of source convert: Elasticsearch
// query rules (.es-query), index threshold rules (.index-threshold), log
// threshold rules (logs.alert.document.count), and watches with a search
// input and a compare condition. The rule's query is rendered for the log
// mapping, its count or aggregation over the time window becomes a metric
// query, and its threshold becomes a comparison. Every rule is graded exact,
// approximate or unsupported with the reasons. Notifications (actions,
// throttling, notify settings) have no place in a Loki rule, because
// Alertmanager routes alerts, so they are kept in annotations and in the
// report.
//
// Convert writes one rule file per input file, with one rule group per
// source rule. The rules that are disabled in the source go to a second
// file of the input, <name>.disabled.yaml, which is not meant to be loaded
// as it is. Every label and annotation value built from source text is
// escaped, because Loki's ruler parses each one as a Go template. A
// malformed rule is reported with its file, line and id, and the rest of
// the batch goes on.
package alerts
