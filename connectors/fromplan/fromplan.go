// Package fromplan builds the connectors' clients from a plan's sources and
// targets, resolving secret references, and adapts them to the interfaces
// of the inventory and the deploy checks. It is the one package that depends
// on both the plan format and the clients.
package fromplan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/grafana"
	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/kibana"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/plans"
)

// Timeout bounds each request of a client built here, unless the plan's
// deploy timeout is longer.
const Timeout = 30 * time.Second

// secrets resolves several secrets, naming the plan field of the first
// that fails.
type secrets struct{ err error }

func (s *secrets) get(path string, secret plans.Secret) string {
	if s.err != nil {
		return ""
	}
	v, err := secret.Resolve()
	if err != nil {
		s.err = fmt.Errorf("%s: %w", path, err)
	}
	return v
}

func tlsOf(p *plans.Plan, t plans.TLS) httpx.TLS {
	path := func(f string) string {
		if f == "" {
			return ""
		}
		return p.Path(f)
	}
	return httpx.TLS{CAFile: path(t.CAFile), CertFile: path(t.CertFile), KeyFile: path(t.KeyFile), InsecureSkipVerify: t.InsecureSkipVerify}
}

func timeout(p *plans.Plan) time.Duration {
	return max(p.Phases.Deploy.Timeout.Duration, Timeout)
}

var errMissing = errors.New("not in the plan")

// Elasticsearch returns a client of sources.elasticsearch.
func Elasticsearch(p *plans.Plan) (*elasticsearch.Client, error) {
	src := p.Sources.Elasticsearch
	if src == nil {
		return nil, fmt.Errorf("sources.elasticsearch: %w", errMissing)
	}
	var s secrets
	cfg := elasticsearch.Config{
		URLs:     []string{src.URL},
		Username: src.Username,
		Password: s.get("sources.elasticsearch.password", src.Password),
		APIKey:   s.get("sources.elasticsearch.api_key", src.APIKey),
		Token:    s.get("sources.elasticsearch.token", src.Token),
		TLS:      tlsOf(p, src.TLS),
		Timeout:  timeout(p),
	}
	if s.err != nil {
		return nil, s.err
	}
	return elasticsearch.New(cfg)
}

// Kibana returns a client of sources.kibana's API.
func Kibana(p *plans.Plan) (*kibana.Client, error) {
	src := p.Sources.Kibana
	if src == nil || src.URL == "" {
		return nil, fmt.Errorf("sources.kibana.url: %w", errMissing)
	}
	var s secrets
	cfg := kibana.Config{
		URL: src.URL, Space: src.Space, Username: src.Username,
		Password: s.get("sources.kibana.password", src.Password),
		APIKey:   s.get("sources.kibana.api_key", src.APIKey),
		TLS:      tlsOf(p, src.TLS), Timeout: timeout(p),
	}
	if s.err != nil {
		return nil, s.err
	}
	return kibana.New(cfg)
}

// GrafanaSource returns a client of the old Grafana, sources.grafana.
func GrafanaSource(p *plans.Plan) (*grafana.Client, error) {
	src := p.Sources.Grafana
	if src == nil || src.URL == "" {
		return nil, fmt.Errorf("sources.grafana.url: %w", errMissing)
	}
	var s secrets
	cfg := grafana.Config{URL: src.URL, Token: s.get("sources.grafana.token", src.Token), TLS: tlsOf(p, src.TLS), Timeout: timeout(p)}
	if s.err != nil {
		return nil, s.err
	}
	return grafana.New(cfg)
}

// GrafanaTarget returns a client of the new Grafana, targets.grafana.
func GrafanaTarget(p *plans.Plan) (*grafana.Client, error) {
	t := p.Targets.Grafana
	if t == nil {
		return nil, fmt.Errorf("targets.grafana: %w", errMissing)
	}
	var s secrets
	cfg := grafana.Config{URL: t.URL, Token: s.get("targets.grafana.token", t.Token), TLS: tlsOf(p, t.TLS), Timeout: timeout(p)}
	if s.err != nil {
		return nil, s.err
	}
	return grafana.New(cfg)
}

// Jaeger returns a client of sources.jaeger's query service.
func Jaeger(p *plans.Plan) (*jaeger.Client, error) {
	src := p.Sources.Jaeger
	if src == nil {
		return nil, fmt.Errorf("sources.jaeger: %w", errMissing)
	}
	return jaeger.New(jaeger.Config{GRPC: src.GRPC, HTTP: src.HTTP, TLS: tlsOf(p, src.TLS), Timeout: timeout(p)})
}

// Loki returns a client of targets.loki.
func Loki(p *plans.Plan) (*loki.Client, error) {
	t := p.Targets.Loki
	if t == nil {
		return nil, fmt.Errorf("targets.loki: %w", errMissing)
	}
	var s secrets
	cfg := loki.Config{
		URL: t.URL, Tenant: t.Tenant, Username: t.Username,
		Password: s.get("targets.loki.password", t.Password),
		Token:    s.get("targets.loki.token", t.Token),
		TLS:      tlsOf(p, t.TLS), Timeout: timeout(p),
	}
	if s.err != nil {
		return nil, s.err
	}
	return loki.New(cfg)
}

// Tempo returns a client of targets.tempo.
func Tempo(p *plans.Plan) (*tempo.Client, error) {
	t := p.Targets.Tempo
	if t == nil {
		return nil, fmt.Errorf("targets.tempo: %w", errMissing)
	}
	var s secrets
	cfg := tempo.Config{
		URL: t.URL, OTLPGRPC: t.OTLP, OTLPHTTP: t.OTLPHTTP, Tenant: t.Tenant,
		Token: s.get("targets.tempo.token", t.Token), TLS: tlsOf(p, t.TLS), Timeout: timeout(p),
	}
	if s.err != nil {
		return nil, s.err
	}
	return tempo.New(cfg)
}

// LokiLimits reads Loki's effective limits: its /config when readable,
// else Loki's defaults, with targets.loki.limits applied on top in both
// cases. /config shows the cluster-wide defaults, not a tenant's runtime
// overrides, so the plan's values win. On an error from /config it
// returns the fallback and the error, so a caller can go on and report
// why.
func LokiLimits(ctx context.Context, p *plans.Plan, c *loki.Client) (loki.Limits, error) {
	base, err := c.Limits(ctx)
	if err != nil {
		base = loki.DefaultLimits()
	}
	if errors.Is(err, loki.ErrConfigUnavailable) {
		err = nil
	}
	t := p.Targets.Loki
	if t == nil || len(t.Limits) == 0 {
		return base, err
	}
	planned, perr := loki.LimitsFromMap(t.Limits, base)
	if perr != nil {
		return base, fmt.Errorf("targets.loki.limits: %w", perr)
	}
	planned.Source = base.Source + " with targets.loki.limits"
	return planned, err
}

// TempoLimits reads Tempo's effective limits the same way as LokiLimits,
// with targets.tempo.limits on top.
func TempoLimits(ctx context.Context, p *plans.Plan, c *tempo.Client) (tempo.Limits, error) {
	base, err := c.Limits(ctx)
	if err != nil {
		base = tempo.DefaultLimits()
	}
	if errors.Is(err, tempo.ErrConfigUnavailable) {
		err = nil
	}
	t := p.Targets.Tempo
	if t == nil || len(t.Limits) == 0 {
		return base, err
	}
	planned, perr := tempo.LimitsFromMap(t.Limits, base)
	if perr != nil {
		return base, fmt.Errorf("targets.tempo.limits: %w", perr)
	}
	planned.Source = base.Source + " with targets.tempo.limits"
	return planned, err
}
