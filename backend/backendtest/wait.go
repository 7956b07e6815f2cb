package backendtest

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// Backends that implement backend.Waiter wake an idle fetcher instead of
// leaving it to poll. A waiter here waits far longer (waitLong, on a context
// the harness's deadline does not end) than the test gives it to return
// (woken): returning in time proves the wake-up, and woken is generous so
// that a slow machine makes the test slower, never red.
const (
	waitLong = time.Hour
	woken    = 50 * time.Second
)

func waitTests() []test {
	return []test{
		{name: "EnqueueIntoAnEmptyQueueWakesAWaiter", run: testWaitEnqueue},
		{name: "ARingIsKeptForTheNextWaiter", run: testWaitRingKept},
		{name: "DueJobsWake", run: testWaitDue},
		{name: "RequeueWakes", run: testWaitRequeue},
		{name: "ResumeWakes", run: testWaitResume},
		{name: "AFullFetchWithABacklogWakesAnother", run: testWaitBacklog},
		{name: "TimeoutAndCancelReturnNil", run: testWaitTimeout},
	}
}

// waiter returns the backend's Waiter, skipping the test without one.
func (h *harness) waiter() backend.Waiter {
	w, ok := h.b.(backend.Waiter)
	if !ok {
		h.t.Skip("the backend does not implement backend.Waiter")
	}
	return w
}

// startWait starts a long wait on queues and returns a channel that gets
// its result.
func (h *harness) startWait(queues ...string) <-chan error {
	w := h.waiter()
	// Not h.ctx: its deadline would end the wait as a wake-up would.
	ctx, cancel := context.WithCancel(h.t.Context())
	h.t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- w.WaitForJobs(ctx, queues, waitLong) }()
	return done
}

// wantWoken fails unless the wait returns (nil) well before its timeout.
func (h *harness) wantWoken(done <-chan error, what string) {
	h.t.Helper()
	select {
	case err := <-done:
		if err != nil {
			h.t.Fatalf("%s: WaitForJobs: %v", what, err)
		}
	case <-time.After(woken):
		h.t.Fatalf("%s: no waiter was woken", what)
	}
}

// drainRings consumes a kept ring, so that the next wake-up is the one
// the test makes.
func (h *harness) drainRings(queues ...string) {
	_ = h.waiter().WaitForJobs(h.ctx, queues, 50*time.Millisecond)
}

func testWaitEnqueue(h *harness) {
	done := h.startWait("other", "q")
	h.enqueue(h.job("q"))
	h.wantWoken(done, "enqueue into an empty queue")
}

func testWaitRingKept(h *harness) {
	h.enqueue(h.job("q")) // nobody waits yet
	h.wantWoken(h.startWait("q"), "a wait after an enqueue nobody waited for")
}

func testWaitDue(h *harness) {
	j := h.job("q")
	j.RunAt = time.Now().Add(time.Hour)
	h.enqueue(j)
	h.drainRings("q")
	done := h.startWait("q")
	if n := h.moveDue(time.Now().Add(2 * time.Hour)); n != 1 {
		h.t.Fatalf("MoveDue moved %d, want 1", n)
	}
	h.wantWoken(done, "a due job moved into an empty queue")
}

func testWaitRequeue(h *harness) {
	p := h.proc("p1", "q")
	h.enqueue(h.job("q"))
	f := h.fetchOne(p, "q")
	h.drainRings("q")
	done := h.startWait("q")
	h.complete(p, backend.Result{Fetched: f, Outcome: backend.OutcomeRequeue})
	h.wantWoken(done, "a job requeued into an empty queue")
}

func testWaitResume(h *harness) {
	if _, err := h.b.PauseQueue(h.ctx, backend.PauseQueueParams{Queue: "q", Paused: true}); err != nil {
		h.t.Fatal(err)
	}
	h.enqueue(h.job("q"))
	h.drainRings("q")
	done := h.startWait("q")
	if _, err := h.b.PauseQueue(h.ctx, backend.PauseQueueParams{Queue: "q", Paused: false}); err != nil {
		h.t.Fatal(err)
	}
	h.wantWoken(done, "a queue resumed")
}

func testWaitBacklog(h *harness) {
	p := h.proc("p1", "q")
	h.enqueue(h.jobs("q", 3)...)
	h.drainRings("q")
	if got := h.fetch(p, []string{"q"}, 2); len(got) != 2 {
		h.t.Fatalf("fetched %d, want 2", len(got))
	}
	h.wantWoken(h.startWait("q"), "a full fetch that left a job behind")
}

func testWaitTimeout(h *harness) {
	w := h.waiter()
	if err := w.WaitForJobs(h.ctx, []string{"q"}, 20*time.Millisecond); err != nil {
		h.t.Fatalf("WaitForJobs with nothing to wait for: %v", err)
	}
	ctx, cancel := context.WithCancel(h.t.Context())
	done := make(chan error, 1)
	go func() { done <- w.WaitForJobs(ctx, []string{"q"}, waitLong) }()
	cancel()
	h.wantWoken(done, "a cancelled wait")
}
