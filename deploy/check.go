// Package deploy checks that the new stack can take the migration before
// any data moves: that Loki, Tempo and Grafana respond, run supported
// versions, have limits that fit the inventory, the backfill and the
// parallel run, and store and return a canary log line and trace. For each
// limit that would break the migration it gives the override to set.
package deploy

import (
	"fmt"
	"sort"
	"strings"
)

// Status is a check's outcome.
type Status string

// Check outcomes. Warn does not hold the plan; Fail and Inconclusive do.
const (
	Pass         Status = "pass"
	Warn         Status = "warn"
	Fail         Status = "fail"
	Inconclusive Status = "inconclusive"
)

// Check is one deploy check.
type Check struct {
	Target string `json:"target"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Override is the setting that fixes a failed or warned check, in the
	// target's own configuration syntax.
	Override string `json:"override,omitempty"`
}

// Result is every check of one run.
type Result struct {
	Checks []Check `json:"checks"`
}

// Status is the worst status of the checks: inconclusive over fail over
// warn over pass.
func (r Result) Status() Status {
	worst := Pass
	rank := map[Status]int{Pass: 0, Warn: 1, Fail: 2, Inconclusive: 3}
	for _, c := range r.Checks {
		if rank[c.Status] > rank[worst] {
			worst = c.Status
		}
	}
	return worst
}

// Overrides returns the overrides of failed and warned checks, by target.
func (r Result) Overrides() map[string][]string {
	out := map[string][]string{}
	for _, c := range r.Checks {
		if c.Override != "" && (c.Status == Fail || c.Status == Warn) {
			out[c.Target] = append(out[c.Target], c.Override)
		}
	}
	for _, list := range out {
		sort.Strings(list)
	}
	return out
}

// Summary is one line per failed, warned or inconclusive check.
func (r Result) Summary() string {
	var lines []string
	for _, c := range r.Checks {
		if c.Status == Pass {
			continue
		}
		line := fmt.Sprintf("%s %s %s: %s", c.Target, c.Name, c.Status, c.Detail)
		if c.Override != "" {
			line += " Set " + c.Override + "."
			if !strings.HasSuffix(c.Detail, ".") {
				line = fmt.Sprintf("%s %s %s: %s. Set %s.", c.Target, c.Name, c.Status, c.Detail, c.Override)
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (r *Result) add(target, name string, status Status, override, format string, args ...any) {
	r.Checks = append(r.Checks, Check{
		Target: target, Name: name, Status: status,
		Detail: fmt.Sprintf(format, args...), Override: override,
	})
}
