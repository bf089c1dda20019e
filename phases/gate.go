package phases

import (
	"context"
	"time"
)

// GateStatus is the answer of a gate.
type GateStatus string

// Gate answers. An inconclusive gate holds the plan like a failing one, and
// says why: typically a backend did not answer.
const (
	GatePass         GateStatus = "pass"
	GateFail         GateStatus = "fail"
	GateInconclusive GateStatus = "inconclusive"
)

// GateResult is one evaluation of a gate.
type GateResult struct {
	Phase      Phase      `json:"phase"`
	Generation int        `json:"generation"`
	Gate       string     `json:"gate"`
	Kind       string     `json:"kind"` // entry or exit
	Status     GateStatus `json:"status"`
	Reason     string     `json:"reason"`
	// Evidence holds what the gate looked at, for reviewers.
	Evidence map[string]any `json:"evidence,omitempty"`
	At       time.Time      `json:"at"`
}

// Gate is a check that lets a plan into or out of a phase.
type Gate struct {
	Name  string
	Check func(ctx context.Context, r *Run) GateResult
}

func pass(reason string, evidence map[string]any) GateResult {
	return GateResult{Status: GatePass, Reason: reason, Evidence: evidence}
}

func fail(reason string, evidence map[string]any) GateResult {
	return GateResult{Status: GateFail, Reason: reason, Evidence: evidence}
}

func inconclusive(reason string, evidence map[string]any) GateResult {
	return GateResult{Status: GateInconclusive, Reason: reason, Evidence: evidence}
}
