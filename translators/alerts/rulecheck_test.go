package alerts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/alerts"
)

// promTemplateFuncs contains stubs of the functions of Prometheus's
// template package (template/template.go). Loki's ruler parses every label
// and annotation value with them when it loads a rule file, and only the
// names matter for parsing.
var promTemplateFuncs = func() template.FuncMap {
	stub := func(...any) any { return nil }
	m := template.FuncMap{}
	for _, name := range []string{
		"query", "first", "label", "value", "strvalue", "args", "tmpl", "safeHtml",
		"match", "reReplaceAll", "title", "toUpper", "toLower", "stripPort", "stripDomain",
		"graphLink", "tableLink", "sortByLabel",
		"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
		"toTime", "toDuration", "parseDuration", "now", "pathPrefix", "externalURL",
	} {
		m[name] = stub
	}
	return m
}()

// promTemplateDefs are the variables that Prometheus defines in front of
// every label and annotation template of an alerting rule.
const promTemplateDefs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}" +
	"{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// parseRuleTemplate parses a label or annotation value as the ruler does.
func parseRuleTemplate(alert, value string) (*template.Template, error) {
	return template.New("__alert_" + alert).Funcs(promTemplateFuncs).Option("missingkey=zero").
		Parse(promTemplateDefs + value)
}

// expandRuleTemplate expands a label or annotation value with no labels and
// a value of 0, as the ruler does when the alert fires.
func expandRuleTemplate(alert, value string) (string, error) {
	tmpl, err := parseRuleTemplate(alert, value)
	if err != nil {
		return "", err
	}
	data := map[string]any{
		"Labels": map[string]string{}, "ExternalLabels": map[string]string{}, "ExternalURL": "", "Value": 0.0,
	}
	var b strings.Builder
	err = tmpl.Execute(&b, data)
	return b.String(), err
}

// ruleFileProblems decodes a rule file and lists what Loki's ruler would
// reject in it, or what cannot be a sound rule. It checks that every label
// and annotation value parses as a template and that no alert name is
// empty. Every expression must pass exprSanity, and every group interval
// must be at least 1s.
func ruleFileProblems(out alerts.Output) []error {
	f, err := alerts.DecodeRuleFile(out.YAML)
	if err != nil {
		return []error{fmt.Errorf("%s does not decode: %w", out.File, err)}
	}
	var problems []error
	for _, g := range f.Groups {
		at := out.File + "/" + g.Name
		if d, err := plans.ParseDuration(g.Interval); err != nil || d < time.Second {
			problems = append(problems, fmt.Errorf("%s: interval %q is not a duration of at least 1s", at, g.Interval))
		}
		for _, r := range g.Rules {
			problems = append(problems, ruleProblems(at, r)...)
		}
	}
	return problems
}

func ruleProblems(at string, r alerts.Rule) []error {
	var problems []error
	if r.Alert == "" {
		problems = append(problems, fmt.Errorf("%s: empty alert name", at))
	}
	if err := exprSanity(r.Expr); err != nil {
		problems = append(problems, fmt.Errorf("%s: expr %q: %w", at, r.Expr, err))
	}
	for kind, values := range map[string]map[string]string{"label": r.Labels, "annotation": r.Annotations} {
		for k, v := range values {
			if _, err := parseRuleTemplate(r.Alert, v); err != nil {
				problems = append(problems, fmt.Errorf("%s: %s %s %q does not parse as a template: %w", at, kind, k, v, err))
			}
		}
	}
	return problems
}

// requireSoundRuleFiles fails the test for every problem ruleFileProblems
// finds in the files of a result.
func requireSoundRuleFiles(t *testing.T, res *alerts.Result) {
	t.Helper()
	for _, out := range res.Files {
		for _, err := range ruleFileProblems(out) {
			t.Error(err)
		}
	}
}

// exprSanity is a cheap check of a rule expression for the fuzz test, where
// the LogQL grammar check is too slow. The expression must not be empty, and
// its brackets and string literals must be closed. Every comparison must
// compare with a number or a string, so NaN and Inf fail, and no range may
// be zero.
func exprSanity(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return errors.New("empty")
	}
	var open []byte
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; c {
		case '"', '`':
			end, err := stringEnd(expr, i)
			if err != nil {
				return err
			}
			i = end
		case '(', '{':
			open = append(open, c)
		case '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return fmt.Errorf("range at %d is not closed", i)
			}
			if r := expr[i+1 : i+end]; r == "0s" || r == "0ms" || r == "0" {
				return fmt.Errorf("zero range [%s]", r)
			}
			i += end
		case ')', '}':
			want := map[byte]byte{')': '(', '}': '{'}[c]
			if len(open) == 0 || open[len(open)-1] != want {
				return fmt.Errorf("unbalanced %q at %d", c, i)
			}
			open = open[:len(open)-1]
		case '>', '<', '=', '!':
			if err := comparedOperand(expr, i); err != nil {
				return err
			}
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("%d brackets not closed", len(open))
	}
	return nil
}

// stringEnd returns the index of the quote that closes the string literal
// starting at i: a backtick string, or a double-quoted one with escapes.
func stringEnd(expr string, i int) (int, error) {
	quote := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && quote == '"':
			j++
		case expr[j] == quote:
			return j, nil
		}
	}
	return 0, fmt.Errorf("string at %d is not closed", i)
}

// comparedOperand checks the operand after a comparison operator at i: a
// number (with a sign or unit) or a string literal.
func comparedOperand(expr string, i int) error {
	rest := expr[i:]
	var op string
	for _, candidate := range []string{">=", "<=", "==", "!=", ">", "<"} {
		if strings.HasPrefix(rest, candidate) {
			op = candidate
			break
		}
	}
	if op == "" || (i > 0 && strings.ContainsRune("=!<>|", rune(expr[i-1]))) {
		return nil
	}
	operand := strings.TrimLeft(strings.TrimLeft(rest[len(op):], " "), "+-")
	if operand == "" {
		return fmt.Errorf("nothing after %s at %d", op, i)
	}
	if c := operand[0]; (c >= '0' && c <= '9') || c == '.' || c == '"' || c == '`' {
		return nil
	}
	return fmt.Errorf("%s at %d compares with %q, not a number or a string", op, i, truncated(operand))
}

func truncated(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func TestExprSanity(t *testing.T) {
	cases := []struct {
		expr string
		ok   bool
	}{
		{`sum (count_over_time({a="b"} [5m])) > 10`, true},
		{`(sum (count_over_time({a="b"} [5m])) or vector(0)) <= -1.5`, true},
		{"sum (count_over_time({a=\"(\"} |~ `)(` | x >= 500 | y != \"\" [1h]))", true},
		{`count_over_time({a="b"} | bytes > 1KB [5m]) == 0`, true},
		{"", false},
		{`sum (count_over_time({a="b"} [5m])) > NaN`, false},
		{`sum (count_over_time({a="b"} [5m])) > +Inf`, false},
		{`sum (count_over_time({a="b"} [0s])) > 1`, false},
		{`sum (count_over_time({a="b"} [5m]) > 1`, false},
		{`sum (count_over_time({a="b} [5m])) > 1`, false},
	}
	for _, tc := range cases {
		if err := exprSanity(tc.expr); (err == nil) != tc.ok {
			t.Errorf("exprSanity(%q) = %v, want ok %v", tc.expr, err, tc.ok)
		}
	}
}
