package alerts

import (
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Item statuses besides the fidelity levels.
const (
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Report is the batch report: counts, and one item per source object.
type Report struct {
	Summary Summary `json:"summary"`
	Items   []*Item `json:"items"`
}

// Summary holds the batch counts.
type Summary struct {
	// Files is the number of input files; Objects the number of objects
	// read from them, failed ones excluded.
	Files   int `json:"files"`
	Objects int `json:"objects"`
	// Rules counts the Kibana rules and watches by the fidelity of their
	// conversion; unsupported ones have no Loki rule.
	Rules Counts `json:"rules"`
	// Failed counts objects that could not be read or converted; Skipped
	// counts objects that are not rules (data views, connectors) and
	// repeated copies of a rule.
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// RulesWritten and RuleFiles count what was written.
	RulesWritten int `json:"rules_written"`
	RuleFiles    int `json:"rule_files"`
}

// Counts counts conversions by fidelity.
type Counts struct {
	Exact       int `json:"exact"`
	Approximate int `json:"approximate"`
	Unsupported int `json:"unsupported"`
}

// Total returns the sum of the counts.
func (c Counts) Total() int { return c.Exact + c.Approximate + c.Unsupported }

func (c *Counts) add(l fidelity.Level) {
	switch l {
	case fidelity.Exact:
		c.Exact++
	case fidelity.Approximate:
		c.Approximate++
	default:
		c.Unsupported++
	}
}

// Item reports one source object.
type Item struct {
	ID string `json:"id"`
	// Kind is the Kibana rule type id, "watch", "detection-rule", or the
	// saved-object type of an object that is not a rule.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Source is the file and line the object was read from.
	Source string `json:"source"`
	// Output is the rule file and Group the rule group the rule went into.
	Output string `json:"output,omitempty"`
	Group  string `json:"group,omitempty"`
	// Status is exact, approximate or unsupported for rules, failed or
	// skipped otherwise.
	Status string `json:"status"`
	// Original is the source query; Expr the LogQL rule expression.
	Original string           `json:"original,omitempty"`
	Expr     string           `json:"expr,omitempty"`
	Reasons  fidelity.Reasons `json:"reasons"`
	// Actions lists the notifications the source sent, which Alertmanager
	// routes must take over.
	Actions string `json:"actions,omitempty"`
	Error   string `json:"error,omitempty"`

	// rule marks an item that is a rule or a watch.
	rule bool
	err  error
}

// Err returns the error of a failed item, for callers that branch on
// ErrMissingParam, ErrInvalidParam or ErrInvalidUTF8; nil otherwise.
func (it *Item) Err() error { return it.err }

// Failed reports whether any object failed.
func (r *Report) Failed() bool { return r.Summary.Failed > 0 }

// HasUnsupported reports whether any rule is unsupported.
func (r *Report) HasUnsupported() bool { return r.Summary.Rules.Unsupported > 0 }

func (r *Report) addFailed(e *ObjectError, name string) {
	it := &Item{ID: e.ID, Kind: e.Kind, Name: name, Source: e.Origin.String(), Status: StatusFailed, Error: e.Error(), err: e}
	r.Items = append(r.Items, it)
}

func (r *Report) addFileError(file string, err error) {
	r.Items = append(r.Items, &Item{Source: file, Status: StatusFailed, Error: err.Error(), err: err})
}

func (r *Report) addSkipped(o Origin, kind, id, name, code, message string) {
	r.Items = append(r.Items, &Item{
		ID: id, Kind: kind, Name: name, Source: o.String(), Status: StatusSkipped,
		Reasons: fidelity.Reasons{{Code: code, Message: message}},
	})
}

// finish derives the counts from the items and sorts every item's
// reasons, so the report is deterministic.
func (r *Report) finish() {
	s := &r.Summary
	s.Rules, s.Failed, s.Skipped, s.RulesWritten = Counts{}, 0, 0, 0
	files := make(map[string]bool)
	for _, it := range r.Items {
		it.Reasons = it.Reasons.Sorted()
		switch it.Status {
		case StatusFailed:
			s.Failed++
			continue
		case StatusSkipped:
			s.Skipped++
			continue
		}
		if !it.rule {
			continue
		}
		level, _ := fidelity.ParseLevel(it.Status)
		s.Rules.add(level)
		if it.Output != "" {
			s.RulesWritten++
			files[it.Output] = true
		}
	}
	s.RuleFiles = len(files)
}
