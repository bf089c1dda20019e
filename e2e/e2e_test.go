// Package e2e runs the connectors, the inventory and the deploy checks
// against real servers. Each part runs when its server's URL is set:
//
//	ES_URL      Elasticsearch, with ES_USERNAME and ES_PASSWORD or ES_API_KEY
//	LOKI_URL    Loki, with LOKI_TENANT
//	TEMPO_URL   Tempo's API, with TEMPO_OTLP_HTTP for its OTLP/HTTP receiver
//	JAEGER_URL  Jaeger's query HTTP API (api_v3), with JAEGER_GRPC for api_v2
//
// The suite writes one canary log line to Loki and one canary trace to
// Tempo, labelled migrate_canary="e2e", and only reads from Elasticsearch and
// Jaeger. make test runs it verbosely, so a skip prints what is missing.
package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obs-migrate/migrate/connectors/elasticsearch"
	"github.com/obs-migrate/migrate/connectors/jaeger"
	"github.com/obs-migrate/migrate/connectors/loki"
	"github.com/obs-migrate/migrate/connectors/tempo"
	"github.com/obs-migrate/migrate/deploy"
	"github.com/obs-migrate/migrate/plans"
)

var servers = []string{"ES_URL", "LOKI_URL", "TEMPO_URL", "JAEGER_URL"}

func TestMain(m *testing.M) {
	var missing []string
	for _, name := range servers {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Printf("end-to-end suite: %s not set; the parts that need them are skipped\n", strings.Join(missing, ", "))
	}
	os.Exit(m.Run())
}

func need(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is not set", name)
	}
	return v
}

func TestElasticsearch(t *testing.T) {
	c, err := elasticsearch.New(elasticsearch.Config{
		URLs: []string{need(t, "ES_URL")}, Username: os.Getenv("ES_USERNAME"),
		Password: os.Getenv("ES_PASSWORD"), APIKey: os.Getenv("ES_API_KEY"), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := info.CheckVersion(); err != nil {
		t.Fatal(err)
	}
	indices, err := c.Indices(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Elasticsearch %s: %d indices", info.Version, len(indices))
	for _, idx := range indices {
		if idx.Hidden || idx.Docs == 0 {
			continue
		}
		fields, err := c.Fields(ctx, idx.Name)
		if err != nil {
			t.Fatalf("fields of %s: %v", idx.Name, err)
		}
		timeField, err := c.DetectTimeField(ctx, idx.Name)
		if err != nil {
			t.Logf("%s: %v", idx.Name, err)
			continue
		}
		r := c.NewReader(elasticsearch.ReadRequest{Index: idx.Name, TimeField: timeField, PageSize: 100}, nil)
		hits, err := r.Next(ctx)
		_ = r.Close(ctx)
		if err != nil && len(hits) == 0 {
			t.Logf("%s: reading: %v", idx.Name, err)
		}
		t.Logf("%s: %d fields, time field %s, first page %d hits", idx.Name, len(fields), timeField, len(hits))
		return
	}
}

func TestLoki(t *testing.T) {
	c, err := loki.New(loki.Config{URL: need(t, "LOKI_URL"), Tenant: os.Getenv("LOKI_TENANT"), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := e2ePlan()
	res := deploy.Run(t.Context(), deploy.Targets{Loki: c, LokiLimits: c.Limits}, deploy.Options{
		Inputs:  deploy.Inputs{Plan: p, Now: time.Now()},
		Timeout: 30 * time.Second, Canary: true, CanaryWait: time.Minute,
	})
	report(t, res)
}

type tempoPusher struct{ *tempo.Client }

func (p tempoPusher) Push(ctx context.Context, td ptrace.Traces) (tempo.PushResult, error) {
	return p.PushHTTP(ctx, td)
}

func TestTempo(t *testing.T) {
	otlp := os.Getenv("TEMPO_OTLP_HTTP")
	c, err := tempo.New(tempo.Config{URL: need(t, "TEMPO_URL"), OTLPHTTP: otlp, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res := deploy.Run(t.Context(), deploy.Targets{Tempo: tempoPusher{c}, TempoLimits: c.Limits}, deploy.Options{
		Inputs:  deploy.Inputs{Plan: e2ePlan(), Now: time.Now()},
		Timeout: 30 * time.Second, Canary: otlp != "", CanaryWait: 2 * time.Minute,
	})
	if otlp == "" {
		t.Log("TEMPO_OTLP_HTTP is not set, so no canary trace was written")
	}
	report(t, res)
}

func TestJaeger(t *testing.T) {
	c, err := jaeger.New(jaeger.Config{HTTP: need(t, "JAEGER_URL"), GRPC: os.Getenv("JAEGER_GRPC"), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	services, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Jaeger: %d services", len(services))
	for _, s := range services {
		ops, err := c.Operations(ctx, s)
		if err != nil {
			t.Fatalf("operations of %s: %v", s, err)
		}
		traces, err := c.FindTraces(ctx, jaeger.TraceQuery{Service: s, StartMin: time.Now().Add(-time.Hour), StartMax: time.Now(), NumTraces: 5})
		if err != nil {
			t.Fatalf("traces of %s: %v", s, err)
		}
		t.Logf("%s: %d operations, %d traces in the last hour", s, len(ops), len(traces))
	}
}

func e2ePlan() *plans.Plan {
	p := plans.Default()
	p.Metadata.Name = "e2e"
	return &p
}

// report fails the test on failed or inconclusive checks and logs the rest.
func report(t *testing.T, res deploy.Result) {
	t.Helper()
	for _, c := range res.Checks {
		t.Logf("%s %s %s: %s", c.Target, c.Name, c.Status, c.Detail)
		if c.Name == "canary" || c.Name == "ready" || c.Name == "version" {
			if c.Status == deploy.Fail || c.Status == deploy.Inconclusive {
				t.Errorf("%s %s: %s", c.Target, c.Name, c.Detail)
			}
		}
	}
}
