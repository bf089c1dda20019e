package grafana

import (
	"math"
	"strconv"
	"strings"

	"github.com/obs-migrate/migrate/internal/ojson"
	"github.com/obs-migrate/migrate/translators/fidelity"
	"github.com/obs-migrate/migrate/translators/traceql"
)

// convertJaeger turns a Jaeger target into a Tempo target. Grafana's Jaeger
// targets have four query types: search (service, operation, tags,
// durations, limit), a trace ID in query (the empty type), the dependency
// graph, and an uploaded file, which the dashboard does not keep.
func (c *dashConv) convertJaeger(t *ojson.Object) convertedTarget {
	res := convertedTarget{lang: "traceql"}
	switch qt := t.String("queryType"); qt {
	case "search":
		return c.jaegerSearch(t)
	case "", "traceId":
		id := strings.TrimSpace(t.String("query"))
		if id == "" {
			res.reasons.Addf(fidelity.Unsupported, "empty_trace_id", "the target looks up a trace but names no trace ID")
			return res
		}
		return c.renderTrace(t, traceql.Search{TraceIDs: []string{id}})
	case "dependencyGraph":
		nt := c.tempoTarget(t, "serviceMap")
		res.targets = []*ojson.Object{nt}
		res.reasons.Addf(fidelity.Approximate, "service_map",
			"Jaeger's dependency graph becomes Tempo's service graph, which Tempo's metrics generator writes to Prometheus; the Tempo data source needs its service map data source set")
		return res
	case "upload":
		res.reasons.Addf(fidelity.Unsupported, "upload",
			"the target shows a trace file uploaded in the browser, which the dashboard does not keep; upload it again to Tempo's data source")
		return res
	default:
		res.reasons.Addf(fidelity.Unsupported, "jaeger_query_type", "the Jaeger query type %q has no Tempo counterpart", qt)
		return res
	}
}

// jaegerSearch converts a search target. Grafana sends its time range
// with the search, so the window is the dashboard's.
func (c *dashConv) jaegerSearch(t *ojson.Object) convertedTarget {
	s := traceql.Search{
		Form:        traceql.FormAPI,
		Service:     t.String("service"),
		Operation:   t.String("operation"),
		MinDuration: text(t, "minDuration"),
		MaxDuration: text(t, "maxDuration"),
	}
	// Grafana's operation picker offers "All", which it drops before
	// sending the search.
	if s.Operation == "All" {
		s.Operation = ""
	}
	var res convertedTarget
	res.lang = "traceql"
	if lim := text(t, "limit"); lim != "" {
		// Grafana may save the limit as 20.0.
		f, err := strconv.ParseFloat(lim, 64)
		n := int(f)
		if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
			res.reasons.Addf(fidelity.Unsupported, "invalid_limit", "the limit %q is not a whole number of traces", lim)
			return res
		}
		s.Limit = n
	}
	tags, err := traceql.ParseTags(t.String("tags"))
	if err != nil {
		res.reasons.Addf(fidelity.Unsupported, "invalid_tags", "the tags %q cannot be read: %v", t.String("tags"), err)
		return res
	}
	s.Tags = tags
	return c.renderTrace(t, s)
}

// renderTrace renders a search and builds the Tempo target.
func (c *dashConv) renderTrace(t *ojson.Object, s traceql.Search) convertedTarget {
	opts := c.opts.Traces
	opts.KeepVariables = true
	opts.DashboardTimeRange = true
	r := traceql.Render(s, opts)
	res := convertedTarget{lang: "traceql", reasons: r.Reasons}
	if r.Query == "" {
		return res
	}
	nt := c.tempoTarget(t, "traceql")
	nt.Set("query", r.Query)
	if r.Tempo.Limit > 0 {
		nt.Set("limit", r.Tempo.Limit)
	}
	if r.Tempo.SpansPerSpanSet > 0 {
		nt.Set("spss", r.Tempo.SpansPerSpanSet)
	}
	nt.Set("tableType", "traces")
	res.targets = []*ojson.Object{nt}
	res.queries = []string{r.Query}
	return res
}

// tempoTarget builds a Tempo target in place of a Jaeger one, keeping its
// refId and hide setting.
func (c *dashConv) tempoTarget(from *ojson.Object, queryType string) *ojson.Object {
	t := ojson.NewObject()
	if ds, ok := from.Get("datasource"); ok && ds != nil {
		t.Set("datasource", c.tempoRef(ds))
	}
	t.Set("queryType", queryType)
	if h, ok := from.Get("hide"); ok {
		t.Set("hide", h)
	}
	t.Set("refId", from.String("refId"))
	return t
}
