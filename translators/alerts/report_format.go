package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// Markdown renders the report for a pull request. It lists the counts, the
// failures, one section per rule that is not exact and the exact rules in a
// table. Then come the rules that are disabled in the source, the
// notifications to set up in Alertmanager, and the skipped objects.
func (r *Report) Markdown() []byte {
	var b strings.Builder
	b.WriteString("# Alert rule conversion report\n\n")
	writeSummary(&b, r.Summary)
	b.WriteString("\n| | exact | approximate | unsupported | exact or approximate |\n|---|---:|---:|---:|---:|\n")
	writeCountsRow(&b, "rules", r.Summary.Rules)

	var failed, review, exact, skipped, disabled, notify []*Item
	for _, it := range r.Items {
		switch it.Status {
		case StatusFailed:
			failed = append(failed, it)
		case StatusSkipped:
			skipped = append(skipped, it)
		case fidelity.Exact.String():
			exact = append(exact, it)
		default:
			review = append(review, it)
		}
		if it.Disabled && it.Output != "" {
			disabled = append(disabled, it)
		}
		if it.Actions != "" {
			notify = append(notify, it)
		}
	}
	if len(failed) > 0 {
		b.WriteString("\n## Failed\n\n")
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
		b.WriteString("\n## Exact\n\n| kind | name | id | output | notes |\n|---|---|---|---|---|\n")
		for _, it := range exact {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", it.Kind, markdown.Cell(it.Name), it.ID, it.Output, reasonCodes(it.Reasons))
		}
	}
	writeDisabled(&b, disabled)
	writeNotifications(&b, notify)
	if len(skipped) > 0 {
		b.WriteString("\n## Skipped\n\n| kind | name | id | source | why |\n|---|---|---|---|---|\n")
		for _, it := range skipped {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", it.Kind, markdown.Cell(it.Name), it.ID, it.Source, markdown.Cell(firstMessage(it.Reasons)))
		}
	}
	return []byte(b.String())
}

// writeSummary writes the counts as three labelled lines: the input files,
// the objects read from them split by outcome, and the rule files written.
func writeSummary(b *strings.Builder, s Summary) {
	fmt.Fprintf(b, "- Input: %s", plural(s.Files, "file"))
	if s.FailedFiles > 0 {
		fmt.Fprintf(b, ", %d of them failed as a whole (listed under Failed).\n", s.FailedFiles)
	} else {
		b.WriteString(", all read.\n")
	}
	fmt.Fprintf(b, "- Objects read: %d = %d converted (%d exact, %d approximate) + %d unsupported + %d failed + %d skipped (not rules, or repeated copies of a rule).\n",
		s.Objects, s.Rules.Exact+s.Rules.Approximate, s.Rules.Exact, s.Rules.Approximate,
		s.Rules.Unsupported, s.Failed, s.Skipped)
	fmt.Fprintf(b, "- Written: %s in %s.", plural(s.RulesWritten, "Loki rule"), plural(s.RuleFiles, "rule file"))
	switch n := s.DisabledRulesWritten; {
	case n == 1:
		b.WriteString(" Of these, 1 rule is disabled in the source and is in a .disabled.yaml file, which is not meant to be loaded.")
	case n > 1:
		fmt.Fprintf(b, " Of these, %d rules are disabled in the source and are in .disabled.yaml files, which are not meant to be loaded.", n)
	}
	b.WriteString("\n")
}

// writeDisabled lists the rules written to .disabled.yaml files.
func writeDisabled(b *strings.Builder, items []*Item) {
	if len(items) == 0 {
		return
	}
	b.WriteString("\n## Disabled in the source\n\n")
	b.WriteString("These rules were disabled in Kibana or deactivated in Watcher. Their Loki rules are in files ")
	b.WriteString("that are not meant to be loaded as they are: move a group to a loaded rule file to turn the rule on.\n\n")
	b.WriteString("| kind | name | id | output | group |\n|---|---|---|---|---|\n")
	for _, it := range items {
		fmt.Fprintf(b, "| %s | %s | `%s` | %s | `%s` |\n", it.Kind, markdown.Cell(it.Name), it.ID, it.Output, it.Group)
	}
}

func writeCountsRow(b *strings.Builder, name string, c Counts) {
	pct := "n/a"
	if t := c.Total(); t > 0 {
		pct = fmt.Sprintf("%.1f%%", 100*float64(c.Exact+c.Approximate)/float64(t))
	}
	fmt.Fprintf(b, "| %s | %d | %d | %d | %s |\n", name, c.Exact, c.Approximate, c.Unsupported, pct)
}

func writeItem(b *strings.Builder, it *Item) {
	fmt.Fprintf(b, "\n### %s %s: %s\n\n", it.Kind, markdown.Cell(it.Name), it.Status)
	fmt.Fprintf(b, "`%s` from %s", it.ID, it.Source)
	if it.Output != "" {
		fmt.Fprintf(b, ", written to `%s` as group `%s`", it.Output, it.Group)
	}
	b.WriteString(".\n\n")
	for _, r := range it.Reasons {
		fmt.Fprintf(b, "- **%s**: %s\n", r.Code, markdown.Cell(r.Message))
	}
	if it.Original != "" {
		fmt.Fprintf(b, "- original: %s\n", markdown.Code(oneLine(it.Original)))
	}
	if it.Expr != "" {
		fmt.Fprintf(b, "- expr: %s\n", markdown.Code(it.Expr))
	}
}

// writeNotifications lists the actions of every rule, because Loki rules
// have none: each needs an Alertmanager route.
func writeNotifications(b *strings.Builder, items []*Item) {
	if len(items) == 0 {
		return
	}
	b.WriteString("\n## Notifications to route in Alertmanager\n\n")
	b.WriteString("Loki rules have no actions. Route these alerts by their `migrate_rule_id` label.\n")
	for _, it := range items {
		fmt.Fprintf(b, "\n- %s `%s`:\n", markdown.Cell(it.Name), it.ID)
		for _, line := range strings.Split(it.Actions, "\n") {
			fmt.Fprintf(b, "  - %s\n", markdown.Cell(oneLine(line)))
		}
	}
}

// reasonCodes lists the codes of informational reasons for the table of
// exact rules.
func reasonCodes(rs fidelity.Reasons) string {
	codes := make([]string, len(rs))
	for i, r := range rs {
		codes[i] = r.Code
	}
	return strings.Join(codes, ", ")
}

func firstMessage(rs fidelity.Reasons) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].Message
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
		s = truncate(s, 300)
	}
	return s
}
