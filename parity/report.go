package parity

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// SchemaVersion names the JSON layout that WriteJSON produces.
const SchemaVersion = "parity/v1"

// Verdict is the outcome of one check or of a whole run.
type Verdict string

// The verdicts, from best to worst: PASS < FAIL < INCONCLUSIVE. A check
// that could not measure (a backend not configured, an error, a timeout)
// is INCONCLUSIVE, never PASS.
const (
	Pass         Verdict = "PASS"
	Fail         Verdict = "FAIL"
	Inconclusive Verdict = "INCONCLUSIVE"
)

// Window is the time range a run compares, From inclusive, To exclusive.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Report is one parity run. Verdict is the worst of the checks:
// INCONCLUSIVE > FAIL > PASS (Overall computes it).
type Report struct {
	Schema  string  `json:"schema"`
	Plan    string  `json:"plan"`
	Window  Window  `json:"window"`
	Verdict Verdict `json:"verdict"`
	Checks  []Check `json:"checks"`
}

// Check is one of "log_completeness", "trace_completeness",
// "query_results", "latency" and "storage".
type Check struct {
	Name      string    `json:"name"`
	Verdict   Verdict   `json:"verdict"`
	Summary   string    `json:"summary"`             // one line
	Reason    string    `json:"reason,omitempty"`    // why FAIL or INCONCLUSIVE, and what to do
	Metrics   []Metric  `json:"metrics"`             // thresholds and margins for the summary table
	Groups    []Group   `json:"groups,omitempty"`    // per-mapping, per-service or per-query detail
	Buckets   []Bucket  `json:"buckets,omitempty"`   // completeness per time bucket (chart)
	Latencies []Latency `json:"latencies,omitempty"` // per query (chart)
}

// Metric is one measured value against its threshold. In JSON it also
// carries its margin, and values that are not finite numbers are null.
type Metric struct {
	Name       string  `json:"name"`
	Value      float64 `json:"value"`
	Threshold  float64 `json:"threshold"`
	Comparison string  `json:"comparison"` // ">=" or "<="
	Unit       string  `json:"unit"`       // "ratio", "ms", "bytes" or "count"
	Pass       bool    `json:"pass"`
}

// Margin is how far Value is on the passing side of Threshold: Value -
// Threshold for ">=", Threshold - Value for "<=". A negative margin
// means the metric misses its threshold by that much.
func (m Metric) Margin() float64 {
	if m.Comparison == "<=" {
		return m.Threshold - m.Value
	}
	return m.Value - m.Threshold
}

// Group is the detail of one mapping, service or query inside a check.
type Group struct {
	Name     string     `json:"name"`
	Verdict  Verdict    `json:"verdict"`
	Columns  []string   `json:"columns,omitempty"`
	Rows     [][]string `json:"rows,omitempty"`
	Notes    []string   `json:"notes,omitempty"`
	Examples []string   `json:"examples,omitempty"` // e.g. missing es_ids or trace ids
}

// Bucket is the document or span count of one group in one time bucket.
// Old counts Elasticsearch or Jaeger, New counts Loki or Tempo.
type Bucket struct {
	Group string    `json:"group"`
	Start time.Time `json:"start"`
	Old   int64     `json:"old"`
	New   int64     `json:"new"`
}

// Latency is the measured duration of one query on one stack. In JSON the
// percentiles are milliseconds (p50_ms, p95_ms, p99_ms).
type Latency struct {
	Query string        `json:"query"`
	Stack string        `json:"stack"` // "old" or "new"
	Cold  bool          `json:"cold"`
	P50   time.Duration `json:"p50_ms"`
	P95   time.Duration `json:"p95_ms"`
	P99   time.Duration `json:"p99_ms"`
	Runs  int           `json:"runs"`
}

// reportVerdictRank orders verdicts from best to worst; an unknown verdict
// ranks with INCONCLUSIVE.
func reportVerdictRank(v Verdict) int {
	switch v {
	case Pass:
		return 0
	case Fail:
		return 1
	default:
		return 2
	}
}

// Overall returns the worst verdict of the checks: INCONCLUSIVE if any
// check is INCONCLUSIVE (or carries an unknown verdict), else FAIL if any
// check failed, else PASS. A report without checks is INCONCLUSIVE.
func (r *Report) Overall() Verdict {
	if r == nil || len(r.Checks) == 0 {
		return Inconclusive
	}
	worst := Pass
	for _, c := range r.Checks {
		if reportVerdictRank(c.Verdict) > reportVerdictRank(worst) {
			worst = c.Verdict
			if reportVerdictRank(worst) == 2 {
				return Inconclusive
			}
		}
	}
	return worst
}

// reportCheckOrder is the order in which writers list the known checks;
// other names follow, sorted.
var reportCheckOrder = map[string]int{
	"log_completeness":   0,
	"trace_completeness": 1,
	"query_results":      2,
	"latency":            3,
	"storage":            4,
}

func reportCheckRank(name string) int {
	if i, ok := reportCheckOrder[name]; ok {
		return i
	}
	return len(reportCheckOrder)
}

// reportStackRank orders latency stacks: "old" before "new", then others.
func reportStackRank(stack string) int {
	switch stack {
	case "old":
		return 0
	case "new":
		return 1
	default:
		return 2
	}
}

// reportNormalize returns a copy of r in the form every writer prints.
// The copy has schema and verdict filled in when empty and times in UTC.
// Checks come in their fixed order and groups sorted by name, with rows
// and examples sorted. Buckets are sorted by start and group, latencies by
// query, warm before cold and old before new. Metrics and notes keep the
// order the check gave them. r is not changed.
func reportNormalize(r *Report) *Report {
	out := *r
	if out.Schema == "" {
		out.Schema = SchemaVersion
	}
	if out.Verdict == "" {
		out.Verdict = r.Overall()
	}
	out.Window = Window{From: out.Window.From.UTC(), To: out.Window.To.UTC()}
	out.Checks = make([]Check, len(r.Checks))
	for i, c := range r.Checks {
		out.Checks[i] = reportNormalizeCheck(c)
	}
	slices.SortStableFunc(out.Checks, func(a, b Check) int {
		if d := cmp.Compare(reportCheckRank(a.Name), reportCheckRank(b.Name)); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return &out
}

func reportNormalizeCheck(c Check) Check {
	c.Metrics = slices.Clone(c.Metrics)
	c.Groups = slices.Clone(c.Groups)
	for i := range c.Groups {
		g := &c.Groups[i]
		g.Columns = slices.Clone(g.Columns)
		g.Notes = slices.Clone(g.Notes)
		g.Rows = slices.Clone(g.Rows)
		for j := range g.Rows {
			g.Rows[j] = slices.Clone(g.Rows[j])
		}
		slices.SortStableFunc(g.Rows, slices.Compare)
		g.Examples = slices.Clone(g.Examples)
		slices.Sort(g.Examples)
	}
	slices.SortStableFunc(c.Groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	c.Buckets = slices.Clone(c.Buckets)
	for i := range c.Buckets {
		c.Buckets[i].Start = c.Buckets[i].Start.UTC()
	}
	slices.SortStableFunc(c.Buckets, func(a, b Bucket) int {
		if d := a.Start.Compare(b.Start); d != 0 {
			return d
		}
		return strings.Compare(a.Group, b.Group)
	})
	c.Latencies = slices.Clone(c.Latencies)
	slices.SortStableFunc(c.Latencies, func(a, b Latency) int {
		if d := strings.Compare(a.Query, b.Query); d != 0 {
			return d
		}
		if a.Cold != b.Cold {
			if a.Cold {
				return 1
			}
			return -1
		}
		if d := cmp.Compare(reportStackRank(a.Stack), reportStackRank(b.Stack)); d != 0 {
			return d
		}
		return strings.Compare(a.Stack, b.Stack)
	})
	return c
}
