package kibana

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// MigrationTag marks every generated dashboard.
const MigrationTag = "migrated-from-kibana"

// defaultTimeFrom is Kibana's default time range, used when a dashboard does
// not store its own.
const defaultTimeFrom = "now-15m"

// dashboardDraft collects a dashboard while its panels are converted.
type dashboardDraft struct {
	uid, file, title string
	panels           []dashboard.Panel
	vars             []dashboard.VariableModel
}

func (c *converter) convertDashboard(o *Object) {
	title := o.Title()
	d := c.newDraft(o, title)
	item := c.report.grade(o, fidelity.Exact, nil, d.file)

	entries, err := embeddedArray(o.Attrs, "panelsJSON")
	if err != nil {
		c.report.addFailed(o, fmt.Errorf("%w; the dashboard is not converted: re-export it from Kibana", err))
		return
	}
	source, err := sourceMeta(o.Attrs)
	var dashParts []queryPart
	if err != nil {
		item.Reasons.Addf(fidelity.Approximate, "dashboard_query_unreadable",
			"the dashboard's searchSourceJSON is not valid JSON, so its query and filters are not applied: %v", err)
	} else {
		var disabled int
		dashParts, disabled = searchSourceParts(source, "dashboard ")
		c.report.addDisabled(o, disabled)
	}

	refs := make([]panelRef, 0, len(entries))
	for i, e := range entries {
		refs = append(refs, c.resolvePanel(o, e, i))
	}
	controls := c.collectControls(o, refs, d)

	for _, ref := range refs {
		if ref.obj != nil && isControls(ref.obj) {
			continue
		}
		p := &panelCtx{c: c, dash: o, dashParts: dashParts, controls: controls, ref: ref}
		cp := p.convert()
		c.place(d, item, p, cp, ref)
	}
	c.finishDraft(d, o, item)
}

// convertOrphan gives a saved search, visualization or Lens object that no
// dashboard shows a dashboard of its own.
func (c *converter) convertOrphan(o *Object) {
	if c.used(o) {
		return
	}
	d := c.newDraft(o, o.Title())
	item := c.report.item(o)
	ref := panelRef{obj: o, title: o.Title(), grid: gridBox{x: 0, y: 0, w: 24, h: 12}, index: 0}
	var controls []controlFilter
	if isControls(o) {
		controls = c.collectControls(nil, []panelRef{ref}, d)
	}
	if !isControls(o) {
		p := &panelCtx{c: c, controls: controls, ref: ref}
		cp := p.convert()
		dashItem := &Item{}
		c.place(d, dashItem, p, cp, ref)
		item.Panels = dashItem.Panels
	} else {
		c.report.grade(o, fidelity.Exact, nil, d.file)
	}
	c.finishDraft(d, nil, item)
}

func (c *converter) newDraft(o *Object, title string) *dashboardDraft {
	uid := stableUID(o.Key())
	if title == "" {
		title = o.Type + " " + o.ID
	}
	return &dashboardDraft{uid: uid, title: title, file: slug(title) + "-" + uid + ".json"}
}

// place adds a converted panel to the draft and to the report.
func (c *converter) place(d *dashboardDraft, dashItem *Item, p *panelCtx, cp convertedPanel, ref panelRef) {
	if ref.obj != nil {
		c.markUsed(ref.obj)
	}
	level := p.reasons.Level()
	if cp.panel == nil {
		return
	}
	panel := *cp.panel
	id := uint32(len(d.panels) + 1)
	panel.Id = &id
	grid := ref.grid.grafana()
	panel.GridPos = &grid
	title := p.title()
	panel.Title = &title
	desc := provenance(p, level)
	panel.Description = &desc
	d.panels = append(d.panels, panel)

	source := ""
	if ref.obj != nil {
		source = ref.obj.Key()
		if it := c.report.grade(ref.obj, level, p.reasons, d.file); it.Title == "" {
			// Panels embedded by value have no title of their own.
			it.Title = title
		}
	}
	c.report.addPanel(dashItem, PanelReport{
		Title:       title,
		Source:      source,
		KibanaType:  cp.kibanaType,
		GrafanaType: panel.Type,
		Fidelity:    level,
		Reasons:     p.reasons.Sorted(),
	})
	if dashItem != nil && level > fidelity.Exact {
		if dashItem.level < fidelity.Approximate {
			dashItem.level = fidelity.Approximate
			dashItem.Status = dashItem.level.String()
		}
	}
}

func (c *converter) finishDraft(d *dashboardDraft, src *Object, item *Item) {
	dash := dashboard.NewDashboard()
	dash.Title = &d.title
	dash.Uid = &d.uid
	dash.Tags = []string{MigrationTag}
	from, to, refresh := defaultTimeFrom, "now", ""
	desc := ""
	kind := "object"
	if src != nil {
		kind = "dashboard"
		desc = str(src.Attrs, "description")
		if boolean(src.Attrs, "timeRestore") {
			if f := str(src.Attrs, "timeFrom"); f != "" {
				from = f
			}
			if t := str(src.Attrs, "timeTo"); t != "" {
				to = t
			}
			refresh = refreshInterval(src.Attrs)
		}
	}
	dash.Time = &dashboard.DashboardDashboardTime{From: from, To: to}
	if refresh != "" {
		dash.Refresh = &refresh
	}
	note := fmt.Sprintf("Converted from Kibana %s %q by migrate.", kind, item.ID)
	if desc != "" {
		desc += "\n\n" + note
	} else {
		desc = note
	}
	dash.Description = &desc

	for i := range d.panels {
		dash.Panels = append(dash.Panels, dashboard.PanelOrRowPanel{Panel: &d.panels[i]})
	}
	dash.Templating.List = d.vars
	out, err := encodeJSON(dash)
	if err != nil {
		c.report.addFailed(&Object{ID: item.ID, Type: item.Type}, fmt.Errorf("encoding the dashboard: %w", err))
		return
	}
	out = append(out, '\n')
	if item.Output == "" {
		item.Output = d.file
	}
	if item.Status == "" {
		item.Status = fidelity.Exact.String()
	}
	c.outputs = append(c.outputs, Output{File: d.file, UID: d.uid, Title: d.title, JSON: out})
}

// refreshInterval converts Kibana's refreshInterval to Grafana's refresh.
func refreshInterval(attrs map[string]any) string {
	ri := obj(attrs, "refreshInterval")
	if ri == nil || boolean(ri, "pause") {
		return ""
	}
	ms, ok := number(ri, "value")
	if !ok || ms <= 0 {
		return ""
	}
	secs := int64(ms) / 1000
	switch {
	case secs == 0:
		return "1s"
	case secs%86400 == 0:
		return strconv.FormatInt(secs/86400, 10) + "d"
	case secs%3600 == 0:
		return strconv.FormatInt(secs/3600, 10) + "h"
	case secs%60 == 0:
		return strconv.FormatInt(secs/60, 10) + "m"
	}
	return strconv.FormatInt(secs, 10) + "s"
}

// provenance is the panel description: the original description, where the
// panel came from, its fidelity and the reasons.
func provenance(p *panelCtx, level fidelity.Level) string {
	var b strings.Builder
	if d := p.description(); d != "" {
		b.WriteString(d)
		b.WriteString("\n\n")
	}
	if p.ref.obj != nil {
		fmt.Fprintf(&b, "Converted by migrate from Kibana %s %q", p.ref.obj.Type, p.ref.obj.ID)
	} else {
		b.WriteString("Converted by migrate from a Kibana panel")
	}
	fmt.Fprintf(&b, "; fidelity: %s.", level)
	for _, r := range p.reasons.Sorted() {
		if r.Level > fidelity.Exact {
			fmt.Fprintf(&b, "\n- %s: %s", r.Code, r.Message)
		}
	}
	for _, o := range p.originals {
		fmt.Fprintf(&b, "\nOriginal %s: %s", o.where, o.text)
	}
	return b.String()
}

// stableUID derives a Grafana uid from a Kibana object, so a re-run
// overwrites the same dashboard.
func stableUID(key string) string {
	sum := sha256.Sum256([]byte("kibana/" + key))
	return "kb-" + hex.EncodeToString(sum[:])[:20]
}

// slug makes a file-name-safe form of a title.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "untitled"
	}
	return s
}

func (c *converter) used(o *Object) bool { return c.usedKeys[o.Key()] }

func (c *converter) markUsed(o *Object) {
	if c.usedKeys == nil {
		c.usedKeys = make(map[string]bool)
	}
	c.usedKeys[o.Key()] = true
}
