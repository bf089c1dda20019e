package parity

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mdDelimiterRow matches a GFM table's separator row.
var mdDelimiterRow = regexp.MustCompile(`^\|( *:?-+:? *\|)+$`)

// mdSplitRow splits a table row into cells the way GitHub's cmark-gfm
// does: on every "|" that no backslash precedes, after dropping the
// leading and trailing pipe.
func mdSplitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	start := 0
	for i := 0; i < len(line); i++ {
		if line[i] == '|' && (i == 0 || line[i-1] != '\\') {
			cells = append(cells, line[start:i])
			start = i + 1
		}
	}
	return append(cells, line[start:])
}

// mdMermaidBlocks returns the inside of every ```mermaid block.
func mdMermaidBlocks(md string) []string {
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && line == "```mermaid":
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// mdWellFormed checks the structure of the Markdown that WriteMarkdown
// writes: every table has a header, a separator row and rows of the
// header's width, with blank lines around it; fences are closed; every
// <details> is closed, its <summary> holds no markup and is followed by a
// blank line so that the table inside renders.
func mdWellFormed(md string) error {
	if !strings.HasSuffix(md, "\n") {
		return errors.New("the document does not end with a line break")
	}
	lines := strings.Split(strings.TrimSuffix(md, "\n"), "\n")
	inFence, details := false, 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		at := fmt.Sprintf("line %d %q", i+1, line)
		if strings.HasPrefix(line, "```") {
			if inFence && line != "```" {
				return fmt.Errorf("%s: a fence opens inside a fence", at)
			}
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		switch {
		case strings.HasPrefix(line, "<details>"):
			details++
			m := regexp.MustCompile(`^<details><summary>([^<>]*)</summary>$`).FindStringSubmatch(line)
			if m == nil {
				return fmt.Errorf("%s: want <details><summary>TEXT</summary> with no markup in TEXT", at)
			}
			if i+1 >= len(lines) || lines[i+1] != "" {
				return fmt.Errorf("%s: no blank line after <summary>", at)
			}
		case line == "</details>":
			details--
			if details < 0 {
				return fmt.Errorf("%s: </details> without <details>", at)
			}
			if lines[i-1] != "" {
				return fmt.Errorf("%s: no blank line before </details>", at)
			}
		case strings.HasPrefix(line, "<"):
			// Only the writer's own tags may start a line, where they would
			// start an HTML block.
			return fmt.Errorf("%s: HTML at the start of a line", at)
		case strings.HasPrefix(line, "|"):
			if i > 0 && lines[i-1] != "" {
				return fmt.Errorf("%s: a table must follow a blank line", at)
			}
			header := mdSplitRow(line)
			if i+1 >= len(lines) || !mdDelimiterRow.MatchString(lines[i+1]) {
				return fmt.Errorf("%s: the table header has no separator row", at)
			}
			if n := len(mdSplitRow(lines[i+1])); n != len(header) {
				return fmt.Errorf("%s: the separator row has %d columns, the header %d", at, n, len(header))
			}
			i += 2
			for ; i < len(lines) && lines[i] != ""; i++ {
				if !strings.HasPrefix(lines[i], "|") {
					return fmt.Errorf("line %d %q: a table must end with a blank line", i+1, lines[i])
				}
				if n := len(mdSplitRow(lines[i])); n != len(header) {
					return fmt.Errorf("line %d %q: %d cells, the header has %d", i+1, lines[i], n, len(header))
				}
			}
		}
	}
	if inFence {
		return errors.New("a code fence is not closed")
	}
	if details != 0 {
		return fmt.Errorf("%d <details> not closed", details)
	}
	return nil
}

// mdMermaidLine is the only form of line that WriteMarkdown puts into a
// Mermaid block.
var mdMermaidLine = regexp.MustCompile(`^(xychart-beta|  title "[^"\n]+"|  x-axis \["[^"\n]+"(, "[^"\n]+")*\]|  y-axis "[^"\n]+"|  (line|bar) \[-?[0-9.]+(, -?[0-9.]+)*\])$`)

func mdCheckMermaidLines(block string) error {
	for _, line := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
		if !mdMermaidLine.MatchString(line) {
			return fmt.Errorf("unexpected Mermaid line %q", line)
		}
		if strings.Contains(line, "%%") {
			return fmt.Errorf("Mermaid line %q contains %%%%, which starts a comment", line)
		}
	}
	return nil
}

func mdWrite(t testing.TB, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatalf("WriteMarkdown: %v", err)
	}
	return buf.String()
}

func TestWriteMarkdownWellFormed(t *testing.T) {
	reports := map[string]*Report{
		"pass":  reportPassFixture(t),
		"fail":  reportFailFixture(t),
		"empty": {Plan: "empty"},
	}
	var diagrams []string
	for name, r := range reports {
		md := mdWrite(t, r)
		if err := mdWellFormed(md); err != nil {
			t.Errorf("%s report: %v\n%s", name, err, md)
		}
		for _, b := range mdMermaidBlocks(md) {
			if err := mdCheckMermaidLines(b); err != nil {
				t.Errorf("%s report: %v", name, err)
			}
			diagrams = append(diagrams, b)
		}
	}
	// pass: 2 bucket charts and 1 latency chart; fail: 1 and 1.
	if len(diagrams) != 5 {
		t.Fatalf("found %d Mermaid blocks, want 5", len(diagrams))
	}
	mermaidRequireValid(t, diagrams)
}

// The well-formedness check itself must reject broken Markdown.
func TestMdWellFormedRejects(t *testing.T) {
	tests := map[string]string{
		"extra cell":        "| a | b |\n|---|---|\n| 1 | 2 | 3 |\n",
		"unescaped pipe":    "| a | b |\n|---|---|\n| `x|y` | 2 |\n",
		"no separator":      "| a | b |\n| 1 | 2 |\n",
		"no blank before":   "text\n| a |\n|---|\n",
		"summary markup":    "<details><summary>a <b>x</b></summary>\n\n</details>\n",
		"no blank in":       "<details><summary>a</summary>\n| a |\n|---|\n\n</details>\n",
		"details not shut":  "<details><summary>a</summary>\n\ntext\n",
		"fence not closed":  "```mermaid\nxychart-beta\n",
		"no final new line": "text",
	}
	for name, md := range tests {
		if err := mdWellFormed(md); err == nil {
			t.Errorf("%s: mdWellFormed accepted %q", name, md)
		}
	}
	if err := mdWellFormed("| a | b |\n|---|--:|\n| `x\\|y` | a\\\\\\|b |\n"); err != nil {
		t.Errorf("mdWellFormed rejected escaped pipes: %v", err)
	}
}

func TestWriteMarkdownFirstLine(t *testing.T) {
	tests := []struct {
		name string
		r    *Report
		want string
	}{
		{"pass", reportPassFixture(t), "**PASS** parity of payments, 2025-03-01T00:00:00Z to 2025-03-01T04:00:00Z"},
		{"fail in UTC", reportFailFixture(t), `**INCONCLUSIVE** parity of ops\|team "blue" \<prod\>, 2025-03-01T00:00:00Z to 2025-03-03T12:00:00Z`},
		{"verdict from checks", &Report{Plan: "p", Checks: []Check{{Name: "storage", Verdict: Fail}}}, "**FAIL** parity of p, 0001-01-01T00:00:00Z to 0001-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, _, _ := strings.Cut(mdWrite(t, tt.r), "\n")
			if first != tt.want {
				t.Errorf("first line = %q, want %q", first, tt.want)
			}
		})
	}
}

func TestMdFormatValue(t *testing.T) {
	tests := []struct {
		v      float64
		unit   string
		signed bool
		want   string
	}{
		{0.999, "ratio", false, "0.9990"},
		{0.99626, "ratio", false, "0.9963"},
		{-0.00276, "ratio", true, "-0.0028"},
		{0.0005, "ratio", true, "+0.0005"},
		{math.Copysign(0, -1), "ratio", true, "+0.0000"},
		{231.25, "ms", false, "231.2 ms"},
		{1768.75, "ms", true, "+1768.8 ms"},
		{512, "bytes", false, "512 B"},
		{1536, "bytes", false, "1.5 KiB"},
		{412 << 20, "bytes", false, "412.0 MiB"},
		{-124, "bytes", true, "-124 B"},
		{3.5 * (1 << 40), "bytes", false, "3.5 TiB"},
		{12, "count", false, "12"},
		{-12, "count", true, "-12"},
		{2.5, "count", false, "2.5000"},
		{1.5, "", false, "1.5000"},
		{1.5, "spans/s", false, "1.5000 spans/s"},
		{math.NaN(), "ratio", true, "n/a"},
		{math.Inf(1), "ms", false, "+∞"},
		{math.Inf(-1), "ms", true, "-∞"},
	}
	for _, tt := range tests {
		if got := mdFormatValue(tt.v, tt.unit, tt.signed); got != tt.want {
			t.Errorf("mdFormatValue(%v, %q, %v) = %q, want %q", tt.v, tt.unit, tt.signed, got, tt.want)
		}
	}
}

func TestMdEscapes(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"text", mdText, "a|b *c* _d_ [e](f) <g> & $h$ #1 ~i~ `j` \\", `a\|b \*c\* \_d\_ \[e\](f) \<g\> \& \$h\$ \#1 \~i\~ \` + "`j\\` \\\\"},
		{"text joins lines", mdText, "a\nb\r\nc\u2028d", "a b  c d"},
		{"line start list", mdLineStart, "- item", `\- item`},
		{"line start ordered", mdLineStart, "12. item", `12\. item`},
		{"line start paren", mdLineStart, "3) item", `3\) item`},
		{"line start code", mdLineStart, "    code", "code"},
		{"line start heading rule", mdLineStart, "===", `\===`},
		{"line start number", mdLineStart, "12 items", "12 items"},
		{"cell", mdTextCell, "a|b\nc", `a\|b c`},
		{"code cell", mdCodeCell, "a|b`c", "`` a\\|b`c ``"},
		{"code cell empty", mdCodeCell, "", "-"},
		{"html", mdHTML, "<a href=\"x\">&'\n", "&lt;a href=&#34;x&#34;&gt;&amp;&#39; "},
		{"mermaid", mdMermaidString, "say \"hi\" `x` 100%%\n", `"say 'hi' 'x' 100% % "`},
		{"mermaid empty", mdMermaidString, "", `"-"`},
		{"truncate", func(s string) string { return mdTruncate(s, 5) }, "abcdefg", "abcd…"},
		{"truncate short", func(s string) string { return mdTruncate(s, 5) }, "日本語", "日本語"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestMdBucketLabels(t *testing.T) {
	at := func(s string) time.Time { return reportTestTime(t, s) }
	tests := []struct {
		name   string
		starts []time.Time
		want   []string
	}{
		{"one day", []time.Time{at("2025-03-01T00:00:00Z"), at("2025-03-01T13:30:00Z")}, []string{"00:00", "13:30"}},
		{"days", []time.Time{at("2025-03-01T00:00:00Z"), at("2025-03-02T00:00:00Z")}, []string{"2025-03-01", "2025-03-02"}},
		{"mixed", []time.Time{at("2025-03-01T12:00:00Z"), at("2025-03-02T00:00:00Z")}, []string{"03-01 12:00", "03-02 00:00"}},
		{"same day other year", []time.Time{at("2024-03-01T12:00:00Z"), at("2025-03-01T12:00:00Z")}, []string{"03-01 12:00", "03-01 12:00"}},
		{"none", nil, []string{}},
	}
	for _, tt := range tests {
		got := mdBucketLabels(tt.starts)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") || len(got) != len(tt.want) {
			t.Errorf("%s: labels %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Hostile text in the report stays inside its cell, code span, summary or
// chart label.
func TestWriteMarkdownHostileText(t *testing.T) {
	md := mdWrite(t, reportFailFixture(t))
	for _, want := range []string{
		"<details><summary>a|b `c` &lt;d&gt; &amp; &#34;e&#34; f %%g (FAIL)</summary>",
		"| `` a\\|b `c` <d> & \"e\" f %%g `` | 1200 | 1188 |",
		"| 2025-03-02T00:00:00Z | 1200 | 1188 | a\\|b \\`c\\` \\<d\\> \\& \"e\" f %%g |",
		"| 2025-03-03T00:00:00Z | 1000 | 1000 |  | extra cell |",
		"- \\- looks like a list item\n- looks like code\n- 1\\. looks like an ordered list\n",
		"Examples: `` `id`2 ``, `id-3`, `id|1`.",
		`"a|b 'c' <d> & 'e' f % %g new"`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown does not contain %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "\nf %%g") {
		t.Errorf("a line break from the report's text reached the Markdown:\n%s", md)
	}
}

func TestWriteMarkdownLimits(t *testing.T) {
	g := Group{Name: "big", Verdict: Fail, Columns: []string{"n"}}
	for i := range mdMaxRows + 5 {
		g.Rows = append(g.Rows, []string{fmt.Sprintf("row %03d", i)})
		g.Examples = append(g.Examples, fmt.Sprintf("id-%03d", i))
	}
	md := mdWrite(t, &Report{Plan: "p", Checks: []Check{{Name: "log_completeness", Verdict: Fail, Groups: []Group{g}}}})
	for _, want := range []string{"| row 099 |\n\n5 more rows are in the JSON report.", "`id-019` and 85 more in the JSON report."} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown does not contain %q", want)
		}
	}
	if strings.Contains(md, "row 100") || strings.Contains(md, "id-020") {
		t.Errorf("the Markdown shows more than %d rows or %d examples", mdMaxRows, mdMaxExamples)
	}
	if err := mdWellFormed(md); err != nil {
		t.Errorf("%v\n%s", err, md)
	}
}

type reportFailingWriter struct{}

func (reportFailingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWritersReportErrors(t *testing.T) {
	writers := map[string]func(io.Writer, *Report) error{
		"markdown": WriteMarkdown, "json": WriteJSON, "junit": WriteJUnit,
	}
	for name, write := range writers {
		if err := write(io.Discard, nil); err == nil || !strings.Contains(err.Error(), "nil") {
			t.Errorf("%s: a nil report gave error %v, want one that says it is nil", name, err)
		}
		if err := write(reportFailingWriter{}, reportPassFixture(t)); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: a failing writer gave error %v, want the writer's error", name, err)
		}
	}
}

func FuzzWriteMarkdown(f *testing.F) {
	f.Add("plan", "log_completeness", "summary", "reason", "group", "cell", "id-1", "query")
	f.Add(reportHostile, reportHostile, reportHostile, reportHostile, reportHostile, reportHostile, reportHostile, reportHostile)
	f.Add("", "", "", "", "", "", "", "")
	f.Add("a\\|b", "`", "- x", "    y", "</details>", "</summary>\n\n<details>", "``", "%%{init}%%")
	f.Add("\x00\xff", "# h", "1. x", "===", "<summary>", "|\\|\\\\|", "\n```\n", "\"]\n  bar [1]")
	f.Fuzz(func(t *testing.T, plan, name, summary, reason, group, cell, example, query string) {
		start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		r := &Report{
			Plan:   plan,
			Window: Window{From: start, To: start.Add(2 * time.Hour)},
			Checks: []Check{
				{
					Name: name, Verdict: Verdict(summary), Summary: summary, Reason: reason,
					Metrics: []Metric{{Name: cell, Value: 1, Threshold: 2, Comparison: reason, Unit: query, Pass: true}},
					Groups: []Group{
						{Name: group, Verdict: Verdict(cell), Columns: []string{cell, group}, Rows: [][]string{{cell}, {cell, reason, summary}}, Notes: []string{summary, reason}, Examples: []string{example, cell}},
						{Name: cell, Verdict: Fail},
					},
					Buckets: []Bucket{
						{Group: group, Start: start, Old: 3, New: 2},
						{Group: cell, Start: start.Add(time.Hour), Old: 1, New: 1},
					},
					Latencies: []Latency{{Query: query, Stack: "old", P95: time.Millisecond}, {Query: example, Stack: cell, Cold: true}},
				},
				{Name: "storage", Verdict: Pass, Summary: cell},
			},
		}
		md := mdWrite(t, r)
		if err := mdWellFormed(md); err != nil {
			t.Fatalf("%v\n%s", err, md)
		}
		blocks := mdMermaidBlocks(md)
		if len(blocks) != 2 {
			t.Fatalf("found %d Mermaid blocks, want 2:\n%s", len(blocks), md)
		}
		for _, b := range blocks {
			if err := mdCheckMermaidLines(b); err != nil {
				t.Fatalf("%v\n%s", err, md)
			}
		}
		headings := 0
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(line, "#") {
				headings++
			}
		}
		if headings != len(r.Checks) {
			t.Fatalf("%d headings for %d checks:\n%s", headings, len(r.Checks), md)
		}

		var js bytes.Buffer
		if err := WriteJSON(&js, r); err != nil {
			t.Fatalf("WriteJSON: %v", err)
		}
		var back Report
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatalf("reading WriteJSON's output back: %v\n%s", err, js.String())
		}
		if len(back.Checks) != 2 || len(back.Checks[0].Groups)+len(back.Checks[1].Groups) != 2 {
			t.Fatalf("JSON round trip lost checks or groups:\n%s", js.String())
		}

		var x bytes.Buffer
		if err := WriteJUnit(&x, r); err != nil {
			t.Fatalf("WriteJUnit: %v", err)
		}
		var suites junitSuites
		if err := xml.Unmarshal(x.Bytes(), &suites); err != nil {
			t.Fatalf("reading WriteJUnit's output back: %v\n%s", err, x.String())
		}
		if len(suites.Suites) != 1 || len(suites.Suites[0].Cases) != 2 {
			t.Fatalf("JUnit output has the wrong shape:\n%s", x.String())
		}
	})
}
