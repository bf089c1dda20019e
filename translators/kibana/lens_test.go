package kibana

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/obs-migrate/migrate/translators/fidelity"
)

// lensDoc is a Lens object under construction: one layer on logs-*.
type lensDoc struct {
	vt      string
	columns map[string]any
	order   []string
	vis     map[string]any
	// state entries other than the data source and visualization.
	state map[string]any
}

const lensLayerID = "4f2b17e5-a68c-4ecd-abf6-2180b6a78f3f"

func newLens(vt string, vis map[string]any, cols ...lensCol) lensDoc {
	d := lensDoc{vt: vt, columns: map[string]any{}, vis: vis, state: map[string]any{
		"query": kql(""), "filters": []any{},
	}}
	for _, c := range cols {
		d.columns[c.id] = c.col
		d.order = append(d.order, c.id)
	}
	return d
}

// attrs returns the Lens attributes, with the layer in the named data
// source (formBased, or indexpattern before Kibana 8.6).
func (d lensDoc) attrs(title, datasource string) map[string]any {
	state := map[string]any{
		"datasourceStates": map[string]any{datasource: map[string]any{"layers": map[string]any{
			lensLayerID: map[string]any{"columnOrder": d.order, "columns": d.columns},
		}}},
		"visualization": d.vis,
	}
	for k, v := range d.state {
		state[k] = v
	}
	return map[string]any{"title": title, "visualizationType": d.vt, "state": state}
}

// object returns the Lens saved object, with its layer's reference.
func (d lensDoc) object(id, title string) map[string]any {
	return map[string]any{"type": "lens", "id": id, "attributes": d.attrs(title, "formBased"), "references": []Reference{
		{Name: "indexpattern-datasource-current-indexpattern", Type: "index-pattern", ID: "ip-logs"},
		{Name: "indexpattern-datasource-layer-" + lensLayerID, Type: "index-pattern", ID: "ip-logs"},
	}}
}

type lensCol struct {
	id  string
	col map[string]any
}

func column(id, op, field, label string, params map[string]any) lensCol {
	c := map[string]any{"operationType": op, "label": label, "isBucketed": false, "dataType": "number"}
	if field != "" {
		c["sourceField"] = field
	}
	if params != nil {
		c["params"] = params
	}
	return lensCol{id, c}
}

func bucketColumn(id, op, field, label string, params map[string]any) lensCol {
	c := column(id, op, field, label, params)
	c.col["isBucketed"] = true
	return c
}

func (c lensCol) with(key string, v any) lensCol {
	c.col[key] = v
	return c
}

var (
	lensCount = column("count", "count", "___records___", "Count of records", map[string]any{"emptyAsNull": true})
	lensBytes = column("bytes", "sum", "bytes", "Sum of bytes", nil)
	lensTime  = bucketColumn("time", "date_histogram", "@timestamp", "@timestamp", map[string]any{"interval": "auto", "includeEmptyRows": true})
)

func lensHosts(size int, otherBucket bool) lensCol {
	return bucketColumn("hosts", "terms", "host.name", "Top values of host.name", map[string]any{
		"size": size, "orderBy": map[string]any{"type": "column", "columnId": "count"}, "orderDirection": "desc",
		"otherBucket": otherBucket, "missingBucket": false, "include": []any{}, "exclude": []any{},
	})
}

func xyVis(seriesType, x, split string, accessors ...string) map[string]any {
	layer := map[string]any{"layerId": lensLayerID, "layerType": "data", "seriesType": seriesType, "accessors": accessors, "xAccessor": x}
	if split != "" {
		layer["splitAccessor"] = split
	}
	return map[string]any{"preferredSeriesType": seriesType, "legend": map[string]any{"isVisible": true}, "layers": []any{layer}}
}

func pieVis(shape string, groups []string, metrics ...string) map[string]any {
	return map[string]any{"shape": shape, "layers": []any{map[string]any{
		"layerId": lensLayerID, "layerType": "data", "primaryGroups": groups, "metrics": metrics, "numberDisplay": "percent",
	}}}
}

func TestLensVisualizations(t *testing.T) {
	countTopHosts := `topk(5, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__range])))`
	tests := []struct {
		name string
		doc  lensDoc
		want vizWant
		// options are panel options to check.
		options map[string]string
	}{{
		name: "xy line over time split by terms",
		doc:  newLens("lnsXY", xyVis("line", "time", "hosts", "count"), lensCount, lensTime, lensHosts(5, false)),
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`topk(5, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__auto])))`},
			legends:  []string{"{{host_name}}"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "topk_per_step"},
		},
	}, {
		name:    "xy stacked bars over terms",
		doc:     newLens("lnsXY", xyVis("bar_stacked", "hosts", "", "count"), lensHosts(5, true), lensCount),
		want:    vizWant{typ: "bargauge", exprs: []string{countTopHosts}, legends: []string{"{{host_name}}"}, instant: true, fidelity: fidelity.Approximate, codes: []string{"terms_other_bucket", "topk_per_step"}},
		options: map[string]string{"orientation": "vertical"},
	}, {
		name:    "xy horizontal bars",
		doc:     newLens("lnsXY", xyVis("bar_horizontal", "hosts", "", "count"), lensHosts(5, false), lensCount),
		want:    vizWant{typ: "bargauge", exprs: []string{countTopHosts}, instant: true, fidelity: fidelity.Approximate, codes: []string{"topk_per_step"}},
		options: map[string]string{"orientation": "horizontal"},
	}, {
		name: "xy percentage area with two metrics",
		doc:  newLens("lnsXY", xyVis("area_percentage_stacked", "time", "", "count", "bytes"), lensTime, lensCount, lensBytes),
		want: vizWant{
			typ: "timeseries",
			exprs: []string{
				`sum (count_over_time({job="logs"} [$__auto]))`,
				`sum_over_time({job="logs"} | json | __error__="" | unwrap bytes | __error__="" [$__auto]) by ()`,
			},
			legends:  []string{"Count of records", "Sum of bytes"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "percent_stack"},
		},
	}, {
		name:    "donut",
		doc:     newLens("lnsPie", pieVis("donut", []string{"hosts"}, "count"), lensHosts(5, false), lensCount),
		want:    vizWant{typ: "piechart", exprs: []string{countTopHosts}, legends: []string{"{{host_name}}"}, instant: true, fidelity: fidelity.Approximate, codes: []string{"topk_per_step"}},
		options: map[string]string{"pieType": "donut"},
	}, {
		name:    "treemap",
		doc:     newLens("lnsPie", pieVis("treemap", []string{"hosts"}, "count"), lensHosts(5, false), lensCount),
		want:    vizWant{typ: "piechart", exprs: []string{countTopHosts}, instant: true, fidelity: fidelity.Approximate, codes: []string{"lens_pie_shape", "topk_per_step"}},
		options: map[string]string{"pieType": "pie"},
	}, {
		name: "legacy metric",
		doc:  newLens("lnsLegacyMetric", map[string]any{"layerId": lensLayerID, "accessor": "bytes", "layerType": "data"}, lensBytes),
		want: vizWant{typ: "stat", exprs: []string{`sum_over_time({job="logs"} | json | __error__="" | unwrap bytes | __error__="" [$__range]) by ()`}, legends: []string{"Sum of bytes"}, instant: true},
	}, {
		name: "metric with a secondary metric and a breakdown",
		doc: newLens("lnsMetric", map[string]any{
			"layerId": lensLayerID, "metricAccessor": "count", "secondaryMetricAccessor": "bytes", "breakdownByAccessor": "hosts", "maxAccessor": "bytes",
		}, lensCount, lensBytes, lensHosts(5, false)),
		want: vizWant{
			typ: "stat",
			exprs: []string{
				countTopHosts,
				`topk(5, sum_over_time({job="logs"} | json | host_name!="" | __error__="" | unwrap bytes | __error__="" [$__range]) by (host_name))`,
			},
			legends:  []string{"{{host_name}} Count of records", "{{host_name}} Sum of bytes"},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"topk_per_step"},
		},
	}, {
		name: "gauge",
		doc: newLens("lnsGauge", map[string]any{"layerId": lensLayerID, "metricAccessor": "p95", "shape": "horizontalBullet"},
			column("p95", "percentile", "event.duration", "95th percentile of event.duration", map[string]any{"percentile": 95})),
		want: vizWant{
			typ:      "gauge",
			exprs:    []string{`quantile_over_time(0.95, {job="logs"} | json | __error__="" | unwrap event_duration | __error__="" [$__range]) by ()`},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"percentile_method"},
		},
	}, {
		name: "table with a hidden column",
		doc: newLens("lnsDatatable", map[string]any{"layerId": lensLayerID, "columns": []any{
			map[string]any{"columnId": "hosts"}, map[string]any{"columnId": "count"}, map[string]any{"columnId": "bytes", "hidden": true},
		}}, lensHosts(10, false), lensCount, lensBytes),
		want: vizWant{
			typ:      "table",
			exprs:    []string{`topk(10, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__range])))`},
			legends:  []string{"{{host_name}}"},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"topk_per_step"},
		},
	}, {
		name:    "tag cloud",
		doc:     newLens("lnsTagcloud", map[string]any{"layerId": lensLayerID, "tagAccessor": "hosts", "valueAccessor": "count"}, lensHosts(5, false), lensCount),
		want:    vizWant{typ: "bargauge", exprs: []string{countTopHosts}, instant: true, fidelity: fidelity.Approximate, codes: []string{"topk_per_step"}},
		options: map[string]string{"orientation": "horizontal"},
	}, {
		name: "heatmap over time",
		doc:  newLens("lnsHeatmap", map[string]any{"layerId": lensLayerID, "xAccessor": "time", "yAccessor": "hosts", "valueAccessor": "count", "shape": "heatmap"}, lensTime, lensHosts(5, false), lensCount),
		want: vizWant{
			typ:      "heatmap",
			exprs:    []string{`topk(5, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__auto])))`},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "lens_heatmap", "topk_per_step"},
		},
	}, {
		name: "heatmap over terms",
		doc: newLens("lnsHeatmap", map[string]any{"layerId": lensLayerID, "xAccessor": "paths", "yAccessor": "hosts", "valueAccessor": "count"},
			bucketColumn("paths", "terms", "url.path", "Top values of url.path", map[string]any{"size": 3, "orderDirection": "desc", "orderBy": map[string]any{"type": "column", "columnId": "count"}}),
			lensHosts(5, false), lensCount),
		want: vizWant{
			typ:      "bargauge",
			exprs:    []string{`topk(15, sum by (url_path, host_name) (count_over_time({job="logs"} | json | url_path!="" | host_name!="" | __error__="" [$__range])))`},
			legends:  []string{"{{url_path}} {{host_name}}"},
			instant:  true,
			fidelity: fidelity.Approximate,
			codes:    []string{"lens_heatmap", "nested_terms", "topk_per_step"},
		},
	}, {
		name: "region map",
		doc:  newLens("lnsChoropleth", map[string]any{"layerId": lensLayerID}, lensCount),
		want: vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"lens_visualization_type"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := convertViz(t, tt.doc.object("l1", "Lens"))["Lens"]
			checkViz(t, got, tt.want)
			for k, v := range tt.options {
				if g := str(obj(got.Raw, "options"), k); g != v {
					t.Errorf("options.%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestLensColumns(t *testing.T) {
	count := `sum (count_over_time({job="logs"} [$__auto]))`
	formula := func(id, text string, refs ...string) lensCol {
		return column(id, "formula", "", text, map[string]any{"formula": text, "isFormulaBroken": false}).with("references", refs)
	}
	tests := []struct {
		name string
		cols []lensCol
		// plotted are the accessors; the x axis is the date histogram.
		plotted []string
		want    vizWant
	}{{
		name:    "formula that is one call",
		cols:    []lensCol{formula("f", "count()", "fX0"), column("fX0", "count", "___records___", "Part of count()", nil)},
		plotted: []string{"f"},
		want:    vizWant{typ: "timeseries", exprs: []string{count}, legends: []string{"count()"}, fidelity: fidelity.Approximate, codes: []string{"bucket_alignment"}},
	}, {
		name: "formula that computes",
		cols: []lensCol{
			formula("f", "sum(bytes) / 1000", "fX1"),
			column("fX0", "sum", "bytes", "Part of f", nil),
			column("fX1", "math", "", "Part of f", nil).with("references", []string{"fX0"}),
		},
		plotted: []string{"f"},
		want:    vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"lens_formula", "lens_no_metric"}},
	}, {
		name: "reference-based operation next to a count",
		cols: []lensCol{
			lensCount,
			column("ma", "moving_average", "", "Moving average of count", map[string]any{"window": 5}).with("references", []string{"count"}),
		},
		plotted: []string{"count", "ma"},
		want:    vizWant{typ: "timeseries", exprs: []string{count}, legends: []string{"Count of records"}, fidelity: fidelity.Approximate, codes: []string{"bucket_alignment", "lens_operation_unsupported"}},
	}, {
		name:    "last value only",
		cols:    []lensCol{column("lv", "last_value", "url.path", "Last value of url.path", map[string]any{"sortField": "@timestamp"})},
		plotted: []string{"lv"},
		want:    vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"lens_last_value", "lens_no_metric"}},
	}, {
		name: "column filter and time shift",
		cols: []lensCol{
			column("err", "count", "___records___", "Errors last week", nil).with("filter", kql("http.response.status_code >= 500")).with("timeShift", "1w"),
		},
		plotted: []string{"err"},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`sum (count_over_time({job="logs"} [$__auto] offset 1w | json | http_response_status_code >= 500 | __error__=""))`},
			legends:  []string{"Errors last week"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment"},
		},
	}, {
		name: "time shifts of an unwrapped field",
		cols: []lensCol{
			column("prev", "average", "bytes", "Previous period", nil).with("timeShift", "previous"),
			column("odd", "sum", "bytes", "Odd shift", nil).with("timeShift", "startAt(2024-01-01T00:00:00.000Z)"),
		},
		plotted: []string{"prev", "odd"},
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`avg_over_time({job="logs"} [$__auto] offset $__range | json | __error__="" | unwrap bytes | __error__="") by ()`},
			legends:  []string{"Previous period"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "time_shift"},
		},
	}, {
		name:    "count of a field",
		cols:    []lensCol{column("c", "count", "url.path", "Count of url.path", nil)},
		plotted: []string{"c"},
		want:    vizWant{typ: "timeseries", exprs: []string{count}, fidelity: fidelity.Approximate, codes: []string{"bucket_alignment", "lens_count_field"}},
	}, {
		name: "median, unique count and min",
		cols: []lensCol{
			column("med", "median", "event.duration", "Median of event.duration", nil),
			column("uc", "unique_count", "host.name", "Unique count of host.name", nil),
			column("min", "min", "bytes", "Minimum of bytes", nil),
		},
		plotted: []string{"med", "uc", "min"},
		want: vizWant{
			typ: "timeseries",
			exprs: []string{
				`quantile_over_time(0.5, {job="logs"} | json | __error__="" | unwrap event_duration | __error__="" [$__auto]) by ()`,
				`count (sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__auto])))`,
				`min_over_time({job="logs"} | json | __error__="" | unwrap bytes | __error__="" [$__auto]) by ()`,
			},
			legends:  []string{"Median of event.duration", "Unique count of host.name", "Minimum of bytes"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "cardinality_per_step", "percentile_method"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := newLens("lnsXY", xyVis("line", "time", "", tt.plotted...), append([]lensCol{lensTime}, tt.cols...)...)
			checkViz(t, convertViz(t, doc.object("l1", "Lens"))["Lens"], tt.want)
		})
	}
}

func TestLensBuckets(t *testing.T) {
	ranges := func(id string) lensCol {
		return bucketColumn(id, "range", "bytes", "bytes", map[string]any{"type": "range", "ranges": []any{
			map[string]any{"from": 0, "to": 1000, "label": "small"}, map[string]any{"from": 1000, "to": nil, "label": ""},
		}})
	}
	intervals := bucketColumn("i", "range", "bytes", "bytes", map[string]any{"type": "histogram", "maxBars": "auto", "ranges": []any{}})
	filters := bucketColumn("f", "filters", "", "Filters", map[string]any{"filters": []any{
		map[string]any{"input": kql("url.path:/login"), "label": "Logins"},
		map[string]any{"input": map[string]any{"query": "http.response.status_code:404", "language": "lucene"}, "label": ""},
	}})
	tests := []struct {
		name string
		doc  lensDoc
		want vizWant
	}{{
		name: "ranges on the x axis",
		doc:  newLens("lnsXY", xyVis("bar", "r", "", "count"), ranges("r"), lensCount),
		want: vizWant{
			typ: "bargauge",
			exprs: []string{
				`sum (count_over_time({job="logs"} | json | (bytes >= 0 and bytes < 1000) | __error__="" [$__range]))`,
				`sum (count_over_time({job="logs"} | json | bytes >= 1000 | __error__="" [$__range]))`,
			},
			legends: []string{"small", "1000 to +∞"},
			instant: true,
		},
	}, {
		name: "intervals on the x axis",
		doc:  newLens("lnsXY", xyVis("bar", "i", "", "count"), intervals, lensCount),
		want: vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{"bucket_unsupported"}},
	}, {
		name: "intervals splitting the series",
		doc:  newLens("lnsXY", xyVis("line", "time", "i", "count"), lensTime, intervals, lensCount),
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`sum (count_over_time({job="logs"} [$__auto]))`},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "bucket_dropped"},
		},
	}, {
		name: "filters splitting the series",
		doc:  newLens("lnsXY", xyVis("line", "time", "f", "count"), lensTime, filters, lensCount),
		want: vizWant{
			typ: "timeseries",
			exprs: []string{
				`sum (count_over_time({job="logs"} | json | url_path=` + "`/login`" + ` | __error__="" [$__auto]))`,
				`sum (count_over_time({job="logs"} | json | http_response_status_code == 404 | __error__="" [$__auto]))`,
			},
			legends:  []string{"Logins", "http.response.status_code:404"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment"},
		},
	}, {
		name: "terms ordered alphabetically",
		doc: newLens("lnsXY", xyVis("line", "time", "hosts", "count"), lensTime, lensCount,
			lensHosts(3, false).with("params", map[string]any{"size": 3, "orderBy": map[string]any{"type": "alphabetical", "fallback": true}, "orderDirection": "asc"})),
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`topk(3, sum by (host_name) (count_over_time({job="logs"} | json | host_name!="" | __error__="" [$__auto])))`},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "terms_order_key", "topk_per_step"},
		},
	}, {
		name: "multi-field terms",
		doc: newLens("lnsXY", xyVis("line", "time", "hosts", "count"), lensTime, lensCount,
			lensHosts(3, false).with("params", map[string]any{"size": 3, "orderBy": map[string]any{"type": "column", "columnId": "count"}, "orderDirection": "desc", "secondaryFields": []any{"url.path"}})),
		want: vizWant{
			typ:      "timeseries",
			exprs:    []string{`topk(3, sum by (host_name, url_path) (count_over_time({job="logs"} | json | host_name!="" | url_path!="" | __error__="" [$__auto])))`},
			legends:  []string{"{{host_name}} {{url_path}}"},
			fidelity: fidelity.Approximate,
			codes:    []string{"bucket_alignment", "topk_per_step"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkViz(t, convertViz(t, tt.doc.object("l1", "Lens"))["Lens"], tt.want)
		})
	}
}

// TestLensQueryAndFilters checks that the Lens query and filter pills apply
// to the layer and are recorded in the report.
func TestLensQueryAndFilters(t *testing.T) {
	doc := newLens("lnsXY", xyVis("line", "time", "", "count"), lensTime, lensCount)
	doc.state["query"] = kql("url.path:/api")
	doc.state["filters"] = []any{
		map[string]any{
			"meta":  map[string]any{"type": "phrase", "key": "host.name", "params": map[string]any{"query": "web-1"}, "negate": false, "disabled": false},
			"query": map[string]any{"match_phrase": map[string]any{"host.name": "web-1"}},
		},
		map[string]any{
			"meta":  map[string]any{"type": "phrase", "key": "host.name", "params": map[string]any{"query": "web-2"}, "negate": false, "disabled": true},
			"query": map[string]any{"match_phrase": map[string]any{"host.name": "web-2"}},
		},
	}
	got := convertViz(t, doc.object("l1", "Lens"))["Lens"]
	checkViz(t, got, vizWant{
		typ:      "timeseries",
		exprs:    []string{`sum (count_over_time({job="logs"} |= ` + "`web-1`" + ` | json | url_path=` + "`/api`" + ` | host_name=` + "`web-1`" + ` | __error__="" [$__auto]))`},
		fidelity: fidelity.Approximate,
		codes:    []string{"bucket_alignment"},
	})
	var where []string
	for _, q := range got.Report.Queries {
		where = append(where, q.Where)
	}
	if diff := cmp.Diff([]string{"query", "filter 1"}, where); diff != "" {
		t.Errorf("recorded queries (-want +got):\n%s", diff)
	}
}

// TestLensByValue converts Lens panels embedded in a dashboard: Kibana 8
// with the layer reference in the panel, Kibana 8 with it in the
// dashboard's references, prefixed by the panel id, and Kibana 7 with the
// indexpattern data source.
func TestLensByValue(t *testing.T) {
	doc := newLens("lnsPie", map[string]any{"shape": "pie", "layers": []any{map[string]any{
		"layerId": lensLayerID, "groups": []any{"hosts"}, "metric": "count",
	}}}, lensHosts(5, false), lensCount)
	layerRef := "indexpattern-datasource-layer-" + lensLayerID
	tests := []struct {
		name       string
		datasource string
		panelRefs  []Reference
		dashRefs   []Reference
	}{
		{"reference in the panel", "formBased", []Reference{{Name: layerRef, Type: "index-pattern", ID: "ip-k8s"}}, nil},
		{"reference in the dashboard", "formBased", nil, []Reference{
			{Name: "other:" + layerRef, Type: "index-pattern", ID: "ip-logs"},
			{Name: "p1:" + layerRef, Type: "index-pattern", ID: "ip-k8s"},
		}},
		{"Kibana 7 data source", "indexpattern", []Reference{{Name: layerRef, Type: "index-pattern", ID: "ip-k8s"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := doc.attrs("Hosts", tt.datasource)
			if tt.panelRefs != nil {
				attrs["references"] = tt.panelRefs
			}
			panels, _ := json.Marshal([]any{map[string]any{
				"type": "lens", "panelIndex": "p1", "gridData": map[string]any{"x": 0, "y": 0, "w": 24, "h": 15, "i": "p1"},
				"embeddableConfig": map[string]any{"attributes": attrs},
			}})
			dash := map[string]any{"type": "dashboard", "id": "d1", "references": tt.dashRefs, "attributes": map[string]any{
				"title": "Dash", "panelsJSON": string(panels),
			}}
			checkViz(t, convertViz(t, dash)["Hosts"], vizWant{
				typ:      "piechart",
				exprs:    []string{`topk(5, sum by (host_name) (count_over_time({job="k8s"} | json | host_name!="" | __error__="" [$__range])))`},
				instant:  true,
				fidelity: fidelity.Approximate,
				codes:    []string{"topk_per_step"},
			})
		})
	}
}

// TestLensLayers checks an XY chart with several layers: reference lines,
// annotations and a data layer over terms, unlike the first layer's time
// axis, are left out.
func TestLensLayers(t *testing.T) {
	doc := newLens("lnsXY", map[string]any{"preferredSeriesType": "line", "layers": []any{
		map[string]any{"layerId": lensLayerID, "layerType": "data", "seriesType": "line", "xAccessor": "time", "accessors": []any{"count"}},
		map[string]any{"layerId": "ref", "layerType": "referenceLine", "accessors": []any{"static"}},
		map[string]any{"layerId": "ann", "layerType": "annotations"},
		map[string]any{"layerId": "terms", "layerType": "data", "seriesType": "bar", "xAccessor": "hosts", "accessors": []any{"count"}},
	}}, lensTime, lensCount)
	attrs := doc.attrs("Lens", "formBased")
	layers := obj(obj(obj(attrs["state"].(map[string]any), "datasourceStates"), "formBased"), "layers")
	layers["terms"] = map[string]any{"columnOrder": []any{"hosts", "count"}, "columns": map[string]any{
		"hosts": lensHosts(5, false).col, "count": lensCount.col,
	}}
	lens := map[string]any{"type": "lens", "id": "l1", "attributes": attrs, "references": doc.object("l1", "Lens")["references"]}
	got := convertViz(t, lens)["Lens"]
	checkViz(t, got, vizWant{
		typ:      "timeseries",
		exprs:    []string{`sum (count_over_time({job="logs"} [$__auto]))`},
		fidelity: fidelity.Approximate,
		codes:    []string{"bucket_alignment", "lens_annotations", "lens_layer_dropped", "lens_reference_line"},
	})
}

func TestLensUnsupportedSources(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		code  string
	}{
		{"ES|QL", map[string]any{"title": "Lens", "visualizationType": "lnsXY", "state": map[string]any{
			"datasourceStates": map[string]any{"textBased": map[string]any{"layers": map[string]any{"a": map[string]any{"query": map[string]any{"esql": "FROM logs-*"}}}}},
		}}, "lens_text_based"},
		{"no layer", map[string]any{"title": "Lens", "visualizationType": "lnsXY", "state": map[string]any{}}, "lens_no_layers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := convertViz(t, map[string]any{"type": "lens", "id": "l1", "attributes": tt.attrs})["Lens"]
			checkViz(t, got, vizWant{typ: "text", fidelity: fidelity.Unsupported, codes: []string{tt.code}})
		})
	}
}

// TestLensIgnoreGlobalFilters checks a layer set to ignore the dashboard's
// query.
func TestLensIgnoreGlobalFilters(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		doc := newLens("lnsXY", xyVis("line", "time", "", "count"), lensTime, lensCount)
		attrs := doc.attrs("Lens", "formBased")
		layer := obj(obj(obj(obj(attrs["state"].(map[string]any), "datasourceStates"), "formBased"), "layers"), lensLayerID)
		layer["ignoreGlobalFilters"] = ignore
		lens := map[string]any{"type": "lens", "id": "l1", "attributes": attrs, "references": doc.object("l1", "Lens")["references"]}
		dash := vizDashboard("service.name:web", "l1")
		dash["references"] = []Reference{{Name: "panel_l1", Type: "lens", ID: "l1"}}
		got := convertViz(t, dash, lens)["Lens"]
		want := `sum (count_over_time({job="logs", service_name="web"} [$__auto]))`
		if ignore {
			want = `sum (count_over_time({job="logs"} [$__auto]))`
		}
		if diff := cmp.Diff([]string{want}, got.Exprs); diff != "" {
			t.Errorf("ignoreGlobalFilters=%v: queries (-want +got):\n%s", ignore, diff)
		}
	}
}

// FuzzLens converts arbitrary Lens state: conversion must not panic, and
// the panel must be there, converted or not.
func FuzzLens(f *testing.F) {
	seeds := []lensDoc{
		newLens("lnsXY", xyVis("bar_percentage_stacked", "time", "hosts", "count", "bytes"), lensTime, lensHosts(5, true), lensCount, lensBytes),
		newLens("lnsPie", pieVis("mosaic", []string{"hosts"}, "count"), lensHosts(5, false), lensCount.with("filter", kql("a:1")).with("timeShift", "1d")),
		newLens("lnsDatatable", map[string]any{"layerId": lensLayerID, "columns": []any{map[string]any{"columnId": "hosts", "isTransposed": true}}}, lensHosts(3, false)),
	}
	for _, d := range seeds {
		b, _ := json.Marshal(d.attrs("Lens", "formBased"))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var attrs map[string]any
		if json.Unmarshal(data, &attrs) != nil || attrs == nil {
			return
		}
		attrs["title"] = "Lens"
		o, _ := json.Marshal(map[string]any{"type": "lens", "id": "l1", "attributes": attrs, "references": []Reference{
			{Name: "indexpattern-datasource-layer-" + lensLayerID, Type: "index-pattern", ID: "ip-logs"},
		}})
		res := Convert([]Input{{File: "f.ndjson", Data: o}}, Options{Mappings: vizMappings})
		if res.Report.Summary.Panels.Total() != 1 {
			t.Fatalf("got %d panels, want 1", res.Report.Summary.Panels.Total())
		}
	})
}
