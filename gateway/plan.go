package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/connectors/fromplan"
	"github.com/obs-migrate/migrate/connectors/httpx"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/logmap"
	"github.com/obs-migrate/migrate/plans"
)

// Addresses override plan.gateway; an empty field keeps the plan's value.
type Addresses struct {
	Listen, OTLPGRPC, OTLPHTTP, QueueDir string
}

// FromPlan builds a Config from a plan. It takes the listen addresses and
// queue folder of plan.gateway (relative to the plan's folder) or of over,
// the Elasticsearch cluster and Jaeger collector of sources, the Loki and
// Tempo of targets, and the plan's logs mappings. It reads Loki's and
// Tempo's limits from their config endpoints, else from the plan, else
// their defaults. The dead-letter files it opens are closed by the
// returned func, after the gateway stopped.
//
// A plan without targets.loki leaves logs in Elasticsearch only, and one
// without targets.tempo leaves traces in Jaeger only.
func FromPlan(ctx context.Context, p *plans.Plan, over Addresses, mode ModeSource, log *slog.Logger) (Config, func() error, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := Config{
		Listen: p.Gateway.Listen, OTLPGRPC: p.Gateway.OTLPGRPC, OTLPHTTP: p.Gateway.OTLPHTTP,
		QueueDir: p.Path(p.Gateway.QueueDir), Mode: mode, Logger: log,
		Probes: map[string]Probe{}, DeadLetters: map[string]delivery.DeadLetter{},
	}
	for _, o := range []struct {
		dst *string
		v   string
	}{
		{&cfg.Listen, over.Listen}, {&cfg.OTLPGRPC, over.OTLPGRPC}, {&cfg.OTLPHTTP, over.OTLPHTTP}, {&cfg.QueueDir, over.QueueDir},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	var files []*delivery.FileDeadLetter
	closeAll := func() error {
		var errs []error
		for _, f := range files {
			errs = append(errs, f.Close())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (Config, func() error, error) {
		_ = closeAll()
		return Config{}, nil, err
	}
	if cfg.QueueDir == "" {
		return fail(errors.New("gateway: plan.gateway.queue_dir is empty: set it or pass --queue-dir"))
	}
	openDeadLetter := func(dest string) (delivery.DeadLetter, error) {
		if err := os.MkdirAll(cfg.QueueDir, 0o750); err != nil {
			return nil, fmt.Errorf("gateway: creating the queue folder %s: %w", cfg.QueueDir, err)
		}
		f, err := delivery.OpenFileDeadLetter(DeadLetterPath(cfg.QueueDir, dest))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		cfg.DeadLetters[dest] = f
		return f, nil
	}

	if src := p.Sources.Elasticsearch; src != nil && src.URL != "" {
		hc, err := elasticsearchConfig(p, src)
		if err != nil {
			return fail(err)
		}
		fwd, err := NewForwardClient(hc)
		if err != nil {
			return fail(err)
		}
		cfg.Elasticsearch = fwd
		cfg.Probes[destElasticsearch] = func(ctx context.Context) error {
			resp, err := fwd.Do(ctx, httpx.Request{Method: http.MethodGet, Path: "/"})
			if err != nil {
				return err
			}
			if resp.Status/100 != 2 {
				return fmt.Errorf("GET / returned %d", resp.Status)
			}
			return nil
		}
		hc.System = "elasticsearch"
		hc.Timeout = DefaultRequestTimeout
		retrying, err := httpx.New(hc)
		if err != nil {
			return fail(err)
		}
		dl, err := openDeadLetter(destElasticsearch)
		if err != nil {
			return fail(err)
		}
		cfg.ElasticsearchCopy = delivery.NewElasticsearchWriter(retrying, dl)
	}

	if src := p.Sources.Jaeger; src != nil && src.OTLP != "" {
		dl, err := openDeadLetter(destJaeger)
		if err != nil {
			return fail(err)
		}
		w, err := delivery.NewOTLPWriter(delivery.OTLPConfig{
			Destination: destJaeger, GRPC: src.OTLP, TLS: tlsOf(p, src.TLS),
			Timeout: 30 * time.Second, MaxAttempts: 2, MaxBackoff: 2 * time.Second,
		}, dl)
		if err != nil {
			return fail(err)
		}
		cfg.Jaeger = w
		addr := strings.TrimPrefix(strings.TrimPrefix(src.OTLP, "https://"), "http://")
		cfg.Probes[destJaeger] = func(ctx context.Context) error {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			return conn.Close()
		}
	}

	if p.Targets.Loki != nil {
		if len(p.Logs) == 0 {
			return fail(errors.New("gateway: the plan has targets.loki but no logs section, so documents cannot be mapped to Loki entries: add a logs entry"))
		}
		c, err := fromplan.Loki(p)
		if err != nil {
			return fail(err)
		}
		limits, err := fromplan.LokiLimits(ctx, p, c)
		if err != nil {
			log.Warn("reading Loki's limits failed; using the plan's or Loki's defaults", "source", limits.Source, "err", err)
		}
		set, err := logmap.NewSet(p.Logs, logmap.Options{MaxLineSize: limits.MaxLineSize, MaxLabelValueLength: limits.MaxLabelValueLength})
		if err != nil {
			return fail(fmt.Errorf("gateway: logs: %w", err))
		}
		dl, err := openDeadLetter(destLoki)
		if err != nil {
			return fail(err)
		}
		cfg.Loki = NewLokiLogWriter(set, c, limits, dl)
		cfg.Probes[destLoki] = c.Ready
	}

	if t := p.Targets.Tempo; t != nil && (t.OTLP != "" || t.OTLPHTTP != "") {
		c, err := fromplan.Tempo(p)
		if err != nil {
			return fail(err)
		}
		limits, err := fromplan.TempoLimits(ctx, p, c)
		if err != nil {
			log.Warn("reading Tempo's limits failed; using the plan's or Tempo's defaults", "source", limits.Source, "err", err)
		}
		dl, err := openDeadLetter(destTempo)
		if err != nil {
			return fail(err)
		}
		cfg.Tempo = delivery.NewTempoWriter(c, limits, t.OTLP == "", dl)
		cfg.Probes[destTempo] = c.Ready
	}
	return cfg, closeAll, nil
}

// elasticsearchConfig returns the HTTP settings of sources.elasticsearch,
// with its secrets resolved.
func elasticsearchConfig(p *plans.Plan, src *plans.ElasticsearchSource) (httpx.Config, error) {
	cfg := httpx.Config{BaseURL: src.URL, TLS: tlsOf(p, src.TLS)}
	var err error
	resolve := func(field string, s plans.Secret) string {
		if err != nil {
			return ""
		}
		v, rerr := s.Resolve()
		if rerr != nil {
			err = fmt.Errorf("sources.elasticsearch.%s: %w", field, rerr)
		}
		return v
	}
	cfg.Auth = httpx.Auth{
		Username: src.Username,
		Password: resolve("password", src.Password),
		APIKey:   resolve("api_key", src.APIKey),
		Token:    resolve("token", src.Token),
	}
	return cfg, err
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
