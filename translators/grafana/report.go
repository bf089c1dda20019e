package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/obs-migrate/migrate/internal/markdown"
	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Dashboard statuses besides the fidelity levels.
const (
	StatusFailed    = "failed"
	StatusUnchanged = "unchanged"
	// StatusNotConverted marks a dashboard whose Elasticsearch, OpenSearch
	// or Jaeger targets were all unsupported: it is written as it was.
	StatusNotConverted = "not_converted"
)

// Report is the batch report: counts, and one item per dashboard file.
type Report struct {
	Summary Summary `json:"summary"`
	Items   []*Item `json:"items"`
}

// Summary holds the batch counts.
type Summary struct {
	Files int `json:"files"`
	// Converted counts dashboards with at least one converted target.
	Converted int `json:"converted"`
	// Unchanged counts dashboards with nothing to convert, such as those
	// already on Loki and Tempo; they are written as they were.
	Unchanged int `json:"unchanged"`
	// NotConverted counts dashboards whose old targets were all
	// unsupported; they are written as they were.
	NotConverted int `json:"not_converted"`
	Failed       int `json:"failed"`
	// Targets counts the Elasticsearch, OpenSearch and Jaeger targets by
	// fidelity; an unsupported target stays on its old data source.
	Targets     Counts `json:"targets"`
	Variables   Counts `json:"variables"`
	Annotations Counts `json:"annotations"`
}

// Counts counts conversions by fidelity.
type Counts = fidelity.Counts

// Item reports one dashboard file.
type Item struct {
	Source string `json:"source"`
	UID    string `json:"uid"`
	NewUID string `json:"new_uid,omitempty"`
	Title  string `json:"title"`
	Output string `json:"output,omitempty"`
	// Status is exact, approximate or unsupported (the worst target),
	// not_converted, unchanged, or failed.
	Status      string             `json:"status"`
	Targets     []TargetReport     `json:"targets,omitempty"`
	Variables   []VariableReport   `json:"variables,omitempty"`
	Annotations []AnnotationReport `json:"annotations,omitempty"`
	// UnknownDataSources names data sources whose type the conversion
	// could not tell; their targets were left alone. --datasource settles
	// them.
	UnknownDataSources []string `json:"unknown_datasources,omitempty"`
	// Notes are remarks on the dashboard as a whole.
	Notes []string `json:"notes,omitempty"`
	Error string   `json:"error,omitempty"`

	usedDataSources map[string]bool
}

// TargetReport is one converted (or not) target.
type TargetReport struct {
	Panel string `json:"panel"`
	RefID string `json:"ref_id"`
	// Kind is the source data source: elasticsearch, opensearch or jaeger.
	Kind     string `json:"kind"`
	Original string `json:"original"`
	// Language is logql or traceql; Queries holds what the target became.
	Language string           `json:"language"`
	Queries  []string         `json:"queries"`
	Fidelity fidelity.Level   `json:"fidelity"`
	Reasons  fidelity.Reasons `json:"reasons"`
}

// VariableReport is one converted template variable.
type VariableReport struct {
	Name      string           `json:"name"`
	Kind      string           `json:"kind"`
	Original  string           `json:"original,omitempty"`
	Converted string           `json:"converted,omitempty"`
	Note      string           `json:"note,omitempty"`
	Fidelity  fidelity.Level   `json:"fidelity"`
	Reasons   fidelity.Reasons `json:"reasons,omitempty"`
}

// AnnotationReport is one converted annotation.
type AnnotationReport struct {
	Name      string           `json:"name"`
	Original  string           `json:"original"`
	Converted string           `json:"converted,omitempty"`
	Fidelity  fidelity.Level   `json:"fidelity"`
	Reasons   fidelity.Reasons `json:"reasons,omitempty"`
}

func (it *Item) fail(err error) {
	it.Status = StatusFailed
	it.Error = err.Error()
}

// WriteFailed marks the dashboard written to output as failed, for a
// caller that could not write it, and updates the counts.
func (r *Report) WriteFailed(output string, err error) {
	for _, it := range r.Items {
		if it.Output == output && it.Status != StatusFailed {
			it.fail(fmt.Errorf("%s: writing %s: %w", it.Source, output, err))
		}
	}
	r.finish()
}

// record adds a target's conversion to the dashboard's item.
func (c *dashConv) record(panel, target *ojson.Object, kind Kind, res convertedTarget) {
	level := res.reasons.Level()
	if len(res.targets) == 0 {
		level = fidelity.Unsupported
	}
	queries := res.queries
	if queries == nil {
		queries = []string{}
	}
	c.item.Targets = append(c.item.Targets, TargetReport{
		Panel:    panelName(panel),
		RefID:    target.String("refId"),
		Kind:     string(kind),
		Original: describeTarget(target, kind),
		Language: res.lang,
		Queries:  queries,
		Fidelity: level,
		Reasons:  res.reasons.Sorted(),
	})
}

// panelName is a panel's title, or its id for an untitled panel.
func panelName(panel *ojson.Object) string {
	if t := strings.TrimSpace(panel.String("title")); t != "" {
		return t
	}
	if id := text(panel, "id"); id != "" {
		return "(untitled, id " + id + ")"
	}
	return "(untitled)"
}

// describeTarget summarises a source target for the report: its query and,
// for Elasticsearch, its metrics and buckets.
func describeTarget(t *ojson.Object, kind Kind) string {
	if kind == KindJaeger {
		var parts []string
		for _, k := range []string{"queryType", "service", "operation", "tags", "minDuration", "maxDuration", "limit", "query"} {
			if v := text(t, k); v != "" {
				parts = append(parts, k+"="+v)
			}
		}
		return strings.Join(parts, " ")
	}
	var parts []string
	parts = append(parts, "query="+orDefault(t.String("query"), "*"))
	for _, m := range esMetrics(t) {
		parts = append(parts, "metric="+strings.TrimSpace(m.typ+" "+m.field))
	}
	for _, b := range esBuckets(t) {
		parts = append(parts, "bucket="+strings.TrimSpace(b.typ+" "+b.field))
	}
	if qt := t.String("queryType"); qt != "" {
		parts = append(parts, "queryType="+qt)
	}
	return strings.Join(parts, " ")
}

func (r *Report) add(it *Item) {
	r.Items = append(r.Items, it)
}

// finish grades each dashboard and derives the counts.
func (r *Report) finish() {
	s := &r.Summary
	*s = Summary{Files: len(r.Items)}
	for _, it := range r.Items {
		switch it.Status {
		case StatusFailed:
			s.Failed++
			continue
		case StatusUnchanged:
			s.Unchanged++
		case StatusNotConverted:
			s.NotConverted++
		default:
			s.Converted++
			worst := fidelity.Exact
			for _, t := range it.Targets {
				worst = fidelity.Worst(worst, t.Fidelity)
			}
			it.Status = worst.String()
		}
		for _, t := range it.Targets {
			s.Targets.Add(t.Fidelity)
		}
		for _, v := range it.Variables {
			s.Variables.Add(v.Fidelity)
		}
		for _, a := range it.Annotations {
			s.Annotations.Add(a.Fidelity)
		}
	}
}

// Failed reports whether any file failed.
func (r *Report) Failed() bool { return r.Summary.Failed > 0 }

// HasUnsupported reports whether any target, variable or annotation is
// unsupported.
func (r *Report) HasUnsupported() bool {
	s := r.Summary
	return s.Targets.Unsupported+s.Variables.Unsupported+s.Annotations.Unsupported > 0
}

// JSON encodes the report.
func (r *Report) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	err := enc.Encode(r)
	return b.Bytes(), err
}

// Markdown renders the report for a pull request.
func (r *Report) Markdown() []byte {
	var b strings.Builder
	s := r.Summary
	fmt.Fprintf(&b, "# Grafana conversion report\n\n")
	fmt.Fprintf(&b, "%d dashboard files: %d converted, %d not converted (every old target unsupported, written as they were), "+
		"%d unchanged (nothing on Elasticsearch, OpenSearch or Jaeger), %d failed.\n\n",
		s.Files, s.Converted, s.NotConverted, s.Unchanged, s.Failed)
	b.WriteString("| | exact | approximate | unsupported |\n|---|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		c    Counts
	}{{"targets", s.Targets}, {"variables", s.Variables}, {"annotations", s.Annotations}} {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", row.name, row.c.Exact, row.c.Approximate, row.c.Unsupported)
	}
	items := append([]*Item(nil), r.Items...)
	sort.SliceStable(items, func(i, j int) bool { return items[i].Source < items[j].Source })
	for _, it := range items {
		fmt.Fprintf(&b, "\n## %s: %s\n\n%s", mdEscape(orDefault(it.Title, it.Source)), it.Status, markdown.Code(it.Source))
		if it.Output != "" {
			fmt.Fprintf(&b, " → %s", markdown.Code(it.Output))
		}
		b.WriteString("\n")
		if it.Error != "" {
			fmt.Fprintf(&b, "\n%s\n", mdEscape(it.Error))
		}
		for _, n := range it.Notes {
			fmt.Fprintf(&b, "\n- note: %s\n", mdEscape(n))
		}
		if len(it.UnknownDataSources) > 0 {
			fmt.Fprintf(&b, "\n- data sources of unknown type, whose targets were left alone (settle them with --datasource NAME=TYPE): %s\n",
				mdEscape(strings.Join(it.UnknownDataSources, ", ")))
		}
		for _, t := range it.Targets {
			fmt.Fprintf(&b, "\n- panel %s, target %s (%s → %s): %s\n", mdEscape(t.Panel), mdEscape(t.RefID), t.Kind, t.Language, t.Fidelity)
			for _, q := range t.Queries {
				fmt.Fprintf(&b, "  - %s\n", markdown.Code(q))
			}
			writeReasons(&b, t.Reasons)
		}
		for _, v := range it.Variables {
			fmt.Fprintf(&b, "\n- variable %s (%s): %s", mdEscape(v.Name), v.Kind, v.Fidelity)
			if v.Converted != "" {
				fmt.Fprintf(&b, " %s", markdown.Code(v.Converted))
			}
			if v.Note != "" {
				fmt.Fprintf(&b, ", %s", mdEscape(v.Note))
			}
			b.WriteString("\n")
			writeReasons(&b, v.Reasons)
		}
		for _, a := range it.Annotations {
			fmt.Fprintf(&b, "\n- annotation %s: %s", mdEscape(a.Name), a.Fidelity)
			if a.Converted != "" {
				fmt.Fprintf(&b, " %s", markdown.Code(a.Converted))
			}
			b.WriteString("\n")
			writeReasons(&b, a.Reasons)
		}
	}
	return []byte(b.String())
}

// writeReasons lists the reasons that lower the grade.
func writeReasons(b *strings.Builder, reasons fidelity.Reasons) {
	for _, rs := range reasons {
		if rs.Level > fidelity.Exact {
			fmt.Fprintf(b, "  - **%s**: %s\n", rs.Code, mdEscape(rs.Message))
		}
	}
}

var markupReplacer = strings.NewReplacer("<", "&lt;", "#", `\#`)

// mdEscape keeps text from one source on one line of the report and out
// of Markdown's table, heading and HTML syntax.
func mdEscape(s string) string { return markupReplacer.Replace(markdown.Cell(s)) }
