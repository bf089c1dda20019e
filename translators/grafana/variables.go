package grafana

import (
	"encoding/json"
	"fmt"

	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/ast"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// convertVariables repoints data source variables, ad hoc filters and
// Elasticsearch terms variables at Loki (and Jaeger variables at Tempo).
func (c *dashConv) convertVariables() {
	for _, v := range templatingList(c.dash) {
		o, ok := v.(*ojson.Object)
		if !ok {
			continue
		}
		switch o.String("type") {
		case "datasource":
			c.convertDataSourceVariable(o)
		case "adhoc":
			c.convertAdhocVariable(o)
		case "query":
			ds, _ := o.Get("datasource")
			if c.res.kind(ds).logsSource() {
				c.convertTermsVariable(o, ds)
			}
		}
	}
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

func (c *dashConv) convertAdhocVariable(o *ojson.Object) {
	ds, _ := o.Get("datasource")
	if !c.res.kind(ds).logsSource() {
		return
	}
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
		report.Fidelity = fidelity.Unsupported
		report.Reasons.Addf(fidelity.Unsupported, "variable_query",
			"the variable's query %q is not an Elasticsearch terms query; it is left on the old data source", queryText(o))
		c.item.Variables = append(c.item.Variables, report)
		return
	}
	sel := "{}"
	if r := translators.TranslateQuery(ast.Lucene, q.Query, c.schema); r.Log != nil {
		sel = r.Log.SelectorString()
		report.Reasons.Merge(r.Reasons)
	}
	if _, ok := c.schema.LabelValuesQuery(q.Field); ok {
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
	o.Set("query", cur)
	c.changed = true
	report.Reasons.Addf(fidelity.Approximate, "variable_not_listable",
		"%s is not a stream label, so Loki cannot list its values; the variable becomes a text box (keep %s in labels to list it)", q.Field, q.Field)
	report.Fidelity = report.Reasons.Level()
	report.Converted = "textbox"
	c.item.Variables = append(c.item.Variables, report)
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
// importing it asks for a Loki or Tempo data source.
func (c *dashConv) convertInputs() {
	for _, in := range c.dash.Array("__inputs") {
		o, ok := in.(*ojson.Object)
		if !ok || o.String("type") != "datasource" {
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
		switch kindOfPlugin(o.String("id")) {
		case KindElasticsearch, KindOpenSearch:
			o.Set("id", "loki")
			o.Set("name", "Loki")
		case KindJaeger:
			o.Set("id", "tempo")
			o.Set("name", "Tempo")
		}
	}
}
