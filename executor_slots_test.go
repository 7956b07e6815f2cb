package joblot

import (
	"context"
	"testing"
	"time"
)

// TestSlotsReleaseWakesWaiter: a release that finds nobody waiting keeps
// the wake channel, and one made while acquire waits still wakes it.
func TestSlotsReleaseWakesWaiter(t *testing.T) {
	sl := newSlots(1)
	if got := sl.acquire(context.Background(), 1, 1, nil); got != 1 {
		t.Fatalf("acquired %d, want 1", got)
	}
	before := sl.wake
	sl.release(1) // nobody waits: no new channel
	if sl.wake != before {
		t.Fatal("a release with no waiter replaced the wake channel")
	}
	if got := sl.acquire(context.Background(), 1, 1, nil); got != 1 {
		t.Fatalf("acquired %d, want 1", got)
	}
	got := make(chan int)
	go func() { got <- sl.acquire(context.Background(), 2, 2, nil) }()
	// Wait until the acquirer is parked on the channel, then release.
	deadline := time.Now().Add(time.Hour)
	for {
		sl.mu.Lock()
		waiting := sl.waited
		sl.mu.Unlock()
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("acquire never waited")
		}
		time.Sleep(time.Millisecond)
	}
	sl.release(1)
	sl.release(1)
	if n := <-got; n != 2 {
		t.Fatalf("acquired %d, want 2", n)
	}
}
