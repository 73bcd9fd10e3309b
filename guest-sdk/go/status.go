package faasrt

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Exit statuses with a fixed meaning.
const (
	// FailedStatus is the status of a handler that returns an error other
	// than an [*ExitError]: a general failure.
	FailedStatus = 1
	// UsageStatus is the conventional status of a usage error (bad or
	// missing arguments), as in coreutils and grep. Use it with [Errorf].
	UsageStatus = 2
	// BrokenPipeStatus is the status of a function whose write to faasout
	// failed because the consumer closed its end. A broken pipe is not the
	// function's fault, so it ends quietly (nothing on the log) but not
	// with 0, as a shell reports `yes` in `yes | head` as killed. The value
	// is Linux's EPIPE; it stays below 126 because WASI hosts such as
	// wasmtime turn proc_exit statuses of 126 and above into traps. The
	// Rust SDK uses the same value.
	BrokenPipeStatus = 32
)

// An ExitError ends a handler with a chosen exit status. Build one with
// [Exit] (no message) or [Errorf] (a message for the log), or directly to
// wrap another error with a status.
type ExitError struct {
	// Status is the exit status; 0 would report success, so it counts as 1.
	Status int
	// Err, if not nil, is written to the log.
	Err error
}

// Exit returns an error that ends the handler quietly with status, as grep
// ends with 1 when no line matched. A status of 0 counts as 1: to succeed,
// return nil.
func Exit(status int) error {
	return &ExitError{Status: status}
}

// Errorf returns an error that ends the handler with status and the
// formatted message on the log. A status of 0 counts as 1. The format
// accepts %w, as [fmt.Errorf] does.
func Errorf(status int, format string, args ...any) error {
	return &ExitError{Status: status, Err: fmt.Errorf(format, args...)}
}

// Error returns the message, or "exit status N" when there is none.
func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("exit status %d", e.ExitStatus())
}

// Unwrap returns the wrapped error, if any.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitStatus is the status this error ends a handler with; never 0.
func (e *ExitError) ExitStatus() int { return nonzero(e.Status) }

func nonzero(status int) int {
	if status == 0 {
		return FailedStatus
	}
	return status
}

// ExitStatus is the status a handler that returns err ends with, when the
// final flush of faasout succeeds: 0 for nil, [BrokenPipeStatus] for a
// broken pipe, the status of an [*ExitError] in err's chain, and
// [FailedStatus] for any other error.
func ExitStatus(err error) int {
	status, _ := statusAndMessage(err, nil)
	return status
}

// statusAndMessage decides the exit status from the handler's error and the
// error of the final flush of faasout, and the message for the log ("" for
// none). The handler's own error wins: a failed flush after a failure adds
// nothing.
func statusAndMessage(handlerErr, flushErr error) (int, string) {
	err := handlerErr
	if err == nil {
		err = flushErr
	}
	if err == nil {
		return 0, ""
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err == nil {
			return exit.ExitStatus(), ""
		}
		// A status wrapped around a broken pipe keeps the chosen status
		// but stays quiet.
		if isBrokenPipe(exit.Err) {
			return exit.ExitStatus(), ""
		}
		return exit.ExitStatus(), err.Error()
	}
	if isBrokenPipe(err) {
		return BrokenPipeStatus, ""
	}
	return FailedStatus, err.Error()
}

// isBrokenPipe reports whether err is a write to a pipe whose reader is
// gone.
func isBrokenPipe(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}

// prefixed is "name: message", with name reduced to its last path
// component, as coreutils prefix their messages.
func prefixed(name, message string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		return message
	}
	return name + ": " + message
}
