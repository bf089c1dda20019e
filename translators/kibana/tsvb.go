package kibana

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/text"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// tsvbKind is the Kibana type TSVB panels have in the report.
const tsvbKind = "metrics"

// tsvbSettings are the settings of a TSVB panel that apply to every series.
type tsvbSettings struct {
	typ string
	ip  *indexPattern
	// filter is the panel filter, applied to every series.
	filter []ownedPart
	// interval is the panel interval as a Grafana minimum interval.
	interval string
	// lastValue is true when the panel shows the last bucket rather than
	// the whole time range (TSVB's default time_range_mode).
	lastValue bool
	// pivot and pivotRows are a table's row field and row count.
	pivot     string
	pivotRows int
}

// tsvbPanel converts a TSVB (visState type "metrics") visualization: each
// visible series becomes Loki metric queries, and the panel type picks the
// Grafana panel.
func (p *panelCtx) tsvbPanel(vis map[string]any) convertedPanel {
	params := obj(vis, "params")
	typ := orDefault(str(params, "type"), "timeseries")
	switch typ {
	case "markdown":
		return p.tsvbMarkdown(params)
	case "timeseries", "metric", "gauge", "top_n", "table":
	default:
		return p.unsupported(tsvbKind, "tsvb_type", fmt.Sprintf("the TSVB %s panel type has no conversion", typ))
	}
	ts, fatal := p.tsvbSettings(params, typ)
	if fatal != "" {
		return p.unsupported(tsvbKind, "tsvb_table_pivot", fatal)
	}

	var targets []cog.Builder[variants.Dataquery]
	collect := func() { targets = p.tsvbTargets(ts, arr(params, "series")) }
	if truthy(params["ignore_global_filter"]) {
		p.withoutGlobalFilters("the TSVB panel", collect)
	} else {
		collect()
	}
	p.dedupeOriginals()
	if len(targets) == 0 {
		return p.unsupported(tsvbKind, "tsvb_no_series", "no series of the TSVB panel can be expressed in LogQL")
	}
	bp := bucketPlan{timeSeries: typ == "timeseries", panelInterval: ts.interval}
	look := p.tsvbLook(typ, arr(params, "series"))
	return p.build(tsvbKind, p.aggBuilder(look.typ, look.vis(), bp, targets))
}

// tsvbTargets builds the queries of every series, in order.
func (p *panelCtx) tsvbTargets(ts tsvbSettings, series []any) []cog.Builder[variants.Dataquery] {
	var targets []cog.Builder[variants.Dataquery]
	for i, s := range series {
		if m, ok := s.(map[string]any); ok {
			targets = append(targets, p.tsvbSeries(ts, m, i+1)...)
		}
	}
	return targets
}

// tsvbSettings reads the panel's index pattern, filter, interval and time
// range mode. It returns why the panel cannot be converted, if it cannot.
func (p *panelCtx) tsvbSettings(params map[string]any, typ string) (tsvbSettings, string) {
	ts := tsvbSettings{
		typ:       typ,
		interval:  tsvbInterval(str(params, "interval")),
		lastValue: str(params, "time_range_mode") != "entire_time_range",
	}
	ip := p.tsvbIndex(params["index_pattern"], str(params, "index_pattern_ref_name"))
	timeField := str(params, "time_field")
	if ip == nil {
		ip = p.tsvbIndex(params["default_index_pattern"], "")
		timeField = orDefault(timeField, str(params, "default_timefield"))
	}
	ts.ip = withTimeField(ip, timeField)
	if part, ok := parseQueryValue(params["filter"], "panel filter"); ok {
		ts.filter = []ownedPart{{owner: p.ref.obj, part: part}}
	}
	if n := len(arr(params, "annotations")); n > 0 {
		p.reasons.Addf(fidelity.Approximate, "tsvb_annotations",
			"the panel's %d annotation series are not converted; add them as Loki annotation queries on the dashboard", n)
	}
	if typ == "table" {
		ts.pivot = str(params, "pivot_id")
		if ts.pivot == "" {
			return ts, "the TSVB table has no group-by field (pivot_id), so Kibana shows no rows"
		}
		ts.pivotRows = 10
		if n, ok := number(params, "pivot_rows"); ok && n > 0 {
			ts.pivotRows = min(int(n), maxSeries)
		}
	}
	return ts, ""
}

// tsvbIndex resolves a TSVB index pattern setting: a reference name (Kibana
// 7.13+ exports), a title string, or an object with an id or title.
func (p *panelCtx) tsvbIndex(v any, refName string) *indexPattern {
	if refName != "" {
		if r, ok := p.ref.obj.ref(refName); ok {
			return p.c.store.indexPattern(r.ID)
		}
	}
	switch x := v.(type) {
	case string:
		return p.c.store.indexPattern(strings.TrimSpace(x))
	case map[string]any:
		if id := str(x, "id"); id != "" {
			return p.c.store.indexPattern(id)
		}
		return p.c.store.indexPattern(str(x, "title"))
	}
	return nil
}

// tsvbInterval reads a TSVB interval ("", "auto", "1h" or ">=1m") as a
// Grafana minimum interval, where "" means auto.
func tsvbInterval(iv string) string {
	iv = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(iv), ">="))
	return histogramInterval(map[string]any{"interval": iv})
}

// tsvbLook picks how the panel is drawn, in legacy visualization terms. A
// time series panel takes the chart type and stacking of its first visible
// series.
func (p *panelCtx) tsvbLook(typ string, series []any) legacyLook {
	switch typ {
	case "metric":
		return legacyLook{typ: "metric"}
	case "gauge":
		return legacyLook{typ: "gauge"}
	case "top_n":
		return legacyLook{typ: "horizontal_bar"}
	case "table":
		return legacyLook{typ: "table"}
	}
	for _, s := range series {
		m, ok := s.(map[string]any)
		if !ok || truthy(m["hidden"]) {
			continue
		}
		look := legacyLook{typ: "line"}
		if str(m, "chart_type") == "bar" {
			look.typ = "histogram"
		} else if fill, _ := number(m, "fill"); fill > 0 {
			look.typ = "area"
		}
		switch str(m, "stacked") {
		case "stacked", "stacked_within_series":
			look.stacked = true
		case "percent":
			look.stacked = true
			p.reasons.Addf(fidelity.Approximate, "percent_stack",
				"Kibana stacked the series as percentages of their total; the panel stacks their values")
		}
		return look
	}
	return legacyLook{typ: "line"}
}

// tsvbMarkdown converts a TSVB markdown panel to a text panel. Its
// {{ }} variables, filled from the panel's series in Kibana, stay as text.
func (p *panelCtx) tsvbMarkdown(params map[string]any) convertedPanel {
	md := str(params, "markdown")
	if strings.Contains(md, "{{") {
		p.reasons.Addf(fidelity.Approximate, "tsvb_markdown_variables",
			"the markdown shows TSVB variables ({{ }}) computed from the panel's series; the text panel shows them as written, not their values")
	}
	return p.build(tsvbKind, text.NewPanelBuilder().Mode(text.TextModeMarkdown).Content(md))
}
