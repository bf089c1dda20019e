package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/connectors/fromplan"
	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/inventory"
	"github.com/obs-migrate/migrate/plans"
)

func (a *app) inventoryCommand() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "inventory PLAN",
		Short: "Take stock of the old stack and propose a Loki label schema",
		Long: `inventory reads the plan's sources: Elasticsearch indices, mappings, daily
volumes and field cardinalities; Jaeger services, operations and span rates;
and the Kibana, Grafana and alert objects to convert, from exports or APIs.
It proposes Loki labels for each logs entry so that the projected active
streams stay within phases.inventory.max_stream_share of Loki's
max_global_streams_per_user, moves higher-cardinality fields to structured
metadata and says why, and projects streams and ingest rates against Loki's
limits (read from Loki's /config, else targets.loki.limits, else Loki's
defaults). Cardinalities and span rates cover phases.inventory.window.

Exit status 3 means the report found a problem: a source could not be read,
or the plan's labels do not fit Loki's limits. The report says which.`,
		Args: exactArgs(1, "one plan file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "md" && format != "json" {
				return usageError("invalid -o %q: use md or json", format)
			}
			p, err := loadPlan(args[0])
			if err != nil {
				return err
			}
			if err := p.RequireFor("inventory"); err != nil {
				return usageError("%v", err)
			}
			rep, err := runInventory(cmd.Context(), p, fromplan.Connectors{})
			if err != nil {
				return err
			}
			if err := writeInventory(a.stdout, out, format, rep); err != nil {
				return err
			}
			if held := inventoryHeld(rep); held != "" {
				return withExitCode(exitHeld, fmt.Errorf("%s", held))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "md", "report format: md (Markdown) or json")
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file instead of standard output")
	return cmd
}

// runInventory builds the live sources the plan names and takes the
// inventory. A source whose client cannot be built is reported as a
// problem, and the others go on.
func runInventory(ctx context.Context, p *plans.Plan, c fromplan.Connectors) (*inventory.Report, error) {
	opts := inventory.Options{Plan: p}
	var problems []string
	if p.Sources.Elasticsearch != nil {
		src, err := c.Elasticsearch(p)
		if err != nil {
			problems = append(problems, "elasticsearch: "+err.Error())
		} else {
			opts.Elasticsearch = src
		}
	}
	if p.Sources.Jaeger != nil {
		src, err := c.Jaeger(p)
		if err != nil {
			problems = append(problems, "jaeger: "+err.Error())
		} else {
			opts.Jaeger = src
			defer closeIfCloser(src)
		}
	}
	if k := p.Sources.Kibana; k != nil && k.Export == "" && k.URL != "" {
		src, err := c.Kibana(p)
		if err != nil {
			problems = append(problems, "kibana: "+err.Error())
		} else {
			opts.Kibana = src
		}
	}
	if g := p.Sources.Grafana; g != nil && g.Dashboards == "" && g.URL != "" {
		src, err := c.Grafana(p)
		if err != nil {
			problems = append(problems, "grafana: "+err.Error())
		} else {
			opts.Grafana = src
		}
	}
	opts.Limits = func(ctx context.Context) (inventory.LokiLimits, error) { return c.LokiLimits(ctx, p) }
	rep, err := inventory.Run(ctx, opts)
	if err != nil {
		return nil, err
	}
	rep.Problems = append(problems, rep.Problems...)
	return rep, nil
}

func closeIfCloser(v any) {
	if c, ok := v.(io.Closer); ok {
		_ = c.Close()
	}
}

func writeInventory(stdout io.Writer, out, format string, rep *inventory.Report) error {
	var b strings.Builder
	if format == "json" {
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := inventory.WriteMarkdown(&b, rep); err != nil {
		return err
	}
	if out == "" {
		_, err := io.WriteString(stdout, b.String())
		return err
	}
	if err := files.WriteAtomic(out, []byte(b.String())); err != nil {
		return fmt.Errorf("writing --out: %w", err)
	}
	return nil
}

// inventoryHeld returns why the inventory should stop the migration, or "".
func inventoryHeld(rep *inventory.Report) string {
	var reasons []string
	if n := len(rep.Problems); n > 0 {
		reasons = append(reasons, fmt.Sprintf("%d problem(s) reading the sources or the target's limits", n))
	}
	if rep.Elasticsearch != nil {
		for _, m := range rep.Elasticsearch.Mappings {
			if len(m.Problems) > 0 {
				reasons = append(reasons, fmt.Sprintf("logs entry %s: %d problem(s)", m.Indices, len(m.Problems)))
			}
		}
	}
	if rep.Jaeger != nil && len(rep.Jaeger.Problems) > 0 {
		reasons = append(reasons, fmt.Sprintf("jaeger: %d problem(s)", len(rep.Jaeger.Problems)))
	}
	unreadable := 0
	if rep.Kibana != nil {
		unreadable += len(rep.Kibana.Errors)
	}
	if rep.Grafana != nil {
		unreadable += len(rep.Grafana.Errors)
	}
	if rep.Alerts != nil {
		unreadable += len(rep.Alerts.Errors)
	}
	if unreadable > 0 {
		reasons = append(reasons, fmt.Sprintf("%d export file(s) or object(s) could not be read", unreadable))
	}
	if rep.Loki != nil && !rep.Loki.OK && rep.Loki.StreamsKnown {
		reasons = append(reasons, "the plan's labels do not fit Loki's limits")
	}
	if len(reasons) == 0 {
		return ""
	}
	return "inventory: " + strings.Join(reasons, "; ") + "; see the report"
}
