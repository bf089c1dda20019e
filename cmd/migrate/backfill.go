package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/backfill"
	"github.com/obs-migrate/migrate/connectors/fromplan"
	"github.com/obs-migrate/migrate/delivery"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

type backfillFlags struct {
	from, to, shard, state, deadLetter string
	dryRun, strict                     bool
	headroom                           float64
	pageSize, traceSearchLimit         int
}

func (a *app) backfillCommand() *cobra.Command {
	f := &backfillFlags{}
	cmd := &cobra.Command{
		Use:   "backfill PLAN",
		Short: "Copy history from Elasticsearch to Loki and from Jaeger to Tempo",
		Long: `backfill copies the documents of every logs entry from Elasticsearch to Loki,
and the traces of the plan's Jaeger services to Tempo, over the range
phases.parallel_run.backfill.from to .to (by default, the moment the plan
entered parallel_run, when dual writes began). --from and --to replace the
plan's bounds. The first run pins relative times such as now-30d, the shard
count and the services in the plan state, so later runs and other shards use
the same range.

The work is cut into units: one logs entry or one Jaeger service, over one
time slice of phases.parallel_run.backfill.slice. Every unit is checkpointed
in the state after each write that Loki or Tempo acknowledged, so a run that
was stopped or killed resumes inside the unit it was on, and never copies a
unit twice. With --shard I/N, N processes split the work: shard I takes a
contiguous block of every logs entry's slices and every N-th service.

Loki accepts an entry only within its out-of-order window (max_chunk_age/2)
of the newest entry of its stream, and the live dual write keeps the plan's
streams current. The backfill therefore writes to streams of its own: every
entry gets the label migrate_backfill="I", for shard I. Before writing
anything, it stops with an error when Loki's limits would reject that: too
many label names, old samples rejected within the range, no structured
metadata, or too many streams. Writes use at most (1 - --headroom)/N of Loki's and Tempo's
ingestion rates, leaving the rest to the live writes.

What Loki or Tempo can never accept goes to the dead-letter file with its
reason. The summary counts documents, entries, traces and spans, and what was
dead-lettered or skipped, by reason.

Exit status: 0 when the shard's units are done, also when some records were
dead-lettered (the summary lists them); 1 when an error stopped the backfill
(run it again to resume); 2 for invalid usage; 3 with --strict when records
were dead-lettered or skipped.`,
		Example: `  migrate backfill plans/prod-eu.yaml
  migrate backfill plans/prod-eu.yaml --dry-run
  migrate backfill plans/prod-eu.yaml --from now-7d --to 2026-03-01T00:00:00Z
  migrate backfill plans/prod-eu.yaml --shard 0/3 &
  migrate backfill plans/prod-eu.yaml --shard 1/3 &
  migrate backfill plans/prod-eu.yaml --shard 2/3`,
		Args: exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBackfill(cmd.Context(), f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "start of the range: RFC 3339, now, or now-DURATION such as now-30d (default: phases.parallel_run.backfill.from)")
	fl.StringVar(&f.to, "to", "", "end of the range, same forms as --from (default: phases.parallel_run.backfill.to, else when parallel_run was entered)")
	fl.StringVar(&f.shard, "shard", "0/1", "this process's share of the work as I/N: shard I of N, from 0")
	fl.StringVar(&f.state, "state", "", "state database file (default: PLAN.state.db next to the plan)")
	fl.StringVar(&f.deadLetter, "dead-letter", "", "file that gets what Loki or Tempo can never accept, as JSON lines (default: PLAN.backfill-I-of-N.dead-letter.jsonl next to the plan)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "resolve the range, run the checks and list the units to copy, without writing anything")
	fl.BoolVar(&f.strict, "strict", false, "exit with status 3 when records were dead-lettered or skipped")
	fl.Float64Var(&f.headroom, "headroom", backfill.DefaultHeadroom, "share of Loki's and Tempo's ingestion rates left for the live writes, from 0 to below 1")
	fl.IntVar(&f.pageSize, "page-size", 0, "documents per Elasticsearch search, at most 10000 (default 1000)")
	fl.IntVar(&f.traceSearchLimit, "trace-search-limit", backfill.DefaultTraceSearchLimit, "traces per Jaeger search; a search that returns this many is split in halves, down to 1s windows")
	return cmd
}

func (a *app) runBackfill(ctx context.Context, f *backfillFlags, planFile string) error {
	shard, err := backfill.ParseShard(f.shard)
	if err != nil {
		return usageError("--shard: %v", err)
	}
	if f.headroom < 0 || f.headroom >= 1 {
		return usageError("invalid --headroom %v: use a share from 0 to below 1, such as 0.5", f.headroom)
	}
	if f.pageSize < 0 || f.pageSize > 10000 {
		return usageError("invalid --page-size %d: use 1 to 10000", f.pageSize)
	}
	if f.traceSearchLimit < 1 {
		return usageError("invalid --trace-search-limit %d: use 1 or more", f.traceSearchLimit)
	}
	p, err := loadPlan(planFile)
	if err != nil {
		return err
	}
	store, err := openBackfillState(ctx, f.state, planFile, p)
	if err != nil {
		return err
	}
	defer store.Close()

	progress, log, err := a.backfillProgress()
	if err != nil {
		return err
	}
	cfg := backfill.Config{
		Plan: p, Store: store, Shard: shard, From: f.from, To: f.to, DryRun: f.dryRun,
		Headroom: f.headroom, PageSize: f.pageSize, TraceSearchLimit: f.traceSearchLimit,
		Progress: progress, Log: log, Actor: actorName(""),
	}
	closeAll, err := a.backfillTargets(ctx, p, &cfg, f, planFile, shard, log)
	defer closeAll()
	if err != nil {
		return err
	}
	r, err := backfill.New(cfg)
	if err != nil {
		return err
	}
	sum, err := r.Run(ctx)
	if sum != nil {
		sum.WriteText(a.stdout)
		if path := deadLetterPathOf(cfg.DeadLetter); path != "" && sum.DeadLettered() > 0 {
			fmt.Fprintf(a.stdout, "  dead letters in %s\n", path)
		}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("backfill interrupted (%v); the checkpoints keep its position, so run the same command again to resume", ctx.Err())
	case err != nil:
		return err
	case f.strict && (sum.DeadLettered() > 0 || len(sum.Counts.Skipped) > 0):
		return withExitCode(exitHeld, fmt.Errorf("backfill of shard %s is done, but %d records were dead-lettered and %d skipped (--strict)",
			shard, sum.DeadLettered(), skippedCount(sum)))
	}
	return nil
}

func skippedCount(s *backfill.Summary) int64 {
	n := int64(0)
	for _, v := range s.Counts.Skipped {
		n += v
	}
	return n
}

// openBackfillState opens the plan state. The backfill takes the plan lock
// only to pin its range, not while it runs, so several shards and plan
// commands can work at the same time.
func openBackfillState(ctx context.Context, flag, planFile string, p *plans.Plan) (*phases.SQLiteStore, error) {
	path := flag
	if path == "" {
		path = planFile + ".state.db"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the folder of --state: %w", err)
	}
	return phases.OpenSQLite(ctx, path, p.Metadata.Name)
}

// backfillProgress returns the progress reporter and the logger: on a
// terminal the progress block is redrawn in place and log lines are
// printed above it.
func (a *app) backfillProgress() (*backfill.Progress, *slog.Logger, error) {
	terminal := isTerminal(a.stderr)
	if !terminal {
		return backfill.NewProgress(a.stderr, false, backfill.DefaultProgressInterval, a.log), a.log, nil
	}
	progress := backfill.NewProgress(a.stderr, true, 0, nil)
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(a.logLevel))); err != nil {
		return nil, nil, usageError("invalid --log-level %q: use debug, info, warn or error", a.logLevel)
	}
	return progress, slog.New(slog.NewTextHandler(progress.LogWriter(), &slog.HandlerOptions{Level: level})), nil
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// backfillTargets builds the clients and writers of the plan's logs and
// traces into cfg. The returned function closes what was opened.
func (a *app) backfillTargets(ctx context.Context, p *plans.Plan, cfg *backfill.Config, f *backfillFlags, planFile string, shard backfill.Shard, log *slog.Logger) (func(), error) {
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			if err := c(); err != nil {
				log.Error("backfill: closing a client failed", "err", err)
			}
		}
	}
	logs := len(p.Logs) > 0 && p.Sources.Elasticsearch != nil && p.Targets.Loki != nil
	traces := p.Traces != nil && p.Sources.Jaeger != nil && p.Targets.Tempo != nil
	if !logs && !traces {
		return closeAll, usageError("the plan has nothing to backfill: add logs with sources.elasticsearch and targets.loki, or traces with sources.jaeger and targets.tempo")
	}
	if !f.dryRun {
		path := f.deadLetter
		if path == "" {
			path = fmt.Sprintf("%s.backfill-%d-of-%d.dead-letter.jsonl", planFile, shard.Index, shard.Count)
		}
		dl := &lazyDeadLetter{path: path}
		closers = append(closers, dl.Close)
		cfg.DeadLetter = dl
	} else {
		cfg.DeadLetter = discardDeadLetter{}
	}
	if logs {
		if err := backfillLogs(ctx, p, cfg, log); err != nil {
			return closeAll, err
		}
	}
	if traces {
		closeTraces, err := backfillTraces(ctx, p, cfg, log)
		closers = append(closers, closeTraces...)
		if err != nil {
			return closeAll, err
		}
	}
	return closeAll, nil
}

func backfillLogs(ctx context.Context, p *plans.Plan, cfg *backfill.Config, log *slog.Logger) error {
	es, err := fromplan.Elasticsearch(p)
	if err != nil {
		return err
	}
	lc, err := fromplan.Loki(p)
	if err != nil {
		return err
	}
	limits, err := fromplan.LokiLimits(ctx, p, lc)
	if err != nil {
		log.Warn("backfill: reading Loki's limits failed; checking against the fallback limits", "source", limits.Source, "err", err)
	}
	cfg.Elasticsearch, cfg.LokiLimits = es, limits
	cfg.Loki = delivery.NewLokiWriter(lc, limits, cfg.DeadLetter)
	return nil
}

func backfillTraces(ctx context.Context, p *plans.Plan, cfg *backfill.Config, log *slog.Logger) ([]func() error, error) {
	jc, err := fromplan.Jaeger(p)
	if err != nil {
		return nil, err
	}
	closers := []func() error{jc.Close}
	tc, err := fromplan.Tempo(p)
	if err != nil {
		return closers, err
	}
	closers = append(closers, tc.Close)
	limits, err := fromplan.TempoLimits(ctx, p, tc)
	if err != nil {
		log.Warn("backfill: reading Tempo's limits failed; using the fallback limits", "source", limits.Source, "err", err)
	}
	cfg.Jaeger, cfg.TempoLimits = jc, limits
	cfg.Tempo = delivery.NewTempoWriter(tc, limits, p.Targets.Tempo.OTLPHTTP != "", cfg.DeadLetter)
	return closers, nil
}

// discardDeadLetter is the dead letter of a dry run, which writes nothing.
type discardDeadLetter struct{}

func (discardDeadLetter) Put(string, string, string, []byte) error { return nil }

// lazyDeadLetter creates its file at the first record, so that a
// backfill that dead-letters nothing, or stops at its checks, leaves no file.
type lazyDeadLetter struct {
	path string
	mu   sync.Mutex
	file *delivery.FileDeadLetter
}

func (d *lazyDeadLetter) Put(destination, reason, detail string, record []byte) error {
	d.mu.Lock()
	if d.file == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			d.mu.Unlock()
			return fmt.Errorf("creating the folder of the dead-letter file: %w", err)
		}
		f, err := delivery.OpenFileDeadLetter(d.path)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.file = f
	}
	f := d.file
	d.mu.Unlock()
	return f.Put(destination, reason, detail, record)
}

// Close closes the file if it was created.
func (d *lazyDeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.file == nil {
		return nil
	}
	return d.file.Close()
}

// deadLetterPathOf returns the dead-letter file, which earlier runs may
// have written, or "" in a dry run.
func deadLetterPathOf(dl delivery.DeadLetter) string {
	if d, ok := dl.(*lazyDeadLetter); ok {
		return d.path
	}
	return ""
}
