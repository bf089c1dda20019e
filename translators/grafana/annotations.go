package grafana

import (
	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators"
	"github.com/obs-migrate/migrate/translators/fidelity"
)

// convertAnnotations turns annotations on Elasticsearch or OpenSearch into
// Loki annotations: the Lucene query becomes the LogQL expression, the
// text field the text template and the tags fields tag keys.
func (c *dashConv) convertAnnotations() {
	ann := c.dash.Object("annotations")
	if ann == nil {
		return
	}
	for _, a := range ann.Array("list") {
		o, ok := a.(*ojson.Object)
		if !ok {
			continue
		}
		ds, _ := o.Get("datasource")
		kind := c.res.kind(ds)
		if kind == KindUnknown && o.String("query") != "" && o.String("timeField") != "" {
			kind = KindElasticsearch
		}
		if !kind.logsSource() {
			continue
		}
		c.convertAnnotation(o, ds)
	}
}

func (c *dashConv) convertAnnotation(o *ojson.Object, ds any) {
	report := AnnotationReport{Name: o.String("name"), Original: o.String("query")}
	q, err := parseLucene(o.String("query"))
	if err != nil {
		report.Reasons.Addf(fidelity.Unsupported, "syntax_error", "%v", err)
		report.Fidelity = fidelity.Unsupported
		c.item.Annotations = append(c.item.Annotations, report)
		return
	}
	r := translators.TranslateParsed(q, c.schema)
	report.Reasons.Merge(r.Reasons)
	if r.Log == nil {
		report.Fidelity = fidelity.Unsupported
		c.item.Annotations = append(c.item.Annotations, report)
		return
	}
	expr := r.Log.String()
	o.Set("datasource", c.lokiRef(ds))
	o.Set("expr", expr)
	if f := o.String("textField"); f != "" {
		o.Set("textFormat", "{{"+c.schema.LabelName(f)+"}}")
	}
	if f := o.String("tagsField"); f != "" {
		o.Set("tagKeys", c.schema.LabelName(f))
	}
	if f := o.String("titleField"); f != "" {
		o.Set("titleFormat", "{{"+c.schema.LabelName(f)+"}}")
	}
	for _, k := range []string{"query", "textField", "tagsField", "titleField", "timeField", "timeEndField"} {
		o.Delete(k)
	}
	c.changed = true
	report.Converted = expr
	report.Fidelity = report.Reasons.Level()
	c.item.Annotations = append(c.item.Annotations, report)
}
