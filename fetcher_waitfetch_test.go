package joblot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// waitFetchBackend is a backend.WaitFetcher for the fetcher tests: every
// Fetch finds the queue empty (reported on fetches), and every WaitFetch
// is reported on waits, then answers with what the test sends on wake,
// or, once its ctx is done, with what the test sends on woken (a claim the
// fetch behind the wait made as the wait was ended).
type waitFetchBackend struct {
	backend.Backend // nil: the fetch loop calls only the methods below
	fetches         chan int
	waits           chan backend.FetchParams
	wake            chan waitFetchAnswer
	woken           chan waitFetchAnswer
	fetchCount      atomic.Int64
}

type waitFetchAnswer struct {
	ids     []string
	fetched bool
}

func newWaitFetchBackend() *waitFetchBackend {
	return &waitFetchBackend{fetches: make(chan int, 100), waits: make(chan backend.FetchParams, 100), wake: make(chan waitFetchAnswer), woken: make(chan waitFetchAnswer, 1)}
}

func (b *waitFetchBackend) Fetch(_ context.Context, p backend.FetchParams) (backend.FetchResult, error) {
	b.fetchCount.Add(1)
	b.fetches <- p.Max
	return backend.FetchResult{}, nil
}

func (b *waitFetchBackend) WaitForJobs(ctx context.Context, _ []string, timeout time.Duration) error {
	panic("the fetcher waits with WaitFetch when it can")
}

func (b *waitFetchBackend) WaitFetch(ctx context.Context, p backend.FetchParams, _ time.Duration) (backend.FetchResult, bool, error) {
	b.waits <- p
	var a waitFetchAnswer
	select {
	case a = <-b.wake:
	case <-ctx.Done():
		select {
		case a = <-b.woken:
		default:
		}
	}
	jobs := make([]*backend.Fetched, len(a.ids))
	for i, id := range a.ids {
		jobs[i] = &backend.Fetched{Job: &backend.Job{ID: id, Queue: DefaultQueue, Kind: "k"}}
	}
	return backend.FetchResult{Jobs: jobs}, a.fetched, nil
}

// newWaitFetcher returns a fetcher of capacity slots on a
// waitFetchBackend serving one queue, its loops not started, and the
// channel it hands jobs over on.
func newWaitFetcher(t *testing.T, capacity int) (*fetcher, *waitFetchBackend, chan claimed) {
	t.Helper()
	cfg, err := ServerConfig{Workers: NewWorkers(), Concurrency: capacity - capacity/5, Prefetch: capacity / 5, Logger: testLogger()}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b := newWaitFetchBackend()
	out := make(chan claimed, 100)
	f := newFetcher(fetcherParams{
		cfg:       cfg,
		backend:   b,
		lease:     newProcessLease(),
		slots:     newSlots(capacity),
		lingering: newLingerers(cfg.MaxLingering, nil),
		batches:   newCancelCache(time.Hour),
		inFlight:  &atomic.Int64{},
		out:       out,
	})
	if f.waitFetcher == nil {
		t.Fatal("a fetcher of one queue on a WaitFetcher does not use it")
	}
	f.wg.Add(1)
	go f.loop(true)
	return f, b, out
}

// TestLeaderSendsItsFetchBehindItsWait: once a fetch finds the queue
// empty, the leading loop's next fetch goes behind its wait (WaitFetch),
// for every free slot, and what it claims is handed over; while the fetch
// behind the wait comes back short, the loop waits again at once; it
// fetches on its own only when the backend says it only waited.
func TestLeaderSendsItsFetchBehindItsWait(t *testing.T) {
	f, b, out := newWaitFetcher(t, 10)
	t.Cleanup(f.stop)

	waitRecv(t, "the first fetch", b.fetches)
	if p := waitRecv(t, "a wait after an empty fetch", b.waits); p.Max != 10 || len(p.Queues) != 1 || p.Queues[0] != DefaultQueue {
		t.Fatalf("WaitFetch params = %+v, want the queue and every free slot", p)
	}
	b.wake <- waitFetchAnswer{ids: []string{"a", "b"}, fetched: true}
	for _, want := range []string{"a", "b"} {
		if c := waitRecv(t, "a claimed job", out); c.ID != want {
			t.Fatalf("handed over %s, want %s", c.ID, want)
		}
	}
	// Two of ten: the queue was empty when the fetch behind the wait ran,
	// so the loop waits again at once, for the 8 free slots.
	before := b.fetchCount.Load()
	if p := waitRecv(t, "the wait after a short claim", b.waits); p.Max != 8 {
		t.Fatalf("the wait after the claim asked for %d, want the 8 free slots", p.Max)
	}
	if n := b.fetchCount.Load(); n != before {
		t.Fatalf("%d fetches between a wait whose fetch came back short and the next, want none", n-before)
	}
	b.wake <- waitFetchAnswer{fetched: true} // claimed nothing: a timeout, or a ring another took
	waitRecv(t, "a wait straight after a wait that fetched nothing", b.waits)
	if n := b.fetchCount.Load(); n != before {
		t.Fatalf("%d fetches between two waits whose fetch found nothing, want none", n-before)
	}
	b.wake <- waitFetchAnswer{fetched: false} // it only waited
	waitRecv(t, "the fetch after a wait that did not fetch", b.fetches)
}

// TestQuietEndsAWaitAndHandsOverItsClaim: Quiet ends a wait under way and
// waits for it; a job the fetch behind the wait claimed meanwhile is
// handed over, not left in flight unknown, and no fetch follows.
func TestQuietEndsAWaitAndHandsOverItsClaim(t *testing.T) {
	f, b, out := newWaitFetcher(t, 10)
	t.Cleanup(f.stop)
	waitRecv(t, "the first fetch", b.fetches)
	waitRecv(t, "a wait after an empty fetch", b.waits)
	fetches := b.fetchCount.Load()

	b.woken <- waitFetchAnswer{ids: []string{"late"}, fetched: true}
	if !f.quiesce() {
		t.Fatal("quiesce: the fetcher was quiet already")
	}
	select {
	case c := <-out:
		if c.ID != "late" {
			t.Fatalf("handed over %s, want the job claimed as the wait ended", c.ID)
		}
	default:
		t.Fatal("Quiet returned before the job the ended wait claimed was handed over")
	}
	f.wg.Wait()
	if n := b.fetchCount.Load(); n != fetches {
		t.Fatalf("%d fetches after Quiet, want none", n-fetches)
	}
}

// TestFencingEndsAWait: a process that fences itself while its leading
// loop waits ends the wait, so that no claim is made under an identity
// another process may be taking over, and fetches no more while fenced.
func TestFencingEndsAWait(t *testing.T) {
	f, b, _ := newWaitFetcher(t, 10)
	t.Cleanup(f.stop)
	f.testSignals.fenced.Init(t)
	waitRecv(t, "the first fetch", b.fetches)
	waitRecv(t, "a wait after an empty fetch", b.waits)
	fetches := b.fetchCount.Load()

	f.lease.fence()
	f.testSignals.fenced.WaitOrTimeout() // the loop left its wait and paused
	if n := b.fetchCount.Load(); n != fetches {
		t.Fatalf("%d fetches after the fence, want none", n-fetches)
	}
	if f.lease.unfence() {
		select {
		case <-f.lease.fencedChan():
			t.Fatal("the fence channel stays closed after the fence is lifted")
		default:
		}
	}
}
