package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/gateway"
	"github.com/obs-migrate/migrate/phases"
)

type gatewayFlags struct {
	addrs gateway.Addresses
	state string
}

func (a *app) gatewayCommand() *cobra.Command {
	f := &gatewayFlags{}
	cmd := &cobra.Command{
		Use:   "gateway PLAN",
		Short: "Run the dual-write gateway for logs (Elasticsearch API) and traces (OTLP)",
		Long: `gateway receives logs on an Elasticsearch-compatible API (_bulk, _doc,
_create, and the start-up calls of Filebeat, Logstash, Fluent Bit and Vector)
and traces over OTLP gRPC and HTTP. It writes each request to the primary and
queues a copy on disk for the secondary, as the plan state's gateway mode selects:

  dual          Elasticsearch and Jaeger are primary; Loki and Tempo get copies
  new_primary   Loki and Tempo are primary; Elasticsearch and Jaeger get copies
  new_only      Loki and Tempo only

The mode is read from the state (--state, default PLAN.state.db) at start and
every 5 seconds, so plan cutover and rollback switch a running gateway.

A request is acknowledged only after the primary accepted it and its copy is
fsynced to the queue; a full queue gets 429. Each destination drains
its own queue; what a destination can never accept goes to
QUEUE_DIR/deadletter-<destination>.jsonl. /metrics, /healthz and /readyz are
served on the listen address. SIGTERM or SIGINT stops accepting, finishes the
requests in flight and delivers queued records for up to 30 s; the rest stays
queued for the next start.

The gateway does not authenticate its clients: it sends to Elasticsearch with
the plan's credentials and ignores the clients' own. Expose its addresses only
to trusted shippers (the plan's default is 127.0.0.1).`,
		Example: `  migrate gateway plans/prod-eu.yaml
  migrate gateway plans/prod-eu.yaml --listen 0.0.0.0:9200 --queue-dir /var/lib/migrate/queue`,
		Args: exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runGateway(cmd, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addrs.Listen, "listen", "", "address of the Elasticsearch API, /metrics, /healthz and /readyz (default: plan gateway.listen)")
	fl.StringVar(&f.addrs.OTLPGRPC, "otlp-grpc", "", "address of the OTLP gRPC receiver (default: plan gateway.otlp_grpc)")
	fl.StringVar(&f.addrs.OTLPHTTP, "otlp-http", "", "address of the OTLP/HTTP receiver (default: plan gateway.otlp_http)")
	fl.StringVar(&f.addrs.QueueDir, "queue-dir", "", "folder of the queues and dead-letter files (default: plan gateway.queue_dir)")
	fl.StringVar(&f.state, "state", "", "state database file that holds the gateway mode (default: PLAN.state.db next to the plan)")
	return cmd
}

func (a *app) runGateway(cmd *cobra.Command, f *gatewayFlags, planFile string) error {
	ctx := cmd.Context()
	p, err := loadPlan(planFile)
	if err != nil {
		return err
	}
	path := f.state
	if path == "" {
		path = planFile + ".state.db"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating the folder of --state: %w", err)
	}
	store, err := phases.OpenSQLite(ctx, path, p.Metadata.Name)
	if err != nil {
		return err
	}
	defer store.Close()

	cfg, closeFiles, err := gateway.FromPlan(ctx, p, f.addrs, store, a.log)
	if err != nil {
		return err
	}
	defer func() {
		if err := closeFiles(); err != nil {
			a.log.Error("closing the dead-letter files", "err", err)
		}
	}()
	g, err := gateway.New(ctx, cfg)
	if err != nil {
		return err
	}
	return g.Run(ctx)
}
