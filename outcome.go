package joblot

import (
	"errors"
	"fmt"
	"time"
)

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

// snoozeError carries a worker's request to run its job again later.
type snoozeError struct{ d time.Duration }

func (e *snoozeError) Error() string { return fmt.Sprintf("job snoozed for %v", e.d) }

// JobSnooze, returned by a worker, puts the job back in the scheduled set
// to run again after d (a negative d counts as 0), like River's JobSnooze:
// it is not a failure and does not use a retry (Attempt does not move;
// Job.Snoozes counts the snoozes), it keeps its metadata, and a batch job
// stays pending in its batch. Use it when the job cannot make progress yet
// (a resource is busy, a rate limit applies). The number of snoozes is
// capped (WorkerOpts.MaxSnoozes, DefaultMaxSnoozes): beyond it the snooze
// is a failure with ErrTooManySnoozes. A snoozed job becomes due like a
// scheduled one, on the server's next PollInterval tick after d. When unique
// jobs land, a snoozed job will keep its unique lock.
func JobSnooze(d time.Duration) error { return &snoozeError{d: max(d, 0)} }

// snoozeOf reports whether err asks for a snooze, and for how long.
func snoozeOf(err error) (time.Duration, bool) {
	var se *snoozeError
	if errors.As(err, &se) {
		return se.d, true
	}
	return 0, false
}
