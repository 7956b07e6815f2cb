package joblot

import "errors"

// Sentinels for the two ways a worker ends a job without retries, so that
// code around a job (a test, a middleware, a caller of an inline client)
// can tell them from a plain failure: errors.Is(err, ErrJobKilled) holds
// for any error built with JobKill, however it was wrapped afterwards, and
// errors.Is(err, ErrJobDiscarded) for any built with JobDiscard. The error
// JobKill or JobDiscard wrapped still matches errors.Is and errors.As as
// before.
var (
	// ErrJobKilled matches the errors JobKill returns.
	ErrJobKilled = errors.New("joblot: job killed")
	// ErrJobDiscarded matches the errors JobDiscard returns.
	ErrJobDiscarded = errors.New("joblot: job discarded")
)

// Is reports whether target is the sentinel of e's outcome.
func (e *outcomeError) Is(target error) bool {
	return (target == ErrJobKilled && e.kill) || (target == ErrJobDiscarded && !e.kill)
}
