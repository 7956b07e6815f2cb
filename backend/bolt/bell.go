package bolt

import (
	"context"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

var _ backend.Waiter = (*Backend)(nil)

// bell wakes the idle fetchers of the one process that owns the file when
// jobs arrive. Like the Redis backend's bell list it keeps one ring for the
// next waiter when nobody waits; unlike it, a ring wakes every waiter at
// once (they share the process, and a fetch is a local transaction).
type bell struct {
	mu   sync.Mutex
	rung bool
	ch   chan struct{} // closed and replaced by ring
}

func newBell() *bell { return &bell{ch: make(chan struct{})} }

func (r *bell) ring() {
	r.mu.Lock()
	r.rung = true
	close(r.ch)
	r.ch = make(chan struct{})
	r.mu.Unlock()
}

// wait returns at once if a ring is kept, else at the next ring, timeout
// or ctx's end.
func (r *bell) wait(ctx context.Context, timeout time.Duration) {
	r.mu.Lock()
	if r.rung {
		r.rung = false
		r.mu.Unlock()
		return
	}
	ch := r.ch
	r.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		r.mu.Lock()
		r.rung = false
		r.mu.Unlock()
	case <-t.C:
	case <-ctx.Done():
	}
}

// WaitForJobs implements backend.Waiter: it waits for a transaction that
// put jobs into a queue (enqueue, due jobs, requeue, retry, resume) or
// left a backlog behind a full fetch. The queues are not told apart.
func (b *Backend) WaitForJobs(ctx context.Context, _ []string, timeout time.Duration) error {
	b.bell.wait(ctx, timeout)
	return nil
}
