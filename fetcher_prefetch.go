package joblot

import (
	"sync"
	"time"
)

// Adaptive prefetch.
//
// A process holds at most Concurrency + Prefetch jobs. Prefetch hides the
// fetch round trip from the slots, and it sets how many jobs one fetch can
// claim: with 50 slots and 5 jobs prefetched, no-op jobs came back 10–20
// per fetch, and the script call's fixed cost was most of Redis's time per
// job. Held for too long, though, prefetched jobs wait in one process
// while other processes sit idle.
//
// So unless ServerConfig.Prefetch is set, the prefetch follows the rate:
// the process holds about what it completes in prefetchWindow, at least
// Concurrency/10 and at most maxAdaptivePrefetchPerSlot × Concurrency. A
// prefetched job waits about prefetchWindow for its slot at the measured
// rate. When jobs slow down, the next sample lowers the rate at once, and
// the process fetches nothing beyond its free slots until what it holds
// fits the new rate; a rate that rises is followed half-way per sample.
const (
	// prefetchWindow is how long, at the measured completion rate, the
	// adaptive prefetch lasts.
	prefetchWindow = 2 * time.Millisecond
	// hintedPrefetchWindow is prefetchWindow on a backend that group-commits
	// its writes (backend.InFlightHinter): there a held job waits for
	// about three commits between its claim and its durable ack, so the
	// process must hold several commits' worth of its rate to fill each
	// commit. At 100,000 jobs/s it asks for 1,500 jobs, the held count at
	// which no-op jobs ran fastest on a disk whose commit took ~1.5 ms.
	hintedPrefetchWindow = 15 * time.Millisecond
	// prefetchSample is how often the completion rate is sampled.
	prefetchSample = 10 * time.Millisecond
	// maxAdaptivePrefetchPerSlot caps the adaptive prefetch per unit of
	// Concurrency (ServerConfig.Prefetch's default). It binds only for fast
	// jobs (50 slots at 200,000 jobs/s want ~400); at 4, no-op jobs ran
	// 21 % slower plain and 13 % with batches (bench/ab.sh, 3 rounds).
	maxAdaptivePrefetchPerSlot = 8
)

// prefetchTuner sizes the prefetch of an adaptive server to its completion
// rate, by resizing the slots it shares with the executor. Both fetch loops
// call tune; with a fixed prefetch (floor == ceil) it does nothing.
type prefetchTuner struct {
	slots       *slots
	floor, ceil int
	window      time.Duration // the rate × window the process holds

	mu          sync.Mutex
	cur         int       // the prefetch the slots hold now
	sampledAt   time.Time // the last sample
	sampledDone int64     // jobs finished by then (slots.finished)
	rate        float64   // jobs/s
}

// newPrefetchTuner returns a tuner of sl, whose capacity includes ceil
// jobs of prefetch; it lowers that to floor at once.
func newPrefetchTuner(sl *slots, floor, ceil int, window time.Duration, now time.Time) *prefetchTuner {
	t := &prefetchTuner{slots: sl, floor: floor, ceil: ceil, window: window, cur: ceil, sampledAt: now}
	t.resize(floor)
	return t
}

// adaptive reports whether the prefetch follows the rate.
func (t *prefetchTuner) adaptive() bool { return t.floor < t.ceil }

// prefetch returns the prefetch the slots hold now.
func (t *prefetchTuner) prefetch() int {
	if !t.adaptive() {
		return t.ceil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

// tune samples the completion rate once prefetchSample has passed since
// the last sample and resizes the prefetch to it. It returns by how much
// the prefetch shrank (0 if it did not): slots a caller holds but has not
// used yet are best given back up to that many.
func (t *prefetchTuner) tune(now time.Time) (shrunk int) {
	if !t.adaptive() {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	dt := now.Sub(t.sampledAt)
	if dt < prefetchSample {
		return 0
	}
	done := t.slots.finishedCount()
	rate := float64(done-t.sampledDone) / dt.Seconds()
	t.sampledAt, t.sampledDone = now, done
	if rate < t.rate {
		t.rate = rate
	} else {
		t.rate += (rate - t.rate) / 2
	}
	want := min(max(int(t.rate*t.window.Seconds()), t.floor), t.ceil)
	before := t.cur
	t.resize(want)
	return max(0, before-want)
}

// resize sets the prefetch to p. t.mu is held, or t is not shared yet.
func (t *prefetchTuner) resize(p int) {
	if p != t.cur {
		t.slots.resize(p - t.cur)
		t.cur = p
	}
}
