package phases

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// State is where a plan stands.
type State struct {
	Plan  string `json:"plan"`
	Phase Phase  `json:"phase"`
	// Generation counts entries into phases. Each entry into a phase gets a
	// new one, so steps run again after a rollback re-enters a phase.
	Generation int `json:"generation"`
	// Entered is set once the phase's entry gate passed.
	Entered   bool      `json:"entered"`
	EnteredAt time.Time `json:"entered_at"`
	// GatewayMode is dual, new_primary or new_only.
	GatewayMode string    `json:"gateway_mode"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Step statuses.
const (
	StepStarted   = "started"
	StepCompleted = "completed"
	StepFailed    = "failed"
)

// StepRecord is the checkpoint of one step in one phase entry.
type StepRecord struct {
	Phase      Phase      `json:"phase"`
	Generation int        `json:"generation"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Summary    string     `json:"summary,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// Approval records that a person reviewed a phase.
type Approval struct {
	Phase      Phase     `json:"phase"`
	Generation int       `json:"generation"`
	Actor      string    `json:"actor"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// Journal entry kinds.
const (
	KindTransition      = "transition"
	KindPhaseEntered    = "phase_entered"
	KindStepStarted     = "step_started"
	KindStepInterrupted = "step_interrupted"
	KindStepCompleted   = "step_completed"
	KindStepFailed      = "step_failed"
	KindGate            = "gate"
	KindApproval        = "approval"
	KindHook            = "hook"
	KindOverride        = "override"
	KindRollback        = "rollback"
	KindDryRun          = "dry_run"
	KindLock            = "lock"
)

// Entry is one line of the append-only journal.
type Entry struct {
	Seq        int64          `json:"seq"`
	At         time.Time      `json:"at"`
	Actor      string         `json:"actor"`
	Kind       string         `json:"kind"`
	Phase      Phase          `json:"phase,omitempty"`
	Generation int            `json:"generation,omitempty"`
	Step       string         `json:"step,omitempty"`
	Status     string         `json:"status,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Message    string         `json:"message"`
	Data       map[string]any `json:"data,omitempty"`
}

// LockInfo names the process that holds a plan's state.
type LockInfo struct {
	Actor   string    `json:"actor"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (l LockInfo) String() string {
	return fmt.Sprintf("%s (%s on %s, pid %d, since %s)", l.Command, l.Actor, l.Host, l.PID, l.Since.UTC().Format(time.RFC3339))
}

// LockedError is returned when another process holds the state.
type LockedError struct{ Holder LockInfo }

func (e *LockedError) Error() string {
	return "the plan state is locked by " + e.Holder.String() +
		"; wait for it to finish (only one apply may run at a time)"
}

// ErrWrongPlan is wrapped when a state file belongs to another plan.
var ErrWrongPlan = errors.New("the state belongs to another plan")

// Store keeps a plan's state, checkpoints and journal. Every method that
// changes something also appends its journal entry in the same
// transaction. The SQLite store is the default; the interface leaves room
// for a PostgreSQL store shared by several workers.
type Store interface {
	State(ctx context.Context) (State, error)
	// SetState replaces the state and journals why.
	SetState(ctx context.Context, s State, e Entry) error

	Steps(ctx context.Context, phase Phase, generation int) ([]StepRecord, error)
	// BeginStep marks a step started, counting the attempt, and returns the
	// record as it was before: a record with status started means the last
	// attempt was interrupted.
	BeginStep(ctx context.Context, phase Phase, generation int, name string, e Entry) (previous StepRecord, err error)
	FinishStep(ctx context.Context, rec StepRecord, e Entry) error

	RecordGate(ctx context.Context, r GateResult, e Entry) error
	// Gates returns the latest result of each gate of a phase entry.
	Gates(ctx context.Context, phase Phase, generation int) ([]GateResult, error)

	Approve(ctx context.Context, a Approval, e Entry) error
	Approvals(ctx context.Context, phase Phase) ([]Approval, error)

	Append(ctx context.Context, e Entry) error
	Journal(ctx context.Context) ([]Entry, error)

	PutArtifact(ctx context.Context, key string, phase Phase, generation int, value []byte) error
	Artifact(ctx context.Context, key string) ([]byte, bool, error)

	// Lock takes the state for one process. It fails with *LockedError
	// while another live process holds it, and takes over a lock whose
	// holder on this host has died.
	Lock(ctx context.Context, info LockInfo) (release func() error, err error)
	LockHolder(ctx context.Context) (*LockInfo, error)

	Close() error
}
