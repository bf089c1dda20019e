package inventory

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/plans"
)

// KibanaSource is Kibana's saved-objects export API.
type KibanaSource interface {
	// Export returns the NDJSON export of the objects to convert.
	Export(ctx context.Context) ([]byte, error)
}

// GrafanaSource is the old Grafana's dashboard API.
type GrafanaSource interface {
	// Dashboards returns every dashboard's JSON, keyed by "uid title".
	Dashboards(ctx context.Context) (map[string][]byte, error)
}

// Options are the sources of one inventory run. A nil source is skipped,
// and the plan's export paths are read when set.
type Options struct {
	Plan          *plans.Plan
	Elasticsearch LogSource
	Jaeger        TraceSource
	Kibana        KibanaSource
	Grafana       GrafanaSource
	// Limits returns Loki's effective limits and where they came from. On
	// an error it returns the limits it fell back to, or zero limits to
	// use DefaultLokiLimits.
	Limits func(ctx context.Context) (LokiLimits, error)
	Now    time.Time
}

// Run takes the inventory. A source that fails is listed in the report's
// problems and the other sources go on; Run returns an error only when the
// context ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	p := opts.Plan
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	rep := &Report{
		Schema: SchemaVersion,
		Plan:   p.Metadata.Name,
		At:     now,
		Window: Window{From: now.Add(-p.Phases.Inventory.Window.Duration), To: now},
	}
	problem := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
	}

	limits := DefaultLokiLimits()
	if opts.Limits != nil && opts.Elasticsearch != nil {
		l, err := opts.Limits(ctx)
		if err != nil && l.Source == "" {
			l = DefaultLokiLimits()
		}
		if err != nil {
			problem("loki: reading limits: %v; the projection uses %s", err, l.Source)
		}
		limits = l
	}
	if opts.Elasticsearch != nil {
		es, projection, err := Elasticsearch(ctx, opts.Elasticsearch, p, rep.Window, limits)
		if err != nil {
			problem("%v", err)
		} else {
			rep.Elasticsearch, rep.Loki = es, projection
		}
	}
	if opts.Jaeger != nil {
		j, err := Jaeger(ctx, opts.Jaeger, p, rep.Window)
		if err != nil {
			problem("%v", err)
		} else {
			rep.Jaeger = j
		}
	}
	runObjects(ctx, opts, rep, problem)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return rep, nil
}

// runObjects takes stock of the Kibana, Grafana and alert objects, from the
// plan's exports or, without an export, from the APIs.
func runObjects(ctx context.Context, opts Options, rep *Report, problem func(string, ...any)) {
	p := opts.Plan
	if k := p.Sources.Kibana; k != nil && k.Export != "" {
		inv, err := KibanaExport(ctx, p.Path(k.Export), k.Export)
		if err != nil {
			problem("kibana: %v", err)
		}
		rep.Kibana = inv
	} else if opts.Kibana != nil {
		inv, err := KibanaAPI(ctx, opts.Kibana)
		if err != nil {
			problem("kibana: %v", err)
		}
		rep.Kibana = inv
	}
	if g := p.Sources.Grafana; g != nil && g.Dashboards != "" {
		inv, err := GrafanaDashboards(ctx, p.Path(g.Dashboards), g.Dashboards)
		if err != nil {
			problem("grafana: %v", err)
		}
		rep.Grafana = inv
	} else if opts.Grafana != nil {
		inv, err := GrafanaAPI(ctx, opts.Grafana)
		if err != nil {
			problem("grafana: %v", err)
		}
		rep.Grafana = inv
	}
	if a := p.Sources.Alerts; a != "" {
		inv, err := Alerts(ctx, p.Path(a), a, p.Logs)
		if err != nil {
			problem("alerts: %v", err)
		}
		rep.Alerts = inv
	}
}

// Elasticsearch measures the indices of each logs mapping of the plan,
// proposes their labels and projects them against Loki's limits. Without
// logs mappings it measures every index as one mapping.
func Elasticsearch(ctx context.Context, src LogSource, p *plans.Plan, window Window, limits LokiLimits) (*ElasticsearchReport, *LokiProjection, error) {
	mappings := p.Logs
	if len(mappings) == 0 {
		mappings = []plans.LogMapping{plans.DefaultLogMapping()}
	}
	budget := StreamBudget{
		MaxStreams: limits.MaxStreams, Share: p.Phases.Inventory.MaxStreamShare,
		Mappings: len(mappings), MaxLabelNames: limits.MaxLabelNames,
	}
	es, err := inventoryElasticsearch(ctx, src, mappings, window, budget)
	if err != nil {
		return nil, nil, err
	}
	return es, project(es, limits), nil
}

// Jaeger lists the services the plan selects, their operations and span
// rates.
func Jaeger(ctx context.Context, src TraceSource, p *plans.Plan, window Window) (*JaegerReport, error) {
	var selected []string
	if p.Traces != nil {
		selected = p.Traces.Services
	}
	return inventoryJaeger(ctx, src, selected, window)
}

// KibanaAPI counts the saved objects of an export read from Kibana's API.
func KibanaAPI(ctx context.Context, src KibanaSource) (*KibanaInventory, error) {
	data, err := src.Export(ctx)
	if err != nil {
		return nil, fmt.Errorf("exporting saved objects: %w", err)
	}
	inv := &KibanaInventory{Source: "saved objects API", Files: 1, ByType: map[string]int{}}
	inv.add("saved objects API", data)
	sort.Strings(inv.Dashboards)
	return inv, nil
}

// GrafanaAPI counts the dashboards read from Grafana's API.
func GrafanaAPI(ctx context.Context, src GrafanaSource) (*GrafanaInventory, error) {
	boards, err := src.Dashboards(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading dashboards: %w", err)
	}
	inv := &GrafanaInventory{Source: "Grafana API", DataSources: map[string]int{}}
	names := make([]string, 0, len(boards))
	for name := range boards {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		inv.Files++
		inv.AddDashboard(name, boards[name])
	}
	return inv, nil
}

// DefaultLokiLimits returns Loki 3.x's default limits, as
// connectors/loki's DefaultLimits gives them.
func DefaultLokiLimits() LokiLimits {
	return LimitsFromLoki(loki.DefaultLimits())
}

// LimitsFromLoki returns the limits the inventory projects against.
func LimitsFromLoki(l loki.Limits) LokiLimits {
	return LokiLimits{
		MaxStreams:            int64(l.MaxGlobalStreamsPerUser),
		MaxLabelNames:         l.MaxLabelNamesPerSeries,
		IngestionRateBytes:    float64(l.IngestionRateBytes),
		PerStreamRateBytes:    float64(l.PerStreamRateBytes),
		MaxStructuredMetadata: l.MaxStructuredMetadataEntries,
		Source:                limitsSourceText(l.Source),
	}
}

// limitsSourceText names where Loki's limits came from, for reports.
func limitsSourceText(source string) string {
	switch source {
	case loki.SourceDefaults:
		return "Loki 3.x defaults"
	case loki.SourceConfigEndpoint:
		return "Loki's /config"
	}
	return source
}

// project compares the proposed schema and the measured rates with Loki's
// limits.
func project(es *ElasticsearchReport, limits LokiLimits) *LokiProjection {
	pr := &LokiProjection{Limits: limits, OK: true, StreamsKnown: true, RatesMeasured: true}
	finding := func(ok bool, format string, args ...any) {
		text := fmt.Sprintf(format, args...)
		pr.Findings = append(pr.Findings, text)
		if !ok {
			pr.OK = false
			pr.Problems = append(pr.Problems, text)
		}
	}
	for _, m := range es.Mappings {
		for _, f := range m.Proposal.Fields {
			if f.FromPlan && f.Role == RoleStructuredMetadata {
				finding(false, "%s: the plan maps %s as label %s, but %s; move it to structured_metadata in the logs entry",
					m.Indices, f.Field, f.Label, f.Reason)
			}
		}
		pr.ProposedStreams = saturatingAdd(pr.ProposedStreams, m.Proposal.ProjectedStreams)
		pr.ProjectedStreams = saturatingAdd(pr.ProjectedStreams, m.Proposal.PlanStreams)
		if !m.Proposal.PlanStreamsKnown || len(m.Problems) > 0 {
			pr.StreamsKnown = false
		}
		if !m.RatesMeasured {
			pr.RatesMeasured = false
		}
		pr.BytesPerSecond += m.BytesPerSecond
		labels := len(m.Proposal.StaticLabels) + len(m.Proposal.Labels())
		if limits.MaxLabelNames > 0 && labels > limits.MaxLabelNames {
			finding(false, "%s: %d labels, above max_label_names_per_series %d", m.Indices, labels, limits.MaxLabelNames)
		}
		// es_id is always added, so a document's _id can be checked later.
		sm := len(m.Proposal.StructuredMetadata()) + 1
		if limits.MaxStructuredMetadata > 0 && sm > limits.MaxStructuredMetadata {
			finding(false, "%s: %d structured metadata entries per line, above max_structured_metadata_entries_count %d",
				m.Indices, sm, limits.MaxStructuredMetadata)
		}
	}
	switch {
	case !pr.StreamsKnown:
		finding(false, "the streams of the plan's labels could not be bounded, because a label field or a logs entry could not be measured (see the problems)")
	case limits.MaxStreams > 0:
		ok := pr.ProjectedStreams <= limits.MaxStreams
		finding(ok, "the plan's labels project at most %d active streams of max_global_streams_per_user %d; the proposed labels %d",
			pr.ProjectedStreams, limits.MaxStreams, pr.ProposedStreams)
	default:
		finding(true, "the plan's labels project at most %d active streams; Loki sets no stream limit", pr.ProjectedStreams)
	}
	if !pr.RatesMeasured {
		finding(true, "Warning: the daily volume of a logs entry could not be read, so the rates below leave it out")
	}
	// Rates come from the store size, an estimate, so going over a rate
	// limit is a warning: the deploy check reads the live limits again.
	if limits.IngestionRateBytes > 0 {
		finding(true, "%singest rate of the busiest day: %s/s against ingestion_rate_mb %s/s (estimated from the Elasticsearch store size)",
			warnIf(pr.BytesPerSecond > limits.IngestionRateBytes), humanBytes(pr.BytesPerSecond), humanBytes(limits.IngestionRateBytes))
	}
	if pr.ProjectedStreams > 0 && limits.PerStreamRateBytes > 0 {
		pr.PerStreamBytesPerSecond = pr.BytesPerSecond / float64(pr.ProjectedStreams)
		finding(true, "%saverage rate per stream: %s/s against per_stream_rate_limit %s/s; a skewed stream can be well above the average",
			warnIf(pr.PerStreamBytesPerSecond > limits.PerStreamRateBytes), humanBytes(pr.PerStreamBytesPerSecond), humanBytes(limits.PerStreamRateBytes))
	}
	return pr
}

func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func warnIf(over bool) string {
	if over {
		return "Warning: above the limit: "
	}
	return ""
}

func humanBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", b, units[i])
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
