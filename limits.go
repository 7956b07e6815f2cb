package joblot

import (
	"context"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/joblot/joblot/backend"
)

// QueueLimits are a queue's global limits: at most Concurrency of its jobs
// in flight at once across every process, and at most Rate fetched per Per,
// for the whole queue or per group (By: per job kind, or per limit key).
// The zero value limits nothing. Set them with ServerConfig.QueueLimits.
//
// They are enforced by the store at fetch, atomically: a job over its
// concurrency limit waits aside, and each job of its group that finishes
// (whatever its outcome) or is recovered from a dead process lets one
// waiting job back into the queue; a job over its rate waits in the
// scheduled set until the window has room, without using an attempt. A
// limited backlog costs no repeated fetches.
type QueueLimits = backend.QueueLimit

// LimitBy says how a queue's limits split into groups.
type LimitBy = backend.LimitBy

const (
	// LimitByQueue: the limits apply to the whole queue (the default).
	LimitByQueue = backend.LimitByQueue
	// LimitByKind: the limits apply to each job kind separately.
	LimitByKind = backend.LimitByKind
	// LimitByKey: the limits apply to each limit key separately (see
	// LimitKeyer and EnqueueOpts.LimitKey); jobs without a key share one
	// group.
	LimitByKey = backend.LimitByKey
)

// ErrBadLimit is returned for limits that cannot be enforced, and for a
// limit key that is too long or not valid UTF-8.
var ErrBadLimit = backend.ErrBadLimit

// MaxLimitKeyBytes bounds a limit key.
const MaxLimitKeyBytes = backend.MaxLimitKeyBytes

// LimitKeyer is implemented by args whose jobs count in a group of their
// own under a LimitByKey limit, such as one customer: the client calls
// LimitKey when the job is enqueued and stores the key with the job (the
// store cannot run Go code when it fetches). EnqueueOpts.LimitKey wins
// over it.
type LimitKeyer interface {
	LimitKey() string
}

// setLimitKey stores the job's limit key: opts' if set, else the args'.
func setLimitKey(job *backend.Job, args JobArgs, key string) error {
	if key == "" {
		if lk, ok := args.(LimitKeyer); ok {
			key = lk.LimitKey()
		}
	}
	if key == "" {
		return nil
	}
	if len(key) > MaxLimitKeyBytes || !utf8.ValidString(key) {
		return fmt.Errorf("%w: %s job's limit key: %d bytes of valid UTF-8 at most", ErrBadLimit, job.Kind, MaxLimitKeyBytes)
	}
	job.SetLimitKey(key)
	return nil
}

// validateLimits checks ServerConfig.QueueLimits.
func validateLimits(m map[string]QueueLimits) error {
	for q, l := range m {
		if q == "" {
			return fmt.Errorf("%w: ServerConfig.QueueLimits names no queue", ErrBadLimit)
		}
		if err := l.Validate(); err != nil {
			return fmt.Errorf("joblot: ServerConfig.QueueLimits[%q]: %w", q, err)
		}
	}
	return nil
}

// writeLimits writes ServerConfig.QueueLimits to the store, in queue order.
func writeLimits(ctx context.Context, b backend.Backend, m map[string]QueueLimits) error {
	queues := make([]string, 0, len(m))
	for q := range m {
		queues = append(queues, q)
	}
	sort.Strings(queues)
	for _, q := range queues {
		if _, err := b.SetLimits(ctx, backend.SetLimitsParams{Queue: q, Limit: m[q]}); err != nil {
			return fmt.Errorf("joblot: set limits of queue %q: %w", q, err)
		}
	}
	return nil
}
