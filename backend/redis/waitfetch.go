package redis

import (
	"context"
	"errors"
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
	timeout = blockTimeout(timeout)
	k := b.qkeys.queue(q)
	wake := k.forProc(p.Proc).wake
	fetch := b.fetchCall(q, p.Proc, want, true)
	b.observe(fetch)
	res, err := b.doBlocking(ctx, timeout,
		func(ctx context.Context) error {
			return b.run(ctx, b.c, call{s: b.s.wake, keys: []string{wake}, args: []string{itoa(int(wakeTTL.Milliseconds()))}}).Error()
		},
		b.c.B().Blpop().Key(k.bell, wake).Timeout(timeout.Seconds()).Build(),
		fetch.evalsha(b.c))
	if err != nil {
		return backend.FetchResult{}, false, err
	}
	if e := res[1].Error(); e != nil {
		if _, replied := rueidis.IsRedisErr(e); !replied {
			// No reply: the call was dropped as ctx ended.
			return backend.FetchResult{}, false, nil
		}
	}
	// NOSCRIPT: the fetch did not run (a restarted server); Fetch below
	// loads it.
	ran := !isNoScript(res[1].Error())
	var jobs []*backend.Fetched
	if ran {
		var n int
		jobs, n, err = b.claimed(context.WithoutCancel(ctx), p.Proc, q, want, res[1])
		switch {
		case errors.Is(err, errFetchNeedsClock):
			return backend.FetchResult{}, false, nil
		case err != nil || n < want || want == p.Max:
			return backend.FetchResult{Jobs: jobs}, true, err
		}
	}
	if ctx.Err() != nil {
		return backend.FetchResult{Jobs: jobs}, ran, nil
	}
	// A full chunk with more asked for, or a fetch that did not run: the
	// rest as Fetch would, so that fewer than p.Max means the queue was
	// empty. Not cut by ctx once sent, for the reason the wait is not: a
	// cancel that lands while Redis runs it would lose the reply naming
	// the jobs it claimed.
	more, err := b.fetch(context.WithoutCancel(ctx), p.Proc, p.Queues, p.Max-len(jobs))
	return backend.FetchResult{Jobs: append(jobs, more...)}, true, err
}
