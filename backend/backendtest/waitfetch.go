package backendtest

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// Backends that implement backend.WaitFetcher claim jobs in the round trip
// that wakes a waiting fetcher. These tests hold them to Fetch's contract:
// a job is claimed once, by the waiter it woke, and a cancelled wait
// claims nothing that the caller is not told of.
func waitFetchTests() []test {
	return []test{
		{name: "ClaimsTheJobThatWokeIt", run: testWaitFetchClaims},
		{name: "AKeptRingReturnsAtOnce", run: testWaitFetchRingKept},
		{name: "ClaimsUpToMaxOrEmptiesTheQueue", run: testWaitFetchUpToMax},
		{name: "ATimeoutFetchesNothing", run: testWaitFetchTimeout},
		{name: "APausedQueueIsNotClaimed", run: testWaitFetchPaused},
		{name: "SeveralQueuesAreLeftToFetch", run: testWaitFetchSeveralQueues},
		{name: "ALimitedQueueIsLeftToFetch", run: testWaitFetchLimited},
		{name: "ACancelledWaitReturnsAndClaimsNothingLater", run: testWaitFetchCancel},
		{name: "ACancelledWaitLosesNoJob", run: testWaitFetchCancelRace},
	}
}

// waitFetcher returns the backend's WaitFetcher, skipping the test without
// one.
func (h *harness) waitFetcher() backend.WaitFetcher {
	w, ok := h.b.(backend.WaitFetcher)
	if !ok {
		h.t.Skip("the backend does not implement backend.WaitFetcher")
	}
	return w
}

// waitFetchResult is what a WaitFetch call returned.
type waitFetchResult struct {
	jobs    []*backend.Fetched
	fetched bool
	err     error
}

// startWaitFetch starts a WaitFetch of up to max jobs of queues for proc,
// waiting waitLong unless ctx ends it, and returns a channel that gets its
// result.
func (h *harness) startWaitFetch(ctx context.Context, proc string, max int, queues ...string) <-chan waitFetchResult {
	w := h.waitFetcher()
	done := make(chan waitFetchResult, 1)
	go func() {
		res, fetched, err := w.WaitFetch(ctx, backend.FetchParams{Proc: proc, Queues: queues, Max: max}, waitLong)
		done <- waitFetchResult{res.Jobs, fetched, err}
	}()
	return done
}

// waitFetchDone returns the result of a WaitFetch started by
// startWaitFetch, failing the test unless it comes (without error) well
// before the wait's timeout.
func (h *harness) waitFetchDone(done <-chan waitFetchResult, what string) waitFetchResult {
	h.t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			h.t.Fatalf("%s: WaitFetch: %v", what, r.err)
		}
		return r
	case <-time.After(woken):
		h.t.Fatalf("%s: the wait did not return", what)
	}
	return waitFetchResult{}
}

func testWaitFetchClaims(h *harness) {
	p1, p2 := h.proc("p1", "q"), h.proc("p2", "q")
	done := h.startWaitFetch(h.t.Context(), p1, 10, "q")
	j := h.job("q")
	h.enqueue(j)
	r := h.waitFetchDone(done, "an enqueue into an empty queue")
	if !r.fetched || len(r.jobs) != 1 || r.jobs[0].ID != j.ID {
		h.t.Fatalf("WaitFetch = fetched %v, %d jobs; want the enqueued job %s", r.fetched, len(r.jobs), j.ID)
	}
	if got := h.fetch(p2, []string{"q"}, 10); len(got) != 0 {
		h.t.Fatalf("another process fetched %d jobs after WaitFetch claimed the only one", len(got))
	}
	// In flight under p1, like a fetched job: its ack ends it.
	h.complete(p1, backend.Result{Fetched: r.jobs[0], Outcome: backend.OutcomeSucceeded})
	if s := h.queueStats("q"); s.InFlight != 0 || s.Size != 0 {
		h.t.Fatalf("after the claimed job's ack: %d in flight, %d queued; want none", s.InFlight, s.Size)
	}
}

func testWaitFetchRingKept(h *harness) {
	p1 := h.proc("p1", "q")
	h.enqueue(h.jobs("q", 3)...) // nobody waits yet
	r := h.waitFetchDone(h.startWaitFetch(h.t.Context(), p1, 2, "q"), "a wait after an enqueue nobody waited for")
	if !r.fetched || len(r.jobs) != 2 {
		h.t.Fatalf("WaitFetch(max 2) = fetched %v, %d jobs; want 2", r.fetched, len(r.jobs))
	}
}

// testWaitFetchUpToMax: a wait claims up to Max jobs however the backend
// chunks its fetches, and fewer only when it emptied the queue (the
// fetcher then waits again at once).
func testWaitFetchUpToMax(h *harness) {
	p1 := h.proc("p1", "q")
	const queued, max = 2600, 1200
	for range queued / 200 {
		h.enqueue(h.jobs("q", 200)...)
	}
	seen := map[string]bool{}
	for i, want := range []int{max, max, queued - 2*max} {
		r := h.waitFetchDone(h.startWaitFetch(h.t.Context(), p1, max, "q"), "a wait with a backlog")
		if !r.fetched || len(r.jobs) != want {
			h.t.Fatalf("wait %d: fetched %v, %d jobs; want %d", i, r.fetched, len(r.jobs), want)
		}
		for _, f := range r.jobs {
			if seen[f.ID] {
				h.t.Fatalf("job %s claimed twice", f.ID)
			}
			seen[f.ID] = true
		}
	}
	if s := h.queueStats("q"); s.Size != 0 || s.InFlight != queued {
		h.t.Fatalf("after the waits: %d queued, %d in flight; want 0, %d", s.Size, s.InFlight, queued)
	}
}

func testWaitFetchTimeout(h *harness) {
	p1 := h.proc("p1", "q")
	res, fetched, err := h.waitFetcher().WaitFetch(h.ctx, backend.FetchParams{Proc: p1, Queues: []string{"q"}, Max: 10}, 20*time.Millisecond)
	if err != nil || !fetched || len(res.Jobs) != 0 {
		h.t.Fatalf("WaitFetch on an empty queue = fetched %v, %d jobs, %v; want fetched, none, nil", fetched, len(res.Jobs), err)
	}
}

func testWaitFetchPaused(h *harness) {
	p1 := h.proc("p1", "q")
	if _, err := h.b.PauseQueue(h.ctx, backend.PauseQueueParams{Queue: "q", Paused: true}); err != nil {
		h.t.Fatal(err)
	}
	h.enqueue(h.job("q"))
	res, _, err := h.waitFetcher().WaitFetch(h.ctx, backend.FetchParams{Proc: p1, Queues: []string{"q"}, Max: 10}, 20*time.Millisecond)
	if err != nil || len(res.Jobs) != 0 {
		h.t.Fatalf("WaitFetch on a paused queue = %d jobs, %v; want none", len(res.Jobs), err)
	}
	if _, err := h.b.PauseQueue(h.ctx, backend.PauseQueueParams{Queue: "q", Paused: false}); err != nil {
		h.t.Fatal(err)
	}
	if got := h.fetch(p1, []string{"q"}, 10); len(got) != 1 {
		h.t.Fatalf("fetched %d jobs after the resume, want the one queued", len(got))
	}
}

func testWaitFetchSeveralQueues(h *harness) {
	p1 := h.proc("p1", "a", "b")
	h.enqueue(h.job("b"))
	r := h.waitFetchDone(h.startWaitFetch(h.t.Context(), p1, 10, "a", "b"), "a wait on two queues, one with a job")
	if r.fetched || len(r.jobs) != 0 {
		h.t.Fatalf("WaitFetch on two queues = fetched %v, %d jobs; want only a wait", r.fetched, len(r.jobs))
	}
	if got := h.fetch(p1, []string{"a", "b"}, 10); len(got) != 1 {
		h.t.Fatalf("fetched %d jobs after the wait, want 1", len(got))
	}
}

func testWaitFetchLimited(h *harness) {
	h.setLimit("q", backend.QueueLimit{Concurrency: 1})
	p1 := h.proc("p1", "q")
	h.enqueue(h.jobs("q", 2)...)
	r := h.waitFetchDone(h.startWaitFetch(h.t.Context(), p1, 10, "q"), "a wait on a limited queue with jobs")
	if r.fetched || len(r.jobs) != 0 {
		h.t.Fatalf("WaitFetch on a limited queue = fetched %v, %d jobs; want only a wait", r.fetched, len(r.jobs))
	}
	if got := h.fetch(p1, []string{"q"}, 10); len(got) != 1 {
		h.t.Fatalf("fetched %d jobs of a queue limited to 1 at a time, want 1", len(got))
	}
}

func testWaitFetchCancel(h *harness) {
	p1, p2 := h.proc("p1", "q"), h.proc("p2", "q")
	ctx, cancel := context.WithCancel(h.t.Context())
	done := h.startWaitFetch(ctx, p1, 10, "q")
	cancel()
	if r := h.waitFetchDone(done, "a cancelled wait"); len(r.jobs) != 0 {
		h.t.Fatalf("a cancelled wait on an empty queue claimed %d jobs", len(r.jobs))
	}
	j := h.job("q")
	h.enqueue(j)
	if got := h.fetch(p2, []string{"q"}, 10); len(got) != 1 || got[0].ID != j.ID {
		h.t.Fatalf("another process fetched %d jobs after the cancelled wait, want the one enqueued after it", len(got))
	}
	// The next wait of p1 waits: nothing of the cancel is left to end it.
	res, _, err := h.waitFetcher().WaitFetch(h.ctx, backend.FetchParams{Proc: p1, Queues: []string{"q"}, Max: 10}, 20*time.Millisecond)
	if err != nil || len(res.Jobs) != 0 {
		h.t.Fatalf("the next WaitFetch = %d jobs, %v; want none", len(res.Jobs), err)
	}
}

// testWaitFetchCancelRace cancels waits while jobs arrive: every job is
// either returned by the wait or still there for another process, never
// claimed by a wait whose caller was not told.
func testWaitFetchCancelRace(h *harness) {
	p1, p2 := h.proc("p1", "q"), h.proc("p2", "q")
	const rounds = 30
	for i := range rounds {
		ctx, cancel := context.WithCancel(h.t.Context())
		done := h.startWaitFetch(ctx, p1, 10, "q")
		j := h.job("q")
		if i%2 == 0 {
			h.enqueue(j)
			cancel()
		} else {
			cancel()
			h.enqueue(j)
		}
		r := h.waitFetchDone(done, "a wait cancelled as a job arrived")
		got := r.jobs
		if len(got) == 0 {
			got = h.fetch(p2, []string{"q"}, 10)
		}
		if len(got) != 1 || got[0].ID != j.ID {
			h.t.Fatalf("round %d: the job was neither returned by the wait nor left to fetch (%d jobs)", i, len(got))
		}
		owner := p1
		if len(r.jobs) == 0 {
			owner = p2
		}
		h.complete(owner, backend.Result{Fetched: got[0], Outcome: backend.OutcomeSucceeded})
		h.drainRings("q")
	}
	if s := h.queueStats("q"); s.InFlight != 0 || s.Size != 0 {
		h.t.Fatalf("after every job's ack: %d in flight, %d queued; want none", s.InFlight, s.Size)
	}
}
