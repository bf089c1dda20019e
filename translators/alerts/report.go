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

// Summary holds the batch counts. Every object read is counted once, so
// Objects = Rules.Total() + Failed + Skipped.
type Summary struct {
	// Files is the number of input files, and FailedFiles the number of
	// them that failed as a whole: empty, not JSON, or cut short. Objects
	// are counted in the other files only.
	Files       int `json:"files"`
	FailedFiles int `json:"failed_files"`
	// Objects is the number of objects read from the files, the failed
	// ones included and the export summary line of a saved-object export
	// left out.
	Objects int `json:"objects"`
	// Rules counts the Kibana rules and watches by the fidelity of their
	// conversion; unsupported ones have no Loki rule.
	Rules Counts `json:"rules"`
	// Failed counts objects that could not be read or converted; Skipped
	// counts objects that are not rules (data views, connectors) and
	// repeated copies of a rule.
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// RulesWritten and RuleFiles count what was written, the files of
	// rules that are disabled in the source included. DisabledRulesWritten
	// is the part of RulesWritten in those files.
	RulesWritten         int `json:"rules_written"`
	RuleFiles            int `json:"rule_files"`
	DisabledRulesWritten int `json:"disabled_rules_written"`
}

// Counts counts conversions by fidelity.
type Counts = fidelity.Counts

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
	// Disabled marks a Kibana rule that is disabled or a watch that is
	// deactivated. Its Loki rule, if any, is in a .disabled.yaml file.
	Disabled bool `json:"disabled,omitempty"`
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
	// unread marks a failed object that could not be decoded, or that is
	// neither a Kibana object nor a watch.
	unread bool
	// wholeFile marks the failure of a whole input file.
	wholeFile bool
	err       error
}

// Err returns the error of a failed item, for callers that branch on
// ErrMissingParam, ErrInvalidParam or ErrInvalidUTF8; nil otherwise.
func (it *Item) Err() error { return it.err }

// Failed reports whether any object or any whole file failed.
func (r *Report) Failed() bool { return r.Summary.Failed > 0 || r.Summary.FailedFiles > 0 }

// NothingRead reports whether the batch has no object that could be read as
// a Kibana object or a watch: every file failed, or held only objects that
// are invalid JSON or of another kind.
func (r *Report) NothingRead() bool {
	for _, it := range r.Items {
		if !it.wholeFile && !it.unread {
			return false
		}
	}
	return true
}

// HasUnsupported reports whether any rule is unsupported.
func (r *Report) HasUnsupported() bool { return r.Summary.Rules.Unsupported > 0 }

func (r *Report) addFailed(e *ObjectError, name string) {
	it := &Item{ID: e.ID, Kind: e.Kind, Name: name, Source: e.Origin.String(), Status: StatusFailed, Error: e.Error(), err: e}
	r.Items = append(r.Items, it)
}

// addUnreadable records an object that could not be decoded or classified.
func (r *Report) addUnreadable(e *ObjectError) {
	r.addFailed(e, "")
	r.Items[len(r.Items)-1].unread = true
}

func (r *Report) addFileError(file string, err error) {
	r.Items = append(r.Items, &Item{Source: file, Status: StatusFailed, Error: err.Error(), err: err, wholeFile: true})
}

func (r *Report) addSkipped(o Origin, kind, id, name, code, message string) {
	r.Items = append(r.Items, &Item{
		ID: id, Kind: kind, Name: name, Source: o.String(), Status: StatusSkipped,
		Reasons: fidelity.Reasons{{Code: code, Message: message}},
	})
}

// finish derives the counts, but Files, from the items and sorts every
// item's reasons, so the report is deterministic.
func (r *Report) finish() {
	files := r.Summary.Files
	r.Summary = Summary{Files: files}
	s := &r.Summary
	written := make(map[string]bool)
	for _, it := range r.Items {
		it.Reasons = it.Reasons.Sorted()
		if it.wholeFile {
			s.FailedFiles++
			continue
		}
		s.Objects++
		switch {
		case it.Status == StatusFailed:
			s.Failed++
		case it.Status == StatusSkipped:
			s.Skipped++
		case it.rule:
			level, _ := fidelity.ParseLevel(it.Status)
			s.Rules.Add(level)
			s.countWritten(it, written)
		}
	}
	s.RuleFiles = len(written)
}

func (s *Summary) countWritten(it *Item, files map[string]bool) {
	if it.Output == "" {
		return
	}
	s.RulesWritten++
	if it.Disabled {
		s.DisabledRulesWritten++
	}
	files[it.Output] = true
}
