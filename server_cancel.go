package joblot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
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

// listenCancels runs the backend's cancel listener until the services
// stop.
func (s *Server) listenCancels(cl backend.CancelListener) {
	defer s.services.Done()
	if err := cl.ListenCancels(s.serviceCtx, s.cancelRequested); err != nil {
		s.logger.Error("joblot: cannot listen for job cancels; running jobs cannot be cancelled", "err", err)
	}
}

// cancelRequested cancels the attempt of job id of queue if a worker of
// this server runs it, or remembers the request if this server serves the
// queue (the job may be waiting for a worker here).
func (s *Server) cancelRequested(queue, id string) {
	if _, ok := s.cfg.Queues[queue]; !ok {
		return
	}
	found := false
	s.workerMu.Lock()
	for w := range s.workerSet {
		if a := w.cur.Load(); a != nil && a.Fetched.ID == id && a.Fetched.Queue == queue {
			a.requestCancel()
			found = true
		}
	}
	s.workerMu.Unlock()
	if !found {
		s.jobCancels.add(queue, id, time.Now())
	}
	if s.hooks.cancelHeard != nil {
		s.hooks.cancelHeard(queue, id, found)
	}
}

// attemptCancel is the cancellation of one attempt by CancelJob. Its zero
// value is ready.
type attemptCancel struct {
	mu        sync.Mutex
	requested bool
	fn        context.CancelCauseFunc
}

// requestCancel cancels the attempt's context, now or as soon as it has
// one.
func (a *attempt) requestCancel() {
	a.cancel.mu.Lock()
	a.cancel.requested = true
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
	requested := a.cancel.requested
	a.cancel.mu.Unlock()
	if requested {
		fn(ErrJobCancelled)
	}
}

// cancelRequested reports whether CancelJob asked to cancel the attempt.
func (a *attempt) cancelRequested() bool {
	a.cancel.mu.Lock()
	defer a.cancel.mu.Unlock()
	return a.cancel.requested
}
