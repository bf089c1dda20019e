package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/connectors/fromplan"

	"github.com/spf13/cobra"

	"github.com/obs-migrate/migrate/phases"
	"github.com/obs-migrate/migrate/plans"
)

// planFlags are shared by the plan commands.
type planFlags struct {
	state string
	actor string
}

func (a *app) planCommand() *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Validate and run a migration plan through its phases",
		Long: `A plan runs through the phases inventory, translate, deploy, parallel_run,
cutover and decommission. Each phase has an entry gate, steps and an exit gate.
The state (phase, step checkpoints, gate results, approvals and an append-only
journal) lives in a SQLite file next to the plan, PLAN.state.db, unless --state
names another. A crash or a restart resumes at the last checkpoint.`,
	}
	cmd.PersistentFlags().StringVar(&f.state, "state", "", "state database file (default: PLAN.state.db next to the plan)")
	cmd.PersistentFlags().StringVar(&f.actor, "actor", "", "who is acting, recorded in the journal (default: the OS user)")
	cmd.AddCommand(
		a.planValidateCommand(),
		a.planApplyCommand(f),
		a.planStatusCommand(f),
		a.planAdvanceCommand(f),
		a.planApproveCommand(f),
		a.planRollbackCommand(f),
		a.planJournalCommand(f),
	)
	return cmd
}

func (a *app) planValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "validate PLAN",
		Short:   "Check a plan file and report every problem with its line and column",
		Example: "  migrate plan validate plans/prod-eu.yaml",
		Args:    exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPlan(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: plan %s is valid\n", args[0], p.Metadata.Name)
			for _, ph := range phases.Order {
				if err := p.RequireFor(string(ph)); err != nil {
					fmt.Fprintf(a.stdout, "  %-13s cannot run yet: %v\n", ph, err)
				} else {
					fmt.Fprintf(a.stdout, "  %-13s has what it needs\n", ph)
				}
			}
			return nil
		},
	}
}

// loadPlan reads and validates a plan; problems are usage errors (exit 2).
func loadPlan(file string) (*plans.Plan, error) {
	p, err := plans.Load(file)
	if err != nil {
		var msgs []string
		for _, e := range unwrapAll(err) {
			msgs = append(msgs, e.Error())
		}
		return nil, usageError("%d problem(s) in the plan:\n  %s", len(msgs), strings.Join(msgs, "\n  "))
	}
	return p, nil
}

// unwrapAll flattens errors.Join trees.
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}

// session is an opened plan: the plan, its store and an engine.
type session struct {
	plan   *plans.Plan
	store  *phases.SQLiteStore
	engine *phases.Engine
	path   string
}

func (a *app) openSession(ctx context.Context, f *planFlags, planFile string) (*session, error) {
	p, err := loadPlan(planFile)
	if err != nil {
		return nil, err
	}
	path := f.state
	if path == "" {
		path = planFile + ".state.db"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the folder of --state: %w", err)
	}
	store, err := phases.OpenSQLite(ctx, path, p.Metadata.Name)
	if err != nil {
		return nil, err
	}
	return &session{plan: p, store: store, path: path, engine: a.engine(f, p, store, path)}, nil
}

func (a *app) engine(f *planFlags, p *plans.Plan, store phases.Store, path string) *phases.Engine {
	return &phases.Engine{
		Plan: p, Store: store, StatePath: path, Defs: phases.Definitions(),
		Actor: actorName(f.actor), Log: a.log, Connect: fromplan.Connectors{},
	}
}

func actorName(flag string) string {
	if flag != "" {
		return flag
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "unknown"
}

// lock takes the plan state for this process, naming the holder if another
// process has it.
func (a *app) lock(ctx context.Context, s *session, command string) (func(), error) {
	host, _ := os.Hostname()
	release, err := s.store.Lock(ctx, phases.LockInfo{
		Actor: s.engine.Actor, Host: host, PID: os.Getpid(), Command: command, Since: time.Now(),
	})
	if err != nil {
		return nil, err
	}
	return func() {
		if err := release(); err != nil {
			a.log.Error("releasing the plan lock", "err", err)
		}
	}, nil
}

type applyFlags struct {
	dryRun bool
	// watch, when above 0, applies again every watch until the plan is
	// done or the command is interrupted.
	watch time.Duration
	// confirm is the plan name that allows destructive steps.
	confirm string
}

func (a *app) planApplyCommand(f *planFlags) *cobra.Command {
	var af applyFlags
	cmd := &cobra.Command{
		Use:   "apply PLAN",
		Short: "Run phases until a gate holds the plan or it is done",
		Long: `Run the current phase's entry gate, steps and exit gate, and move on until a
gate holds or the plan is done. Steps are checkpointed: after a crash, apply
runs again from the last checkpoint, and a step that was interrupted runs again
from its beginning. Only one apply may run on a state at a time.

With --dry-run, the same steps run on a copy of the state and record what they
would change (files written, hooks run, dashboards imported, indices deleted)
instead of changing it.

With --watch INTERVAL, apply runs again every INTERVAL until the plan is done,
so gates that wait for time or for recorded parity windows open without a
person. An error is logged and the next round runs; invalid usage stops. On
SIGINT or SIGTERM it stops and exits with the status of the last round.

Decommission deletes the old indices only when phases.decommission.delete_indices
is true and --confirm names the plan; without it the step holds and says what
to run. A dry run never deletes.

Exit status: 0 when the plan is done, 3 when a gate holds it or a step waits for
--confirm, 2 on invalid usage, 1 on an error.`,
		Example: `  migrate plan apply plans/prod-eu.yaml
  migrate plan apply plans/prod-eu.yaml --dry-run
  migrate plan apply plans/prod-eu.yaml --watch 10m
  migrate plan apply plans/prod-eu.yaml --confirm prod-eu`,
		Args: exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if af.watch < 0 {
				return usageError("invalid --watch %s: use a positive interval, such as 10m", af.watch)
			}
			if af.watch > 0 && af.dryRun {
				return usageError("--watch and --dry-run do not go together: a dry run changes nothing, so repeating it shows the same")
			}
			if af.watch > 0 {
				return a.watchApply(cmd.Context(), f, af, args[0])
			}
			return a.runApply(cmd.Context(), f, af, args[0])
		},
	}
	cmd.Flags().BoolVar(&af.dryRun, "dry-run", false, "run the steps on a copy of the state and print what they would change")
	cmd.Flags().DurationVar(&af.watch, "watch", 0, "apply again every INTERVAL (such as 10m) until the plan is done or the command is interrupted")
	cmd.Flags().StringVar(&af.confirm, "confirm", "", "the plan's metadata.name, to allow destructive steps (deleting the old indices)")
	return cmd
}

// watchApply applies the plan every af.watch until the plan is done,
// invalid usage stops it, or ctx ends on SIGINT or SIGTERM. It returns the
// status of the last round that finished.
func (a *app) watchApply(ctx context.Context, f *planFlags, af applyFlags, planFile string) error {
	var last error
	for round := 1; ; round++ {
		err := a.runApply(ctx, f, af, planFile)
		if ctx.Err() != nil {
			if round == 1 {
				last = err
			}
			return a.stopWatching(planFile, last)
		}
		last = err
		switch code := exitCodeOf(err); {
		case err == nil, code == exitUsage:
			return err
		case code == exitError:
			a.log.Error("apply failed; it runs again at the next round", "plan", planFile, "err", err, "next_in", af.watch)
		default:
			a.log.Info("a gate holds the plan; it is applied again at the next round", "plan", planFile, "next_in", af.watch)
		}
		timer := time.NewTimer(af.watch)
		select {
		case <-ctx.Done():
			timer.Stop()
			return a.stopWatching(planFile, last)
		case <-timer.C:
		}
	}
}

func (a *app) stopWatching(planFile string, last error) error {
	status := "the last round finished without error"
	if last != nil {
		status = "the last round ended with: " + last.Error()
	}
	fmt.Fprintf(a.stderr, "stopped watching %s on a signal; %s\n", planFile, status)
	return last
}

func (a *app) runApply(ctx context.Context, f *planFlags, af applyFlags, planFile string) error {
	s, err := a.openSession(ctx, f, planFile)
	if err != nil {
		return err
	}
	defer s.store.Close()
	if af.confirm != "" && af.confirm != s.plan.Metadata.Name {
		return usageError("--confirm %q does not name this plan: its metadata.name is %s", af.confirm, s.plan.Metadata.Name)
	}
	s.engine.Confirm = af.confirm
	if af.dryRun {
		return a.dryRun(ctx, f, s)
	}
	unlock, err := a.lock(ctx, s, "migrate plan apply")
	if err != nil {
		return err
	}
	defer unlock()
	out, err := s.engine.Apply(ctx, false)
	if errors.Is(err, phases.ErrConfirmationNeeded) {
		fmt.Fprintf(a.stdout, "plan %s holds at phase %s: %v\n", s.plan.Metadata.Name, out.Phase, err)
		return withExitCode(exitHeld, err)
	}
	if err != nil {
		return err
	}
	if out.Held {
		fmt.Fprintf(a.stdout, "plan %s holds at phase %s: %s gate %s is %s: %s\n",
			s.plan.Metadata.Name, out.Phase, out.Gate.Kind, out.Gate.Gate, out.Gate.Status, out.Gate.Reason)
		return withExitCode(exitHeld, fmt.Errorf("a gate holds the plan at phase %s; see migrate plan status %s", out.Phase, s.engine.PlanArgs()))
	}
	fmt.Fprintf(a.stdout, "plan %s is done\n", s.plan.Metadata.Name)
	return nil
}

// dryRun applies the plan to a copy of the state, prints what the steps
// would change, and journals the dry run in the real state.
func (a *app) dryRun(ctx context.Context, f *planFlags, s *session) error {
	dir, err := os.MkdirTemp("", "migrate-dry-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, "state.db")
	if err := s.store.CopyTo(ctx, copyPath); err != nil {
		return fmt.Errorf("copying the state for a dry run: %w", err)
	}
	scratch, err := phases.OpenSQLite(ctx, copyPath, s.plan.Metadata.Name)
	if err != nil {
		return err
	}
	defer scratch.Close()
	eng := a.engine(f, s.plan, scratch, s.path)
	out, err := eng.Apply(ctx, true)
	fmt.Fprintf(a.stdout, "dry run of plan %s: nothing was changed\n", s.plan.Metadata.Name)
	for _, w := range out.Would {
		fmt.Fprintf(a.stdout, "  would %s\n", w)
	}
	switch {
	case err != nil:
		fmt.Fprintf(a.stdout, "the apply would stop with an error: %v\n", err)
	case out.Held:
		fmt.Fprintf(a.stdout, "the plan would hold at phase %s: %s gate %s is %s: %s\n",
			out.Phase, out.Gate.Kind, out.Gate.Gate, out.Gate.Status, out.Gate.Reason)
	default:
		fmt.Fprintln(a.stdout, "the plan would be done")
	}
	entry := phases.Entry{
		Actor: s.engine.Actor, Kind: phases.KindDryRun,
		Message: fmt.Sprintf("dry run: %d changes would be made; it would stop at phase %s", len(out.Would), out.Phase),
		Data:    map[string]any{"would": out.Would},
	}
	if jerr := s.store.Append(ctx, entry); jerr != nil {
		return jerr
	}
	return err
}

func (a *app) planStatusCommand(f *planFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status PLAN",
		Short: "Show the phase, the steps done, the last gate results and what is blocking",
		Long: `Show where the plan stands. The JSON form (-o json) has a versioned schema,
documented in docs/plan-status.md.`,
		Example: "  migrate plan status plans/prod-eu.yaml -o json",
		Args:    exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("invalid --output %q: use text or json", output)
			}
			s, err := a.openSession(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			defer s.store.Close()
			st, err := s.engine.Status(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(a.stdout, st)
			}
			st.WriteText(a.stdout)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (a *app) planAdvanceCommand(f *planFlags) *cobra.Command {
	var (
		force  bool
		reason string
	)
	cmd := &cobra.Command{
		Use:   "advance PLAN",
		Short: "Move to the next phase when every step is done and every gate passes",
		Long: `Move the plan to the next phase. Every step of the current phase must have
completed and its gates must pass; --force --reason TEXT moves on anyway and
records the override and its reason in the journal.

Exit status: 0 when the plan moved, 3 when a gate holds it.`,
		Example: `  migrate plan advance plans/prod-eu.yaml
  migrate plan advance plans/prod-eu.yaml --force --reason "Loki health endpoint is behind an auth proxy"`,
		Args: exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if force && strings.TrimSpace(reason) == "" {
				return usageError("--force needs --reason: the journal records why a gate was overridden")
			}
			s, err := a.openSession(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			defer s.store.Close()
			unlock, err := a.lock(cmd.Context(), s, "migrate plan advance")
			if err != nil {
				return err
			}
			defer unlock()
			out, err := s.engine.Advance(cmd.Context(), force, reason)
			if errors.Is(err, phases.ErrGateHeld) {
				return withExitCode(exitHeld, err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "plan %s is now at phase %s\n", s.plan.Metadata.Name, out.Phase)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "move on even if a gate does not pass (needs --reason)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the journal")
	return cmd
}

func (a *app) planApproveCommand(f *planFlags) *cobra.Command {
	var phase, reason string
	cmd := &cobra.Command{
		Use:   "approve PLAN --phase NAME",
		Short: "Record that a person reviewed a phase, for gates that need an approval",
		Long: `Record an approval in the journal. The translate gate accepts more unsupported
items than phases.translate.max_unsupported once they are approved after the
translation ran; the cutover gate needs an approval when the plan requires one.`,
		Example: `  migrate plan approve plans/prod-eu.yaml --phase translate --reason "reviewed the 12 Vega panels; rebuilt by hand"`,
		Args:    exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := phases.ParsePhase(phase)
			if err != nil {
				return usageError("--phase: %v", err)
			}
			s, err := a.openSession(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			defer s.store.Close()
			if err := s.engine.Approve(cmd.Context(), p, reason); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s approved phase %s of plan %s\n", s.engine.Actor, p, s.plan.Metadata.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&phase, "phase", "", "the phase approved: inventory, translate, deploy, parallel_run, cutover or decommission (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "what was reviewed, recorded in the journal")
	return cmd
}

func (a *app) planRollbackCommand(f *planFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "rollback PLAN --reason TEXT",
		Short:   "Return from cutover to parallel_run and put the gateway back to dual writes",
		Example: `  migrate plan rollback plans/prod-eu.yaml --reason "Loki p95 latency doubled after cutover"`,
		Args:    exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usageError("--reason is required: the journal records why the plan was rolled back")
			}
			s, err := a.openSession(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			defer s.store.Close()
			unlock, err := a.lock(cmd.Context(), s, "migrate plan rollback")
			if err != nil {
				return err
			}
			defer unlock()
			if err := s.engine.Rollback(cmd.Context(), reason); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "plan %s rolled back to parallel_run\n", s.plan.Metadata.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the plan is rolled back (required)")
	return cmd
}

func (a *app) planJournalCommand(f *planFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "journal PLAN",
		Short:   "Print the append-only journal: transitions, steps, gates, approvals and hooks",
		Example: "  migrate plan journal plans/prod-eu.yaml -o json",
		Args:    exactArgs(1, "one PLAN file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("invalid --output %q: use text or json", output)
			}
			s, err := a.openSession(cmd.Context(), f, args[0])
			if err != nil {
				return err
			}
			defer s.store.Close()
			entries, err := s.store.Journal(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				if entries == nil {
					entries = []phases.Entry{}
				}
				return writeJSON(a.stdout, entries)
			}
			for _, e := range entries {
				fmt.Fprintf(a.stdout, "%4d %s %-8s %-17s %s", e.Seq, e.At.UTC().Format(time.RFC3339), e.Actor, e.Kind, e.Message)
				if e.Reason != "" {
					fmt.Fprintf(a.stdout, " (reason: %s)", e.Reason)
				}
				fmt.Fprintln(a.stdout)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
