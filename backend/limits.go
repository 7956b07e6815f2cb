package backend

import (
	"errors"
	"fmt"
	"time"
)

// Global limits. A queue may carry a concurrency limit (at most N of its
// jobs in flight at once, across every process) and a rate limit (at most N
// fetched per interval), for the whole queue or split into groups: one per
// job kind, or one per limit key (a string the client computed from the
// job's args at enqueue and stored with the job, since the store cannot run
// Go code). The rules are decided here; backends only store and count:
//
//   - LimitGroup names the group a job counts in.
//   - Fetch admits a job only while its group holds fewer than Concurrency
//     jobs in flight and fetched fewer than Rate in the last Per. A slot is
//     held as an entry naming the job id (never a counter), added by the
//     fetch and removed by the ack of that job (whatever its outcome) or by
//     the recovery of its dead process, so it cannot drift.
//   - A job over its concurrency limit waits in its group's holding list;
//     each release of a slot of that group moves one waiting job back to the
//     head of the queue, where the next fetch judges it again.
//   - A job over its rate limit waits in the scheduled set until the window
//     frees (it uses no attempt: the stored job is unchanged).
//
// So a limited backlog costs no repeated fetch calls: a fetch that finds a
// job over its limit moves it aside instead of reading it again.
//
// The configuration is per queue and lives in the store (SetLimits), so
// that every fetcher, whatever its own configuration, enforces the same
// limits; the latest writer wins.

// LimitBy says how a queue's limit splits into groups.
type LimitBy uint8

const (
	// LimitByQueue: one group, the whole queue (the default).
	LimitByQueue LimitBy = iota
	// LimitByKind: one group per job kind.
	LimitByKind
	// LimitByKey: one group per limit key (Job.LimitKey); jobs without a
	// key share the group "".
	LimitByKey
)

// String names the split.
func (b LimitBy) String() string {
	return [...]string{"queue", "kind", "key", "?"}[min(int(b), 3)]
}

// MaxLimitKeyBytes bounds a job's limit key: it names store entries.
const MaxLimitKeyBytes = 128

// MaxLimitGroupsShown bounds the groups a queue's LimitStats lists: limit
// keys are user data, and a stats call stays O(queues).
const MaxLimitGroupsShown = 20

// ErrBadLimit is returned for a limit configuration that cannot be
// enforced.
var ErrBadLimit = errors.New("joblot: bad queue limit")

// QueueLimit is one queue's limits. The zero value means no limit.
type QueueLimit struct {
	// Concurrency is the most jobs of one group in flight at once, across
	// every process (0: no concurrency limit).
	Concurrency int
	// Rate is the most jobs of one group fetched per Per (0: no rate
	// limit). Per must then be at least a millisecond.
	Rate int
	Per  time.Duration
	// By splits the limits into groups (default LimitByQueue).
	By LimitBy
}

// IsZero reports whether l limits nothing.
func (l QueueLimit) IsZero() bool { return l.Concurrency == 0 && l.Rate == 0 }

// Validate reports a limit that cannot be enforced (wrapping ErrBadLimit).
func (l QueueLimit) Validate() error {
	switch {
	case l.Concurrency < 0:
		return fmt.Errorf("%w: concurrency %d is negative", ErrBadLimit, l.Concurrency)
	case l.Rate < 0:
		return fmt.Errorf("%w: rate %d is negative", ErrBadLimit, l.Rate)
	case l.Rate > 0 && l.Per < time.Millisecond:
		return fmt.Errorf("%w: rate %d per %v: the interval must be at least 1ms", ErrBadLimit, l.Rate, l.Per)
	case l.By > LimitByKey:
		return fmt.Errorf("%w: unknown split %d", ErrBadLimit, l.By)
	}
	return nil
}

// LimitGroup returns the group a job of kind with limit key key counts in
// under l. The Redis backend's fetch script mirrors it (limitlib.lua).
func LimitGroup(l QueueLimit, kind, key string) string {
	switch l.By {
	case LimitByKind:
		return kind
	case LimitByKey:
		return key
	}
	return ""
}

// SetLimitsParams sets one queue's limits (Backend.SetLimits).
type SetLimitsParams struct {
	Queue string `json:"queue"`
	// Limit replaces the queue's limits; the zero value removes them.
	Limit QueueLimit `json:"limit"`
}

// SetLimitsResult says what SetLimits changed.
type SetLimitsResult struct {
	// Changed is false when the store already held this limit.
	Changed bool `json:"changed"`
	// Released counts the waiting jobs moved back to the queue to be
	// judged again under the new limit.
	Released int `json:"released"`
}

// LimitStats are a limited queue's limits and their state (QueueStats).
type LimitStats struct {
	Limit QueueLimit
	// Groups are groups with jobs in flight or waiting, sorted by name:
	// all of them, or MaxLimitGroupsShown when there are more (which ones
	// is the backend's choice: it reads a bounded part). GroupsTotal
	// counts them all.
	Groups      []LimitGroupStats
	GroupsTotal int
}

// LimitGroupStats is one group's state.
type LimitGroupStats struct {
	// Group is the kind or limit key ("" for the whole queue). It is user
	// data: escape it before showing it.
	Group string
	// Running counts the slots held (jobs in flight), Waiting the jobs
	// held back over the concurrency limit.
	Running, Waiting int64
}

// LimitKey returns the job's limit key ("" if none): the group it counts
// in under a LimitByKey limit. It lives in the encoded extension fields,
// like the unique lock.
func (j *Job) LimitKey() string {
	v, _ := extField(j.UnknownFields, fieldLimitKey)
	return string(v)
}

// SetLimitKey sets the job's limit key ("" removes it).
func (j *Job) SetLimitKey(key string) {
	rest := dropExtField(j.UnknownFields, fieldLimitKey)
	if key == "" {
		j.UnknownFields = rest
		return
	}
	j.UnknownFields = appendBytes(rest, fieldLimitKey, []byte(key))
}
