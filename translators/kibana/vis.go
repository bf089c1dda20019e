package kibana

import (
	"errors"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/text"

	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// visPanel converts a visualization saved object by its visState type.
func (p *panelCtx) visPanel() convertedPanel {
	o := p.ref.obj
	vis, err := embeddedObject(o.Attrs, "visState")
	if err != nil {
		return p.failed("visualization", err)
	}
	if vis == nil {
		return p.failed("visualization", errors.New("the visualization has no visState"))
	}
	typ := str(vis, "type")
	switch typ {
	case "markdown":
		md := str(obj(vis, "params"), "markdown")
		return p.build(typ, text.NewPanelBuilder().Mode(text.TextModeMarkdown).Content(md))
	case "metrics":
		return p.tsvbPanel(vis)
	case "vega":
		return p.vegaPanel(vis)
	case "timelion":
		return p.timelionPanel(vis)
	case "tile_map", "region_map", "maps", "coordinate_map":
		return p.unsupported(typ, "map_visualization", "map visualizations have no Loki equivalent: they need geo aggregations")
	case "line", "area", "histogram", "horizontal_bar", "metric", "gauge", "goal", "pie", "tagcloud", "table", "heatmap":
		return p.aggPanel(typ, vis)
	case "input_control_vis":
		return p.unsupported(typ, "controls", "input controls become dashboard variables")
	}
	return p.unsupported(typ, "visualization_type", fmt.Sprintf("the %s visualization type has no conversion", typ))
}

// agg is one entry of a legacy visualization's aggs list.
type agg struct {
	id, typ, schema string
	params          map[string]any
}

func parseAggs(vis map[string]any) []agg {
	var out []agg
	for _, a := range arr(vis, "aggs") {
		m, ok := a.(map[string]any)
		if !ok {
			continue
		}
		if e, set := m["enabled"].(bool); set && !e {
			continue
		}
		out = append(out, agg{id: str(m, "id"), typ: str(m, "type"), schema: str(m, "schema"), params: obj(m, "params")})
	}
	return out
}

// metricItem is one metric of a panel, ready to become a query.
type metricItem struct {
	id    string
	label string
	spec  logql.MetricSpec
}

// metricItems maps the metric aggregations. Pipeline and other metrics with
// no LogQL form are reported and left out; count is used when none is left.
func (p *panelCtx) metricItems(aggs []agg) []metricItem {
	var out []metricItem
	for _, a := range aggs {
		if a.schema != "metric" && a.schema != "radius" {
			continue
		}
		field := str(a.params, "field")
		label := str(a.params, "customLabel")
		switch a.typ {
		case "count":
			out = append(out, metricItem{a.id, orDefault(label, "Count"), logql.MetricSpec{Agg: logql.AggCount}})
		case "sum", "avg", "min", "max":
			out = append(out, metricItem{a.id, orDefault(label, a.typ+" of "+field), logql.MetricSpec{Agg: logql.Aggregation(a.typ), Field: field}})
		case "median":
			out = append(out, metricItem{a.id, orDefault(label, "Median of "+field), logql.MetricSpec{Agg: logql.AggPercentile, Field: field, Percentile: 50}})
		case "percentiles":
			for _, pct := range percents(a.params) {
				out = append(out, metricItem{
					a.id, fmt.Sprintf("%gth percentile of %s", pct, field),
					logql.MetricSpec{Agg: logql.AggPercentile, Field: field, Percentile: pct},
				})
			}
		case "cardinality":
			out = append(out, metricItem{a.id, orDefault(label, "Unique count of "+field), logql.MetricSpec{Agg: logql.AggCardinality, Field: field}})
		default:
			p.reasons.Addf(fidelity.Approximate, "metric_unsupported",
				"the %s metric has no LogQL form and is left out of the panel", a.typ)
		}
	}
	if len(out) == 0 {
		out = append(out, metricItem{"", "Count", logql.MetricSpec{Agg: logql.AggCount}})
	}
	return out
}

// percents reads a percentiles aggregation's percents, with Kibana's default.
func percents(params map[string]any) []float64 {
	var out []float64
	for _, v := range arr(params, "percents") {
		switch n := v.(type) {
		case float64:
			out = append(out, n)
		default:
			var f float64
			if _, err := fmt.Sscan(fmt.Sprint(n), &f); err == nil {
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 {
		out = []float64{1, 5, 25, 50, 75, 95, 99}
	}
	return out
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// visSource gathers a visualization's query parts and index pattern: its
// own search source and, when it is built on a saved search, the search's.
func (p *panelCtx) visSource() (parts []ownedPart, ip *indexPattern, err error) {
	o := p.ref.obj
	source, err := sourceMeta(o.Attrs)
	if err != nil {
		return nil, nil, err
	}
	own, disabled := searchSourceParts(source, "")
	p.c.report.addDisabled(o, disabled)
	ip = p.c.store.indexOf(o, source)
	if search := p.savedSearch(); search != nil {
		p.c.markUsed(search)
		ssource, serr := sourceMeta(search.Attrs)
		if serr != nil {
			p.reasons.Addf(fidelity.Approximate, "saved_search_unreadable",
				"the saved search %s this visualization uses cannot be read, so its query is not applied: %v", search.ID, serr)
		} else {
			sparts, sdisabled := searchSourceParts(ssource, "saved search ")
			p.c.report.addDisabled(search, sdisabled)
			parts = append(parts, owned(search, sparts)...)
			if ip == nil || (ip.ID == "" && ip.Title == "") {
				ip = p.c.store.indexOf(search, ssource)
			}
		}
	}
	return append(parts, owned(o, own)...), ip, nil
}

func (p *panelCtx) savedSearch() *Object {
	o := p.ref.obj
	if name := str(o.Attrs, "savedSearchRefName"); name != "" {
		if r, ok := o.ref(name); ok {
			return p.c.store.get("search", r.ID)
		}
	}
	if id := str(o.Attrs, "savedSearchId"); id != "" {
		return p.c.store.get("search", id)
	}
	for _, r := range o.References {
		if r.Type == "search" {
			return p.c.store.get("search", r.ID)
		}
	}
	return nil
}

// filterPart is one entry of a filters bucket aggregation.
func filterPart(f map[string]any, i int) (queryPart, string) {
	label := str(f, "label")
	where := fmt.Sprintf("filters bucket %d", i+1)
	in := f["input"]
	if in == nil {
		in = f["query"]
	}
	part, ok := parseQueryValue(in, where)
	if !ok {
		part = queryPart{Where: where, Lang: ast.KQL, Parsed: &ast.Query{Root: ast.MatchAll{}, Language: ast.KQL}}
	}
	if label == "" {
		label = part.Text
	}
	if label == "" {
		label = "*"
	}
	return part, label
}
