package inventory

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/internal/markdown"
)

// WriteMarkdown writes the report as Markdown that renders on code hosts.
// The output depends only on the report, so two runs on the same data
// give the same text.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# Inventory of %s\n\n", r.Plan)
	fmt.Fprintf(b, "Taken %s. Cardinalities and span rates cover %s to %s.\n\n",
		r.At.Format(time.RFC3339), r.Window.From.Format(time.RFC3339), r.Window.To.Format(time.RFC3339))
	if len(r.Problems) > 0 {
		b.WriteString("## Problems\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(b, "- %s\n", markdown.Cell(p))
		}
		b.WriteString("\n")
	}
	if r.Loki != nil {
		writeProjection(b, r.Loki)
	}
	if r.Elasticsearch != nil {
		writeElasticsearch(b, r.Elasticsearch)
	}
	if r.Jaeger != nil {
		writeJaeger(b, r.Jaeger)
	}
	writeObjects(b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeProjection(b *strings.Builder, p *LokiProjection) {
	verdict := "fits"
	switch {
	case !p.StreamsKnown:
		verdict = "could not be checked against"
	case !p.OK:
		verdict = "does NOT fit"
	}
	fmt.Fprintf(b, "## Loki projection\n\nThe proposed schema %s the target's limits (limits from %s).\n\n", verdict, p.Limits.Source)
	for _, f := range p.Findings {
		fmt.Fprintf(b, "- %s\n", markdown.Cell(f))
	}
	b.WriteString("\n")
}

func writeElasticsearch(b *strings.Builder, es *ElasticsearchReport) {
	fmt.Fprintf(b, "## Elasticsearch\n\nCluster %s, version %s.\n\n", codeOrDash(es.Cluster), codeOrDash(es.Version))
	b.WriteString("### Indices\n\n| index | data stream | documents | size | logs entry |\n|---|---|--:|--:|---|\n")
	for _, idx := range es.Indices {
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s |\n", codeCell(idx.Name), codeOrDash(idx.DataStream),
			idx.Docs, humanBytes(float64(idx.StoreBytes)), codeOrDash(idx.Mapping))
	}
	b.WriteString("\n")
	for _, m := range es.Mappings {
		writeMapping(b, m)
	}
}

func writeMapping(b *strings.Builder, m MappingReport) {
	fmt.Fprintf(b, "### Logs entry %s\n\n", markdown.Code(m.Indices))
	fmt.Fprintf(b, "Time field %s; %d documents, %s stored; busiest day %s/s (%.1f documents/s).\n\n",
		codeOrDash(m.TimeField), m.Docs, humanBytes(float64(m.StoreBytes)), humanBytes(m.BytesPerSecond), m.DocsPerSecond)
	for _, p := range m.Problems {
		fmt.Fprintf(b, "- Problem: %s\n", markdown.Cell(p))
	}
	if len(m.Problems) > 0 {
		b.WriteString("\n")
	}
	p := m.Proposal
	if len(p.Fields) > 0 || len(p.StaticLabels) > 0 {
		fmt.Fprintf(b, "Proposed labels: at most %d streams of a budget of %d.\n\n", p.ProjectedStreams, p.Budget)
		b.WriteString("| field | label | type | distinct values | proposed | why |\n|---|---|---|--:|---|---|\n")
		keys := make([]string, 0, len(p.StaticLabels))
		for k := range p.StaticLabels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, "| (static) | %s | | 1 | label | fixed value %s |\n", codeCell(k), codeCell(p.StaticLabels[k]))
		}
		for _, f := range p.Fields {
			card := "unknown"
			if f.Cardinality >= 0 {
				card = fmt.Sprint(f.Cardinality)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", codeCell(f.Field), codeCell(f.Label),
				markdown.Cell(f.Type), card, roleText(f.Role), markdown.Cell(f.Reason))
		}
		b.WriteString("\n")
	}
	if len(m.Fields) > 0 {
		fmt.Fprintf(b, "<details><summary>%d fields</summary>\n\n| field | type | conflicts |\n|---|---|---|\n", len(m.Fields))
		for _, f := range m.Fields {
			fmt.Fprintf(b, "| %s | %s | %s |\n", codeCell(f.Path), markdown.Cell(f.Type), markdown.Cell(strings.Join(f.Conflicts, ", ")))
		}
		b.WriteString("\n</details>\n\n")
	}
}

func roleText(role string) string {
	if role == RoleStructuredMetadata {
		return "structured metadata"
	}
	return role
}

func writeJaeger(b *strings.Builder, j *JaegerReport) {
	fmt.Fprintf(b, "## Jaeger\n\n%d services.\n\n", len(j.Services))
	for _, p := range j.Problems {
		fmt.Fprintf(b, "- Problem: %s\n", markdown.Cell(p))
	}
	if len(j.Problems) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("| service | operations | traces sampled | spans sampled | spans/s (estimate) |\n|---|--:|--:|--:|--:|\n")
	for _, s := range j.Services {
		rate := fmt.Sprintf("%.2f", s.SpansPerSecond)
		if s.Truncated {
			rate += " (newest traces only)"
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %s |\n", codeCell(s.Name), len(s.Operations), s.TracesSampled, s.SpansSampled, rate)
	}
	b.WriteString("\n")
	for _, s := range j.Services {
		if len(s.Operations) == 0 {
			continue
		}
		fmt.Fprintf(b, "<details><summary>%s operations</summary>\n\n| operation | span kind |\n|---|---|\n", html.EscapeString(markdown.Cell(s.Name)))
		for _, op := range s.Operations {
			fmt.Fprintf(b, "| %s | %s |\n", codeCell(op.Name), markdown.Cell(op.SpanKind))
		}
		b.WriteString("\n</details>\n\n")
	}
}

func writeObjects(b *strings.Builder, r *Report) {
	if r.Kibana == nil && r.Grafana == nil && r.Alerts == nil {
		return
	}
	b.WriteString("## Objects to convert\n\n")
	if k := r.Kibana; k != nil {
		fmt.Fprintf(b, "- Kibana (%s): %d saved objects in %d files: %s; %d errors.\n",
			markdown.Cell(k.Source), k.Objects, k.Files, countsText(k.ByType), len(k.Errors))
	}
	if g := r.Grafana; g != nil {
		fmt.Fprintf(b, "- Grafana (%s): %d dashboards with %d panels; data sources %s; %d errors.\n",
			markdown.Cell(g.Source), g.Dashboards, g.Panels, countsText(g.DataSources), len(g.Errors))
	}
	if a := r.Alerts; a != nil {
		fmt.Fprintf(b, "- Alerts (%s): %s; %d read both logs and metrics.\n", markdown.Cell(a.Source), countsText(a.ByKind), len(a.Combined))
	}
	b.WriteString("\n")
	if g := r.Grafana; g != nil && len(g.MixedDashboards) > 0 {
		b.WriteString("Dashboards that mix data sources; each converted target keeps its panel, so these become Mixed panels:\n\n")
		for _, d := range g.MixedDashboards {
			fmt.Fprintf(b, "- %s\n", markdown.Code(d))
		}
		b.WriteString("\n")
	}
	if a := r.Alerts; a != nil && len(a.Combined) > 0 {
		b.WriteString("Alerts that read logs and metrics; Loki holds only the logs, so each needs its metric part moved to a Prometheus rule:\n\n")
		b.WriteString("| alert | file | logs | metrics |\n|---|---|---|---|\n")
		for _, c := range a.Combined {
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", markdown.Cell(orDefault(orDefault(c.Name, c.ID), "(no name or id)")), codeCell(c.File),
				markdown.Cell(strings.Join(c.Logs, ", ")), markdown.Cell(strings.Join(c.Metrics, ", ")))
		}
		b.WriteString("\n")
	}
}

func codeOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return codeCell(s)
}

// codeCell is a code span for a table cell: a | inside it would otherwise
// end the cell, even within backticks.
func codeCell(s string) string { return markdown.Cell(markdown.Code(s)) }

func countsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
