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
	mu sync.Mutex
	// free may fall below zero when the capacity shrinks (resize) while
	// slots are held: then nothing is free until enough are released.
	free int
	// finished counts the jobs whose slots the executor released
	// (finish), for the completion rate (prefetchTuner).
	finished int64
	// waiting holds the wake channel of each acquire waiting for a
	// release; a release signals and forgets them all. The channels (of
	// capacity 1) are kept in spare between waits: a release allocates
	// nothing, where closing and replacing one shared channel allocated
	// one per release that found a waiter.
	waiting []chan struct{}
	spare   []chan struct{}
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes free slots as they come, up to atMost, until it holds at
// least atLeast; it returns early, with what it took, when until fires
// (nil: never) or ctx is done.
func (sl *slots) acquire(ctx context.Context, atLeast, atMost int, until <-chan time.Time) int {
	got := 0
	var wake chan struct{} // this call's, once it waits
	sl.mu.Lock()
	defer func() {
		if wake != nil {
			sl.putWake(wake)
		}
		sl.mu.Unlock()
	}()
	for {
		n := max(0, min(sl.free, atMost-got))
		sl.free -= n
		got += n
		if got >= atLeast {
			return got
		}
		if wake == nil {
			wake = sl.getWake()
		}
		sl.waiting = append(sl.waiting, wake)
		sl.mu.Unlock()
		select {
		case <-wake:
			sl.mu.Lock()
		case <-until:
			sl.mu.Lock()
			return got
		case <-ctx.Done():
			sl.mu.Lock()
			return got
		}
	}
}

// getWake returns an empty wake channel. sl.mu is held.
func (sl *slots) getWake() chan struct{} {
	if n := len(sl.spare); n > 0 {
		c := sl.spare[n-1]
		sl.spare = sl.spare[:n-1]
		return c
	}
	return make(chan struct{}, 1)
}

// putWake takes back the wake channel of an acquire that returns: out of
// waiting (when it stopped waiting on its own) and emptied of a signal
// sent meanwhile, since only a release holding sl.mu sends one. sl.mu is
// held.
func (sl *slots) putWake(c chan struct{}) {
	for i, w := range sl.waiting {
		if w == c {
			sl.waiting = append(sl.waiting[:i], sl.waiting[i+1:]...)
			break
		}
	}
	select {
	case <-c:
	default:
	}
	sl.spare = append(sl.spare, c)
}

// release frees n slots that were acquired but hold no job (any more).
func (sl *slots) release(n int) {
	if n <= 0 {
		return
	}
	sl.mu.Lock()
	sl.free += n
	sl.wakeAll()
	sl.mu.Unlock()
}

// finish frees the slot of a job the executor is done with, counting it.
func (sl *slots) finish() {
	sl.mu.Lock()
	sl.free++
	sl.finished++
	sl.wakeAll()
	sl.mu.Unlock()
}

// finishedCount returns how many jobs finish has counted.
func (sl *slots) finishedCount() int64 {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.finished
}

// resize changes the capacity by delta: a shrink takes free slots first,
// then the next ones released.
func (sl *slots) resize(delta int) {
	sl.mu.Lock()
	sl.free += delta
	if delta > 0 {
		sl.wakeAll()
	}
	sl.mu.Unlock()
}

// wakeAll signals every waiting acquire and forgets them. sl.mu is held.
func (sl *slots) wakeAll() {
	for _, c := range sl.waiting {
		select {
		case c <- struct{}{}:
		default: // signalled already
		}
	}
	clear(sl.waiting)
	sl.waiting = sl.waiting[:0]
}
