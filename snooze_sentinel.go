package joblot

import "errors"

// ErrJobSnoozed matches the errors JobSnooze returns, however they were
// wrapped afterwards, so that code around a job (a middleware, a test) can
// tell a snooze from a failure with errors.Is. A snooze beyond the kind's
// MaxSnoozes still matches it here; the server turns that one into a
// failure with ErrTooManySnoozes.
var ErrJobSnoozed = errors.New("joblot: job snoozed")

// Is reports whether target is ErrJobSnoozed.
func (e *snoozeError) Is(target error) bool { return target == ErrJobSnoozed }
