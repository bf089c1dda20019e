package phases

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// StatusSchemaVersion is the version of the Status JSON schema. It changes
// only when a field is removed or changes meaning; fields may be added.
const StatusSchemaVersion = 1

// Status is a plan's position and what holds it, as `migrate plan status`
// shows it. docs/plan-status.md documents the JSON form.
type Status struct {
	SchemaVersion int    `json:"schema_version"`
	Plan          string `json:"plan"`
	Phase         Phase  `json:"phase"`
	Generation    int    `json:"generation"`
	// Entered is set once the phase's entry gate passed.
	Entered     bool       `json:"entered"`
	EnteredAt   *time.Time `json:"entered_at,omitempty"`
	GatewayMode string     `json:"gateway_mode"`
	// Phases lists every phase with done, current or pending.
	Phases []PhaseState `json:"phases"`
	// Steps are the checkpoints of the current phase entry, in order;
	// Pending names the steps that have not completed.
	Steps   []StepRecord `json:"steps"`
	Pending []string     `json:"pending"`
	// Gates are the latest results of the current phase entry's gates.
	Gates     []GateResult `json:"gates"`
	Approvals []Approval   `json:"approvals"`
	// Blocking names what keeps the plan from moving on, or is nil.
	Blocking *Blocking `json:"blocking"`
	Lock     *LockInfo `json:"lock"`
}

// PhaseState is one phase in the plan's progress.
type PhaseState struct {
	Phase  Phase  `json:"phase"`
	Status string `json:"status"` // done, current or pending
}

// Blocking is the condition that holds a plan.
type Blocking struct {
	// Kind is gate, step or pending.
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	// Next is the command or action that moves the plan on.
	Next string `json:"next"`
}

// Status gathers the plan's status from the store.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	st, err := e.Store.State(ctx)
	if err != nil {
		return Status{}, err
	}
	s := Status{
		SchemaVersion: StatusSchemaVersion, Plan: st.Plan, Phase: st.Phase, Generation: st.Generation,
		Entered: st.Entered, GatewayMode: st.GatewayMode, Steps: []StepRecord{}, Pending: []string{},
		Gates: []GateResult{}, Approvals: []Approval{},
	}
	if st.Entered && !st.EnteredAt.IsZero() {
		t := st.EnteredAt.UTC()
		s.EnteredAt = &t
	}
	s.Phases = phaseStates(st.Phase)
	if s.Lock, err = e.Store.LockHolder(ctx); err != nil {
		return s, err
	}
	if st.Phase == Done {
		return s, nil
	}
	if steps, err := e.Store.Steps(ctx, st.Phase, st.Generation); err != nil {
		return s, err
	} else if steps != nil {
		s.Steps = steps
	}
	if gates, err := e.Store.Gates(ctx, st.Phase, st.Generation); err != nil {
		return s, err
	} else if gates != nil {
		s.Gates = sortedGates(gates)
	}
	if approvals, err := e.Store.Approvals(ctx, st.Phase); err != nil {
		return s, err
	} else if approvals != nil {
		s.Approvals = approvals
	}
	if def := e.Defs[st.Phase]; def != nil {
		done := map[string]bool{}
		for _, r := range s.Steps {
			done[r.Name] = r.Status == StepCompleted
		}
		for _, step := range e.allSteps(def) {
			if !done[step.Name] {
				s.Pending = append(s.Pending, step.Name)
			}
		}
	}
	s.Blocking = blocking(s, e.PlanArgs())
	return s, nil
}

// PlanArgs returns the arguments that name this plan and its state in a
// suggested command: the plan file, and --state when the state is not in
// its default place next to the plan.
func (e *Engine) PlanArgs() string {
	if e.StatePath == "" || e.StatePath == e.Plan.File+".state.db" {
		return e.Plan.File
	}
	return e.Plan.File + " --state " + e.StatePath
}

func phaseStates(current Phase) []PhaseState {
	out := make([]PhaseState, 0, len(Order))
	status := "done"
	for _, p := range Order {
		switch {
		case current == Done:
			status = "done"
		case p == current:
			status = "current"
		case status == "current":
			status = "pending"
		}
		out = append(out, PhaseState{Phase: p, Status: status})
		if p == current {
			status = "pending"
		}
	}
	return out
}

// blocking finds what holds the plan: a failed step first, then a gate
// that did not pass, then steps that have not run.
func blocking(s Status, planFile string) *Blocking {
	for _, r := range s.Steps {
		if r.Status == StepFailed {
			return &Blocking{
				Kind: "step", Name: r.Name, Status: r.Status, Reason: r.Error,
				Next: "fix the cause, then run migrate plan apply " + planFile + " to run the step again",
			}
		}
		if r.Status == StepStarted {
			return &Blocking{
				Kind: "step", Name: r.Name, Status: r.Status,
				Reason: "the step started but did not finish: it is running, or its process stopped",
				Next:   "if no apply is running, run migrate plan apply " + planFile + " to run it again from its beginning",
			}
		}
	}
	for _, g := range s.Gates {
		if g.Status == GatePass {
			continue
		}
		next := "run migrate plan apply " + planFile + " once the condition holds"
		if g.Status == GateInconclusive {
			next = "make the evidence available (see the reason), then run migrate plan apply " + planFile
		}
		if strings.Contains(g.Reason, "migrate plan approve") {
			next = fmt.Sprintf("review, then run migrate plan approve %s --phase %s --reason TEXT", planFile, s.Phase)
		}
		return &Blocking{Kind: "gate", Name: g.Gate, Status: string(g.Status), Reason: g.Reason, Next: next}
	}
	if len(s.Pending) > 0 {
		return &Blocking{
			Kind: "pending", Name: strings.Join(s.Pending, ", "), Status: "pending",
			Reason: "steps of this phase have not run", Next: "run migrate plan apply " + planFile,
		}
	}
	return nil
}

// WriteText renders the status for a terminal.
func (s Status) WriteText(w io.Writer) {
	fmt.Fprintf(w, "plan %s: phase %s", s.Plan, s.Phase)
	if s.Phase != Done {
		state := "not entered"
		if s.Entered {
			state = "entered"
		}
		fmt.Fprintf(w, " (%s, entry %d)", state, s.Generation)
	}
	fmt.Fprintf(w, ", gateway %s\n", s.GatewayMode)
	var line []string
	for _, p := range s.Phases {
		mark := map[string]string{"done": "✓", "current": "▶", "pending": "·"}[p.Status]
		line = append(line, mark+" "+string(p.Phase))
	}
	fmt.Fprintf(w, "%s\n", strings.Join(line, "  "))
	if len(s.Steps) > 0 || len(s.Pending) > 0 {
		fmt.Fprintln(w, "\nsteps:")
		for _, r := range s.Steps {
			fmt.Fprintf(w, "  %-20s %-9s attempts %d  %s%s\n", r.Name, r.Status, r.Attempts, r.Summary, r.Error)
		}
		for _, p := range s.Pending {
			if !hasStep(s.Steps, p) {
				fmt.Fprintf(w, "  %-20s %-9s\n", p, "pending")
			}
		}
	}
	if len(s.Gates) > 0 {
		fmt.Fprintln(w, "\ngates:")
		for _, g := range s.Gates {
			fmt.Fprintf(w, "  %s gate %s: %s: %s\n", g.Kind, g.Gate, g.Status, g.Reason)
			for _, k := range sortedKeys(g.Evidence) {
				if lines, ok := checkLines(g.Evidence[k]); ok {
					fmt.Fprintf(w, "      %s:\n", k)
					for _, l := range lines {
						fmt.Fprintf(w, "        %s\n", l)
					}
					continue
				}
				fmt.Fprintf(w, "      %s: %s\n", k, evidenceText(g.Evidence[k]))
			}
		}
	}
	for _, a := range s.Approvals {
		fmt.Fprintf(w, "\napproved by %s at %s: %s\n", a.Actor, a.At.UTC().Format(time.RFC3339), a.Reason)
	}
	if s.Lock != nil {
		fmt.Fprintf(w, "\nlocked by %s\n", s.Lock)
	}
	if s.Blocking != nil {
		fmt.Fprintf(w, "\nblocked by %s %s (%s): %s\nnext: %s\n", s.Blocking.Kind, s.Blocking.Name, s.Blocking.Status, s.Blocking.Reason, s.Blocking.Next)
	} else if s.Phase == Done {
		fmt.Fprintln(w, "\nthe plan is done")
	}
}

func hasStep(steps []StepRecord, name string) bool {
	for _, r := range steps {
		if r.Name == name {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkLines renders a list of deploy checks, as the deploy gate stores
// them, one "target name: status" line each. It returns false for any
// other value.
func checkLines(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	lines := make([]string, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		target, ok1 := m["target"].(string)
		name, ok2 := m["name"].(string)
		status, ok3 := m["status"].(string)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		lines = append(lines, fmt.Sprintf("%s %s: %s", target, name, status))
	}
	return lines, true
}

// evidenceText renders a value of gate evidence on one line: strings as
// they are, anything else as JSON.
func evidenceText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
