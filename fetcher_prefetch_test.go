package joblot

import (
	"context"
	"testing"
	"time"
)

// runN runs n jobs through sl: each takes a slot and finishes, as the
// fetcher and the executor do.
func runN(t *testing.T, sl *slots, n int) {
	t.Helper()
	for range n {
		if sl.acquire(context.Background(), 1, 1, nil) != 1 {
			t.Fatal("no slot")
		}
		sl.finish()
	}
}

// finishHeld finishes n jobs that hold their slots.
func finishHeld(sl *slots, n int) {
	for range n {
		sl.finish()
	}
}

// TestPrefetchFollowsRate: the adaptive prefetch starts at its floor,
// grows half-way per sample towards what the process completes in
// prefetchWindow, stops at its ceiling, and falls at once when the rate
// does, taking the slots it gives up from those released next.
func TestPrefetchFollowsRate(t *testing.T) {
	const conc, floor, ceil = 50, 5, 200
	sl := newSlots(conc + ceil)
	t0 := time.Unix(1_000_000, 0)
	tu := newPrefetchTuner(sl, floor, ceil, prefetchWindow, t0)
	if got := tu.prefetch(); got != floor {
		t.Fatalf("prefetch at start = %d, want the floor %d", got, floor)
	}
	if got := sl.acquire(context.Background(), 0, 1_000, nil); got != conc+floor {
		t.Fatalf("free slots at start = %d, want %d", got, conc+floor)
	}
	sl.release(conc + floor)

	// A sample comes no sooner than prefetchSample after the last.
	runN(t, sl, 1_000)
	if shrunk := tu.tune(t0.Add(prefetchSample / 2)); shrunk != 0 || tu.prefetch() != floor {
		t.Fatalf("tune before a sample was due changed the prefetch to %d (shrunk %d)", tu.prefetch(), shrunk)
	}
	// 1,000 jobs in 10 ms is 100,000 jobs/s: 200 jobs in 2 ms, followed
	// half-way: 100.
	now := t0.Add(prefetchSample)
	tu.tune(now)
	if got := tu.prefetch(); got != 100 {
		t.Fatalf("prefetch after one sample at 100,000 jobs/s = %d, want 100", got)
	}
	for range 10 {
		runN(t, sl, 10_000) // 1,000,000 jobs/s: far above the ceiling
		now = now.Add(prefetchSample)
		tu.tune(now)
	}
	if got := tu.prefetch(); got != ceil {
		t.Fatalf("prefetch at 1,000,000 jobs/s = %d, want the ceiling %d", got, ceil)
	}
	if got := sl.acquire(context.Background(), 0, 1_000, nil); got != conc+ceil {
		t.Fatalf("free slots at the ceiling = %d, want %d", got, conc+ceil)
	}

	// Every slot is held (taken above) when the jobs slow to 100 jobs/s
	// (1 per sample): the prefetch falls to its floor at once, and nothing
	// is free until the process holds no more than Concurrency + floor.
	finishHeld(sl, 1)
	now = now.Add(prefetchSample)
	if shrunk := tu.tune(now); shrunk != ceil-floor {
		t.Fatalf("tune at 100 jobs/s shrank the prefetch by %d, want %d", shrunk, ceil-floor)
	}
	if got := tu.prefetch(); got != floor {
		t.Fatalf("prefetch at 100 jobs/s = %d, want the floor %d", got, floor)
	}
	finishHeld(sl, ceil-floor-1) // with the one above: ceil-floor finished
	if got := sl.acquire(context.Background(), 0, 1_000, nil); got != 0 {
		t.Fatalf("%d slots free while the process holds Concurrency + floor, want 0", got)
	}
	finishHeld(sl, 1)
	if got := sl.acquire(context.Background(), 0, 1_000, nil); got != 1 {
		t.Fatalf("%d slots free after one more job finished, want 1", got)
	}
}

// TestPrefetchFixedWhenSet: a Prefetch set by the user is never tuned.
func TestPrefetchFixedWhenSet(t *testing.T) {
	cfg, err := ServerConfig{Workers: NewWorkers(), Concurrency: 10, Prefetch: 3, Logger: testLogger()}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	sl := newSlots(cfg.Concurrency + cfg.Prefetch)
	t0 := time.Unix(1_000_000, 0)
	tu := newPrefetchTuner(sl, cfg.prefetchFloor, cfg.Prefetch, cfg.prefetchWindow, t0)
	runN(t, sl, 100_000)
	if shrunk := tu.tune(t0.Add(time.Second)); shrunk != 0 || tu.prefetch() != 3 {
		t.Fatalf("a fixed prefetch was tuned to %d (shrunk %d)", tu.prefetch(), shrunk)
	}
	if got := sl.acquire(context.Background(), 0, 1_000, nil); got != 13 {
		t.Fatalf("free slots = %d, want 13", got)
	}
}

// TestPrefetchDefaultIsAdaptive: the default prefetch ranges from
// Concurrency/10 (at least 1) to 8 × Concurrency; a negative one is an
// error.
func TestPrefetchDefaultIsAdaptive(t *testing.T) {
	for _, tc := range []struct{ conc, floor, ceil int }{{50, 5, 400}, {5, 1, 40}, {1, 1, 8}} {
		cfg, err := ServerConfig{Workers: NewWorkers(), Concurrency: tc.conc, Logger: testLogger()}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.prefetchFloor != tc.floor || cfg.Prefetch != tc.ceil {
			t.Errorf("Concurrency %d: prefetch from %d to %d, want %d to %d", tc.conc, cfg.prefetchFloor, cfg.Prefetch, tc.floor, tc.ceil)
		}
	}
	if _, err := (ServerConfig{Workers: NewWorkers(), Prefetch: -1}).withDefaults(); err == nil {
		t.Error("Prefetch -1 was accepted")
	}
}

// TestPrefetchWindowSetsTheHold: the tuner holds the completion rate times
// its window, so on a group-committing backend (hintedPrefetchWindow) the
// same rate holds more jobs than on Redis (prefetchWindow), and a slow
// rate holds few on either.
func TestPrefetchWindowSetsTheHold(t *testing.T) {
	const conc, floor, ceil = 50, 5, 4000
	for _, tc := range []struct {
		window    time.Duration
		perSample int // jobs finished per prefetchSample
		want      int
	}{
		{prefetchWindow, 1_000, 200},          // 100,000 jobs/s × 2 ms
		{hintedPrefetchWindow, 1_000, 1_500},  // 100,000 jobs/s × 15 ms
		{hintedPrefetchWindow, 2, floor},      // 200 jobs/s × 15 ms = 3: the floor
		{hintedPrefetchWindow, 100_000, ceil}, // far above the ceiling
	} {
		sl := newSlots(conc + ceil)
		now := time.Unix(1_000_000, 0)
		tu := newPrefetchTuner(sl, floor, ceil, tc.window, now)
		for range 20 { // the rate is followed half-way per sample
			runN(t, sl, tc.perSample)
			now = now.Add(prefetchSample)
			tu.tune(now)
		}
		if got := tu.prefetch(); got < tc.want*99/100 || got > tc.want {
			t.Errorf("window %v at %d jobs per %v: prefetch %d, want %d", tc.window, tc.perSample, prefetchSample, got, tc.want)
		}
	}
}
