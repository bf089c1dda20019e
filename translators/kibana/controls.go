package kibana

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// controlFilter is a dashboard control turned into a template variable that
// every panel query filters on.
type controlFilter struct {
	field    string
	variable string
}

// isControls reports whether an object is an input controls visualization.
func isControls(o *Object) bool {
	if o.Type != "visualization" {
		return false
	}
	vis, err := embeddedObject(o.Attrs, "visState")
	return err == nil && str(vis, "type") == "input_control_vis"
}

// collectControls turns the dashboard's input controls into template
// variables on the draft and returns the filters they impose. Each controls
// panel is reported as a panel whose Grafana form is the variables.
func (c *converter) collectControls(dash *Object, refs []panelRef, d *dashboardDraft) []controlFilter {
	var filters []controlFilter
	for _, ref := range refs {
		if ref.obj == nil || !isControls(ref.obj) {
			continue
		}
		c.markUsed(ref.obj)
		var reasons fidelity.Reasons
		vis, _ := embeddedObject(ref.obj.Attrs, "visState")
		for i, ctl := range arr(obj(vis, "params"), "controls") {
			m, ok := ctl.(map[string]any)
			if !ok {
				continue
			}
			if v, ok := c.controlVariable(ref.obj, m, i, d, &reasons); ok {
				filters = append(filters, controlFilter{field: str(m, "fieldName"), variable: v.Name})
				d.vars = append(d.vars, v)
			}
		}
		level := reasons.Level()
		c.report.grade(ref.obj, level, reasons, d.file)
		title := ref.title
		if title == "" {
			title = ref.obj.Title()
		}
		if dash != nil {
			c.report.addPanel(c.report.item(dash), PanelReport{
				Title: title, Source: ref.obj.Key(), KibanaType: "input_control_vis",
				GrafanaType: "variables", Fidelity: level, Reasons: reasons.Sorted(),
			})
		}
	}
	return filters
}

// controlVariable builds the variable for one control, or returns false when
// the control cannot filter.
func (c *converter) controlVariable(o *Object, ctl map[string]any, i int, d *dashboardDraft, reasons *fidelity.Reasons) (dashboard.VariableModel, bool) {
	field := str(ctl, "fieldName")
	label := str(ctl, "label")
	if label == "" {
		label = field
	}
	if str(ctl, "type") == "range" {
		reasons.Addf(fidelity.Approximate, "range_control",
			"the range control on %s has no template-variable form and is left out; filter on it in the panel queries instead", field)
		return dashboard.VariableModel{}, false
	}
	ip := c.controlIndexPattern(o, ctl)
	schema, rs := c.schemaFor(ip)
	reasons.Merge(rs)

	name := logql.SanitizeLabelName(field)
	if d.hasVariable(name) {
		name = fmt.Sprintf("%s_%d", name, i+1)
	}
	multi := boolean(obj(ctl, "options"), "multiselect")
	var v dashboard.VariableModel
	var err error
	if q, ok := schema.LabelValuesQuery(field); ok {
		v, err = dashboard.NewQueryVariableBuilder(name).
			Label(label).
			Datasource(c.lokiRef()).
			Query(dashboard.StringOrMap{String: &q}).
			Definition(q).
			Multi(multi).
			IncludeAll(true).
			AllValue(".*").
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc).
			Build()
	} else {
		all := ".*"
		reasons.Addf(fidelity.Approximate, "control_free_text",
			"%s is not a stream label, so Loki cannot list its values; the control becomes a text box that takes a regular expression (default .*)", field)
		v, err = dashboard.NewTextBoxVariableBuilder(name).
			Label(label).
			DefaultValue(dashboard.StringOrMap{String: &all}).
			Build()
	}
	if err != nil {
		reasons.Addf(fidelity.Approximate, "control_variable", "the control on %s could not become a variable: %v", field, err)
		return dashboard.VariableModel{}, false
	}
	return v, true
}

func (d *dashboardDraft) hasVariable(name string) bool {
	for _, v := range d.vars {
		if v.Name == name {
			return true
		}
	}
	return false
}

func (c *converter) controlIndexPattern(o *Object, ctl map[string]any) *indexPattern {
	if name := str(ctl, "indexPatternRefName"); name != "" {
		if r, ok := o.ref(name); ok {
			return c.store.indexPattern(r.ID)
		}
	}
	return c.store.indexPattern(str(ctl, "indexPattern"))
}
