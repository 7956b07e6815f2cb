package joblot

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// chunkBackend answers fetches for the fetcher tests: each one is reported
// on asked, takes trip on clk, and claims every job asked for (the queue
// holds a backlog), or one fewer when short is set.
type chunkBackend struct {
	backend.Backend // nil: the fetch loop calls only Fetch here
	clk             *clock.Fake
	trip            atomic.Int64
	short           atomic.Bool
	asked           chan int
	next            atomic.Int64
}

func (b *chunkBackend) Fetch(ctx context.Context, p backend.FetchParams) (backend.FetchResult, error) {
	select {
	case b.asked <- p.Max:
	case <-ctx.Done():
		return backend.FetchResult{}, ctx.Err()
	}
	b.clk.Advance(time.Duration(b.trip.Load()))
	n := p.Max
	if b.short.Load() {
		n--
	}
	jobs := make([]*backend.Fetched, n)
	for i := range jobs {
		id := strconv.FormatInt(b.next.Add(1), 10)
		jobs[i] = &backend.Fetched{Job: &backend.Job{ID: id, Queue: DefaultQueue, Kind: "k"}}
	}
	return backend.FetchResult{Jobs: jobs}, nil
}

// newChunkFetcher returns a fetcher of capacity slots (Concurrency +
// Prefetch) on a chunkBackend, its loops not started, timing fetches on the
// backend's fake clock.
func newChunkFetcher(t *testing.T, capacity int) (*fetcher, *chunkBackend, *slots) {
	t.Helper()
	cfg, err := ServerConfig{Workers: NewWorkers(), Concurrency: capacity - capacity/5, Prefetch: capacity / 5, Logger: testLogger()}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b := &chunkBackend{clk: clock.NewFake(time.Unix(0, 0)), asked: make(chan int)}
	sl := newSlots(capacity)
	f := newFetcher(fetcherParams{
		cfg:       cfg,
		backend:   b,
		lease:     newProcessLease(),
		slots:     sl,
		lingering: newLingerers(cfg.MaxLingering, nil),
		batches:   newCancelCache(time.Hour),
		inFlight:  &atomic.Int64{},
		out:       make(chan claimed, 1000), // never drained: the test frees slots itself
	})
	f.now = b.clk.Now
	return f, b, sl
}

// TestFetchLingerBoundedByRoundTrip: a fetch loop facing a backlog with
// too few free slots waits for more no longer than its last fetch took
// (capped at fetchLinger), fetches every slot free when the wait ends, and
// does not wait at all once a fetch came back short of what it asked.
func TestFetchLingerBoundedByRoundTrip(t *testing.T) {
	const capacity = 20 // a chunk worth a fetch under backlog: 5
	f, b, sl := newChunkFetcher(t, capacity)
	lingerEnds := make(chan time.Time)
	f.after = func(time.Duration) (<-chan time.Time, func() bool) { return lingerEnds, func() bool { return true } }
	f.testSignals.lingered.Init(t)
	f.wg.Add(1)
	go f.loop(true)
	t.Cleanup(f.stop)

	// A fetch of every slot, taking 300 µs, comes back full: a backlog.
	b.trip.Store(int64(300 * time.Microsecond))
	if n := waitRecv(t, "the first fetch", b.asked); n != capacity {
		t.Fatalf("first fetch asked for %d, want %d", n, capacity)
	}
	// One slot frees: the loop waits for more, at most that round trip.
	sl.release(1)
	if d := f.testSignals.lingered.WaitOrTimeout(); d != 300*time.Microsecond {
		t.Fatalf("lingered up to %v, want the last fetch's 300µs", d)
	}
	// Seven more free at once: the fetch takes all eight, not just the
	// five it waited for.
	b.trip.Store(int64(5 * time.Millisecond))
	sl.release(7)
	if n := waitRecv(t, "the fetch after the linger", b.asked); n != 8 {
		t.Fatalf("fetch after the linger asked for %d, want 8", n)
	}
	// That fetch took 5 ms: the next wait is capped at fetchLinger, and
	// when it ends the loop fetches the one slot it has.
	sl.release(1)
	if d := f.testSignals.lingered.WaitOrTimeout(); d != fetchLinger {
		t.Fatalf("lingered up to %v after a 5 ms fetch, want %v", d, fetchLinger)
	}
	b.short.Store(true) // this fetch claims nothing: the backlog is gone
	lingerEnds <- time.Time{}
	if n := waitRecv(t, "the fetch when the linger ends", b.asked); n != 1 {
		t.Fatalf("fetch when the linger ended asked for %d, want 1", n)
	}
	// No backlog: the next fetch goes at once with the one slot (a wait
	// would block on lingerEnds, which never fires again).
	if n := waitRecv(t, "the fetch after an empty one", b.asked); n != 1 {
		t.Fatalf("fetch after an empty one asked for %d, want 1", n)
	}
}

// TestLingerPolicy: the wait before a fetch.
func TestLingerPolicy(t *testing.T) {
	p := lingerPolicy{min: 5}
	if d := p.wait(1); d != 0 {
		t.Fatalf("waits %v with no backlog seen", d)
	}
	p.fetched(8, 8, 200*time.Microsecond)
	for n, want := range map[int]time.Duration{1: 200 * time.Microsecond, 4: 200 * time.Microsecond, 5: 0, 9: 0} {
		if d := p.wait(n); d != want {
			t.Errorf("after a full fetch of 200µs, wait(%d) = %v, want %v", n, d, want)
		}
	}
	p.fetched(8, 8, time.Hour)
	if d := p.wait(1); d != fetchLinger {
		t.Errorf("after a full fetch of an hour, wait(1) = %v, want %v", d, fetchLinger)
	}
	p.fetched(8, 7, 200*time.Microsecond)
	if d := p.wait(1); d != 0 {
		t.Errorf("after a short fetch, wait(1) = %v, want 0", d)
	}
	p.fetched(8, 8, 200*time.Microsecond)
	p.idle()
	if d := p.wait(1); d != 0 {
		t.Errorf("after an empty or failed fetch, wait(1) = %v, want 0", d)
	}
}
