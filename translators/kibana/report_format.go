package kibana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/obs-migrate/migrate/internal/markdown"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// JSON encodes the report with two-space indentation.
func (r *Report) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Markdown renders the report for a pull request: the counts, then one
// section per object that is not exact, then the exact ones in one table.
func (r *Report) Markdown() []byte {
	var b strings.Builder
	s := r.Summary
	fmt.Fprintf(&b, "# Kibana conversion report\n\n")
	fmt.Fprintf(&b, "%s, %s (%d failed, %d skipped), %s written (%d from Kibana dashboards, %d for objects no dashboard shows).\n\n",
		plural(s.Files, "file"), plural(s.Objects, "saved object"), s.ObjectsFailed, s.ObjectsSkipped,
		plural(s.Dashboards, "dashboard"), s.SourceDashboards, s.OrphanDashboards)
	b.WriteString("| | exact | approximate | unsupported | exact or approximate |\n|---|---:|---:|---:|---:|\n")
	writeCountsRow(&b, "panels", s.Panels)
	writeCountsRow(&b, "queries", s.Queries)
	if s.DisabledFilters > 0 {
		fmt.Fprintf(&b, "\n%d disabled filter pills were skipped.\n", s.DisabledFilters)
	}

	var failed, review, exact, skipped []*Item
	for _, it := range r.Items {
		switch it.Status {
		case StatusFailed:
			failed = append(failed, it)
		case StatusSkipped:
			skipped = append(skipped, it)
		case "exact":
			exact = append(exact, it)
		default:
			review = append(review, it)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Failed\n\n")
		sort.SliceStable(failed, func(i, j int) bool { return failed[i].Error < failed[j].Error })
		for _, it := range failed {
			fmt.Fprintf(&b, "- %s\n", markdown.Cell(it.Error))
		}
	}
	if len(review) > 0 {
		b.WriteString("\n## To review\n")
		for _, it := range review {
			writeItem(&b, it)
		}
	}
	if len(exact) > 0 {
		b.WriteString("\n## Exact\n\n| type | title | id | output |\n|---|---|---|---|\n")
		for _, it := range exact {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", it.Type, markdown.Cell(it.Title), it.ID, it.Output)
		}
	}
	if len(skipped) > 0 {
		b.WriteString("\n## Not converted on their own\n\n| type | title | id | why |\n|---|---|---|---|\n")
		for _, it := range skipped {
			why := ""
			if len(it.Reasons) > 0 {
				why = it.Reasons[0].Message
			}
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", it.Type, markdown.Cell(it.Title), it.ID, markdown.Cell(why))
		}
	}
	return []byte(b.String())
}

func writeCountsRow(b *strings.Builder, name string, c Counts) {
	pct := "n/a"
	if t := c.Total(); t > 0 {
		pct = fmt.Sprintf("%.1f%%", 100*float64(c.Exact+c.Approximate)/float64(t))
	}
	fmt.Fprintf(b, "| %s | %d | %d | %d | %s |\n", name, c.Exact, c.Approximate, c.Unsupported, pct)
}

func writeItem(b *strings.Builder, it *Item) {
	fmt.Fprintf(b, "\n### %s %s: %s\n\n", it.Type, markdown.Cell(it.Title), it.Status)
	fmt.Fprintf(b, "`%s` from %s", it.ID, it.Source)
	if it.Output != "" {
		fmt.Fprintf(b, ", written to `%s`", it.Output)
	}
	b.WriteString(".\n\n")
	for _, r := range it.Reasons {
		fmt.Fprintf(b, "- **%s**: %s\n", r.Code, markdown.Cell(r.Message))
	}
	for _, p := range it.Panels {
		if p.Fidelity.String() == "exact" {
			continue
		}
		fmt.Fprintf(b, "- panel %s (%s → %s): %s", markdown.Cell(p.Title), p.KibanaType, p.GrafanaType, p.Fidelity)
		if why := firstGap(p.Reasons); why != nil {
			fmt.Fprintf(b, ", %s: %s", why.Code, markdown.Cell(why.Message))
		}
		b.WriteString("\n")
	}
	for _, q := range it.Queries {
		if q.Fidelity.String() == "exact" {
			continue
		}
		out := "(none)"
		if q.Query != nil {
			out = markdown.Code(*q.Query)
		}
		fmt.Fprintf(b, "- %s (%s) %s → %s: %s\n", q.Where, q.SourceLanguage, markdown.Code(oneLine(q.Original)), out, q.Fidelity)
	}
}

// firstGap returns the first reason that lowers a grade.
func firstGap(rs fidelity.Reasons) *fidelity.Reason {
	for i := range rs {
		if rs[i].Code != "selector_unmapped" && rs[i].Level != fidelity.Exact {
			return &rs[i]
		}
	}
	return nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
