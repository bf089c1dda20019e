package alerts

import (
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// builder renders rule specs as Loki rules for one set of log mappings.
type builder struct {
	mappings []plans.LogMapping
}

// built is a rendered rule: nil Rule when the source has no Loki form.
type built struct {
	rule    *Rule
	expr    string
	reasons fidelity.Reasons
}

// level is the rule's fidelity.
func (b built) level() fidelity.Level {
	if b.rule == nil {
		return fidelity.Unsupported
	}
	return b.reasons.Level()
}

// metricReasonsReplaced are reasons of logql.Schema.Metric written for
// dashboard panels. An alert evaluates one window that ends at the
// evaluation, as Kibana and Watcher do, so they do not apply.
var metricReasonsReplaced = map[string]bool{"bucket_alignment": true}

func (b *builder) build(spec *ruleSpec) built {
	out := built{reasons: append(fidelity.Reasons(nil), spec.reasons...)}
	if out.reasons.Level() == fidelity.Unsupported {
		return out
	}
	schema, reasons := b.schemaFor(spec.index, spec.timeField)
	out.reasons.Merge(reasons)

	value, ok := b.metric(spec, schema, spec.query, &out.reasons)
	if !ok {
		return out
	}
	if spec.denominator != nil {
		den, ok := b.metric(spec, schema, spec.denominator, &out.reasons)
		if !ok {
			return out
		}
		value = "(" + value + " / " + den + ")"
	}
	value = b.fillZero(spec, value, &out.reasons)
	expr := spec.cond.render(value)
	if spec.topN > 0 {
		expr = wrapTopN(expr, spec.topN, spec.bottom)
	}

	out.expr = expr
	rule := b.rule(spec, schema, expr, out.reasons)
	out.rule = &rule
	return out
}

// metric renders one query as the rule's metric over its window. It
// returns false, with an unsupported reason, when the query or the
// aggregation has no LogQL form.
func (b *builder) metric(spec *ruleSpec, schema *logql.Schema, q *ast.Query, reasons *fidelity.Reasons) (string, bool) {
	res := translators.TranslateParsed(q, schema)
	for _, r := range res.Reasons {
		// A watch's rounded range is reported as time_window_rounded, in
		// the terms of a rule's window rather than a dashboard's range.
		if !(spec.windowFromQuery && r.Code == "time_rounding") {
			reasons.Add(r)
		}
	}
	if res.Log == nil {
		reasons.Addf(fidelity.Unsupported, "query_unsupported",
			"the rule's query has no LogQL form, so there is nothing to count; rewrite it by hand")
		return "", false
	}
	if !b.window(spec, res.Range, reasons) {
		return "", false
	}
	expr, mreasons, err := schema.Metric(res.Log, logql.MetricSpec{
		Agg:      spec.agg,
		Field:    spec.field,
		GroupBy:  spec.groupBy,
		Interval: spec.windowText(),
	})
	if err != nil {
		reasons.Addf(fidelity.Unsupported, "field_not_in_loki", "the rule's %s cannot be computed in LogQL: %v", spec.agg, err)
		return "", false
	}
	for _, r := range mreasons {
		if !metricReasonsReplaced[r.Code] {
			reasons.Add(r)
		}
	}
	return expr, true
}

// window sets a watch's window from its query's time range, and notes a
// time range in a Kibana rule's query, where the rule's own window
// applies too. It returns false, with an unsupported reason, for a window
// longer than Loki queries by default.
func (b *builder) window(spec *ruleSpec, rng *logql.TimeRange, reasons *fidelity.Reasons) bool {
	switch {
	case spec.windowFromQuery:
		windowFromRange(spec, rng, reasons)
	case rng != nil:
		reasons.Addf(fidelity.Approximate, "query_time_range",
			"the query also limits the time field (from %q to %q); Kibana applies both that range and the rule's %s window, the Loki rule only the window",
			rng.Start, rng.End, spec.windowText())
	}
	if spec.window > maxWindow {
		reasons.Addf(fidelity.Unsupported, "window_too_long",
			"the rule's window of %s is longer than %s, the default max_query_length of Loki, whose querier rejects longer queries, so the rule would fail at every evaluation; shorten the window in the source, or write the rule by hand for a Loki with a raised max_query_length",
			spec.windowText(), formatDuration(maxWindow))
		return false
	}
	return true
}

// fillZero makes a count or sum read 0 when no line matched, if the
// condition holds at 0, because Elasticsearch counts 0 where LogQL returns
// nothing.
func (b *builder) fillZero(spec *ruleSpec, value string, reasons *fidelity.Reasons) string {
	if spec.denominator != nil || !spec.cond.holdsAt(0) {
		return value
	}
	zeroable := spec.agg == logql.AggCount || spec.agg == logql.AggSum || spec.agg == logql.AggCardinality
	switch {
	case zeroable && len(spec.groupBy) == 0:
		reasons.Addf(fidelity.Exact, "no_lines_reads_zero",
			"the condition %s holds when nothing matches, and Loki returns no series for a window without lines, so `or vector(0)` makes that window read 0 as Elasticsearch does", spec.cond)
		return zeroFilled(value)
	case zeroable:
		reasons.Addf(fidelity.Approximate, "groups_without_lines",
			"the condition %s holds for a group with no lines, but Loki has no series for such a group, so it never fires for it; Kibana alerts on groups it saw before", spec.cond)
	}
	return value
}

// schemaFor picks the mapping entry for an index pattern, as the other
// translators do: without a mapping, the default one with the rule's own
// time field.
func (b *builder) schemaFor(index, timeField string) (*logql.Schema, fidelity.Reasons) {
	var reasons fidelity.Reasons
	fallback := plans.DefaultLogMapping()
	if timeField != "" {
		fallback.Timestamp = timeField
	}
	if index != "" {
		fallback.Indices = index
	}
	if len(b.mappings) == 0 {
		return logql.NewSchema(fallback, false, nil), reasons
	}
	m, ok := plans.SelectMapping(b.mappings, index)
	if !ok {
		explanation := fmt.Sprintf("no logs entry of the mapping matches the index %q (add one for it)", index)
		return logql.NewSchema(fallback, false, nil).Unmatched(explanation), reasons
	}
	if ts := m.WithDefaults().Timestamp; timeField != "" && timeField != ts {
		reasons.Addf(fidelity.Approximate, "time_field_differs",
			"the rule measures its window on %s, but the mapping's timestamp for %s is %s, so the Loki rule's window applies to that field's time", timeField, m.Indices, ts)
	}
	return logql.NewSchema(m, true, nil), reasons
}

// rule assembles the ruler rule: labels that identify the source, and
// annotations that keep what Loki cannot hold. Every label and annotation
// value but the summary is plain text, escaped in one place; the summary
// holds template actions of its own.
func (b *builder) rule(spec *ruleSpec, schema *logql.Schema, expr string, reasons fidelity.Reasons) Rule {
	labels := map[string]string{
		"severity":        severity(spec.tags),
		"source":          spec.source,
		"migrate_rule_id": spec.id,
	}
	ann := map[string]string{
		"description": description(spec),
		"fidelity":    reasons.Level().String(),
	}
	if spec.original != "" {
		ann["original_query"] = spec.original
	}
	if len(reasons) > 0 {
		ann["reasons"] = reasonLines(reasons.Sorted())
	}
	for k, v := range spec.notes {
		ann[k] = v
	}
	escapeValues(labels)
	escapeValues(ann)
	ann["summary"] = summary(spec, schema)
	return Rule{Alert: spec.displayName(), Expr: expr, For: forImmediately, Labels: labels, Annotations: ann}
}

// summary describes the alert with its value and, for a grouped rule, the
// group's labels, as template actions around escaped text.
func summary(spec *ruleSpec, schema *logql.Schema) string {
	var t templateText
	t.textf("%s: %s in the last %s is ", spec.displayName(), spec.measure(), spec.windowText())
	t.action("$value")
	t.textf(", and the rule fires when it is %s", spec.cond)
	if len(spec.groupBy) == 0 {
		return t.String()
	}
	t.text(" (")
	for i, f := range spec.groupBy {
		if i > 0 {
			t.text(", ")
		}
		t.text(f + " ")
		t.action(labelRef(schema.LabelName(f)))
	}
	t.text(")")
	return t.String()
}

func description(spec *ruleSpec) string {
	sourceName := "Kibana rule"
	if spec.source == SourceWatcher {
		sourceName = "Watcher watch"
	}
	return fmt.Sprintf("Converted by migrate from the %s %q (%s, id %s) read from %s. It fires when %s over the last %s is %s.",
		sourceName, spec.displayName(), spec.kind, spec.id, baseName(spec.origin), spec.measure(), spec.windowText(), spec.cond)
}

// baseName is the origin without its folders, so rule files do not change
// with the folder a batch ran in.
func baseName(o Origin) string {
	o.File = lastPathElement(o.File)
	return o.String()
}

func lastPathElement(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func reasonLines(rs fidelity.Reasons) string {
	lines := make([]string, len(rs))
	for i, r := range rs {
		lines[i] = r.Code + ": " + r.Message
	}
	return strings.Join(lines, "\n")
}

// severityWords are tags read as the alert's severity.
var severityWords = map[string]string{
	"critical": "critical", "error": "error", "warning": "warning", "warn": "warning", "info": "info",
}

// defaultSeverity is the severity label of a rule whose tags name none.
// Kibana rules and watches have no severity of their own.
const defaultSeverity = "warning"

// severity reads a tag such as "critical" or "severity:critical".
func severity(tags []string) string {
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		for _, prefix := range []string{"severity:", "severity="} {
			t = strings.TrimPrefix(t, prefix)
		}
		if s, ok := severityWords[t]; ok {
			return s
		}
	}
	return defaultSeverity
}
