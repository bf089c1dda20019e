package logql

import (
	"regexp"
	"strings"
	"testing"

	"github.com/obs-migrate/migrate/plans"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

func TestPercentToQuantile(t *testing.T) {
	tests := map[float64]string{
		50: "0.5", 99.9: "0.999", 99.99: "0.9999", 95: "0.95", 5: "0.05",
		0.1: "0.001", 100: "1", 0: "0", 150: "1.5", 33.333: "0.33333",
	}
	for p, want := range tests {
		if got := percentToQuantile(p); got != want {
			t.Errorf("percentToQuantile(%v) = %s, want %s", p, got, want)
		}
	}
}

// TestMatchesEmptyAgreesWithRegexp checks the syntax-tree reading against
// the compiled regex on patterns of every kind the renderer writes.
func TestMatchesEmptyAgreesWithRegexp(t *testing.T) {
	patterns := []string{
		`(?is)^(?:.*(?:\berror\b).*)$`, `^(?:.*)$`, `^(?:a*)$`, `^(?:a+)$`, `^(?:(a|))$`,
		`^(?:a{0,3})$`, `^(?:a{2,})$`, `^(?:[a-z]?)$`, `\b`, `\B`, `^$`, `(?m)^$`, `x|`,
		`^(?:(?:)+)$`, `[^a]`, `.`, `(?s).`, `^(?:\Qa\E)$`, `(?i)^(?:.*(?:ab?c*).*)$`, `(?:)`,
		`^(?:(?:a*)(?:b?))$`, `^(?:\d*)$`, `^(?:\pL*)$`, `[\p{L}\p{N}_]*`,
	}
	for _, p := range patterns {
		want := regexp.MustCompile(p).MatchString("")
		if got := matchesEmpty(p); got != want {
			t.Errorf("matchesEmpty(%q) = %v, regexp says %v", p, got, want)
		}
	}
	if !matchesEmpty(`(`) {
		t.Error("an unparsable pattern must count as matching empty, the safe side")
	}
}

func FuzzMatchesEmpty(f *testing.F) {
	for _, s := range []string{`a*`, `\b`, `(?:)+`, `x{0}`, `^$|a`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		re, err := regexp.Compile(p)
		if err != nil {
			return
		}
		if got, want := matchesEmpty(p), re.MatchString(""); got != want {
			t.Fatalf("matchesEmpty(%q) = %v, regexp says %v", p, got, want)
		}
	})
}

func TestMetricRepeatedFieldsAppearOnce(t *testing.T) {
	s := NewSchema(plans.DefaultLogMapping(), false, nil)
	base := &LogQuery{Selector: []Matcher{{Name: "app", Op: "=", Value: "a"}}, Post: []string{`| host!=""`}}
	expr, _, err := s.Metric(base, MetricSpec{Agg: AggCardinality, Field: "host", GroupBy: []string{"host", "host"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(expr, `host!=""`); n != 1 {
		t.Errorf("%s: host!=\"\" appears %d times, want once", expr, n)
	}
	if strings.Contains(expr, "host, host") {
		t.Errorf("%s: the grouping repeats host", expr)
	}
}

func TestMetricUnwrapOfTextIsApproximate(t *testing.T) {
	m := plans.DefaultLogMapping()
	m.Fields = map[string]string{"host": "keyword", "bytes": "long"}
	s := NewSchema(m, true, nil)
	base := &LogQuery{Selector: []Matcher{{Name: "app", Op: "=", Value: "a"}}}
	_, reasons, err := s.Metric(base, MetricSpec{Agg: AggMax, Field: "host"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasReason(reasons, "unwrap_not_numeric") {
		t.Errorf("max of a keyword field: reasons %v lack unwrap_not_numeric", reasons)
	}
	_, reasons, _ = s.Metric(base, MetricSpec{Agg: AggMax, Field: "bytes"})
	if hasReason(reasons, "unwrap_not_numeric") {
		t.Error("max of a long field is flagged")
	}
}

func hasReason(rs fidelity.Reasons, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}
