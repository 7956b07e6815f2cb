// Package clock is joblot's time seam. Every decision that depends on the
// current time (is a job due, has a process lease expired, which day does a
// counter belong to, what timestamp is stored) reads a clock of type
// func() time.Time injected through the Now fields of joblot.ServerConfig,
// joblot.ClientConfig, redis.Options and bolt.Options, so that tests and
// simulations can run on a fake clock. A nil clock means time.Now.
//
// What stays on the wall clock, on purpose:
//   - timers that only pace loops (tickers, poll back-offs, sleeps), context
//     deadlines and job timeouts: a fake clock that jumps must not make a
//     loop spin or a job time out, nor one that stands still hang the
//     process;
//   - durations measured for metrics and logs (how long a job ran);
//   - TTLs the store enforces itself (Redis PX, EXPIRE, PEXPIRE), which run
//     on the store's own clock, and the in-process leases and caches that
//     mirror them.
package clock

import (
	"sync/atomic"
	"time"
)

// Or returns now, or time.Now when now is nil: config structs call it to
// fill their Now field's default.
func Or(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// Fake is a clock that moves only when told, for tests and simulations. It
// is safe for concurrent use; its zero value reads the Unix epoch.
type Fake struct {
	ns atomic.Int64 // Unix nanoseconds
}

// NewFake returns a fake clock reading t.
func NewFake(t time.Time) *Fake {
	f := &Fake{}
	f.Set(t)
	return f
}

// Now returns the clock's time, in UTC. Pass f.Now as a Now option.
func (f *Fake) Now() time.Time { return time.Unix(0, f.ns.Load()).UTC() }

// Set moves the clock to t (backwards too).
func (f *Fake) Set(t time.Time) { f.ns.Store(t.UnixNano()) }

// Advance moves the clock d forward and returns the new time.
func (f *Fake) Advance(d time.Duration) time.Time {
	return time.Unix(0, f.ns.Add(int64(d))).UTC()
}
