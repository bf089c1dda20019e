package kibana

import (
	"errors"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"

	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/logql"
)

// lensKind is the Kibana type Lens panels have in the report.
const lensKind = "lens"

// lensLayer is one layer of a Lens form-based data source: its columns by
// id.
type lensLayer struct {
	id      string
	columns map[string]map[string]any
	raw     map[string]any
}

// lensView is the content of a Lens visualization: the roles of each used
// layer's columns, and the panel's look in legacy visualization terms.
type lensView struct {
	look   legacyLook
	layers []lensLayerUse
}

// lensLayerUse is the role of a layer's columns in the visualization.
type lensLayerUse struct {
	id      string
	buckets []lensBucket
	metrics []string
}

// lensBucket is a bucket column with the legacy schema of its role:
// segment (x axis, slices), group (split series) or bucket (table rows).
type lensBucket struct {
	id, schema string
}

// lensPanel converts a Lens object: the layers its visualization uses
// become Loki metric queries, and the visualization type picks the Grafana
// panel.
func (p *panelCtx) lensPanel() convertedPanel {
	o := p.ref.obj
	state, err := embeddedObject(o.Attrs, "state")
	if err != nil {
		return p.failed(lensKind, err)
	}
	if state == nil {
		return p.failed(lensKind, errors.New("the Lens object has no state"))
	}
	vt := str(o.Attrs, "visualizationType")
	layers, textBased := lensLayers(state)
	if len(layers) == 0 {
		if textBased {
			return p.unsupported(lensKind, "lens_text_based", "the Lens panel is built on an ES|QL or SQL query, which is not converted")
		}
		return p.unsupported(lensKind, "lens_no_layers", "the Lens panel has no data layer")
	}
	view, ok := p.lensView(vt, obj(state, "visualization"), layers)
	if !ok {
		return p.unsupported(lensKind, "lens_visualization_type", fmt.Sprintf("the Lens %s visualization has no conversion", orDefault(vt, "(unnamed)")))
	}
	return p.lensBuild(state, view, layers)
}

// lensLayers reads the layers of the form-based data source, called
// indexpattern before Kibana 8.6. textBased is true when only an ES|QL or
// SQL data source has layers.
func lensLayers(state map[string]any) (layers map[string]*lensLayer, textBased bool) {
	ds := obj(state, "datasourceStates")
	for _, key := range []string{"formBased", "indexpattern"} {
		raw := obj(obj(ds, key), "layers")
		if len(raw) == 0 {
			continue
		}
		layers = make(map[string]*lensLayer, len(raw))
		for id, v := range raw {
			m, _ := v.(map[string]any)
			l := &lensLayer{id: id, raw: m, columns: make(map[string]map[string]any)}
			for cid, c := range obj(m, "columns") {
				if cm, ok := c.(map[string]any); ok {
					l.columns[cid] = cm
				}
			}
			layers[id] = l
		}
		return layers, false
	}
	return nil, len(obj(obj(ds, "textBased"), "layers")) > 0
}

// lensPrepared is a layer ready for its queries.
type lensPrepared struct {
	layer   *lensLayer
	schema  *logql.Schema
	bp      bucketPlan
	metrics []seriesMetric
}

// lensBuild turns the used layers into queries and the panel. Layers whose
// x axis differs from the first layer's (time against values) are left
// out.
func (p *panelCtx) lensBuild(state map[string]any, view lensView, layers map[string]*lensLayer) convertedPanel {
	var prepared []lensPrepared
	metrics := 0
	for _, use := range view.layers {
		l := layers[use.id]
		if l == nil {
			p.reasons.Addf(fidelity.Approximate, "lens_layer_missing", "the visualization uses layer %s, which the data source does not have", use.id)
			continue
		}
		lp, fatal := p.lensPrepare(state, l, use)
		switch {
		case fatal != "" && len(prepared) == 0:
			return p.unsupported(lensKind, "bucket_unsupported", fatal)
		case fatal != "":
			p.reasons.Addf(fidelity.Approximate, "lens_layer_dropped", "layer %s is left out: %s", use.id, fatal)
		case len(prepared) > 0 && lp.bp.timeSeries != prepared[0].bp.timeSeries:
			p.reasons.Addf(fidelity.Approximate, "lens_layer_dropped",
				"layer %s is left out: its x axis is not of the same kind as the first layer's", use.id)
		default:
			prepared = append(prepared, lp)
			metrics += len(lp.metrics)
		}
	}
	if metrics == 0 {
		return p.unsupported(lensKind, "lens_no_metric", "no metric the Lens panel plots can be expressed in LogQL")
	}
	base := p.lensParts(state)
	var targets []cog.Builder[variants.Dataquery]
	for _, lp := range prepared {
		targets = append(targets, p.lensTargets(base, lp, metrics > 1)...)
	}
	p.dedupeOriginals()
	if len(targets) == 0 {
		return p.unsupported(lensKind, "no_query", "none of the panel's queries could be built; the other reasons say why")
	}
	return p.build(lensKind, p.aggBuilder(view.look.typ, view.look.vis(), prepared[0].bp, targets))
}

// lensTargets builds a layer's queries, without the dashboard's query and
// filters when the layer ignores them.
func (p *panelCtx) lensTargets(base []ownedPart, lp lensPrepared, many bool) []cog.Builder[variants.Dataquery] {
	var targets []cog.Builder[variants.Dataquery]
	build := func() {
		targets = p.seriesTargets(lp.schema, base, lp.metrics, lp.bp, !lp.bp.timeSeries, many)
	}
	if truthy(lp.layer.raw["ignoreGlobalFilters"]) {
		p.withoutGlobalFilters("layer "+lp.layer.id, build)
	} else {
		build()
	}
	return targets
}

// lensPrepare reads a layer's buckets, metrics and index pattern.
func (p *panelCtx) lensPrepare(state map[string]any, l *lensLayer, use lensLayerUse) (lensPrepared, string) {
	plotted := make(map[string]bool, len(use.metrics))
	for _, id := range use.metrics {
		plotted[id] = true
	}
	aggs, extra := p.lensBucketAggs(l, use.buckets, plotted)
	bp := p.plan(aggs)
	if bp.fatal != "" {
		return lensPrepared{}, bp.fatal
	}
	bp.groupBy = append(bp.groupBy, extra...)
	if s, ok := number(l.raw, "sampling"); ok && s > 0 && s < 1 {
		p.reasons.Addf(fidelity.Approximate, "lens_sampling",
			"layer %s samples %g%% of the documents; the queries read every entry, so counts and sums are larger", l.id, s*100)
	}
	return lensPrepared{
		layer:   l,
		schema:  numericBucketFields(p.schemaFor(p.lensIndex(state, l)), aggs),
		bp:      bp,
		metrics: p.lensMetrics(l, use.metrics, bp.groupBy),
	}, ""
}

// lensParts reads the query and filter pills saved with the Lens object,
// which apply to every layer.
func (p *panelCtx) lensParts(state map[string]any) []ownedPart {
	var parts []queryPart
	if q, ok := parseQueryValue(state["query"], "query"); ok {
		parts = append(parts, q)
	}
	filters, disabled := parseFilters(state["filters"], "")
	p.c.report.addDisabled(p.ref.obj, disabled)
	return owned(p.ref.obj, append(parts, filters...))
}

// lensIndex finds a layer's index pattern: by the layer's reference, an ad
// hoc data view, the layer's indexPatternId (Kibana 7.9 and older), or the
// object's current or only index pattern.
func (p *panelCtx) lensIndex(state map[string]any, l *lensLayer) *indexPattern {
	o, s := p.ref.obj, p.c.store
	name := "indexpattern-datasource-layer-" + l.id
	if r, ok := o.ref(name); ok {
		return s.indexPattern(r.ID)
	}
	// A panel embedded by value whose references Kibana moved to the
	// dashboard: there they are prefixed with the panel's index.
	if i := strings.LastIndex(o.ID, "/panel-"); i >= 0 {
		if r, ok := o.ref(o.ID[i+len("/panel-"):] + ":" + name); ok {
			return s.indexPattern(r.ID)
		}
	}
	for _, v := range arr(state, "internalReferences") {
		if m, _ := v.(map[string]any); str(m, "name") == name {
			dv := obj(obj(state, "adHocDataViews"), str(m, "id"))
			if dv == nil {
				return s.indexPattern(str(m, "id"))
			}
			return withTimeField(s.indexPattern(str(dv, "title")), str(dv, "timeFieldName"))
		}
	}
	if id := str(l.raw, "indexPatternId"); id != "" {
		return s.indexPattern(id)
	}
	if r, ok := o.ref("indexpattern-datasource-current-indexpattern"); ok {
		return s.indexPattern(r.ID)
	}
	if refs := o.refsOfType("index-pattern"); len(refs) > 0 {
		return s.indexPattern(refs[0].ID)
	}
	return nil
}
