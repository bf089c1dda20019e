package phases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/obs-migrate/migrate/plans"
)

// Step is one idempotent unit of work in a phase. A step that was
// interrupted runs again from its beginning, so it must be safe to repeat.
type Step struct {
	Name string
	// Run does the work and returns a one-line summary for the journal. In
	// a dry run (r.DryRun) it must change nothing outside the state and
	// instead record each change it would make with r.Would.
	Run func(ctx context.Context, r *Run) (string, error)
}

// Definition is a phase's entry gate, steps and exit gate. A nil gate
// passes.
type Definition struct {
	Phase Phase
	Entry *Gate
	Steps []Step
	Exit  *Gate
}

// Run is the view of the plan being applied that steps and gates receive.
type Run struct {
	Plan       *plans.Plan
	Store      Store
	StatePath  string
	Phase      Phase
	Generation int
	Actor      string
	DryRun     bool
	Log        *slog.Logger
	// Connect builds the clients of the live systems.
	Connect Connectors
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Confirm is the plan name given with --confirm, which destructive
	// steps require.
	Confirm string

	would []string
}

// Would records a change that a dry run skipped.
func (r *Run) Would(format string, args ...any) {
	r.would = append(r.would, fmt.Sprintf(format, args...))
}

// Engine applies a plan's phases against its state.
type Engine struct {
	Plan      *plans.Plan
	Store     Store
	StatePath string
	Defs      map[Phase]*Definition
	Actor     string
	Log       *slog.Logger
	// Connect builds the clients of the live systems from the plan. When
	// nil, a phase that needs a live system fails with an error that says
	// so.
	Connect Connectors
	Now     func() time.Time
	// Confirm is the plan name given with --confirm, which destructive
	// steps (index deletion) require.
	Confirm string
}

// Outcome is the end state of an apply.
type Outcome struct {
	// Phase is the plan's phase now.
	Phase Phase `json:"phase"`
	// Held is set when a gate holds the plan; Gate is its result.
	Held bool        `json:"held"`
	Gate *GateResult `json:"gate,omitempty"`
	// Would lists the changes a dry run skipped, in order.
	Would []string `json:"would,omitempty"`
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) run(st State, dryRun bool) *Run {
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Run{
		Plan: e.Plan, Store: e.Store, StatePath: e.StatePath, Phase: st.Phase, Generation: st.Generation,
		Actor: e.Actor, DryRun: dryRun, Log: log.With("plan", e.Plan.Metadata.Name, "phase", string(st.Phase)),
		Connect: e.Connect, Now: e.now, Confirm: e.Confirm,
	}
}

func (e *Engine) entry(st State, kind, msg string) Entry {
	return Entry{Actor: e.Actor, Kind: kind, Phase: st.Phase, Generation: st.Generation, Message: msg, At: e.now()}
}

// Apply runs phases until a gate holds or the plan is done. In a dry run the
// steps record what they would do and the Store must be a copy.
func (e *Engine) Apply(ctx context.Context, dryRun bool) (Outcome, error) {
	var would []string
	for {
		if err := ctx.Err(); err != nil {
			return Outcome{}, err
		}
		st, err := e.Store.State(ctx)
		if err != nil {
			return Outcome{}, fmt.Errorf("reading the plan state: %w", err)
		}
		if st.Phase == Done {
			return Outcome{Phase: Done, Would: would}, nil
		}
		def, ok := e.Defs[st.Phase]
		if !ok {
			return Outcome{}, fmt.Errorf("no definition for phase %s", st.Phase)
		}
		if err := e.Plan.RequireFor(string(st.Phase)); err != nil {
			return Outcome{}, err
		}
		r := e.run(st, dryRun)
		held, err := e.runPhase(ctx, r, st, def)
		would = append(would, r.would...)
		if err != nil || held != nil {
			return Outcome{Phase: st.Phase, Held: held != nil, Gate: held, Would: would}, err
		}
	}
}

// runPhase enters the phase, runs its steps and its exit gate, and moves to
// the next phase. It returns the gate result that holds the plan, if any.
func (e *Engine) runPhase(ctx context.Context, r *Run, st State, def *Definition) (*GateResult, error) {
	log := r.Log
	if !st.Entered {
		res, err := e.checkGate(ctx, r, st, def.Entry, "entry")
		if err != nil || res.Status != GatePass {
			return &res, err
		}
		st.Entered, st.EnteredAt = true, e.now()
		if err := e.Store.SetState(ctx, st, e.entry(st, KindPhaseEntered, "entered phase "+string(st.Phase))); err != nil {
			return nil, err
		}
		log.Info("phase entered")
	}

	for _, step := range e.allSteps(def) {
		if err := e.runStep(ctx, r, st, step); err != nil {
			return nil, err
		}
	}
	// Steps can change the gateway mode. The transition below writes the
	// whole state, so it takes the mode stored now.
	cur, err := e.Store.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the plan state: %w", err)
	}
	st.GatewayMode = cur.GatewayMode

	res, err := e.checkGate(ctx, r, st, def.Exit, "exit")
	if err != nil || res.Status != GatePass {
		if err == nil {
			log.Info("phase held by its exit gate", "gate", res.Gate, "status", string(res.Status), "reason", res.Reason)
		}
		return &res, err
	}
	for _, hook := range e.hookSteps(st.Phase, "after") {
		if err := e.runStep(ctx, r, st, hook); err != nil {
			return nil, err
		}
	}
	return nil, e.transition(ctx, st, Next(st.Phase), KindTransition, "phase "+string(st.Phase)+" done: its exit gate passed", "")
}

// allSteps is the before hooks, then the phase's steps.
func (e *Engine) allSteps(def *Definition) []Step {
	return append(e.hookSteps(def.Phase, "before"), def.Steps...)
}

// runStep runs a step unless its checkpoint records it completed in this
// phase entry.
func (e *Engine) runStep(ctx context.Context, r *Run, st State, step Step) error {
	done, err := e.completed(ctx, st, step.Name)
	if err != nil || done {
		return err
	}
	log := r.Log.With("step", step.Name)
	start := e.entry(st, KindStepStarted, "step "+step.Name+" started")
	start.Step = step.Name
	prev, err := e.Store.BeginStep(ctx, st.Phase, st.Generation, step.Name, start)
	if err != nil {
		return fmt.Errorf("checkpointing step %s: %w", step.Name, err)
	}
	if prev.Status == StepStarted {
		note := e.entry(st, KindStepInterrupted,
			fmt.Sprintf("step %s was interrupted during attempt %d; it runs again from its beginning", step.Name, prev.Attempts))
		note.Step = step.Name
		if err := e.Store.Append(ctx, note); err != nil {
			return err
		}
		log.Warn("step was interrupted; running it again", "attempt", prev.Attempts+1)
	}
	log.Info("step started")
	summary, runErr := step.Run(ctx, r)
	rec := StepRecord{Phase: st.Phase, Generation: st.Generation, Name: step.Name, Status: StepCompleted, Summary: summary}
	end := e.entry(st, KindStepCompleted, "step "+step.Name+" completed: "+summary)
	if runErr != nil {
		rec.Status, rec.Error = StepFailed, runErr.Error()
		end = e.entry(st, KindStepFailed, "step "+step.Name+" failed: "+runErr.Error())
	}
	end.Step, end.Status = step.Name, rec.Status
	if err := e.Store.FinishStep(ctx, rec, end); err != nil {
		return fmt.Errorf("checkpointing step %s: %w", step.Name, err)
	}
	if runErr != nil {
		return fmt.Errorf("phase %s, step %s: %w", st.Phase, step.Name, runErr)
	}
	log.Info("step completed", "summary", summary)
	return nil
}

func (e *Engine) completed(ctx context.Context, st State, name string) (bool, error) {
	steps, err := e.Store.Steps(ctx, st.Phase, st.Generation)
	if err != nil {
		return false, err
	}
	for _, s := range steps {
		if s.Name == name {
			return s.Status == StepCompleted, nil
		}
	}
	return false, nil
}

// checkGate evaluates a gate and records its result; a missing gate passes.
func (e *Engine) checkGate(ctx context.Context, r *Run, st State, g *Gate, kind string) (GateResult, error) {
	if g == nil {
		return GateResult{Status: GatePass}, nil
	}
	res := g.Check(ctx, r)
	res.Phase, res.Generation, res.Gate, res.Kind, res.At = st.Phase, st.Generation, g.Name, kind, e.now()
	msg := fmt.Sprintf("%s gate %s: %s: %s", kind, g.Name, res.Status, res.Reason)
	entry := e.entry(st, KindGate, msg)
	entry.Status, entry.Data = string(res.Status), map[string]any{"gate": g.Name, "kind": kind, "evidence": res.Evidence}
	if err := e.Store.RecordGate(ctx, res, entry); err != nil {
		return res, fmt.Errorf("recording gate %s: %w", g.Name, err)
	}
	return res, nil
}

// transition moves the plan to another phase with a new generation.
func (e *Engine) transition(ctx context.Context, st State, to Phase, kind, msg, reason string) error {
	if !CanTransition(st.Phase, to) {
		return fmt.Errorf("the transition from %s to %s is not allowed", st.Phase, to)
	}
	from := st.Phase
	entry := e.entry(st, kind, msg)
	entry.Reason, entry.Data = reason, map[string]any{"from": string(from), "to": string(to)}
	st.Phase, st.Generation, st.Entered, st.EnteredAt = to, st.Generation+1, false, time.Time{}
	if err := e.Store.SetState(ctx, st, entry); err != nil {
		return err
	}
	e.logger().Info("phase changed", "plan", e.Plan.Metadata.Name, "from", string(from), "to", string(to))
	return nil
}

func (e *Engine) logger() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

// ErrGateHeld is wrapped when advance finds a gate that does not pass.
var ErrGateHeld = errors.New("a gate holds the plan")

// Advance moves the plan to the next phase when its steps are done and its
// gates pass. With force it moves anyway, and the journal records the
// override and its reason.
func (e *Engine) Advance(ctx context.Context, force bool, reason string) (Outcome, error) {
	if force && strings.TrimSpace(reason) == "" {
		return Outcome{}, errors.New("--force needs --reason: the journal records why a gate was overridden")
	}
	st, err := e.Store.State(ctx)
	if err != nil {
		return Outcome{}, err
	}
	if st.Phase == Done {
		return Outcome{Phase: Done}, errors.New("the plan is done; there is no phase to advance to")
	}
	def := e.Defs[st.Phase]
	r := e.run(st, false)
	problems, held, err := e.advanceChecks(ctx, r, st, def)
	if err != nil {
		return Outcome{}, err
	}
	if len(problems) > 0 && !force {
		return Outcome{Phase: st.Phase, Held: true, Gate: held},
			fmt.Errorf("%w: %s; pass --force --reason TEXT to override", ErrGateHeld, strings.Join(problems, "; "))
	}
	if len(problems) > 0 {
		note := e.entry(st, KindOverride, "advance overrode: "+strings.Join(problems, "; "))
		note.Reason = reason
		if err := e.Store.Append(ctx, note); err != nil {
			return Outcome{}, err
		}
	} else {
		for _, hook := range e.hookSteps(st.Phase, "after") {
			if err := e.runStep(ctx, r, st, hook); err != nil {
				return Outcome{}, err
			}
		}
	}
	next := Next(st.Phase)
	if err := e.transition(ctx, st, next, KindTransition, "advanced from "+string(st.Phase)+" to "+string(next), reason); err != nil {
		return Outcome{}, err
	}
	return Outcome{Phase: next}, nil
}

// advanceChecks lists what keeps a phase from being left: steps not
// completed and gates that do not pass.
func (e *Engine) advanceChecks(ctx context.Context, r *Run, st State, def *Definition) ([]string, *GateResult, error) {
	var (
		problems []string
		held     *GateResult
	)
	if !st.Entered && def.Entry != nil {
		res, err := e.checkGate(ctx, r, st, def.Entry, "entry")
		if err != nil {
			return nil, nil, err
		}
		if res.Status != GatePass {
			problems = append(problems, fmt.Sprintf("entry gate %s: %s (%s)", res.Gate, res.Status, res.Reason))
			held = &res
		}
	}
	for _, step := range e.allSteps(def) {
		done, err := e.completed(ctx, st, step.Name)
		if err != nil {
			return nil, nil, err
		}
		if !done {
			problems = append(problems, "step "+step.Name+" has not completed")
		}
	}
	res, err := e.checkGate(ctx, r, st, def.Exit, "exit")
	if err != nil {
		return nil, nil, err
	}
	if res.Status != GatePass {
		problems = append(problems, fmt.Sprintf("exit gate %s: %s (%s)", res.Gate, res.Status, res.Reason))
		held = &res
	}
	return problems, held, nil
}

// Approve records that a person reviewed a phase.
func (e *Engine) Approve(ctx context.Context, phase Phase, reason string) error {
	st, err := e.Store.State(ctx)
	if err != nil {
		return err
	}
	gen := st.Generation
	if phase != st.Phase {
		gen = 0
	}
	a := Approval{Phase: phase, Generation: gen, Actor: e.Actor, Reason: reason, At: e.now()}
	entry := e.entry(st, KindApproval, e.Actor+" approved phase "+string(phase))
	entry.Phase, entry.Generation, entry.Reason = phase, gen, reason
	return e.Store.Approve(ctx, a, entry)
}

// Rollback returns the plan from cutover to parallel_run. Each cutover
// action is undone and the gateway goes back to dual writes; undoing
// continues past a failure and the errors are joined.
func (e *Engine) Rollback(ctx context.Context, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("rollback needs --reason: the journal records why")
	}
	st, err := e.Store.State(ctx)
	if err != nil {
		return err
	}
	if st.Phase != Cutover {
		return fmt.Errorf("rollback goes from cutover to parallel_run, but the plan is at %s", st.Phase)
	}
	var errs []error
	if def := e.Defs[Cutover]; def != nil {
		errs = append(errs, e.undo(ctx, st, def)...)
	}
	st.GatewayMode = GatewayDual
	if err := e.transition(ctx, st, ParallelRun, KindRollback, "rolled back from cutover to parallel_run; the gateway is back to dual writes", reason); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// undo reverses the cutover actions of the current cutover entry, from
// the undo records its steps stored.
func (e *Engine) undo(ctx context.Context, st State, _ *Definition) []error {
	return undoCutover(ctx, e.run(st, false))
}

// sortedGates orders gate results for display.
func sortedGates(gs []GateResult) []GateResult {
	out := append([]GateResult(nil), gs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == "entry"
		}
		return out[i].Gate < out[j].Gate
	})
	return out
}
