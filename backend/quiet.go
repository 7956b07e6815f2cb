package backend

import (
	"context"
	"errors"
)

// ErrProcessNotFound: no live process has that id (it never registered,
// stopped, or was declared dead).
var ErrProcessNotFound = errors.New("joblot: process not found")

// Quieter is implemented by backends through which an operator can ask a
// running process to quiet (fetch no new jobs, finish those it holds, keep
// heartbeating), the way Sidekiq's TSTP does, from another machine or
// process. The request is a mark the store keeps with the process's
// registration; the process reads it on its heartbeat.
type Quieter interface {
	// RequestQuiet marks process id as asked to quiet. It fails with an
	// error wrapping ErrProcessNotFound when no live process has that id.
	// The mark lasts as long as the process's registration.
	RequestQuiet(ctx context.Context, id string) error
	// QuietRequested reports whether process id was asked to quiet.
	QuietRequested(ctx context.Context, id string) (bool, error)
}
