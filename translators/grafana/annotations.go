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
		if kind == KindUnknown && esAnnotationShape(o) {
			kind = KindElasticsearch
		}
		if !kind.logsSource() {
			continue
		}
		c.convertAnnotation(o, ds)
	}
}

// esAnnotationShape reports whether an annotation with an unknown data
// source has Elasticsearch's annotation fields.
func esAnnotationShape(o *ojson.Object) bool {
	_, hasQuery := o.Get("query")
	if t := o.Object("target"); t != nil {
		_, hasQuery = t.Get("query")
	}
	if !hasQuery {
		return false
	}
	for _, k := range []string{"timeField", "textField", "tagsField", "titleField"} {
		if _, ok := o.Get(k); ok {
			return true
		}
	}
	return false
}

// annotationQuery returns the Lucene query: Grafana 8 and later keep it in
// target.query, which wins over the older top-level query.
func annotationQuery(o *ojson.Object) (string, error) {
	if t := o.Object("target"); t != nil {
		if _, ok := t.Get("query"); ok {
			return queryString(t)
		}
	}
	return queryString(o)
}

func (c *dashConv) convertAnnotation(o *ojson.Object, ds any) {
	query, err := annotationQuery(o)
	report := AnnotationReport{Name: o.String("name"), Original: query}
	if err != nil {
		report.Reasons.Addf(fidelity.Unsupported, "query_not_text", "%v", err)
		report.Fidelity = fidelity.Unsupported
		c.item.Annotations = append(c.item.Annotations, report)
		c.keepRef(ds)
		return
	}
	q, err := parseLucene(query)
	if err != nil {
		report.Reasons.Addf(fidelity.Unsupported, "syntax_error", "%v", err)
		report.Fidelity = fidelity.Unsupported
		c.item.Annotations = append(c.item.Annotations, report)
		c.keepRef(ds)
		return
	}
	r := translators.TranslateParsed(q, c.schema)
	report.Reasons.Merge(r.Reasons)
	if r.Log == nil {
		report.Fidelity = fidelity.Unsupported
		c.item.Annotations = append(c.item.Annotations, report)
		c.keepRef(ds)
		return
	}
	expr := r.Log.String()
	o.Set("datasource", c.lokiRef(ds))
	o.Set("expr", expr)
	if t := o.Object("target"); t != nil {
		// Grafana reads a Loki annotation's query from target.expr first.
		lt := ojson.NewObject()
		lt.Set("expr", expr)
		lt.Set("refId", orDefault(t.String("refId"), "Anno"))
		o.Set("target", lt)
	}
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
