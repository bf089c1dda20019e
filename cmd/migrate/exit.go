package main

import (
	"errors"
	"fmt"
)

// Exit codes. Scripts and CI jobs branch on them, so they are stable.
const (
	// exitOK: the command succeeded; a batch completed, perhaps with failed
	// objects listed in its report.
	exitOK = 0
	// exitError: an error stopped the command.
	exitError = 1
	// exitUsage: invalid usage, or no input could be read.
	exitUsage = 2
	// exitHeld: a gate held, a parity check failed or was inconclusive, or
	// (with --strict) a batch had failed or unsupported items.
	exitHeld = 3
)

// exitCodeError carries an exit code other than exitError up to run.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// usageError marks err as invalid usage (exit status 2).
func usageError(format string, args ...any) error {
	return &exitCodeError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// withExitCode attaches an exit code to err.
func withExitCode(code int, err error) error {
	return &exitCodeError{code: code, err: err}
}

func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	return exitError
}
