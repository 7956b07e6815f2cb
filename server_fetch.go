package joblot

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// fetchLoop claims jobs for free slots and hands them to workers. It never
// holds more jobs than Concurrency + Prefetch, so one process never hoards
// slow jobs that others could run.
//
// While the queues are empty only the leading fetcher looks for jobs; the
// others wait until it finds some. On a backend that can wake it
// (backend.Waiter) it waits to be woken, up to IdleWaitTimeout, so a job
// enqueued into an idle system starts at once; otherwise it polls, backing
// off up to IdleFetchInterval. That keeps an idle process to a few store
// calls a second without giving up the second fetcher's
// overlap under load.
func (s *Server) fetchLoop(leader bool) {
	defer s.fetchers.Done()
	// ctx, cancelled by Stop and by Quiet, ends the loop and its waits;
	// the fetch itself runs under fetchCtx (see Server.idleCtx).
	ctx := s.idleCtx
	idle := time.Duration(0)
	// backlog says the last fetch came back full: the queue has more, so
	// a fetch worth its round trip is one of at least fetchMin jobs.
	backlog := false
	fetchMin := min(s.cfg.FetchChunk, max(1, (s.cfg.Concurrency+s.cfg.Prefetch)/4))
	for ctx.Err() == nil {
		if s.fenced.Load() {
			if !sleepCtx(ctx, s.cfg.HeartbeatInterval/2) {
				return
			}
			continue
		}
		if s.lingering.atMax() {
			// MaxLingering goroutines of abandoned jobs linger: fetch
			// nothing more until one returns.
			if s.hooks.fetchGated != nil {
				s.hooks.fetchGated(leader)
			}
			if !s.lingering.waitBelowMax(ctx, 0) {
				return
			}
			continue
		}
		n := s.slots.acquire(ctx, 1, s.cfg.FetchChunk, nil)
		if n == 0 {
			return // ctx done
		}
		if backlog && n < fetchMin {
			// Under load slots free up one by one; a fetch per slot would
			// spend Redis's time on per-call overhead. Wait a moment for
			// a bigger chunk.
			linger := time.NewTimer(fetchLinger)
			n += s.slots.acquire(ctx, fetchMin-n, fetchMin-n, linger.C)
			linger.Stop()
		}
		if s.lingering.atMax() {
			// The slots may be those of a job abandoned meanwhile, which
			// reached the cap: it is counted before its slot is freed.
			s.slots.release(n)
			continue
		}
		// Quiet waits for a fetch under way (fetchGate), and no fetch
		// starts once it is set: a job enqueued after Quiet returned is
		// never claimed here.
		s.fetchGate.RLock()
		if s.quiet.Load() {
			s.fetchGate.RUnlock()
			s.slots.release(n)
			return
		}
		proc := s.ProcessID()
		res, err := s.backend.Fetch(s.fetchCtx, backend.FetchParams{Proc: proc, Queues: s.queues.next(), Max: n})
		fetched := res.Jobs
		s.fetchGate.RUnlock()
		// Jobs a failed fetch claimed before its error (from the queues it
		// tried first) are in flight under proc: they run like any others,
		// or they would sit there until this process dies. The slots of
		// the jobs not returned are free again.
		s.slots.release(n - len(fetched))
		s.handOver(s.fetchCtx, leader, proc, fetched)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("joblot: fetch failed", "err", err, "claimed", len(fetched))
			}
			backlog = false
			idle = backoff(idle, s.cfg.IdleFetchInterval)
			sleepCtx(ctx, idle)
			continue
		}
		if len(fetched) == 0 {
			backlog = false
			if !leader {
				s.found.wait(ctx)
				continue
			}
			if s.waiter != nil {
				err := s.waiter.WaitForJobs(ctx, s.queues.names, s.cfg.IdleWaitTimeout)
				if err == nil {
					continue
				}
				if ctx.Err() == nil {
					s.logger.Warn("joblot: waiting for jobs failed; polling", "err", err)
				}
			}
			idle = backoff(idle, s.cfg.IdleFetchInterval)
			sleepCtx(ctx, idle)
			continue
		}
		backlog = len(fetched) == n
		idle = 0
	}
}

// handOver gives jobs claimed under proc to the workers.
func (s *Server) handOver(ctx context.Context, leader bool, proc string, fetched []*backend.Fetched) {
	if len(fetched) == 0 {
		return
	}
	if leader {
		s.found.broadcast() // cheap: one per fetched chunk
	}
	s.refreshCancelled(ctx, fetched)
	s.inFlight.Add(int64(len(fetched)))
	for _, f := range fetched {
		// Never blocks: the channel holds Concurrency+Prefetch, the
		// same as the slots this fetcher had to acquire.
		s.jobs <- claimed{Fetched: f, proc: proc}
	}
}

// refreshCancelled asks storage, in one call, whether the batches of the
// fetched jobs whose cached answer is stale are cancelled.
func (s *Server) refreshCancelled(ctx context.Context, fetched []*backend.Fetched) {
	var stale []string
	for _, f := range fetched {
		if f.Malformed == nil && f.BatchID != "" && s.cancel.stale(f.BatchID) {
			stale = append(stale, f.BatchID)
		}
	}
	if len(stale) == 0 {
		return
	}
	got, err := s.backend.BatchesCancelled(ctx, stale)
	if err != nil {
		s.logger.Warn("joblot: checking cancelled batches failed", "err", err)
		return
	}
	s.cancel.set(stale, got)
}

// fetchLinger is how long a fetcher facing a backlog waits for more free
// slots before fetching fewer than a quarter of its capacity.
const fetchLinger = time.Millisecond

// backoff doubles d from 1 ms up to limit.
func backoff(d, limit time.Duration) time.Duration {
	if d == 0 {
		return time.Millisecond
	}
	return min(d*2, limit)
}

// sleepCtx sleeps for d or until ctx is done; it reports whether ctx is
// still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// wakeup wakes every waiter at once, each time it is broadcast.
type wakeup struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWakeup() *wakeup { return &wakeup{ch: make(chan struct{})} }

func (sg *wakeup) wait(ctx context.Context) {
	sg.mu.Lock()
	ch := sg.ch
	sg.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

func (sg *wakeup) broadcast() {
	sg.mu.Lock()
	close(sg.ch)
	sg.ch = make(chan struct{})
	sg.mu.Unlock()
}

// slots counts free worker slots (plus prefetch).
type slots struct {
	mu   sync.Mutex
	free int
	wake chan struct{} // closed and replaced when slots are released
}

func newSlots(n int) *slots { return &slots{free: n, wake: make(chan struct{})} }

// acquire takes free slots as they come, up to atMost, until it holds at
// least atLeast; it returns early, with what it took, when until fires
// (nil: never) or ctx is done.
func (sl *slots) acquire(ctx context.Context, atLeast, atMost int, until <-chan time.Time) int {
	got := 0
	for {
		sl.mu.Lock()
		n := min(sl.free, atMost-got)
		sl.free -= n
		got += n
		wake := sl.wake
		sl.mu.Unlock()
		if got >= atLeast {
			return got
		}
		select {
		case <-wake:
		case <-until:
			return got
		case <-ctx.Done():
			return got
		}
	}
}

func (sl *slots) release(n int) {
	if n <= 0 {
		return
	}
	sl.mu.Lock()
	sl.free += n
	close(sl.wake)
	sl.wake = make(chan struct{})
	sl.mu.Unlock()
}

// queueOrder produces the order in which a fetch tries the queues.
type queueOrder struct {
	names   []string // by descending weight, then name
	weights []int
	total   int
	strict  bool
}

func newQueueOrder(queues map[string]int, strict bool) queueOrder {
	q := queueOrder{strict: strict}
	for name := range queues {
		q.names = append(q.names, name)
	}
	sort.Slice(q.names, func(i, j int) bool {
		wi, wj := queues[q.names[i]], queues[q.names[j]]
		if wi != wj {
			return wi > wj
		}
		return q.names[i] < q.names[j]
	})
	for _, n := range q.names {
		q.weights = append(q.weights, queues[n])
		q.total += queues[n]
	}
	return q
}

// next returns the queues in strict order, or in an order drawn by weight
// without replacement (a queue of weight 3 comes first three times as often
// as one of weight 1), like Sidekiq's weighted queues.
func (q queueOrder) next() []string {
	if q.strict || len(q.names) == 1 {
		return q.names
	}
	names := append([]string(nil), q.names...)
	weights := append([]int(nil), q.weights...)
	total := q.total
	out := make([]string, 0, len(names))
	for len(names) > 0 {
		r := rand.IntN(total)
		i := 0
		for ; r >= weights[i]; i++ {
			r -= weights[i]
		}
		out = append(out, names[i])
		total -= weights[i]
		names = append(names[:i], names[i+1:]...)
		weights = append(weights[:i], weights[i+1:]...)
	}
	return out
}

// cancelCache remembers which batches are cancelled for a short while, so
// skipping a cancelled batch's jobs costs one storage call per batch per
// TTL, not one per job. Its TTL paces storage calls, so it runs on the
// wall clock, not the injected one.
type cancelCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cancelEntry
}

type cancelEntry struct {
	cancelled bool
	checked   time.Time
}

func newCancelCache(ttl time.Duration) *cancelCache {
	return &cancelCache{ttl: ttl, m: map[string]cancelEntry{}}
}

func (c *cancelCache) stale(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return !ok || time.Since(e.checked) > c.ttl
}

func (c *cancelCache) set(ids []string, cancelled map[string]bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10_000 { // bounded: entries are cheap to re-fetch
		clear(c.m)
	}
	for _, id := range ids {
		c.m[id] = cancelEntry{cancelled: cancelled[id], checked: now}
	}
}

func (c *cancelCache) cancelled(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id].cancelled
}
