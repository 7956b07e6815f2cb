package joblot

import (
	"context"
	"testing"
	"time"
)

// waitForWaiters returns once n acquires wait for a release.
func waitForWaiters(t *testing.T, sl *slots, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Hour)
	for {
		sl.mu.Lock()
		waiting := len(sl.waiting)
		sl.mu.Unlock()
		if waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acquires wait, want %d", waiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSlotsReleaseWakesWaiter: a release made while acquire waits wakes
// it, and the next wait reuses its wake channel instead of making one.
func TestSlotsReleaseWakesWaiter(t *testing.T) {
	sl := newSlots(1)
	if got := sl.acquire(context.Background(), 1, 1, nil); got != 1 {
		t.Fatalf("acquired %d, want 1", got)
	}
	got := make(chan int)
	go func() { got <- sl.acquire(context.Background(), 2, 2, nil) }()
	waitForWaiters(t, sl, 1)
	sl.mu.Lock()
	first := sl.waiting[0]
	sl.mu.Unlock()
	sl.release(1)
	sl.release(1)
	if n := <-got; n != 2 {
		t.Fatalf("acquired %d, want 2", n)
	}
	go func() { got <- sl.acquire(context.Background(), 1, 1, nil) }()
	waitForWaiters(t, sl, 1)
	sl.mu.Lock()
	again := sl.waiting[0]
	sl.mu.Unlock()
	if again != first {
		t.Error("a second wait made a new wake channel")
	}
	sl.release(1)
	if n := <-got; n != 1 {
		t.Fatalf("acquired %d, want 1", n)
	}
}

// TestSlotsReleaseWakesEveryWaiter: with two fetch loops waiting, slots
// released for both reach both.
func TestSlotsReleaseWakesEveryWaiter(t *testing.T) {
	sl := newSlots(0)
	got := make(chan int, 2)
	for range 2 {
		go func() { got <- sl.acquire(context.Background(), 1, 1, nil) }()
	}
	waitForWaiters(t, sl, 2)
	sl.release(2)
	for range 2 {
		if n := <-got; n != 1 {
			t.Fatalf("acquired %d, want 1", n)
		}
	}
}

// TestSlotsAcquireGivesUp: an acquire that stops waiting (its timer, its
// context) leaves no signal behind in its channel for the next wait.
func TestSlotsAcquireGivesUp(t *testing.T) {
	sl := newSlots(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := sl.acquire(ctx, 1, 1, nil); got != 0 {
		t.Fatalf("acquired %d, want 0", got)
	}
	sl.mu.Lock()
	if len(sl.waiting) != 0 || len(sl.spare) != 1 || len(sl.spare[0]) != 0 {
		t.Errorf("waiting %d, spare %d: want 0 and one empty channel", len(sl.waiting), len(sl.spare))
	}
	sl.mu.Unlock()
}
