package parity

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/obs-migrate/migrate/internal/markdown"
)

// Limits that keep a report short enough to post as a pull request
// comment. The Markdown says how much it left out, and the JSON report
// has everything.
const (
	mdMaxRows     = 100
	mdMaxExamples = 20
	// mdMaxLabel is the longest chart label, in characters.
	mdMaxLabel = 32
)

// WriteMarkdown writes r as Markdown that renders on GitHub and GitLab:
// a one-line verdict, a summary table of the checks, then per check its
// metrics against their thresholds, Mermaid charts of the counts per
// bucket and of the p95 latency per query, and per-group detail folded in
// <details>. Text from the report is escaped, so it cannot change the
// layout. The output depends only on r: checks come in a fixed order,
// groups sorted by name, and numbers with a fixed number of decimals.
func WriteMarkdown(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("writing the parity report as Markdown: the report is nil")
	}
	n := reportNormalize(r)
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s parity of %s, %s to %s\n\n", mdVerdict(n.Verdict), mdText(n.Plan),
		n.Window.From.Format(time.RFC3339), n.Window.To.Format(time.RFC3339))

	if len(n.Checks) == 0 {
		b.WriteString("No checks ran.\n")
	} else {
		b.WriteString("| check | verdict | summary |\n|---|---|---|\n")
		for _, c := range n.Checks {
			fmt.Fprintf(b, "| %s | %s | %s |\n", mdCodeCell(c.Name), markdown.Cell(mdVerdict(c.Verdict)), mdTextCell(c.Summary))
		}
	}
	for _, c := range n.Checks {
		mdWriteCheck(b, c)
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	if err != nil {
		return fmt.Errorf("writing the parity report as Markdown: %w", err)
	}
	return nil
}

func mdWriteCheck(b *strings.Builder, c Check) {
	if !strings.HasSuffix(b.String(), "\n\n") {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "## %s: %s\n\n", mdText(c.Name), mdVerdict(c.Verdict))
	if c.Summary != "" {
		fmt.Fprintf(b, "%s\n\n", mdLineStart(c.Summary))
	}
	if c.Reason != "" {
		fmt.Fprintf(b, "Reason: %s\n\n", mdText(c.Reason))
	}
	if len(c.Metrics) > 0 {
		b.WriteString("| metric | value | threshold | margin | pass |\n|---|--:|--:|--:|---|\n")
		for _, m := range c.Metrics {
			pass := "no"
			if m.Pass {
				pass = "yes"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mdTextCell(m.Name),
				mdTextCell(mdFormatValue(m.Value, m.Unit, false)),
				mdTextCell(mdComparison(m.Comparison)+" "+mdFormatValue(m.Threshold, m.Unit, false)),
				mdTextCell(mdFormatValue(m.Margin(), m.Unit, true)), pass)
		}
		b.WriteString("\n")
	}
	if len(c.Buckets) > 0 {
		mdWriteBuckets(b, c)
	}
	if len(c.Latencies) > 0 {
		mdWriteLatencies(b, c)
	}
	for _, g := range c.Groups {
		mdWriteGroup(b, g)
	}
}

// mdWriteBuckets charts the old and new counts per bucket, summed over the
// groups, and folds the table per group and bucket.
func mdWriteBuckets(b *strings.Builder, c Check) {
	var starts []time.Time
	var olds, news []int64
	for _, k := range c.Buckets {
		if i := len(starts) - 1; i >= 0 && starts[i].Equal(k.Start) {
			olds[i] += k.Old
			news[i] += k.New
			continue
		}
		starts = append(starts, k.Start)
		olds = append(olds, k.Old)
		news = append(news, k.New)
	}
	labels := mdBucketLabels(starts)
	b.WriteString("Counts per bucket, all groups summed: the first line is the old stack (Elasticsearch or Jaeger), the second the new one (Loki or Tempo).\n\n")
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(b, "  title %s\n", mdMermaidString(c.Name+": old and new count per bucket"))
	fmt.Fprintf(b, "  x-axis %s\n", mdMermaidList(labels))
	b.WriteString("  y-axis \"count\"\n")
	fmt.Fprintf(b, "  line %s\n", mdMermaidInts(olds))
	fmt.Fprintf(b, "  line %s\n", mdMermaidInts(news))
	b.WriteString("```\n\n")

	b.WriteString("<details><summary>counts per bucket</summary>\n\n")
	b.WriteString("| bucket start | group | old | new | new/old |\n|---|---|--:|--:|--:|\n")
	for i, k := range c.Buckets {
		if i == mdMaxRows {
			fmt.Fprintf(b, "\n%d more buckets are in the JSON report.\n", len(c.Buckets)-mdMaxRows)
			break
		}
		ratio := "n/a"
		if k.Old != 0 {
			ratio = strconv.FormatFloat(float64(k.New)/float64(k.Old), 'f', 4, 64)
		}
		fmt.Fprintf(b, "| %s | %s | %d | %d | %s |\n", k.Start.Format(time.RFC3339), mdCodeCell(k.Group), k.Old, k.New, ratio)
	}
	b.WriteString("\n</details>\n\n")
}

// mdBucketLabels names bucket starts by time of day when they all fall on
// one UTC day, by date when they are all at midnight, and by both
// otherwise.
func mdBucketLabels(starts []time.Time) []string {
	layout := "15:04"
	if len(starts) > 0 {
		first := starts[0]
		sameDay, midnights := true, true
		for _, s := range starts {
			if s.YearDay() != first.YearDay() || s.Year() != first.Year() {
				sameDay = false
			}
			if s.Hour() != 0 || s.Minute() != 0 || s.Second() != 0 {
				midnights = false
			}
		}
		switch {
		case sameDay:
		case midnights:
			layout = "2006-01-02"
		default:
			layout = "01-02 15:04"
		}
	}
	labels := make([]string, len(starts))
	for i, s := range starts {
		labels[i] = s.Format(layout)
	}
	return labels
}

// mdWriteLatencies charts the p95 latency per query with one bar series
// per stack. Mermaid draws bar series on top of each other, so each query
// gets two categories, "old" and "new", and each series is zero in the
// other's categories.
func mdWriteLatencies(b *strings.Builder, c Check) {
	type key struct {
		query string
		cold  bool
	}
	var keys []key
	p95 := map[key][2]float64{}
	for _, l := range c.Latencies {
		k := key{l.Query, l.Cold}
		v, seen := p95[k]
		if !seen {
			keys = append(keys, k)
		}
		switch l.Stack {
		case "old":
			v[0] = mdMillis(l.P95)
		case "new":
			v[1] = mdMillis(l.P95)
		}
		p95[k] = v
	}
	var labels []string
	var olds, news []float64
	for _, k := range keys {
		name := mdTruncate(k.query, mdMaxLabel)
		if k.cold {
			name += " (cold)"
		}
		v := p95[k]
		labels = append(labels, name+" old", name+" new")
		olds = append(olds, v[0], 0)
		news = append(news, 0, v[1])
	}
	b.WriteString("p95 latency per query in milliseconds, old stack and new stack side by side.\n\n")
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(b, "  title %s\n", mdMermaidString(c.Name+": p95 per query, old and new"))
	fmt.Fprintf(b, "  x-axis %s\n", mdMermaidList(labels))
	b.WriteString("  y-axis \"p95 (ms)\"\n")
	fmt.Fprintf(b, "  bar %s\n", mdMermaidFloats(olds))
	fmt.Fprintf(b, "  bar %s\n", mdMermaidFloats(news))
	b.WriteString("```\n\n")

	b.WriteString("<details><summary>latency per query</summary>\n\n")
	b.WriteString("| query | cache | stack | p50 | p95 | p99 | runs |\n|---|---|---|--:|--:|--:|--:|\n")
	for i, l := range c.Latencies {
		if i == mdMaxRows {
			fmt.Fprintf(b, "\n%d more latencies are in the JSON report.\n", len(c.Latencies)-mdMaxRows)
			break
		}
		cache := "warm"
		if l.Cold {
			cache = "cold"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %d |\n", mdCodeCell(l.Query), cache, mdTextCell(l.Stack),
			mdFormatMillis(l.P50), mdFormatMillis(l.P95), mdFormatMillis(l.P99), l.Runs)
	}
	b.WriteString("\n</details>\n\n")
}

func mdWriteGroup(b *strings.Builder, g Group) {
	fmt.Fprintf(b, "<details><summary>%s (%s)</summary>\n\n", mdHTML(g.Name), mdHTML(string(g.Verdict)))
	cols := len(g.Columns)
	for _, row := range g.Rows {
		cols = max(cols, len(row))
	}
	if cols > 0 && (len(g.Rows) > 0 || len(g.Columns) > 0) {
		header := make([]string, cols)
		for i := range header {
			if i < len(g.Columns) {
				header[i] = mdTextCell(g.Columns[i])
			}
		}
		mdWriteRow(b, header)
		b.WriteString("|" + strings.Repeat("---|", cols) + "\n")
		for i, row := range g.Rows {
			if i == mdMaxRows {
				fmt.Fprintf(b, "\n%d more rows are in the JSON report.\n", len(g.Rows)-mdMaxRows)
				break
			}
			cells := make([]string, cols)
			for j, cell := range row {
				cells[j] = mdTextCell(cell)
			}
			mdWriteRow(b, cells)
		}
		b.WriteString("\n")
	}
	for _, note := range g.Notes {
		fmt.Fprintf(b, "- %s\n", mdLineStart(note))
	}
	if len(g.Notes) > 0 {
		b.WriteString("\n")
	}
	if len(g.Examples) > 0 {
		shown := g.Examples[:min(len(g.Examples), mdMaxExamples)]
		codes := make([]string, len(shown))
		for i, e := range shown {
			codes[i] = mdCode(e)
		}
		fmt.Fprintf(b, "Examples: %s", strings.Join(codes, ", "))
		if more := len(g.Examples) - len(shown); more > 0 {
			fmt.Fprintf(b, " and %d more in the JSON report", more)
		}
		b.WriteString(".\n\n")
	}
	b.WriteString("</details>\n\n")
}

func mdWriteRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + c + " |")
	}
	b.WriteString("\n")
}

// mdVerdict prints a known verdict in bold and any other value as text.
func mdVerdict(v Verdict) string {
	switch v {
	case Pass, Fail, Inconclusive:
		return "**" + string(v) + "**"
	default:
		return mdText(string(v))
	}
}

func mdComparison(c string) string {
	switch c {
	case ">=":
		return "≥"
	case "<=":
		return "≤"
	default:
		return c
	}
}

// mdFormatValue prints a metric value in its unit: ratios with 4
// decimals, milliseconds with 1, bytes in binary units with 1, counts as
// integers. signed adds a "+" to values that are not negative.
func mdFormatValue(v float64, unit string, signed bool) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	if math.IsInf(v, 0) {
		if v > 0 {
			return "+∞"
		}
		return "-∞"
	}
	if v == 0 {
		v = 0 // turns -0 into 0
	}
	sign := ""
	if v < 0 {
		sign = "-"
	} else if signed {
		sign = "+"
	}
	a := math.Abs(v)
	switch unit {
	case "ratio":
		return sign + strconv.FormatFloat(a, 'f', 4, 64)
	case "ms":
		return sign + strconv.FormatFloat(a, 'f', 1, 64) + " ms"
	case "bytes":
		return sign + mdHumanBytes(a)
	case "count":
		if a == math.Trunc(a) && a < 1e18 {
			return sign + strconv.FormatFloat(a, 'f', 0, 64)
		}
		return sign + strconv.FormatFloat(a, 'f', 4, 64)
	default:
		s := sign + strconv.FormatFloat(a, 'f', 4, 64)
		if unit != "" {
			s += " " + unit
		}
		return s
	}
}

// mdHumanBytes prints a non-negative byte count in binary units.
func mdHumanBytes(a float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for a >= 1024 && i < len(units)-1 {
		a /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(a, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(a, 'f', 1, 64) + " " + units[i]
}

func mdMillis(d time.Duration) float64 {
	return math.Round(float64(d)/1e5) / 10
}

func mdFormatMillis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms"
}

// mdMarkdownEscaper escapes the characters that start Markdown or HTML
// syntax inside a line: emphasis, code, links, tags, entities,
// strikethrough, math and headings' closing #. Table separators are left
// to the callers.
var mdMarkdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "&", `\&`, "~", `\~`, "$", `\$`, "#", `\#`,
)

// mdText renders s as literal text on one line.
func mdText(s string) string {
	return strings.ReplaceAll(mdMarkdownEscaper.Replace(mdOneLine(s)), "|", `\|`)
}

// mdLineStart renders s as literal text at the start of a line, where
// leading spaces would start a code block, "-", "+" or "1." a list, and
// "=" a heading underline.
func mdLineStart(s string) string {
	t := mdText(strings.TrimSpace(mdOneLine(s)))
	if t == "" {
		return t
	}
	if strings.ContainsRune("-+=", rune(t[0])) {
		return `\` + t
	}
	digits := len(t) - len(strings.TrimLeft(t, "0123456789"))
	if digits > 0 && digits < len(t) && (t[digits] == '.' || t[digits] == ')') {
		return t[:digits] + `\` + t[digits:]
	}
	return t
}

// mdTextCell renders s as literal text in a table cell.
func mdTextCell(s string) string {
	return markdown.Cell(mdMarkdownEscaper.Replace(mdOneLine(s)))
}

// mdCode renders s as a code span on one line; an empty s becomes a dash.
func mdCode(s string) string {
	s = mdOneLine(s)
	if s == "" {
		return "-"
	}
	return markdown.Code(s)
}

// mdCodeCell renders s as a code span in a table cell: a "|" inside a code
// span still ends a GFM table cell unless it is escaped.
func mdCodeCell(s string) string {
	return markdown.Cell(mdCode(s))
}

// mdHTML renders s as text inside an HTML element on one line.
func mdHTML(s string) string {
	return html.EscapeString(mdOneLine(s))
}

// mdOneLine replaces line breaks and other control characters with spaces.
func mdOneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// mdMermaidString quotes s for a Mermaid xychart title or label. Mermaid
// 11.17.2 has no escape inside quotes, so a double quote becomes a single
// one; "%%" after an opening quote starts a comment, so every "%%" gets a
// space between; backticks would make a Markdown label; and an empty label
// does not parse, so it becomes "-".
func mdMermaidString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	prev := rune(0)
	empty := true
	for _, r := range mdOneLine(s) {
		switch r {
		case '"', '`':
			r = '\''
		case '%':
			if prev == '%' {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(r)
		prev = r
		empty = false
	}
	if empty {
		b.WriteByte('-')
	}
	b.WriteByte('"')
	return b.String()
}

func mdMermaidList(labels []string) string {
	quoted := make([]string, len(labels))
	for i, l := range labels {
		quoted[i] = mdMermaidString(l)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func mdMermaidInts(values []int64) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = strconv.FormatInt(v, 10)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// mdMermaidFloats prints values with one decimal; Mermaid does not read
// exponents, NaN or infinities, which become 0.
func mdMermaidFloats(values []float64) string {
	s := make([]string, len(values))
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		s[i] = strconv.FormatFloat(v, 'f', 1, 64)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// mdTruncate cuts s to at most n characters, ending in "…" when cut.
func mdTruncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
