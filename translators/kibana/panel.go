package kibana

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/loki"
	"github.com/grafana/grafana-foundation-sdk/go/text"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// gridBox is a panel's place on Kibana's grid.
type gridBox struct {
	x, y, w, h float64
	// legacy is Kibana 5's 12-column grid with 100-pixel rows; otherwise
	// the 48-column grid with 20-pixel rows of Kibana 6.3 and later.
	legacy bool
}

// grafana maps the box to Grafana's 24-column grid of 30-pixel rows. Edges
// are scaled, not sizes, so panels that touched still touch.
func (g gridBox) grafana() dashboard.GridPos {
	xScale, yScale := 0.5, 20.0/30.0
	if g.legacy {
		xScale, yScale = 2, 100.0/30.0
	}
	x0, x1 := math.Round(g.x*xScale), math.Round((g.x+g.w)*xScale)
	y0, y1 := math.Round(g.y*yScale), math.Round((g.y+g.h)*yScale)
	w, h := max(x1-x0, 1), max(y1-y0, 2)
	x0 = min(x0, 23)
	w = min(w, 24-x0)
	return dashboard.GridPos{X: uint32(x0), Y: uint32(y0), W: uint32(w), H: uint32(h)}
}

// panelRef is a dashboard panel entry with its object resolved.
type panelRef struct {
	obj *Object
	// missing explains why obj is nil.
	missing string
	// title overrides the object's title, as the dashboard set it.
	title string
	grid  gridBox
	index int
}

// resolvePanel finds a panel entry's object: by reference name (Kibana 7+),
// by inline id and type (Kibana 5 and 6), or embedded by value (Kibana 8).
func (c *converter) resolvePanel(dash *Object, e any, index int) panelRef {
	entry, _ := e.(map[string]any)
	ref := panelRef{index: index, grid: gridOf(entry, index)}
	if entry == nil {
		ref.missing = fmt.Sprintf("panel %d of the dashboard is a JSON %s, not an object", index+1, jsonKind(e))
		return ref
	}
	ec := obj(entry, "embeddableConfig")
	ref.title = str(entry, "title")
	if t := str(ec, "title"); t != "" {
		ref.title = t
	}

	if name := str(entry, "panelRefName"); name != "" {
		r, ok := dash.ref(name)
		if !ok {
			// Kibana 8.x names panel references "<panelIndex>:<panelRefName>".
			r, ok = dash.ref(str(entry, "panelIndex") + ":" + name)
		}
		if !ok {
			ref.missing = fmt.Sprintf("the dashboard has no reference named %q", name)
			return ref
		}
		if ref.obj = c.store.get(r.Type, r.ID); ref.obj == nil {
			ref.missing = fmt.Sprintf("the %s %s is not in the export; export it with the dashboard", r.Type, r.ID)
		}
		return ref
	}
	if id := str(entry, "id"); id != "" {
		typ := str(entry, "type")
		if typ == "" {
			typ = "visualization"
		}
		if ref.obj = c.store.get(typ, id); ref.obj == nil {
			ref.missing = fmt.Sprintf("the %s %s is not in the export; export it with the dashboard", typ, id)
		}
		return ref
	}
	if o := byValue(dash, entry, ec); o != nil {
		ref.obj = o
		return ref
	}
	ref.missing = fmt.Sprintf("panel %d names no saved object and embeds none", index+1)
	return ref
}

// byValue builds an object for a panel embedded in the dashboard: Lens and
// maps keep their attributes under embeddableConfig.attributes, and
// visualizations their state under embeddableConfig.savedVis.
func byValue(dash *Object, entry, ec map[string]any) *Object {
	panelID := str(entry, "panelIndex")
	if panelID == "" {
		panelID = str(entry, "id")
	}
	id := dash.ID + "/panel-" + panelID
	if attrs := obj(ec, "attributes"); attrs != nil {
		typ := str(entry, "type")
		if t := str(attrs, "type"); t != "" {
			typ = t
		}
		o := &Object{ID: id, Type: typ, Attrs: attrs, Origin: dash.Origin}
		for _, r := range arr(attrs, "references") {
			if m, ok := r.(map[string]any); ok {
				o.References = append(o.References, Reference{Name: str(m, "name"), Type: str(m, "type"), ID: str(m, "id")})
			}
		}
		if len(o.References) == 0 {
			o.References = dash.References
		}
		return o
	}
	if sv := obj(ec, "savedVis"); sv != nil {
		data := obj(sv, "data")
		vis := map[string]any{"type": str(sv, "type"), "title": str(sv, "title"), "params": obj(sv, "params"), "aggs": arr(data, "aggs")}
		attrs := map[string]any{
			"title":                 str(sv, "title"),
			"description":           str(sv, "description"),
			"visState":              vis,
			"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": obj(data, "searchSource")},
		}
		return &Object{ID: id, Type: "visualization", Attrs: attrs, Origin: dash.Origin, References: dash.References}
	}
	return nil
}

func gridOf(entry map[string]any, index int) gridBox {
	if g := obj(entry, "gridData"); g != nil {
		x, _ := number(g, "x")
		y, _ := number(g, "y")
		w, okW := number(g, "w")
		h, okH := number(g, "h")
		if okW && okH {
			return gridBox{x: x, y: y, w: w, h: h}
		}
	}
	col, okC := number(entry, "col")
	row, okR := number(entry, "row")
	sx, _ := number(entry, "size_x")
	sy, _ := number(entry, "size_y")
	if okC && okR {
		return gridBox{x: col - 1, y: row - 1, w: max(sx, 1), h: max(sy, 1), legacy: true}
	}
	// No layout: stack full-width panels.
	return gridBox{x: 0, y: float64(index) * 15, w: 48, h: 15}
}

// original is a source query kept in a panel's description.
type original struct{ where, text string }

// panelCtx carries one panel's conversion.
type panelCtx struct {
	c         *converter
	dash      *Object
	dashParts []queryPart
	controls  []controlFilter
	ref       panelRef
	reasons   fidelity.Reasons
	originals []original
	refIDs    int
}

// convertedPanel is a converter's result. panel is nil when the object
// adds no panel of its own.
type convertedPanel struct {
	panel      *dashboard.Panel
	kibanaType string
}

func (p *panelCtx) title() string {
	if p.ref.title != "" {
		return p.ref.title
	}
	if p.ref.obj != nil && p.ref.obj.Title() != "" {
		return p.ref.obj.Title()
	}
	return "Panel " + strconv.Itoa(p.ref.index+1)
}

func (p *panelCtx) description() string {
	if p.ref.obj == nil {
		return ""
	}
	return str(p.ref.obj.Attrs, "description")
}

// convert dispatches on the object type.
func (p *panelCtx) convert() convertedPanel {
	o := p.ref.obj
	if o == nil {
		return p.unsupported("missing", "missing_object", p.ref.missing)
	}
	switch o.Type {
	case "search":
		return p.searchPanel()
	case "visualization":
		return p.visPanel()
	case "lens":
		return p.lensPanel()
	case "map":
		return p.unsupported("map", "maps", "Elastic Maps have no Loki equivalent")
	}
	return p.unsupported(o.Type, "panel_type", fmt.Sprintf("Kibana %s panels have no Grafana equivalent", o.Type))
}

// unsupported returns a text panel that names the original and why it was
// not converted. The panel counts as unsupported.
func (p *panelCtx) unsupported(kibanaType, code, why string) convertedPanel {
	return p.unsupportedWith(kibanaType, code, why, "")
}

// unsupportedWith is unsupported with more Markdown for the text panel.
func (p *panelCtx) unsupportedWith(kibanaType, code, why, more string) convertedPanel {
	p.reasons.Add(fidelity.Reason{Code: code, Message: why, Level: fidelity.Unsupported})
	var b strings.Builder
	name := "panel"
	if p.ref.obj != nil {
		name = fmt.Sprintf("%s %q (%s)", p.ref.obj.Type, p.title(), p.ref.obj.ID)
	}
	fmt.Fprintf(&b, "**Not converted:** Kibana %s.\n\n%s\n", name, why)
	b.WriteString(more)
	for _, o := range p.originals {
		fence := codeFence(o.text)
		fmt.Fprintf(&b, "\nOriginal %s:\n\n%s\n%s\n%s\n", o.where, fence, o.text, fence)
	}
	return p.build(kibanaType, text.NewPanelBuilder().Content(b.String()).Mode(text.TextModeMarkdown))
}

// failed reports an object that cannot be read and shows it as unsupported.
func (p *panelCtx) failed(kibanaType string, err error) convertedPanel {
	p.c.report.addFailed(p.ref.obj, err)
	return p.unsupported(kibanaType, "object_unreadable", fmt.Sprintf("%s %s could not be read: %v", p.ref.obj.Type, p.ref.obj.ID, err))
}

// build finishes a panel builder.
func (p *panelCtx) build(kibanaType string, b cog.Builder[dashboard.Panel]) convertedPanel {
	panel, err := b.Build()
	if err != nil {
		p.reasons.Addf(fidelity.Unsupported, "panel_build", "building the Grafana panel failed: %v", err)
		fallback, _ := text.NewPanelBuilder().Content("The converted panel could not be built: " + err.Error()).Build()
		return convertedPanel{panel: &fallback, kibanaType: kibanaType}
	}
	return convertedPanel{panel: &panel, kibanaType: kibanaType}
}

// ownedPart is a query part with the object that holds it.
type ownedPart struct {
	owner *Object
	part  queryPart
}

// logQuery combines the dashboard's query and filters with the panel's own
// parts and renders them for one schema. It records every part in the
// report. It returns nil when the combination cannot be rendered.
func (p *panelCtx) logQuery(schema *logql.Schema, own []ownedPart) *logql.LogQuery {
	var parts []queryPart
	for _, dp := range p.dashParts {
		p.c.report.addQuery(p.dash, record(dp, schema))
		p.c.report.addQueryError(p.dash, dp)
		parts = append(parts, dp)
		p.originals = append(p.originals, original{where: dp.Where, text: dp.Text})
	}
	for _, op := range own {
		if !op.part.bucket {
			p.c.report.addQuery(op.owner, record(op.part, schema))
			p.c.report.addQueryError(op.owner, op.part)
		}
		parts = append(parts, op.part)
		p.originals = append(p.originals, original{where: op.part.Where, text: op.part.Text})
	}
	res := combine(parts, schema)
	p.reasons.Merge(res.Reasons)
	if res.Range != nil {
		p.reasons.Addf(fidelity.Approximate, "panel_time_range",
			"the query limits time (%s to %s); Grafana panels follow the dashboard time, so set it there", res.Range.Start, res.Range.End)
	}
	if res.Log == nil {
		return nil
	}
	q := res.Log
	for _, cf := range p.controls {
		if err := schema.VariableFilter(q, cf.field, cf.variable); err != nil {
			p.reasons.Addf(fidelity.Approximate, "control_not_applied",
				"the dashboard control on %s is not applied to this panel: %v", cf.field, err)
		}
	}
	return q
}

// schemaFor is converter.schemaFor with its reasons kept on the panel.
func (p *panelCtx) schemaFor(ip *indexPattern) *logql.Schema {
	s, reasons := p.c.schemaFor(ip)
	p.reasons.Merge(reasons)
	return s
}

// lokiRef is the data source reference of every generated panel.
func (c *converter) lokiRef() common.DataSourceRef {
	typ, uid := "loki", c.opts.LokiUID
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

// target builds a Loki query. instant asks for one value per series, as
// stat, pie and table panels show.
func (p *panelCtx) target(expr, legend string, instant bool) cog.Builder[variants.Dataquery] {
	p.refIDs++
	b := loki.NewDataqueryBuilder().
		Expr(expr).
		RefId(refID(p.refIDs)).
		Datasource(p.c.lokiRef())
	if legend != "" {
		b.LegendFormat(legend)
	}
	if instant {
		b.QueryType("instant").Instant(true)
	} else {
		b.QueryType("range")
	}
	return b
}

// refID names the n-th query of a panel A, B, ... Z, AA, AB, ...
func refID(n int) string {
	s := ""
	for n > 0 {
		n--
		s = string(rune('A'+n%26)) + s
		n /= 26
	}
	return s
}

// codeFence returns a Markdown fence longer than any run of backticks in
// text, so the text cannot close the block and inject Markdown or HTML.
func codeFence(text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
