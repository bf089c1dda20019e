package kibana

import (
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// Helpers shared by the TSVB and Lens converters.

// truthy reads the loose booleans of TSVB and Lens state: true, 1, "1" or
// "true".
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x == "1" || x == "true"
	}
	return false
}

// withTimeField returns the pattern with another time field, as TSVB panels
// and ad hoc data views name their own. The cached pattern is not changed.
func withTimeField(ip *indexPattern, field string) *indexPattern {
	if ip == nil || field == "" || field == ip.TimeField {
		return ip
	}
	cp := *ip
	cp.TimeField = field
	return &cp
}

// withoutGlobalFilters runs fn with the dashboard's query, filters and
// controls left out, for the TSVB series and Lens layers set to ignore
// them.
func (p *panelCtx) withoutGlobalFilters(what string, fn func()) {
	parts, controls := p.dashParts, p.controls
	if len(parts) > 0 || len(controls) > 0 {
		p.reasons.Addf(fidelity.Exact, "global_filters_ignored",
			"%s ignores the dashboard's query, filters and controls, as in Kibana", what)
	}
	p.dashParts, p.controls = nil, nil
	defer func() { p.dashParts, p.controls = parts, controls }()
	fn()
}

// dedupeOriginals keeps the first of each repeated original query: a panel
// whose series share a filter names it once in its description.
func (p *panelCtx) dedupeOriginals() {
	seen := make(map[original]bool, len(p.originals))
	out := p.originals[:0]
	for _, o := range p.originals {
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	p.originals = out
}

// legacyLook is the part of a legacy visState that aggBuilder reads, so
// TSVB and Lens panels can be drawn the same way.
type legacyLook struct {
	typ     string
	stacked bool
	donut   bool
}

// vis returns the visState aggBuilder reads for the look.
func (l legacyLook) vis() map[string]any {
	params := map[string]any{"isDonut": l.donut}
	if l.stacked {
		params["mode"] = "stacked"
	}
	return map[string]any{"type": l.typ, "params": params}
}
