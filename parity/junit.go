package parity

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML for CI systems: one testsuite "parity"
// with one testcase per check, classname "parity.PLAN" and the check name
// as name. A FAIL check has a <failure>, an INCONCLUSIVE one (or one with
// an unknown verdict) an <error>, both with the check's reason as message
// and its summary and metrics as text. Passing checks carry their summary
// and metrics in <system-out>.
func WriteJUnit(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("writing the parity report as JUnit XML: the report is nil")
	}
	n := reportNormalize(r)
	suite := junitSuite{
		Name:  "parity",
		Tests: len(n.Checks),
		Properties: []junitProperty{
			{Name: "schema", Value: n.Schema},
			{Name: "plan", Value: n.Plan},
			{Name: "window.from", Value: n.Window.From.Format(time.RFC3339Nano)},
			{Name: "window.to", Value: n.Window.To.Format(time.RFC3339Nano)},
			{Name: "verdict", Value: string(n.Verdict)},
		},
	}
	for _, c := range n.Checks {
		tc := junitCase{Classname: "parity." + n.Plan, Name: c.Name}
		detail := junitDetail(c)
		problem := &junitProblem{Message: c.Reason, Type: string(c.Verdict), Text: detail}
		if problem.Message == "" {
			problem.Message = c.Summary
		}
		switch reportVerdictRank(c.Verdict) {
		case 0:
			tc.SystemOut = detail
		case 1:
			tc.Failure = problem
			suite.Failures++
		default:
			if problem.Type == "" {
				problem.Type = "missing verdict"
			}
			tc.Error = problem
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{
		Name:     "parity " + n.Plan,
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Errors:   suite.Errors,
		Suites:   []junitSuite{suite},
	}

	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing the parity report of plan %q as JUnit XML: %w", n.Plan, err)
	}
	buf.WriteString("\n")
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the parity report as JUnit XML: %w", err)
	}
	return nil
}

// junitDetail is the plain-text body of a testcase: summary, reason and
// one line per metric.
func junitDetail(c Check) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.Verdict, c.Summary)
	if c.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", c.Reason)
	}
	for _, m := range c.Metrics {
		pass := "pass"
		if !m.Pass {
			pass = "FAIL"
		}
		fmt.Fprintf(&b, "%s: %s %s %s (margin %s, %s)\n", m.Name,
			mdFormatValue(m.Value, m.Unit, false), m.Comparison, mdFormatValue(m.Threshold, m.Unit, false),
			mdFormatValue(m.Margin(), m.Unit, true), pass)
	}
	if len(c.Groups) > 0 {
		var failing []string
		for _, g := range c.Groups {
			if g.Verdict != Pass {
				failing = append(failing, g.Name+" ("+string(g.Verdict)+")")
			}
		}
		fmt.Fprintf(&b, "groups: %s, not passing: %s\n", strconv.Itoa(len(c.Groups)), junitList(failing))
	}
	return b.String()
}

func junitList(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}
