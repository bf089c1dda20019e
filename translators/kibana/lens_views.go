package kibana

import (
	"strings"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// lensView reads the visualization state of a Lens type. It returns false
// for a type with no conversion.
func (p *panelCtx) lensView(vt string, vis map[string]any, layers map[string]*lensLayer) (lensView, bool) {
	switch vt {
	case "lnsXY":
		return p.lensXYView(vis), true
	case "lnsPie":
		return p.lensPieView(vis), true
	case "lnsMetric", "lnsLegacyMetric":
		// lnsMetric is the legacy metric up to Kibana 8.4, with accessor.
		metrics := nonEmpty(str(vis, "metricAccessor"), str(vis, "accessor"), str(vis, "secondaryMetricAccessor"))
		use := lensLayerUse{id: str(vis, "layerId"), metrics: metrics}
		if b := str(vis, "breakdownByAccessor"); b != "" {
			use.buckets = []lensBucket{{b, "segment"}}
		}
		return lensView{look: legacyLook{typ: "metric"}, layers: []lensLayerUse{use}}, true
	case "lnsGauge":
		use := lensLayerUse{id: str(vis, "layerId"), metrics: nonEmpty(str(vis, "metricAccessor"))}
		return lensView{look: legacyLook{typ: "gauge"}, layers: []lensLayerUse{use}}, true
	case "lnsDatatable":
		return lensDatatableView(vis, layers), true
	case "lnsTagcloud":
		use := lensLayerUse{
			id:      str(vis, "layerId"),
			buckets: []lensBucket{{str(vis, "tagAccessor"), "segment"}},
			metrics: nonEmpty(str(vis, "valueAccessor")),
		}
		return lensView{look: legacyLook{typ: "tagcloud"}, layers: []lensLayerUse{use}}, true
	case "lnsHeatmap":
		p.reasons.Addf(fidelity.Approximate, "lens_heatmap",
			"the heatmap's cells become one series per y value: a heatmap over time when the x axis is a date histogram, bars otherwise")
		use := lensLayerUse{
			id:      str(vis, "layerId"),
			buckets: lensBuckets([]string{str(vis, "xAccessor")}, []string{str(vis, "yAccessor")}),
			metrics: nonEmpty(str(vis, "valueAccessor")),
		}
		return lensView{look: legacyLook{typ: "heatmap"}, layers: []lensLayerUse{use}}, true
	}
	return lensView{}, false
}

// lensXYView reads an XY chart: each data layer has an x axis, a split and
// plotted metrics. The first data layer's series type sets the look.
func (p *panelCtx) lensXYView(vis map[string]any) lensView {
	var view lensView
	for _, v := range arr(vis, "layers") {
		l, _ := v.(map[string]any)
		switch str(l, "layerType") {
		case "referenceLine":
			p.reasons.Addf(fidelity.Exact, "lens_reference_line", "the chart's reference lines are not drawn; add them as thresholds")
			continue
		case "annotations":
			p.reasons.Addf(fidelity.Approximate, "lens_annotations",
				"the chart's annotation layer is not converted; add a Loki annotation query to the dashboard")
			continue
		}
		splits := nonEmpty(str(l, "splitAccessor"))
		splits = append(splits, stringList(arr(l, "splitAccessors"))...)
		view.layers = append(view.layers, lensLayerUse{
			id:      str(l, "layerId"),
			buckets: lensBuckets([]string{str(l, "xAccessor")}, splits),
			metrics: stringList(arr(l, "accessors")),
		})
		if len(view.layers) == 1 {
			view.look = p.lensSeriesLook(orDefault(str(l, "seriesType"), str(vis, "preferredSeriesType")))
		}
	}
	return view
}

// lensSeriesLook maps an XY series type (line, area, bar, bar_horizontal,
// each also _stacked and _percentage_stacked) to a legacy look.
func (p *panelCtx) lensSeriesLook(seriesType string) legacyLook {
	look := legacyLook{typ: "line", stacked: strings.Contains(seriesType, "stacked")}
	switch {
	case strings.HasPrefix(seriesType, "bar_horizontal"):
		look.typ = "horizontal_bar"
	case strings.HasPrefix(seriesType, "bar"):
		look.typ = "histogram"
	case strings.HasPrefix(seriesType, "area"):
		look.typ = "area"
	}
	if strings.Contains(seriesType, "percentage") {
		p.reasons.Addf(fidelity.Approximate, "percent_stack",
			"Kibana stacked the series as percentages of their total; the panel stacks their values")
	}
	return look
}

// lensPieView reads a partition chart: pie, donut, treemap, mosaic or
// waffle. Kibana 7 names the slices groups and the metric metric.
func (p *panelCtx) lensPieView(vis map[string]any) lensView {
	shape := orDefault(str(vis, "shape"), "pie")
	view := lensView{look: legacyLook{typ: "pie", donut: shape == "donut"}}
	if shape != "pie" && shape != "donut" {
		p.reasons.Addf(fidelity.Approximate, "lens_pie_shape",
			"Kibana drew a %s chart; the panel is a pie chart of the same values", shape)
	}
	for _, v := range arr(vis, "layers") {
		l, _ := v.(map[string]any)
		primary := stringList(arr(l, "primaryGroups"))
		if len(primary) == 0 {
			primary = stringList(arr(l, "groups"))
		}
		metrics := stringList(arr(l, "metrics"))
		if len(metrics) == 0 {
			metrics = nonEmpty(str(l, "metric"))
		}
		view.layers = append(view.layers, lensLayerUse{
			id:      str(l, "layerId"),
			buckets: lensBuckets(primary, stringList(arr(l, "secondaryGroups"))),
			metrics: metrics,
		})
	}
	return view
}

// lensDatatableView reads a table: bucket columns are rows, or split the
// metric columns when transposed. Hidden metric columns are not shown.
// Kibana 7.10 and older kept a layers list with column ids.
func lensDatatableView(vis map[string]any, layers map[string]*lensLayer) lensView {
	use := lensLayerUse{id: str(vis, "layerId")}
	columns := arr(vis, "columns")
	if old, ok := first(arr(vis, "layers")).(map[string]any); ok && use.id == "" {
		use.id = str(old, "layerId")
		columns = nil
		for _, id := range stringList(arr(old, "columns")) {
			columns = append(columns, map[string]any{"columnId": id})
		}
	}
	var rows, splits []string
	for _, v := range columns {
		c, _ := v.(map[string]any)
		id := str(c, "columnId")
		col := layers[use.id].column(id)
		switch {
		case col == nil:
		case boolean(col, "isBucketed") && boolean(c, "isTransposed"):
			splits = append(splits, id)
		case boolean(col, "isBucketed"):
			rows = append(rows, id)
		case !boolean(c, "hidden"):
			use.metrics = append(use.metrics, id)
		}
	}
	for _, id := range rows {
		use.buckets = append(use.buckets, lensBucket{id, "bucket"})
	}
	for _, id := range splits {
		use.buckets = append(use.buckets, lensBucket{id, "group"})
	}
	return lensView{look: legacyLook{typ: "table"}, layers: []lensLayerUse{use}}
}

// column returns a column of the layer, or nil. It accepts a nil layer.
func (l *lensLayer) column(id string) map[string]any {
	if l == nil {
		return nil
	}
	return l.columns[id]
}

// lensBuckets lists the segment columns, then the group columns.
func lensBuckets(segments, groups []string) []lensBucket {
	var out []lensBucket
	for _, id := range nonEmpty(segments...) {
		out = append(out, lensBucket{id, "segment"})
	}
	for _, id := range nonEmpty(groups...) {
		out = append(out, lensBucket{id, "group"})
	}
	return out
}

// first returns the first element of a list, or nil.
func first(list []any) any {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

// nonEmpty returns the non-empty strings.
func nonEmpty(list ...string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
