package phases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// maxHookOutput bounds the hook output kept in the journal.
const maxHookOutput = 64 << 10

// hookSteps turns the plan's hooks for a phase and moment (before or after)
// into steps, so they are checkpointed like any step: a hook that completed
// does not run again after a restart.
func (e *Engine) hookSteps(phase Phase, when string) []Step {
	var steps []Step
	n := 0
	for _, h := range e.Plan.Hooks {
		if h.Phase != string(phase) || h.When != when {
			continue
		}
		n++
		h := h
		steps = append(steps, Step{
			Name: fmt.Sprintf("hook.%s.%d", when, n),
			Run: func(ctx context.Context, r *Run) (string, error) {
				return e.runHook(ctx, r, h.Run, h.Timeout.Duration)
			},
		})
	}
	return steps
}

// runHook runs a shell command with the plan's environment. Its output and
// exit status go to the journal; a failure stops the phase. A dry run never
// runs a hook.
func (e *Engine) runHook(ctx context.Context, r *Run, command string, timeout time.Duration) (string, error) {
	if r.DryRun {
		r.Would("run hook %q", command)
		return "dry run: not run", nil
	}
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(),
		"MIGRATE_PLAN="+r.Plan.File,
		"MIGRATE_PHASE="+string(r.Phase),
		"MIGRATE_STATE="+r.StatePath,
		"MIGRATE_DRY_RUN=false",
	)
	// Run the hook in its own process group, so a timeout kills what it
	// started too, and end it if migrate itself dies.
	cmd.SysProcAttr = hookProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start := time.Now()
	r.Log.Info("running hook", "command", command, "timeout", timeout)
	err := cmd.Run()
	elapsed := time.Since(start).Round(time.Millisecond)

	exit := 0
	var exitErr *exec.ExitError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("hook %q timed out after %s", command, timeout)
		exit = -1
	case errors.As(err, &exitErr):
		exit = exitErr.ExitCode()
		err = fmt.Errorf("hook %q failed with exit status %d", command, exit)
	case err != nil:
		err = fmt.Errorf("hook %q could not run: %w", command, err)
		exit = -1
	}
	status := "ok"
	if err != nil {
		status = "failed"
	}
	entry := Entry{
		Actor: r.Actor, Kind: KindHook, Phase: r.Phase, Generation: r.Generation, Status: status,
		Message: fmt.Sprintf("hook %q %s in %s", command, status, elapsed),
		Data:    map[string]any{"command": command, "exit_code": exit, "duration": elapsed.String(), "output": out.String()},
	}
	if jerr := r.Store.Append(ctx, entry); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("hook %q ran in %s", command, elapsed), nil
}

// limitedBuffer keeps the first maxHookOutput bytes and counts the rest.
type limitedBuffer struct {
	buf     bytes.Buffer
	dropped int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := maxHookOutput - b.buf.Len()
	if room < len(p) {
		if room > 0 {
			b.buf.Write(p[:room])
		}
		b.dropped += len(p) - max(room, 0)
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) String() string {
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[%d more bytes not kept]", b.dropped)
	}
	return b.buf.String()
}
