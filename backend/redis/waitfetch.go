package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

var _ backend.WaitFetcher = (*Backend)(nil)

// wakeTTL is how long an element of a process's wake list lives when no
// wait takes it (the wait it was meant to end had returned already).
const wakeTTL = 10 * time.Second

// WaitFetch implements backend.WaitFetcher for one queue: a BLPOP on the
// queue's bell with fetch.lua pipelined behind it on the same connection,
// so that the ring that wakes an idle fetcher and the claim of the job
// that rang it take one round trip instead of two. Each wake-up runs the
// fetch, as WaitForJobs' caller would; so does a wait that times out.
//
// A wait cannot simply be dropped when ctx is done: Redis may run the
// fetch behind it just then, and only the reply names the jobs it claimed.
// So the wait listens to the process's own wake list ({jl:q:<q>}:wake:<proc>)
// too, wake.lua pushes an element there when ctx is done, and the reply is
// read as usual. Only a connection that stays silent waitGrace past the
// wait (or past the wake) is dropped, as WaitForJobs drops it.
//
// Several queues, or one whose fetch needs the caller's clock (a global
// limit: fetch.lua returns -2), are left to WaitForJobs and Fetch:
// fetched is false.
func (b *Backend) WaitFetch(ctx context.Context, p backend.FetchParams, timeout time.Duration) (backend.FetchResult, bool, error) {
	if len(p.Queues) != 1 || p.Max <= 0 {
		return backend.FetchResult{}, false, b.WaitForJobs(ctx, p.Queues, timeout)
	}
	if ctx.Err() != nil {
		return backend.FetchResult{}, false, nil
	}
	if err := b.registerQueues(ctx, p.Queues); err != nil {
		if ctx.Err() != nil {
			err = nil // cancelled: a wait ends without an error
		}
		return backend.FetchResult{}, false, err
	}
	q := p.Queues[0]
	want := min(p.Max, fetchChunk)
	timeout = max(timeout, 10*time.Millisecond) // BLPOP 0 would block for ever
	wake := b.keys.QWake(q, p.Proc)
	fetch := b.fetchCall(q, p.Proc, want, true)
	b.observe(fetch)
	// As in waitBells, ctx carries no deadline into rueidis, and a timer
	// drops a connection that stays silent past the wait.
	rctx, drop := context.WithCancel(context.WithoutCancel(ctx))
	defer drop()
	overdue := time.AfterFunc(timeout+waitGrace, drop)
	defer overdue.Stop()
	stopWake := context.AfterFunc(ctx, func() {
		wctx, cancel := context.WithTimeout(rctx, waitGrace)
		defer cancel()
		if b.run(wctx, b.c, call{s: b.s.wake, keys: []string{wake}, args: []string{itoa(int(wakeTTL.Milliseconds()))}}).Error() != nil {
			drop() // Redis unreachable: the wait's connection is most likely gone too
			return
		}
		overdue.Reset(waitGrace)
	})
	defer stopWake()
	res := b.c.DoMulti(rctx,
		b.c.B().Blpop().Key(b.keys.QBell(q), wake).Timeout(timeout.Seconds()).Build(),
		fetch.evalsha(b.c))
	if err := res[0].Error(); err != nil && !rueidis.IsRedisNil(err) {
		switch {
		case rctx.Err() != nil && ctx.Err() == nil:
			return backend.FetchResult{}, false, fmt.Errorf("joblot/redis: wait for jobs: %w (no reply within %s of BLPOP's timeout; connection dropped)", ErrWaitOverdue, waitGrace)
		case ctx.Err() != nil:
			return backend.FetchResult{}, false, nil
		}
		return backend.FetchResult{}, false, wrap("wait for jobs", err)
	}
	if isNoScript(res[1].Error()) {
		// The fetch did not run (a restarted server): run it with the
		// script's source, unless the wait was cancelled.
		if ctx.Err() != nil {
			return backend.FetchResult{}, false, nil
		}
		jobs, err := b.fetch(ctx, p.Proc, p.Queues, want)
		return backend.FetchResult{Jobs: jobs}, true, err
	}
	jobs, n, err := b.claimed(context.WithoutCancel(ctx), p.Proc, q, want, res[1])
	if errors.Is(err, errFetchNeedsClock) {
		return backend.FetchResult{}, false, nil
	}
	if err == nil && n == want && want < p.Max && ctx.Err() == nil {
		// A full chunk, and more asked for: the rest as Fetch would, so
		// that fewer than p.Max means the queue was empty.
		more, err := b.fetch(ctx, p.Proc, p.Queues, p.Max-want)
		return backend.FetchResult{Jobs: append(jobs, more...)}, true, err
	}
	return backend.FetchResult{Jobs: jobs}, true, err
}
