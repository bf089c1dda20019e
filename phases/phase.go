package phases

import (
	"fmt"
	"strings"
)

// Phase names a phase. The names are the same in YAML keys, --phase values
// and JSON output.
type Phase string

// The phases, in order, and Done after the last.
const (
	Inventory    Phase = "inventory"
	Translate    Phase = "translate"
	Deploy       Phase = "deploy"
	ParallelRun  Phase = "parallel_run"
	Cutover      Phase = "cutover"
	Decommission Phase = "decommission"
	Done         Phase = "done"
)

// Order lists the phases a plan goes through.
var Order = []Phase{Inventory, Translate, Deploy, ParallelRun, Cutover, Decommission}

// transitions is the explicit transition table. Moving forward goes to the
// next phase; rollback goes from cutover back to parallel_run.
var transitions = map[Phase][]Phase{
	Inventory:    {Translate},
	Translate:    {Deploy},
	Deploy:       {ParallelRun},
	ParallelRun:  {Cutover},
	Cutover:      {Decommission, ParallelRun},
	Decommission: {Done},
}

// CanTransition reports whether the table allows from -> to.
func CanTransition(from, to Phase) bool {
	for _, p := range transitions[from] {
		if p == to {
			return true
		}
	}
	return false
}

// Next returns the phase after p, or Done.
func Next(p Phase) Phase {
	for i, q := range Order {
		if q == p && i+1 < len(Order) {
			return Order[i+1]
		}
	}
	return Done
}

// ParsePhase checks a phase name.
func ParsePhase(s string) (Phase, error) {
	for _, p := range Order {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, len(Order))
	for i, p := range Order {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown phase %q: use one of %s", s, strings.Join(names, ", "))
}
