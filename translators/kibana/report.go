package kibana

import (
	"fmt"
	"strings"

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

	byKey map[string]*Item
	// counted remembers which (object, query location) pairs are recorded.
	counted map[string]bool
}

// Summary holds the batch counts.
type Summary struct {
	Files          int `json:"files"`
	Objects        int `json:"objects"`
	ObjectsFailed  int `json:"objects_failed"`
	ObjectsSkipped int `json:"objects_skipped"`
	// Dashboards is the number of dashboards written: one per source
	// dashboard and one per orphan saved search or visualization.
	Dashboards       int    `json:"dashboards"`
	SourceDashboards int    `json:"source_dashboards"`
	OrphanDashboards int    `json:"orphan_dashboards"`
	Panels           Counts `json:"panels"`
	Queries          Counts `json:"queries"`
	// DisabledFilters counts filter pills skipped because they were
	// disabled in Kibana.
	DisabledFilters int `json:"disabled_filters_skipped"`
}

// Counts counts conversions by fidelity.
type Counts = fidelity.Counts

// Item reports one source object.
type Item struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title"`
	// Source is the file and line the object was read from.
	Source string `json:"source"`
	// Output is the dashboard file the object went into; UsedIn lists
	// every one when it went into several.
	Output string   `json:"output,omitempty"`
	UsedIn []string `json:"used_in,omitempty"`
	// Status is exact, approximate or unsupported for converted objects,
	// failed or skipped otherwise.
	Status  string           `json:"status"`
	Reasons fidelity.Reasons `json:"reasons,omitempty"`
	Panels  []PanelReport    `json:"panels,omitempty"`
	Queries []QueryRecord    `json:"queries,omitempty"`
	Error   string           `json:"error,omitempty"`

	key      string
	level    fidelity.Level
	set      bool
	disabled int
}

// PanelReport describes one panel of a generated dashboard.
type PanelReport struct {
	Title string `json:"title"`
	// Source is the key (type/id) of the object the panel came from.
	Source      string           `json:"source"`
	KibanaType  string           `json:"kibana_type"`
	GrafanaType string           `json:"grafana_type"`
	Fidelity    fidelity.Level   `json:"fidelity"`
	Reasons     fidelity.Reasons `json:"reasons,omitempty"`
}

func newReport() *Report {
	return &Report{byKey: make(map[string]*Item), counted: make(map[string]bool)}
}

func (r *Report) item(o *Object) *Item {
	if it, ok := r.byKey[o.Key()]; ok {
		return it
	}
	it := &Item{ID: o.ID, Type: o.Type, Title: o.Title(), Source: o.Origin.String(), key: o.Key()}
	r.byKey[o.Key()] = it
	r.Items = append(r.Items, it)
	return it
}

// grade records a use of an object at a fidelity; the item keeps the worst.
func (r *Report) grade(o *Object, l fidelity.Level, reasons fidelity.Reasons, output string) *Item {
	it := r.item(o)
	if it.Status == StatusFailed {
		return it
	}
	if !it.set || l > it.level {
		it.level, it.set = l, true
	}
	it.Status = it.level.String()
	it.Reasons.Merge(reasons)
	if output != "" {
		if it.Output == "" {
			it.Output = output
		}
		if !contains(it.UsedIn, output) {
			it.UsedIn = append(it.UsedIn, output)
		}
	}
	return it
}

// addQuery records a translated query of an object once, however many
// panels use it.
func (r *Report) addQuery(o *Object, q QueryRecord) {
	key := o.Key() + "\x00" + q.Where
	if r.counted[key] {
		return
	}
	r.counted[key] = true
	it := r.item(o)
	it.Queries = append(it.Queries, q)
}

func (r *Report) addPanel(dash *Item, p PanelReport) {
	dash.Panels = append(dash.Panels, p)
}

func (r *Report) addFailed(o *Object, err error) {
	it := r.item(o)
	it.Status = StatusFailed
	it.Error = o.Origin.String() + ": " + o.Type + " " + o.ID + ": " + err.Error()
}

func (r *Report) addSkipped(o *Object, why string) {
	it := r.item(o)
	if it.Status != "" {
		return
	}
	it.Status = StatusSkipped
	it.Reasons.Add(fidelity.Reason{Code: "not_converted", Message: why})
}

func (r *Report) addObjectError(e *ObjectError) {
	r.Items = append(r.Items, &Item{ID: e.ID, Type: e.Type, Source: e.Origin.String(), Status: StatusFailed, Error: e.Error()})
}

func (r *Report) addFileError(file string, err error) {
	r.Items = append(r.Items, &Item{Source: file, Status: StatusFailed, Error: err.Error()})
}

// addDisabled records an object's disabled filter pills.
func (r *Report) addDisabled(o *Object, n int) {
	if n > 0 {
		r.item(o).disabled = n
	}
}

// merge adds the items of a report built by one worker. Items of the same
// object are combined: the worst grade, every reason, output and panel, and
// each query once. Merging in a fixed order keeps the report deterministic.
func (r *Report) merge(part *Report) {
	for _, src := range part.Items {
		if src.key == "" {
			r.Items = append(r.Items, src)
			continue
		}
		dst, ok := r.byKey[src.key]
		if !ok {
			r.byKey[src.key] = src
			r.Items = append(r.Items, src)
			continue
		}
		dst.combine(src)
	}
}

func (dst *Item) combine(src *Item) {
	switch {
	case src.Status == StatusFailed:
		dst.Status = StatusFailed
		dst.Error = joinErrors(dst.Error, src.Error)
	case dst.Status == StatusFailed:
	case src.set && (!dst.set || src.level > dst.level):
		dst.level, dst.set, dst.Status = src.level, true, src.level.String()
	case dst.Status == "":
		dst.Status = src.Status
	}
	if src.Error != "" && src.Status != StatusFailed {
		dst.Error = joinErrors(dst.Error, src.Error)
	}
	dst.Reasons.Merge(src.Reasons)
	if dst.Output == "" {
		dst.Output = src.Output
	}
	for _, u := range src.UsedIn {
		if !contains(dst.UsedIn, u) {
			dst.UsedIn = append(dst.UsedIn, u)
		}
	}
	dst.Panels = append(dst.Panels, src.Panels...)
	for _, q := range src.Queries {
		if !hasQuery(dst.Queries, q.Where) {
			dst.Queries = append(dst.Queries, q)
		}
	}
	dst.disabled = max(dst.disabled, src.disabled)
}

func hasQuery(qs []QueryRecord, where string) bool {
	for _, q := range qs {
		if q.Where == where {
			return true
		}
	}
	return false
}

func joinErrors(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || strings.Contains(a, b):
		return a
	}
	return a + "; " + b
}

// finish derives the counts from the items and sorts reasons, so the
// report is deterministic.
func (r *Report) finish() {
	sum := &r.Summary
	sum.Panels, sum.Queries = Counts{}, Counts{}
	sum.ObjectsFailed, sum.ObjectsSkipped, sum.DisabledFilters = 0, 0, 0
	for _, it := range r.Items {
		it.Reasons = it.Reasons.Sorted()
		for _, p := range it.Panels {
			sum.Panels.Add(p.Fidelity)
		}
		for _, q := range it.Queries {
			sum.Queries.Add(q.Fidelity)
		}
		sum.DisabledFilters += it.disabled
		switch it.Status {
		case StatusFailed:
			sum.ObjectsFailed++
		case StatusSkipped:
			sum.ObjectsSkipped++
		}
	}
}

// Failed reports whether any object failed.
func (r *Report) Failed() bool { return r.Summary.ObjectsFailed > 0 }

// HasUnsupported reports whether any item or query is unsupported.
func (r *Report) HasUnsupported() bool {
	if r.Summary.Panels.Unsupported > 0 || r.Summary.Queries.Unsupported > 0 {
		return true
	}
	for _, it := range r.Items {
		if it.Status == fidelity.Unsupported.String() {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// addQueryError sets the item's error for a query that does not parse, so
// the report names the file, the object and the position in the query.
func (r *Report) addQueryError(o *Object, p queryPart) {
	if p.Err == nil || o == nil {
		return
	}
	it := r.item(o)
	msg := fmt.Sprintf("%s: %s %s: %s: %v", o.Origin, o.Type, o.ID, p.Where, p.Err)
	if it.Error == "" {
		it.Error = msg
	} else if !strings.Contains(it.Error, msg) {
		it.Error += "; " + msg
	}
}

// addDuplicate records a repeated copy of an object that was skipped.
func (r *Report) addDuplicate(dup, first *Object) {
	r.Items = append(r.Items, &Item{
		ID: dup.ID, Type: dup.Type, Title: dup.Title(), Source: dup.Origin.String(),
		Status: StatusSkipped, Reasons: fidelity.Reasons{{
			Code:    "duplicate",
			Message: "an identical copy of the object read from " + first.Origin.String() + "; converted once",
		}},
	})
}
