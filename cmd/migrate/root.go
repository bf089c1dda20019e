package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app holds what every command shares: streams and the logger.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
	log            *slog.Logger
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
	}
	return exitCodeOf(err)
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "migrate",
		Short: "Move logs and traces from Elasticsearch, Kibana and Jaeger to Grafana Loki and Tempo",
		Long: `migrate runs a phased migration from Elasticsearch + Kibana (logs) and Jaeger
(traces) to Grafana Loki + Tempo, and converts queries and dashboards in batch.

Exit codes: 0 success; 1 an error stopped the command; 2 invalid usage or no
input could be read; 3 a gate held, a parity check failed or was inconclusive,
or (with --strict) a batch had failed or unsupported items.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupLogging()
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError("%v", err)
	})
	root.AddCommand(a.translateCommand(), a.planCommand(), a.inventoryCommand(), a.gatewayCommand(), a.backfillCommand(), a.parityCommand())
	return root
}

func (a *app) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(a.logLevel))); err != nil {
		return usageError("invalid --log-level %q: use debug, info, warn or error", a.logLevel)
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	return nil
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with a usage exit code.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError("expected %s", what)
		}
		return nil
	}
}
