// Package parity compares the old stack (Elasticsearch and Jaeger) with
// the new one (Loki and Tempo) over a time window. It writes the result, a
// Report, as Markdown for reviewers (WriteMarkdown), JSON for machines
// (WriteJSON) and JUnit XML for CI (WriteJUnit).
//
// # Verdicts
//
// Each check ends PASS, FAIL or INCONCLUSIVE. A check that could not
// measure, because a backend is not configured, answered an error or timed
// out, is INCONCLUSIVE, never PASS. The report's verdict is the worst of its
// checks, INCONCLUSIVE before FAIL before PASS, and a report without checks
// is INCONCLUSIVE (Report.Overall).
//
// # JSON layout parity/v1
//
// WriteJSON writes one object, indented by two spaces, with keys in the
// order below. Times are RFC 3339 in UTC with up to nanoseconds. Lists are
// sorted so that the same report gives the same bytes.
//
//	schema      "parity/v1"; readers check it before reading on
//	plan        the plan's name
//	window      {"from", "to"}: the compared range, from inclusive, to exclusive
//	verdict     "PASS", "FAIL" or "INCONCLUSIVE"
//	checks      list, in the order log_completeness, trace_completeness,
//	            query_results, latency, storage, then other names sorted
//
// A check:
//
//	name        the check's name
//	verdict     the check's verdict
//	summary     one line saying what was measured and the outcome
//	reason      why the check is FAIL or INCONCLUSIVE and what to do;
//	            absent when empty
//	metrics     list, in the check's order, of
//	            {"name", "value", "threshold", "comparison", "unit", "margin", "pass"}:
//	            comparison ">=" or "<=" says on which side of threshold
//	            value must lie; unit is "ratio", "ms", "bytes" or "count";
//	            margin is how far value lies on the passing side (negative
//	            when it misses); value, threshold and margin are null when
//	            they are not finite numbers
//	groups      per mapping, service or query: {"name", "verdict", "columns",
//	            "rows", "notes", "examples"}, sorted by name; rows is a table
//	            of strings under columns, sorted; examples are sorted ids
//	            (Elasticsearch _id or trace id) of records found on one stack
//	            only; empty fields are absent
//	buckets     completeness per time bucket, {"group", "start", "old", "new"},
//	            sorted by start then group: old counts Elasticsearch documents
//	            or Jaeger spans, new counts Loki entries or Tempo spans
//	latencies   per query and stack, {"query", "stack", "cold", "p50_ms",
//	            "p95_ms", "p99_ms", "runs"}, sorted by query, warm before
//	            cold, "old" before "new"; stack "old" is Elasticsearch or
//	            Jaeger, "new" Loki or Tempo; cold marks runs measured
//	            without warm caches; percentiles are milliseconds, to the
//	            nanosecond, over runs runs
//
// groups, buckets and latencies are absent when empty. A new field may be
// added to parity/v1; removing or changing the meaning of one makes a new
// schema version.
package parity
