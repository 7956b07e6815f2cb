package joblot

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
)

// fetchers is how many fetch loops a server runs: more did not help when
// measured (BENCHMARKS.md).
const fetchers = 2

// fetcher claims jobs for the executor's free slots and hands them over on
// its jobs channel. It stops for good on stop (Stop) or quiesce (Quiet),
// and pauses while the process is fenced or too many abandoned attempts
// linger.
type fetcher struct {
	cfg     ServerConfig
	backend backend.Backend
	// waiter is backend as a backend.Waiter, nil if it cannot wake an
	// idle fetcher (then the fetcher polls).
	waiter backend.Waiter
	// waitFetcher is backend as a backend.WaitFetcher when it serves one
	// queue, nil otherwise: the leader then sends its fetch behind its
	// wait, in the same round trip.
	waitFetcher backend.WaitFetcher
	logger      *slog.Logger
	lease       *processLease
	slots       *slots
	lingering   *lingerers
	batches     *cancelCache
	inFlight    *atomic.Int64
	out         chan<- claimed
	prefetch    *prefetchTuner

	found  *wakeup // the leading fetcher found a backlog: idle followers resume
	queues queueOrder

	// quiet: fetch no more (Quiet).
	quiet atomic.Bool
	// gate: each fetch call holds it shared, quiesce exclusively once, to
	// wait for a fetch under way.
	gate sync.RWMutex

	fetchCtx  context.Context // cancelled by stop
	stopFetch context.CancelFunc
	// idleCtx ends the loops' waits: cancelled with fetchCtx, or by
	// quiesce. Quiet does not cancel a fetch under way: a cancelled call
	// may still claim jobs in the store after it returned, and those
	// would sit in flight under a process that lives on.
	idleCtx  context.Context
	stopIdle context.CancelFunc
	wg       sync.WaitGroup

	// now times fetches and after times a linger (lingerPolicy); tests
	// replace them. Loop pacing is on the wall clock, not ServerConfig.Now.
	now   func() time.Time
	after func(time.Duration) (<-chan time.Time, func() bool)

	testSignals fetcherTestSignals
}

// fetcherTestSignals tell tests what the fetch loops do.
type fetcherTestSignals struct {
	// gated: a loop stops because MaxLingering goroutines linger; the
	// value says whether it is the leading loop.
	gated testsignal.TestSignal[bool]
	// fenced: a loop pauses because the process is fenced; the value says
	// whether it is the leading loop.
	fenced testsignal.TestSignal[bool]
	// lingered: a loop waits up to this long for more free slots before
	// it fetches.
	lingered testsignal.TestSignal[time.Duration]
	// handedOver: a loop hands fetched jobs over; the value says whether
	// it woke the idle followers.
	handedOver testsignal.TestSignal[bool]
}

// fetcherParams is what the Server hands the fetcher: the state it shares
// with the other components.
type fetcherParams struct {
	cfg       ServerConfig
	backend   backend.Backend
	lease     *processLease
	slots     *slots
	lingering *lingerers
	batches   *cancelCache
	inFlight  *atomic.Int64
	out       chan<- claimed // the executor's jobs
}

// newFetcher returns a fetcher handing jobs to p.out. Its contexts are
// made here, not in start, so that Quiet may come first.
func newFetcher(p fetcherParams) *fetcher {
	f := &fetcher{
		cfg:       p.cfg,
		backend:   p.backend,
		logger:    p.cfg.Logger,
		lease:     p.lease,
		slots:     p.slots,
		lingering: p.lingering,
		batches:   p.batches,
		inFlight:  p.inFlight,
		out:       p.out,
		found:     newWakeup(),
		queues:    newQueueOrder(p.cfg.Queues, p.cfg.StrictPriority),
		now:       time.Now,
		after:     wallTimer,
	}
	f.prefetch = newPrefetchTuner(p.slots, p.cfg.prefetchFloor, p.cfg.Prefetch, p.cfg.prefetchWindow, f.now())
	f.waiter, _ = p.backend.(backend.Waiter)
	if wf, ok := p.backend.(backend.WaitFetcher); ok && len(f.queues.names) == 1 {
		f.waitFetcher = wf
	}
	f.fetchCtx, f.stopFetch = context.WithCancel(context.Background())
	f.idleCtx, f.stopIdle = context.WithCancel(f.fetchCtx)
	return f
}

// start starts the fetch loops; the first leads (see loop).
func (f *fetcher) start() {
	for i := range fetchers {
		f.wg.Add(1)
		go f.loop(i == 0)
	}
}

// stop ends the loops, cancelling a fetch under way, and waits for them:
// once it returns nothing more is sent on out.
func (f *fetcher) stop() {
	f.stopFetch()
	f.wg.Wait()
}

// quiesce makes the fetcher fetch no more, waiting for a fetch under way
// (at most one store call); no fetch starts once it returns. It reports
// false if the fetcher was quiet already.
func (f *fetcher) quiesce() bool {
	if f.quiet.Swap(true) {
		return false
	}
	f.stopIdle()
	f.gate.Lock()
	f.gate.Unlock()
	return true
}

// loop claims jobs for free slots and hands them to workers. It never
// holds more jobs than Concurrency + Prefetch, where the prefetch follows
// the completion rate unless it is fixed (prefetchTuner), so one process
// never hoards slow jobs that others could run.
//
// While the queues are empty only the leading fetcher looks for jobs; the
// others wait until it finds a backlog (a fetch that came back full): a
// leader that drains the queues on its own needs no help. On a backend
// that can wake it (backend.Waiter) it waits to be woken, up to
// IdleWaitTimeout, so a job enqueued into an idle system starts at once;
// serving one queue on a backend.WaitFetcher, it sends its fetch behind
// the wait, in the same round trip. Otherwise it polls, backing off up to
// IdleFetchInterval. That keeps an idle process to a few store calls a
// second without giving up the second fetcher's overlap under load.
func (f *fetcher) loop(leader bool) {
	defer f.wg.Done()
	// ctx, cancelled by Stop and by Quiet, ends the loop and its waits;
	// the fetch itself runs under fetchCtx (see fetcher.idleCtx).
	ctx := f.idleCtx
	idle := time.Duration(0)
	var pol lingerPolicy
	// wait: the queues were empty; the next fetch goes behind a wait
	// (waitFetcher).
	wait := false
	for ctx.Err() == nil {
		if f.lease.isFenced() {
			f.testSignals.fenced.Signal(leader)
			if !sleepCtx(ctx, f.cfg.HeartbeatInterval/2) {
				return
			}
			continue
		}
		if f.lingering.atMax() {
			// MaxLingering goroutines of abandoned jobs linger: fetch
			// nothing more until one returns.
			f.testSignals.gated.Signal(leader)
			if !f.lingering.waitBelowMax(ctx, 0) {
				return
			}
			continue
		}
		n := f.slots.acquire(ctx, 1, f.cfg.FetchChunk, nil)
		if n == 0 {
			return // ctx done
		}
		if back := min(n, f.prefetch.tune(f.now())); back > 0 {
			// The jobs slowed down: hold no more than the new rate needs.
			f.slots.release(back)
			if n -= back; n == 0 {
				continue
			}
		}
		pol.min = min(f.cfg.FetchChunk, max(1, (f.cfg.Concurrency+f.prefetch.prefetch())/4))
		if d := pol.wait(n); d > 0 {
			// A backlog, and too few slots for a fetch worth its round
			// trip: wait a moment for more (lingerPolicy), then take
			// every slot free by then.
			f.testSignals.lingered.Signal(d)
			c, stop := f.after(d)
			n += f.slots.acquire(ctx, pol.min-n, f.cfg.FetchChunk-n, c)
			stop()
		}
		if f.lingering.atMax() || f.lease.isFenced() {
			// The slots may be those of a job abandoned meanwhile, which
			// reached the cap: it is counted before its slot is freed.
			// Or the process fenced itself while this loop waited for
			// them: a fetch now would claim jobs under an identity
			// another process already took over.
			f.slots.release(n)
			continue
		}
		// Quiet waits for a fetch under way (fetcher.gate), and no fetch
		// starts once it is set: a job enqueued after Quiet returned is
		// never claimed here.
		f.gate.RLock()
		if f.quiet.Load() {
			f.gate.RUnlock()
			f.slots.release(n)
			return
		}
		proc := f.lease.ID()
		began := f.now()
		params := backend.FetchParams{Proc: proc, Queues: f.queues.next(), Max: n}
		var res backend.FetchResult
		var err error
		waited, emptied := wait, false
		if wait {
			wait = false
			res, emptied, err = f.waitFetch(ctx, params)
		} else {
			res, err = f.backend.Fetch(f.fetchCtx, params)
		}
		trip := f.now().Sub(began)
		if waited {
			trip = 0 // the wait is no round trip to linger for
		}
		fetched := res.Jobs
		f.gate.RUnlock()
		// Jobs a failed fetch claimed before its error (from the queues it
		// tried first) are in flight under proc: they run like any others,
		// or they would sit there until this process dies. The slots of
		// the jobs not returned are free again.
		f.slots.release(n - len(fetched))
		// Followers help only with a backlog: a fetch that came back short
		// emptied the queues, and a follower woken then would fetch
		// nothing, holding the free slots while it did.
		f.handOver(f.fetchCtx, leader && len(fetched) == n, proc, fetched)
		if err != nil {
			if ctx.Err() == nil {
				f.logger.Warn("joblot: fetch failed", "err", err, "claimed", len(fetched))
			}
			pol.idle()
			idle = backoff(idle, f.cfg.IdleFetchInterval)
			sleepCtx(ctx, idle)
			continue
		}
		if len(fetched) == 0 {
			pol.idle()
			if !leader {
				f.found.wait(ctx)
				continue
			}
			if f.waitFetcher != nil {
				wait = true
				continue
			}
			if f.waiter != nil {
				err := f.waiter.WaitForJobs(ctx, f.queues.names, f.cfg.IdleWaitTimeout)
				if err == nil {
					continue
				}
				if ctx.Err() == nil {
					f.logger.Warn("joblot: waiting for jobs failed; polling", "err", err)
				}
			}
			idle = backoff(idle, f.cfg.IdleFetchInterval)
			sleepCtx(ctx, idle)
			continue
		}
		pol.fetched(n, len(fetched), trip)
		idle = 0
		// The fetch behind a wait came back short: the queue was empty
		// then, and a job enqueued since rang the bell. Wait again, with
		// no fetch in between to find it empty.
		wait = emptied && len(fetched) < n
	}
}

// waitFetch waits for jobs with the fetch p sent behind the wait
// (backend.WaitFetcher), until jobs come, IdleWaitTimeout passes, ctx is
// done or the process fences itself (a claim then would be under an
// identity another process may be taking over). When the backend only
// waited, it fetches, unless ctx is done. behind reports whether the jobs
// came from the fetch behind the wait (then fewer than p.Max mean the
// queue was empty).
func (f *fetcher) waitFetch(ctx context.Context, p backend.FetchParams) (res backend.FetchResult, behind bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fenced := f.lease.fencedChan()
	go func() {
		select {
		case <-fenced:
			cancel()
		case <-wctx.Done():
		}
	}()
	res, fetched, err := f.waitFetcher.WaitFetch(wctx, p, f.cfg.IdleWaitTimeout)
	if err != nil || fetched || wctx.Err() != nil {
		return res, fetched && err == nil, err
	}
	res, err = f.backend.Fetch(f.fetchCtx, p)
	return res, false, err
}

// handOver gives jobs claimed under proc to the workers, first waking the
// idle followers if wake is set.
func (f *fetcher) handOver(ctx context.Context, wake bool, proc string, fetched []*backend.Fetched) {
	if len(fetched) == 0 {
		return
	}
	f.testSignals.handedOver.Signal(wake)
	if wake {
		f.found.broadcast() // cheap: one per fetched chunk
	}
	f.batches.refresh(ctx, f.backend, f.logger, fetched)
	f.inFlight.Add(int64(len(fetched)))
	for _, j := range fetched {
		// Never blocks: the channel holds Concurrency+Prefetch, the
		// same as the slots this fetcher had to acquire.
		f.out <- claimed{Fetched: j, proc: proc}
	}
}

// backoff doubles d from 1 ms up to limit.
func backoff(d, limit time.Duration) time.Duration {
	if d == 0 {
		return time.Millisecond
	}
	return min(d*2, limit)
}

// wallTimer is fetcher.after on the wall clock.
func wallTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
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
