package joblot

import (
	"context"
	"sync"
	"time"
)

// The executor's capacity, shared with the fetcher: the fetcher acquires a
// slot per job it claims, the executor releases it when the job's result
// is handed to the acker.

// slots counts free worker slots (plus prefetch).
type slots struct {
	mu   sync.Mutex
	free int
	wake chan struct{} // closed and replaced when slots are released to a waiter
	// waited is set when acquire is about to wait on wake: a release with
	// nobody waiting leaves the channel as it is, saving an allocation
	// per job.
	waited bool
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
		if got >= atLeast {
			sl.mu.Unlock()
			return got
		}
		wake := sl.wake
		sl.waited = true
		sl.mu.Unlock()
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
	if sl.waited {
		close(sl.wake)
		sl.wake = make(chan struct{})
		sl.waited = false
	}
	sl.mu.Unlock()
}
