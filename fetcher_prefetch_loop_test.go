package joblot

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/internal/clock"
)

// slotsFree reads sl.free.
func slotsFree(sl *slots) int {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	return sl.free
}

// TestFetchLoopPrefetchFollowsRate: a fetch loop with the default
// (adaptive) prefetch asks for more than Concurrency + its floor once jobs
// complete fast, and when they slow down it gives the extra slots up:
// with every slot held, it fetches nothing more until it holds no more
// than Concurrency + the floor, then one job per finished job.
func TestFetchLoopPrefetchFollowsRate(t *testing.T) {
	cfg, err := ServerConfig{Workers: NewWorkers(), Concurrency: 10, Logger: testLogger()}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	conc, floor := cfg.Concurrency, cfg.prefetchFloor
	if floor != 1 || cfg.Prefetch != 80 {
		t.Fatalf("prefetch from %d to %d, want 1 to 80", floor, cfg.Prefetch)
	}
	b := &chunkBackend{clk: clock.NewFake(time.Unix(0, 0)), asked: make(chan int)}
	sl := newSlots(cfg.Concurrency + cfg.Prefetch)
	out := make(chan claimed, 64)
	go func() {
		for range out { // the jobs' slots are the test's to finish
		}
	}()
	f := newFetcher(fetcherParams{
		cfg: cfg, backend: b, lease: newProcessLease(), slots: sl,
		lingering: newLingerers(cfg.MaxLingering, nil), batches: newCancelCache(time.Hour),
		inFlight: &atomic.Int64{}, out: out,
	})
	f.now = b.clk.Now
	f.prefetch.sampledAt = b.clk.Now()
	f.after = func(time.Duration) (<-chan time.Time, func() bool) {
		fired := make(chan time.Time, 1)
		fired <- time.Time{} // lingers end at once
		return fired, func() bool { return true }
	}
	f.wg.Add(1)
	go f.loop(true)
	t.Cleanup(func() { f.stop(); close(out) })

	// Fast jobs: each fetch takes 100 µs of the fake clock and its jobs
	// finish before the next, 100,000+ jobs/s.
	b.trip.Store(int64(100 * time.Microsecond))
	held, grew := 0, false
	for i := 0; i < 5000 && !grew; i++ {
		n := waitRecv(t, "a fetch", b.asked)
		if n > conc+cfg.Prefetch {
			t.Fatalf("a fetch asked for %d, more than Concurrency + the ceiling", n)
		}
		grew = n > conc+floor
		for range n {
			sl.finish()
		}
	}
	if !grew {
		t.Fatal("no fetch asked for more than Concurrency + the floor while jobs completed fast")
	}
	// Stop the clock (no more rate samples) and finish nothing: the loop
	// fetches until it holds Concurrency + the prefetch it grew to.
	b.trip.Store(0)
	grown := f.prefetch.prefetch()
	for held < conc+grown {
		held += waitRecv(t, "a fetch filling the slots", b.asked)
	}
	if held != conc+grown {
		t.Fatalf("holds %d jobs, want Concurrency + prefetch = %d", held, conc+grown)
	}

	// The jobs slow down: one finishes 10 s later. The loop takes its slot,
	// samples the rate, shrinks the prefetch to the floor and gives the
	// slot back instead of fetching.
	b.clk.Advance(10 * time.Second)
	sl.finish()
	held--
	excess := held - (conc + floor)
	waitFor(t, "the prefetch shrinking to the floor, the slot given back", func() bool {
		return f.prefetch.prefetch() == floor && slotsFree(sl) == -excess
	})
	for range excess {
		sl.finish()
	}
	if got := slotsFree(sl); got != 0 {
		t.Fatalf("%d slots free holding Concurrency + floor, want 0", got)
	}
	sl.finish()
	if n := waitRecv(t, "the fetch for the freed slot", b.asked); n != 1 {
		t.Fatalf("fetch after one more job finished asked for %d, want 1", n)
	}
}
