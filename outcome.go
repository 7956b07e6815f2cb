package joblot

import "errors"

// outcomeError carries a worker's decision to end a job without retries.
type outcomeError struct {
	kill bool
	err  error
}

func (e *outcomeError) Error() string {
	if e.err == nil {
		if e.kill {
			return "job killed"
		}
		return "job discarded"
	}
	return e.err.Error()
}

func (e *outcomeError) Unwrap() error { return e.err }

// JobDiscard wraps err so that the job is dropped without retries: it does
// not go to the dead set and is counted as discarded. Use it for work that
// has become pointless (the record it was about was deleted). The result
// matches ErrJobDiscarded with errors.Is.
func JobDiscard(err error) error { return &outcomeError{err: err} }

// JobKill wraps err so that the job goes straight to the dead set without
// retries (the failure is permanent and worth an operator's look). The
// result matches ErrJobKilled with errors.Is.
func JobKill(err error) error { return &outcomeError{kill: true, err: err} }

// outcomeOf reports whether err is a discard or a kill.
func outcomeOf(err error) (discard, kill bool) {
	var oe *outcomeError
	if errors.As(err, &oe) {
		return !oe.kill, oe.kill
	}
	return false, false
}
