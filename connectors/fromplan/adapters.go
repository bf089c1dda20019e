package fromplan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/grafana"
	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/kibana"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/deploy"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/plans"
)

// Connectors builds every client from the plan; it satisfies the phases
// package's Connectors.
type Connectors struct{}

// Elasticsearch returns the inventory's view of sources.elasticsearch.
func (Connectors) Elasticsearch(p *plans.Plan) (inventory.LogSource, error) {
	c, err := Elasticsearch(p)
	if err != nil {
		return nil, err
	}
	return LogSource{c}, nil
}

// Jaeger returns the inventory's view of sources.jaeger.
func (Connectors) Jaeger(p *plans.Plan) (inventory.TraceSource, error) {
	c, err := Jaeger(p)
	if err != nil {
		return nil, err
	}
	return TraceSource{c}, nil
}

// Kibana returns the inventory's view of sources.kibana's API.
func (Connectors) Kibana(p *plans.Plan) (inventory.KibanaSource, error) {
	c, err := Kibana(p)
	if err != nil {
		return nil, err
	}
	return KibanaSource{c}, nil
}

// Grafana returns the inventory's view of sources.grafana's API.
func (Connectors) Grafana(p *plans.Plan) (inventory.GrafanaSource, error) {
	c, err := GrafanaSource(p)
	if err != nil {
		return nil, err
	}
	return GrafanaDashboards{c}, nil
}

// LokiLimits returns the inventory's view of Loki's limits. Without
// targets.loki it returns Loki's defaults.
func (Connectors) LokiLimits(ctx context.Context, p *plans.Plan) (inventory.LokiLimits, error) {
	if p.Targets.Loki == nil {
		return inventory.LimitsFromLoki(loki.DefaultLimits()), nil
	}
	c, err := Loki(p)
	if err != nil {
		return inventory.LimitsFromLoki(loki.DefaultLimits()), err
	}
	l, err := LokiLimits(ctx, p, c)
	return inventory.LimitsFromLoki(l), err
}

// Deploy returns the clients of the plan's targets for the deploy checks.
func (Connectors) Deploy(p *plans.Plan) (deploy.Targets, error) {
	var t deploy.Targets
	if p.Targets.Loki != nil {
		c, err := Loki(p)
		if err != nil {
			return t, err
		}
		t.Loki = c
		t.LokiLimits = func(ctx context.Context) (loki.Limits, error) { return LokiLimits(ctx, p, c) }
	}
	if p.Targets.Tempo != nil {
		c, err := Tempo(p)
		if err != nil {
			return t, err
		}
		t.Tempo = TempoPusher{Client: c, HTTP: p.Targets.Tempo.OTLPHTTP != ""}
		t.TempoLimits = func(ctx context.Context) (tempo.Limits, error) { return TempoLimits(ctx, p, c) }
	}
	if p.Targets.Grafana != nil {
		c, err := GrafanaTarget(p)
		if err != nil {
			return t, err
		}
		t.Grafana = GrafanaVersion{c}
	}
	return t, nil
}

// LogSource adapts the Elasticsearch client to the inventory.
type LogSource struct{ C *elasticsearch.Client }

// Info returns the cluster name and version.
func (s LogSource) Info(ctx context.Context) (string, string, error) {
	info, err := s.C.Info(ctx)
	if err != nil {
		return "", "", err
	}
	return info.ClusterName, info.Version, info.CheckVersion()
}

// Indices lists the indices a pattern matches.
func (s LogSource) Indices(ctx context.Context, pattern string) ([]inventory.IndexInfo, error) {
	list, err := s.C.Indices(ctx, pattern)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.IndexInfo, 0, len(list))
	for _, idx := range list {
		out = append(out, inventory.IndexInfo{Name: idx.Name, DataStream: idx.DataStream, Docs: idx.Docs, StoreBytes: idx.StoreBytes})
	}
	return out, nil
}

// Fields lists the flattened mapping.
func (s LogSource) Fields(ctx context.Context, pattern string) ([]inventory.FieldInfo, error) {
	list, err := s.C.Fields(ctx, pattern)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.FieldInfo, 0, len(list))
	for _, f := range list {
		out = append(out, inventory.FieldInfo{Path: f.Path, Type: f.Type, Conflicts: f.Conflicts})
	}
	return out, nil
}

// TimeField detects the time field.
func (s LogSource) TimeField(ctx context.Context, pattern string) (string, error) {
	return s.C.DetectTimeField(ctx, pattern)
}

// Cardinality estimates distinct values. Fields the cluster cannot
// aggregate on are returned in notes with the reason.
func (s LogSource) Cardinality(ctx context.Context, pattern, timeField string, fields []string, from, to time.Time) (map[string]int64, map[string]string, error) {
	values, err := s.C.Cardinality(ctx, pattern, timeField, fields, from, to)
	notes := map[string]string{}
	var na *elasticsearch.NotAggregatableError
	if errors.As(err, &na) {
		for _, f := range na.Fields {
			notes[f.Field] = f.Reason
		}
		err = nil
	}
	return values, notes, err
}

// DailyVolume reads documents and estimated bytes per day.
func (s LogSource) DailyVolume(ctx context.Context, pattern, timeField string, from, to time.Time) ([]inventory.DayVolume, error) {
	days, err := s.C.DailyVolume(ctx, pattern, timeField, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.DayVolume, 0, len(days))
	for _, d := range days {
		out = append(out, inventory.DayVolume{Day: d.Day, Docs: d.Docs, EstimatedBytes: d.EstimatedBytes})
	}
	return out, nil
}

// TraceSource adapts the Jaeger client to the inventory.
type TraceSource struct{ C *jaeger.Client }

// Close closes the client's connection.
func (s TraceSource) Close() error { return s.C.Close() }

// Services lists services.
func (s TraceSource) Services(ctx context.Context) ([]string, error) { return s.C.Services(ctx) }

// Operations lists a service's operations with their span kinds.
func (s TraceSource) Operations(ctx context.Context, service string) ([]inventory.OperationInfo, error) {
	ops, err := s.C.Operations(ctx, service)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.OperationInfo, 0, len(ops))
	for _, op := range ops {
		out = append(out, inventory.OperationInfo{Name: op.Name, SpanKind: op.SpanKind})
	}
	return out, nil
}

// SampleTraces searches a service's traces and counts their spans.
func (s TraceSource) SampleTraces(ctx context.Context, service string, from, to time.Time, limit int) (inventory.TraceSample, error) {
	traces, err := s.C.FindTraces(ctx, jaeger.TraceQuery{Service: service, StartMin: from, StartMax: to, NumTraces: limit})
	if err != nil {
		return inventory.TraceSample{}, err
	}
	// A trace holds the spans of every service it crosses; only this
	// service's spans count toward its rate.
	sample := inventory.TraceSample{Traces: len(traces)}
	for _, td := range traces {
		eachServiceSpan(td, service, func(sp ptrace.Span) {
			sample.Spans++
			start := sp.StartTimestamp().AsTime()
			if sample.Oldest.IsZero() || start.Before(sample.Oldest) {
				sample.Oldest = start
			}
			if start.After(sample.Newest) {
				sample.Newest = start
			}
		})
	}
	return sample, nil
}

// eachServiceSpan calls fn for each span whose resource has the given
// service.name.
func eachServiceSpan(td ptrace.Traces, service string, fn func(ptrace.Span)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		if name, ok := rs.Resource().Attributes().Get("service.name"); !ok || name.Str() != service {
			continue
		}
		ss := rs.ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			spans := ss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				fn(spans.At(k))
			}
		}
	}
}

// KibanaSource adapts the Kibana client to the inventory.
type KibanaSource struct{ C *kibana.Client }

// Export returns the NDJSON export of the default types.
func (s KibanaSource) Export(ctx context.Context) ([]byte, error) {
	exp, err := s.C.Export(ctx, kibana.ExportRequest{IncludeReferencesDeep: true})
	if err != nil {
		return nil, err
	}
	return exp.Raw, nil
}

// GrafanaDashboards adapts the Grafana client to the inventory.
type GrafanaDashboards struct{ C *grafana.Client }

// Dashboards reads every dashboard's JSON, keyed by "uid title".
func (s GrafanaDashboards) Dashboards(ctx context.Context) (map[string][]byte, error) {
	refs, err := s.C.SearchDashboards(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(refs))
	for _, ref := range refs {
		raw, _, err := s.C.Dashboard(ctx, ref.UID)
		if err != nil {
			return nil, err
		}
		out[ref.UID+" "+ref.Title] = raw
	}
	return out, nil
}

// TempoPusher adapts the Tempo client to the deploy checks, pushing over
// OTLP/HTTP when the plan gives otlp_http and over gRPC otherwise.
type TempoPusher struct {
	*tempo.Client
	// HTTP selects OTLP/HTTP over gRPC.
	HTTP bool
}

// Push sends a trace.
func (t TempoPusher) Push(ctx context.Context, td ptrace.Traces) (tempo.PushResult, error) {
	if t.HTTP {
		return t.PushHTTP(ctx, td)
	}
	return t.PushGRPC(ctx, td)
}

// GrafanaVersion adapts the Grafana client to the deploy checks.
type GrafanaVersion struct{ C *grafana.Client }

// Version reads Grafana's version from /api/health, checks that its
// database is "ok", and lists folders to check that the token is
// accepted, since /api/health needs no credentials.
func (g GrafanaVersion) Version(ctx context.Context) (string, error) {
	h, err := g.C.Health(ctx)
	if err != nil {
		return "", err
	}
	if h.Database != "ok" {
		return h.Version, fmt.Errorf("grafana %s reports its database as %q, not ok", h.Version, h.Database)
	}
	if _, err := g.C.Folders(ctx); err != nil {
		return h.Version, err
	}
	return h.Version, nil
}
