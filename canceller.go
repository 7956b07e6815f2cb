package joblot

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
)

// Cancelling a running job (CancelJob): the store tells every server
// (backend.CancelListener) and the one running the job cancels the
// attempt's context with cause ErrJobCancelled. A request for a job this
// server claimed but has not started yet (prefetched) is remembered for a
// while, and the job is skipped when its turn comes.

// Bounds of the requests remembered for jobs not running here.
const (
	// cancelMemory is how long such a request is remembered: longer than
	// a prefetched job waits for a worker.
	cancelMemory = 10 * time.Minute
	// cancelMemoryMax bounds how many are remembered.
	cancelMemoryMax = 10_000
)

// jobCancels holds the cancel requests of jobs not running here when they
// arrived.
type jobCancels struct {
	n  atomic.Int64 // len(m): an empty set costs execute one atomic load
	mu sync.Mutex
	m  map[string]time.Time // queue + "\x00" + id -> when it arrived (wall clock)
}

func cancelKey(queue, id string) string { return queue + "\x00" + id }

// add remembers a request, forgetting the expired ones (or all, at the
// bound).
func (c *jobCancels) add(queue, id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]time.Time{}
	}
	if len(c.m) >= cancelMemoryMax {
		for k, at := range c.m {
			if now.Sub(at) > cancelMemory {
				delete(c.m, k)
			}
		}
		if len(c.m) >= cancelMemoryMax {
			clear(c.m)
		}
	}
	c.m[cancelKey(queue, id)] = now
	c.n.Store(int64(len(c.m)))
}

// take reports whether job id of queue was cancelled (recently), and
// forgets the request.
func (c *jobCancels) take(queue, id string, now time.Time) bool {
	if c.n.Load() == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cancelKey(queue, id)
	at, ok := c.m[k]
	if ok {
		delete(c.m, k)
		c.n.Store(int64(len(c.m)))
	}
	return ok && now.Sub(at) <= cancelMemory
}

// canceller hears the store's cancel requests (backend.CancelListener)
// and hands them to the executor. Its loop starts before the fetcher, so
// that listening starts before any job does.
type canceller struct {
	listener backend.CancelListener
	queues   map[string]int // the server's queues: requests for others are ignored
	executor *executor
	logger   *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	testSignals cancellerTestSignals
}

// cancellerTestSignals tell tests what the canceller hears.
type cancellerTestSignals struct {
	// heard: a cancel request arrived for a queue of this server.
	heard testsignal.TestSignal[cancelHeard]
}

// cancelHeard is a cancel request for job id of queue; running says a
// worker here ran the job.
type cancelHeard struct {
	queue, id string
	running   bool
}

// start starts listening.
func (c *canceller) start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func() {
		defer close(c.done)
		if err := c.listener.ListenCancels(ctx, c.requested); err != nil {
			c.logger.Error("joblot: cannot listen for job cancels; running jobs cannot be cancelled", "err", err)
		}
	}()
}

// stop ends listening and waits for the listener to return.
func (c *canceller) stop() {
	c.cancel()
	<-c.done
}

// requested hands a request for a job of this server's queues to the
// executor.
func (c *canceller) requested(queue, id string) {
	if _, ok := c.queues[queue]; !ok {
		return
	}
	running := c.executor.cancelJob(queue, id)
	c.testSignals.heard.Signal(cancelHeard{queue: queue, id: id, running: running})
}

// cancelJob cancels the attempt of job id of queue if a worker runs it, or
// remembers the request (the job may be waiting for a worker here). It
// reports whether a worker ran it.
func (e *executor) cancelJob(queue, id string) bool {
	found := false
	e.workerMu.Lock()
	for w := range e.workerSet {
		if a := w.cur.Load(); a != nil && a.Fetched.ID == id && a.Fetched.Queue == queue {
			a.requestCancel()
			found = true
		}
	}
	e.workerMu.Unlock()
	if !found {
		e.jobCancels.add(queue, id, time.Now())
	}
	return found
}

// attemptCancel is the cancellation of one attempt by CancelJob. Its zero
// value is ready.
type attemptCancel struct {
	mu sync.Mutex // guards fn and attempt.cancelRequested
	fn context.CancelCauseFunc
}

// requestCancel cancels the attempt's context, now or as soon as it has
// one.
func (a *attempt) requestCancel() {
	a.cancel.mu.Lock()
	a.cancelAsked = true
	fn := a.cancel.fn
	a.cancel.mu.Unlock()
	if fn != nil {
		fn(ErrJobCancelled)
	}
}

// cancellable gives the attempt its context's cancel function; a request
// that came first cancels it at once.
func (a *attempt) cancellable(fn context.CancelCauseFunc) {
	a.cancel.mu.Lock()
	a.cancel.fn = fn
	requested := a.cancelAsked
	a.cancel.mu.Unlock()
	if requested {
		fn(ErrJobCancelled)
	}
}

// cancelRequested reports whether CancelJob asked to cancel the attempt.
func (a *attempt) cancelRequested() bool {
	a.cancel.mu.Lock()
	defer a.cancel.mu.Unlock()
	return a.cancelAsked
}
