package grafana

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// convertQueryVariables converts ad hoc filters and Elasticsearch terms
// variables. It runs before the data source variables, which keep listing
// the old data source while anything still uses them.
func (c *dashConv) convertQueryVariables() {
	for _, v := range templatingList(c.dash) {
		o, ok := v.(*ojson.Object)
		if !ok {
			continue
		}
		ds, _ := o.Get("datasource")
		kind := c.res.kind(ds)
		switch o.String("type") {
		case "adhoc":
			if kind.logsSource() {
				c.convertAdhocVariable(o, ds)
			}
		case "query":
			if kind == KindUnknown && esVariableShape(queryText(o)) {
				kind = KindElasticsearch
			}
			if kind.logsSource() {
				c.convertTermsVariable(o, ds)
			}
		}
	}
}

// convertDataSourceVariables repoints data source variables at Loki or
// Tempo, unless something left on the old data source still uses them.
func (c *dashConv) convertDataSourceVariables() {
	for _, v := range templatingList(c.dash) {
		if o, ok := v.(*ojson.Object); ok && o.String("type") == "datasource" {
			c.convertDataSourceVariable(o)
		}
	}
}

// esVariableShape reports whether a variable query is Elasticsearch's JSON
// form, {"find": ...}.
func esVariableShape(query string) bool {
	var q map[string]any
	if json.Unmarshal([]byte(query), &q) != nil {
		return false
	}
	_, ok := q["find"].(string)
	return ok
}

// convertDataSourceVariable makes a variable that listed Elasticsearch or
// OpenSearch data sources list Loki ones, and Jaeger ones Tempo.
func (c *dashConv) convertDataSourceVariable(o *ojson.Object) {
	to := ""
	switch kindOfPlugin(queryText(o)) {
	case KindElasticsearch, KindOpenSearch:
		to = "loki"
	case KindJaeger:
		to = "tempo"
	default:
		return
	}
	from := queryText(o)
	if name := o.String("name"); c.keptVars[name] {
		c.pinKept(name, "the data source variable")
		c.item.Variables = append(c.item.Variables, VariableReport{
			Name: name, Kind: "datasource", Fidelity: fidelity.Unsupported,
			Note: fmt.Sprintf("still lists %s data sources, for what is left on them", from),
		})
		return
	}
	o.Set("query", to)
	if cur := o.Object("current"); cur != nil {
		uid := c.opts.LokiUID
		if to == "tempo" {
			uid = c.opts.TempoUID
		}
		cur.Set("text", uid)
		cur.Set("value", uid)
	}
	o.Delete("options")
	c.changed = true
	c.item.Variables = append(c.item.Variables, VariableReport{
		Name: o.String("name"), Kind: "datasource", Fidelity: fidelity.Exact,
		Note: fmt.Sprintf("lists %s data sources instead of %s", to, from),
	})
}

func (c *dashConv) convertAdhocVariable(o *ojson.Object, ds any) {
	o.Set("datasource", c.lokiRef(ds))
	c.changed = true
	var reasons fidelity.Reasons
	reasons.Addf(fidelity.Approximate, "adhoc_filters",
		"Grafana applies Loki ad hoc filters as label matchers or label filters, by label name; keys chosen for Elasticsearch fields must be picked again as Loki labels")
	c.item.Variables = append(c.item.Variables, VariableReport{
		Name: o.String("name"), Kind: "adhoc", Fidelity: reasons.Level(), Reasons: reasons,
	})
}

// esVariableQuery is the JSON query of an Elasticsearch query variable.
type esVariableQuery struct {
	Find  string `json:"find"`
	Field string `json:"field"`
	Query string `json:"query"`
	Size  any    `json:"size"`
}

// convertTermsVariable converts {"find":"terms","field":F,"query":Q}: a
// stream label becomes label_values over the query's stream selector; any
// other field cannot be listed by Loki and becomes a text box with the
// current value, reported as a gap.
func (c *dashConv) convertTermsVariable(o *ojson.Object, ds any) {
	report := VariableReport{Name: o.String("name"), Kind: "query", Original: queryText(o)}
	var q esVariableQuery
	if err := json.Unmarshal([]byte(queryText(o)), &q); err != nil || q.Find != "terms" {
		c.keepVariable(o, ds, report, "variable_query",
			fmt.Sprintf("the variable's query %q is not an Elasticsearch terms query; it is left on the old data source", queryText(o)))
		return
	}
	r := translators.TranslateQuery(ast.Lucene, q.Query, c.schema)
	if r.Log == nil {
		report.Reasons.Merge(r.Reasons)
		c.keepVariable(o, ds, report, "variable_query",
			fmt.Sprintf("the variable's filter %q cannot be translated; it is left on the old data source", q.Query))
		return
	}
	report.Reasons.Merge(r.Reasons)
	if _, ok := c.schema.LabelValuesQuery(q.Field); ok {
		sel := r.Log.SelectorString()
		if r.Log.String() != sel {
			report.Reasons.Addf(fidelity.Approximate, "variable_filter_dropped",
				"label_values takes a stream selector only, so the conditions of %q on fields that are not labels are left out and the list can hold more values", q.Query)
		}
		expr := "label_values(" + sel + ", " + c.schema.LabelName(q.Field) + ")"
		o.Set("datasource", c.lokiRef(ds))
		o.Set("query", expr)
		o.Set("definition", expr)
		o.Delete("options")
		c.changed = true
		report.Converted = expr
		report.Fidelity = report.Reasons.Level()
		c.item.Variables = append(c.item.Variables, report)
		return
	}
	// Loki lists values of stream labels only.
	o.Set("type", "textbox")
	o.Delete("datasource")
	o.Delete("definition")
	o.Delete("options")
	o.Delete("refresh")
	o.Delete("regex")
	cur := ""
	if cv := o.Object("current"); cv != nil {
		cur = fmt.Sprint(plain(firstValue(cv)))
	}
	if cur == "" || cur == "$__all" || cur == "All" {
		// Queries take whole-value variables as regex matchers, so .*
		// keeps the old "All" meaning.
		cur = ".*"
	}
	o.Set("query", cur)
	c.changed = true
	field := baseField(q.Field)
	report.Reasons.Addf(fidelity.Approximate, "variable_not_listable",
		"%s is not a stream label, so Loki cannot list its values; the variable becomes a text box starting at %q (map %s to a label in the mapping to list it)", field, cur, field)
	report.Fidelity = report.Reasons.Level()
	report.Converted = "textbox"
	c.item.Variables = append(c.item.Variables, report)
}

// keepVariable leaves a query variable on its old data source and reports
// it unsupported.
func (c *dashConv) keepVariable(o *ojson.Object, ds any, report VariableReport, code, why string) {
	report.Fidelity = fidelity.Unsupported
	report.Reasons.Addf(fidelity.Unsupported, code, "%s", why)
	c.item.Variables = append(c.item.Variables, report)
	c.keepRef(ds)
}

// baseField drops the keyword subfield suffix of a field name.
func baseField(f string) string {
	for _, sfx := range []string{".keyword", ".raw"} {
		if strings.HasSuffix(f, sfx) {
			return strings.TrimSuffix(f, sfx)
		}
	}
	return f
}

func firstValue(cur *ojson.Object) any {
	v, _ := cur.Get("value")
	if arr, ok := v.([]any); ok {
		if len(arr) > 0 {
			return arr[0]
		}
		return ""
	}
	return v
}

// convertInputs updates an exported dashboard's __inputs and __requires, so
// importing it requests a Loki or Tempo data source.
func (c *dashConv) convertInputs() {
	keptPlugins := map[Kind]bool{}
	for _, in := range c.dash.Array("__inputs") {
		o, ok := in.(*ojson.Object)
		if !ok || o.String("type") != "datasource" {
			continue
		}
		if name := o.String("name"); c.keptVars[name] {
			c.pinKept(name, "the exported dashboard's input")
			keptPlugins[kindOfPlugin(o.String("pluginId"))] = true
			continue
		}
		switch kindOfPlugin(o.String("pluginId")) {
		case KindElasticsearch, KindOpenSearch:
			o.Set("pluginId", "loki")
			o.Set("pluginName", "Loki")
			c.changed = true
		case KindJaeger:
			o.Set("pluginId", "tempo")
			o.Set("pluginName", "Tempo")
			c.changed = true
		}
	}
	for _, req := range c.dash.Array("__requires") {
		o, ok := req.(*ojson.Object)
		if !ok || o.String("type") != "datasource" {
			continue
		}
		kind := kindOfPlugin(o.String("id"))
		if keptPlugins[kind] {
			continue
		}
		switch kind {
		case KindElasticsearch, KindOpenSearch:
			o.Set("id", "loki")
			o.Set("name", "Loki")
		case KindJaeger:
			o.Set("id", "tempo")
			o.Set("name", "Tempo")
		}
	}
}
