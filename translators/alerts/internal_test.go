package alerts

import (
	"strings"
	"testing"
	"text/template"
	"time"
)

func TestFormatDuration(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{30 * time.Second, "30s"},
		{90 * time.Second, "1m30s"},
		{5 * time.Minute, "5m"},
		{24 * time.Hour, "1d"},
		{25*time.Hour + 30*time.Minute, "1d1h30m"},
		{1500 * time.Millisecond, "1s500ms"},
	}
	for _, tc := range cases {
		if got := formatDuration(tc.in); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseDateMath(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		rounded bool
		err     bool
	}{
		{"now", 0, false, false},
		{"now-5m", 5 * time.Minute, false, false},
		{"now-1h-30m", 90 * time.Minute, false, false},
		{"now-1d/d", 24 * time.Hour, true, false},
		{"now/m", 0, true, false},
		{"now-2H", 2 * time.Hour, false, false},
		{"now-1M", 30 * 24 * time.Hour, true, false},
		{"now-1w", 7 * 24 * time.Hour, false, false},
		{"now+5m", -5 * time.Minute, false, false},
		{"2024-01-01T00:00:00Z", 0, false, true},
		{"now-5", 0, false, true},
		{"now-5q", 0, false, true},
		{"now/", 0, false, true},
		{"now-99999999999y", 0, false, true},
	}
	for _, tc := range cases {
		got, rounded, err := parseDateMath(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseDateMath(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (got != tc.want || rounded != tc.rounded) {
			t.Errorf("parseDateMath(%q) = %v, rounded %v; want %v, rounded %v", tc.in, got, rounded, tc.want, tc.rounded)
		}
	}
}

func TestSeverity(t *testing.T) {
	cases := []struct {
		tags []string
		want string
	}{
		{nil, "warning"},
		{[]string{"checkout", "Critical"}, "critical"},
		{[]string{"severity:info"}, "info"},
		{[]string{"severity=error"}, "error"},
		{[]string{"warn"}, "warning"},
		{[]string{"high"}, "warning"},
	}
	for _, tc := range cases {
		if got := severity(tc.tags); got != tc.want {
			t.Errorf("severity(%q) = %q, want %q", tc.tags, got, tc.want)
		}
	}
}

func TestConditionHoldsAt(t *testing.T) {
	cases := []struct {
		c    condition
		v    float64
		want bool
	}{
		{condition{opGT, []float64{0}}, 0, false},
		{condition{opGTE, []float64{0}}, 0, true},
		{condition{opLT, []float64{1}}, 0, true},
		{condition{opEQ, []float64{0}}, 0, true},
		{condition{opNE, []float64{0}}, 0, false},
		{condition{opBetween, []float64{0, 5}}, 0, true},
		{condition{opBetween, []float64{1, 5}}, 0, false},
		{condition{opBetween, []float64{1, 5}}, 5, true},
		{condition{opNotBetween, []float64{1, 5}}, 0, true},
		{condition{opNotBetween, []float64{1, 5}}, 5, false},
	}
	for _, tc := range cases {
		if got := tc.c.holdsAt(tc.v); got != tc.want {
			t.Errorf("%s holds at %v = %v, want %v", tc.c, tc.v, got, tc.want)
		}
	}
}

// TestEscapeTemplate checks that escaped text parses as a Go template, as
// Loki's ruler parses annotations, and expands back to the text.
func TestEscapeTemplate(t *testing.T) {
	for _, text := range []string{
		"plain",
		"{{ctx.payload.hits.total}} errors",
		"{{#ctx.payload.hits.hits}}{{_source.message}}{{/ctx.payload.hits.hits}}",
		`{{ "{{" }} already escaped`,
		"}} unbalanced {{",
		"{{{triple}}}",
		"ends in a brace {",
		"{",
	} {
		tmpl, err := template.New("annotation").Parse(escapeTemplate(text))
		if err != nil {
			t.Errorf("escaped %q does not parse: %v", text, err)
			continue
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, nil); err != nil {
			t.Errorf("escaped %q does not run: %v", text, err)
			continue
		}
		if b.String() != text {
			t.Errorf("escaped %q expands to %q", text, b.String())
		}
	}
}

// TestTemplateTextActions checks that text written around actions cannot
// join them: a "{" at the end of the text before an action, or one split
// over two pieces of text, stays literal.
func TestTemplateTextActions(t *testing.T) {
	var tt templateText
	tt.text("value {")
	tt.action("$value")
	tt.text(" and {")
	tt.text("{x}} ")
	tt.action(labelRef("host_name"))
	tt.text(" ")
	tt.action(labelRef("not-an-identifier"))
	tmpl, err := template.New("summary").Option("missingkey=zero").
		Parse("{{$labels := .Labels}}{{$value := .Value}}" + tt.String())
	if err != nil {
		t.Fatalf("%q does not parse: %v", tt.String(), err)
	}
	var b strings.Builder
	data := map[string]any{"Value": 7, "Labels": map[string]string{"host_name": "h1", "not-an-identifier": "n1"}}
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("%q does not run: %v", tt.String(), err)
	}
	if want := "value {7 and {{x}} h1 n1"; b.String() != want {
		t.Errorf("%q expands to %q, want %q", tt.String(), b.String(), want)
	}
}

// TestGroupName checks that a group name is the id when the id is safe,
// and carries a hash of the whole id otherwise, so that ids which clean to
// the same text keep names of their own.
func TestGroupName(t *testing.T) {
	long := strings.Repeat("a", maxNameLength+1)
	cases := []struct {
		id, want string
	}{
		{"6b1f0e40-a380-11ec", "kibana-6b1f0e40-a380-11ec"},
		{"my watch/v2", "kibana-my_watch_v2-" + shortHash("my watch/v2")},
		{"my_watch_v2", "kibana-my_watch_v2"},
		{"日本", "kibana-" + shortHash("日本")},
		{"中文", "kibana-" + shortHash("中文")},
		{"{{id}}", "kibana-id-" + shortHash("{{id}}")},
		{long, "kibana-" + long[:maxNameLength] + "-" + shortHash(long)},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		got := groupName(SourceKibana, tc.id)
		if got != tc.want {
			t.Errorf("groupName(%q) = %q, want %q", tc.id, got, tc.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("ids %q and %q share the group name %q", other, tc.id, got)
		}
		seen[got] = tc.id
	}
}

func TestSlug(t *testing.T) {
	cases := map[string]string{
		"6b1f0e40-a380-11ec": "6b1f0e40-a380-11ec",
		"my watch/v2":        "my_watch_v2",
		"../../etc":          ".._.._etc",
		"":                   "unnamed",
		"日本":                 "unnamed",
	}
	for in, want := range cases {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRuleFileWithOddNames checks that names with line breaks and YAML
// syntax stay inside their comments and scalars.
func TestRuleFileWithOddNames(t *testing.T) {
	names := []string{"a\nb: c", "x\ry", "p\u0085q", "l\u2028m", "- item", "# not a comment", "{{ .Value }}", "'quoted' \"both\""}
	var f RuleFile
	var footer []string
	for _, name := range names {
		f.Groups = append(f.Groups, RuleGroup{
			Name: groupName(SourceKibana, name), Interval: "1m",
			Rules: []Rule{{Alert: name, Expr: "vector(1)", For: forImmediately, Labels: map[string]string{"n": name}}},
		})
		footer = append(footer, "- rule "+name)
	}
	data, err := encodeRuleFile(f, []string{"header " + names[0]}, footer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRuleFile(data)
	if err != nil {
		t.Fatalf("the rule file does not decode: %v\n%s", err, data)
	}
	if len(got.Groups) != len(names) {
		t.Fatalf("%d groups decoded, want %d", len(got.Groups), len(names))
	}
	alerts := map[string]bool{}
	for _, g := range got.Groups {
		alerts[g.Rules[0].Alert] = true
	}
	for _, name := range names {
		if !alerts[name] {
			t.Errorf("alert %q did not survive the round trip", name)
		}
	}
}
