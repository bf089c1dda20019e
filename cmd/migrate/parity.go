package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/connectors/fromplan"
	"github.com/obs-migrate/migrate/internal/files"
	"github.com/obs-migrate/migrate/parity"
	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

type parityFlags struct {
	window, from, to string
	record           bool
	output, out      string
	state            string
}

func (a *app) parityCommand() *cobra.Command {
	f := &parityFlags{}
	cmd := &cobra.Command{
		Use:   "parity PLAN",
		Short: "Compare the old and new stacks over a time window and report PASS, FAIL or INCONCLUSIVE",
		Long: `parity compares Elasticsearch with Loki and Jaeger with Tempo over one window:
log and trace completeness, query results, query latency and storage. The
thresholds come from phases.parallel_run.parity. A check whose backend is not
in the plan, or does not answer, is INCONCLUSIVE, never PASS.

The window ends at the latest boundary of the plan's parity window (every full
hour for window: 1h, counted from the Unix epoch in UTC) and lasts the plan's
window, or --window. --from and --to give the window instead; TIME is RFC 3339
or relative (now-2h). So a scheduler that runs parity just after each boundary
compares contiguous windows.

With --record the result is stored in the plan state (artifact
parity.window.FROM) and journaled. The parallel_run gate counts the newest
consecutive_passes recorded windows: contiguous, one plan window long each,
all PASS. Recorded windows must be the plan's window long.

Exit status: 0 on PASS, 3 on FAIL or INCONCLUSIVE, 2 on invalid usage, 1 on
other errors.`,
		Example: `  migrate parity plans/prod-eu.yaml
  migrate parity plans/prod-eu.yaml --record -o json --out parity.json
  migrate parity plans/prod-eu.yaml --from 2026-03-01T00:00:00Z --to 2026-03-02T00:00:00Z -o md --out parity.md
  migrate parity plans/prod-eu.yaml --window 24h -o junit --out parity.xml`,
		Args: exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runParity(cmd.Context(), f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.window, "window", "", "window length, such as 1h or 1d (default: phases.parallel_run.parity.window)")
	fl.StringVar(&f.from, "from", "", "window start, RFC 3339 or relative (now-2h); needs --to")
	fl.StringVar(&f.to, "to", "", "window end, RFC 3339 or relative (now); needs --from")
	fl.BoolVar(&f.record, "record", false, "store the result in the plan state, for the parallel_run and cutover gates")
	fl.StringVarP(&f.output, "output", "o", "md", "report format: md, json or junit")
	fl.StringVar(&f.out, "out", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.state, "state", "", "state database file (default: PLAN.state.db next to the plan)")
	return cmd
}

// parityWriters are the report formats.
var parityWriters = map[string]func(io.Writer, *parity.Report) error{
	"md":    parity.WriteMarkdown,
	"json":  parity.WriteJSON,
	"junit": parity.WriteJUnit,
}

func (a *app) runParity(ctx context.Context, f *parityFlags, planFile string) error {
	write, ok := parityWriters[f.output]
	if !ok {
		return usageError("invalid --output %q: use md, json or junit", f.output)
	}
	p, err := loadPlan(planFile)
	if err != nil {
		return err
	}
	window, err := parityWindow(p, f, time.Now())
	if err != nil {
		return err
	}

	src, closeSources, err := paritySources(p)
	defer closeSources()
	if err != nil {
		return err
	}
	report, err := parity.Run(ctx, parity.Options{Plan: p, Window: window, Sources: src})
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	if err := write(&buf, report); err != nil {
		return fmt.Errorf("writing the %s report: %w", f.output, err)
	}
	if f.out != "" {
		if err := files.WriteAtomic(f.out, buf.Bytes()); err != nil {
			return err
		}
	} else if _, err := a.stdout.Write(buf.Bytes()); err != nil {
		return err
	}

	// Run's verdict also holds a report with nothing compared, which
	// Overall alone would pass.
	verdict := report.Verdict
	if f.record {
		if err := a.recordParity(ctx, f, planFile, p, report, verdict); err != nil {
			return err
		}
	}
	if verdict == parity.Pass {
		return nil
	}
	return withExitCode(exitHeld, fmt.Errorf("parity of plan %s from %s to %s is %s: %s",
		p.Metadata.Name, window.From.UTC().Format(time.RFC3339), window.To.UTC().Format(time.RFC3339), verdict, notPassing(report)))
}

// notPassing names the checks that did not pass, with their reasons.
func notPassing(r *parity.Report) string {
	var out []string
	for _, c := range r.Checks {
		if c.Verdict == parity.Pass {
			continue
		}
		s := fmt.Sprintf("%s %s", c.Name, c.Verdict)
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "the report has no checks"
	}
	return strings.Join(out, "; ")
}

// epoch is the origin of window boundaries: the Unix epoch.
var epoch = time.Unix(0, 0).UTC()

// alignDown returns the latest boundary of size at or before t, counting
// from the Unix epoch.
func alignDown(t time.Time, size time.Duration) time.Time {
	return epoch.Add(t.Sub(epoch) / size * size)
}

// parityWindow is the window the flags select: --from and --to, or a
// window of --window (default: the plan's window) ending at the latest
// boundary of the plan's window.
func parityWindow(p *plans.Plan, f *parityFlags, now time.Time) (parity.Window, error) {
	size := p.Phases.ParallelRun.Parity.Window.Duration
	if size <= 0 {
		return parity.Window{}, usageError("phases.parallel_run.parity.window is %s: set it to 1m or more", size)
	}
	var w parity.Window
	switch {
	case (f.from == "") != (f.to == ""):
		return w, usageError("--from and --to go together: give both, or neither for the latest window")
	case f.from != "" && f.window != "":
		return w, usageError("--window and --from/--to both give the window: keep one")
	case f.from != "":
		from, err := plans.ParseTime(f.from, now)
		if err != nil {
			return w, usageError("--from: %v", err)
		}
		to, err := plans.ParseTime(f.to, now)
		if err != nil {
			return w, usageError("--to: %v", err)
		}
		if !to.After(from) {
			return w, usageError("--to %s is not after --from %s", f.to, f.from)
		}
		w = parity.Window{From: from.UTC(), To: to.UTC()}
	default:
		length := size
		if f.window != "" {
			d, err := plans.ParseDuration(f.window)
			if err != nil || d < time.Minute {
				return w, usageError("invalid --window %q: use a duration of 1m or more, such as 1h or 1d", f.window)
			}
			length = d
		}
		end := alignDown(now, size)
		w = parity.Window{From: end.Add(-length), To: end}
	}
	if f.record && w.To.Sub(w.From) != size {
		return w, usageError("--record stores windows of the plan's parity window (%s), which the gates count; this window lasts %s: drop --window, or give --from and --to %s apart",
			size, w.To.Sub(w.From), size)
	}
	return w, nil
}

// paritySources builds the clients of the systems the plan names. The
// returned function closes them.
func paritySources(p *plans.Plan) (parity.Sources, func(), error) {
	var (
		src     parity.Sources
		closers []func()
	)
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if p.Sources.Elasticsearch != nil {
		c, err := fromplan.Elasticsearch(p)
		if err != nil {
			return src, closeAll, err
		}
		src.Elasticsearch = c
	}
	if p.Targets.Loki != nil {
		c, err := fromplan.Loki(p)
		if err != nil {
			return src, closeAll, err
		}
		src.Loki = c
	}
	if p.Sources.Jaeger != nil {
		c, err := fromplan.Jaeger(p)
		if err != nil {
			return src, closeAll, err
		}
		src.Jaeger = c
		closers = append(closers, func() { _ = c.Close() })
	}
	if p.Targets.Tempo != nil {
		c, err := fromplan.Tempo(p)
		if err != nil {
			return src, closeAll, err
		}
		src.Tempo = c
		closers = append(closers, func() { _ = c.Close() })
	}
	return src, closeAll, nil
}

// recordParity stores the window's result in the plan state. It takes no
// plan lock, so a scheduler can record while an apply runs.
func (a *app) recordParity(ctx context.Context, f *parityFlags, planFile string, p *plans.Plan, r *parity.Report, verdict parity.Verdict) error {
	store, err := openBackfillState(ctx, f.state, planFile, p)
	if err != nil {
		return err
	}
	defer store.Close()
	w := phases.ParityWindow{From: r.Window.From, To: r.Window.To, Verdict: string(verdict), Actor: actorName("")}
	for _, c := range r.Checks {
		w.Checks = append(w.Checks, phases.ParityCheck{Name: c.Name, Verdict: string(c.Verdict), Summary: c.Summary, Reason: c.Reason})
	}
	if err := phases.RecordParityWindow(ctx, store, w); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "recorded parity window %s in %s\n", w.String(), store.Path())
	return nil
}
