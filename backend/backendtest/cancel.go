package backendtest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// cancelTests check CancelJob: a scheduled or retrying job is removed at
// once, a queued one is dropped when it reaches the head of its queue and
// is never fetched, a job in flight is left to its process (and reaches it
// through backend.CancelListener); every cancelled job counts in
// Stats.Cancelled, and a batch job as cancelled in its batch, which then
// completes without succeeding. An id that cannot be found is
// ErrJobNotFound.
func cancelTests() []test {
	return []test{
		{name: "Scheduled", run: testCancelScheduled},
		{name: "Retrying", run: testCancelRetrying},
		{name: "QueuedNeverFetched", run: testCancelQueued},
		{name: "QueuedRequeuedNeverFetched", run: testCancelRequeued},
		{name: "UnknownID", run: testCancelUnknown},
		{name: "UnknownIDInBusyQueue", run: testCancelUnknownBusy},
		{name: "Running", run: testCancelRunning},
		{name: "RunningSucceedsFirst", run: testCancelRunningSucceeds},
		{name: "BatchJobQueued", run: func(h *harness) { testCancelBatch(h, false) }},
		{name: "BatchJobScheduled", run: func(h *harness) { testCancelBatch(h, true) }},
		{name: "FindJobEverywhere", run: testFindJob},
	}
}

// cancel cancels a job and fails the test on error.
func (h *harness) cancel(queue, id string, want backend.CancelResult) {
	h.t.Helper()
	got, err := h.b.CancelJob(h.ctx, queue, id)
	if err != nil {
		h.t.Fatalf("CancelJob(%s, %s): %v", queue, id, err)
	}
	if got != want {
		h.t.Fatalf("CancelJob(%s, %s) = %v, want %v", queue, id, got, want)
	}
}

// wantCancelled fails unless Stats.Cancelled is n and Processed is
// processed.
func (h *harness) wantCancelled(n, processed int64) {
	h.t.Helper()
	s := h.stats(time.Now())
	if s.Cancelled != n || s.Processed != processed {
		h.t.Fatalf("Stats: Cancelled %d, Processed %d; want %d, %d", s.Cancelled, s.Processed, n, processed)
	}
}

func testCancelScheduled(h *harness) {
	j, other := h.job("default"), h.job("default")
	j.RunAt = time.Now().Add(time.Hour)
	other.RunAt = j.RunAt
	h.enqueue(j, other)
	h.cancel("default", j.ID, backend.CancelRemoved)
	h.wantSet(backend.SetScheduled, "default", other.ID)
	if qs := h.queueStats("default"); qs.Scheduled != 1 {
		h.t.Fatalf("queue stats after cancelling a scheduled job: %+v; want Scheduled 1", qs)
	}
	h.wantCancelled(1, 0)
	// Cancelled once: a second cancel finds nothing.
	if _, err := h.b.CancelJob(h.ctx, "default", j.ID); !errors.Is(err, backend.ErrJobNotFound) {
		h.t.Fatalf("CancelJob of a removed job = %v, want ErrJobNotFound", err)
	}
	if n := h.moveDue(j.RunAt.Add(time.Hour)); n != 1 {
		h.t.Fatalf("MoveDue moved %d jobs, want 1 (the other)", n)
	}
	p := h.proc("p1", "default")
	if fs := h.fetchAll(p, []string{"default"}, 10); len(fs) != 1 || fs[0].ID != other.ID {
		h.t.Fatalf("fetched %v, want only %s", fetchedIDs(fs), other.ID)
	}
}

func testCancelRetrying(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	at := time.Now().Add(time.Hour)
	h.complete(p, retryResult(f, at, defaultFailure()))
	h.wantSet(backend.SetRetry, "default", j.ID)
	h.cancel("default", j.ID, backend.CancelRemoved)
	h.wantSet(backend.SetRetry, "default")
	if qs := h.queueStats("default"); qs.Retry != 0 || qs.InFlight != 0 {
		h.t.Fatalf("queue stats after cancelling a retrying job: %+v", qs)
	}
	h.wantCancelled(1, 1) // the failed attempt counts; the cancel does not
	if n := h.moveDue(at.Add(time.Hour)); n != 0 {
		h.t.Fatalf("MoveDue moved %d jobs after the cancel, want 0", n)
	}
}

func testCancelQueued(h *harness) {
	js := h.jobs("default", 5)
	h.enqueue(js...)
	h.cancel("default", js[1].ID, backend.CancelQueued)
	h.cancel("default", js[3].ID, backend.CancelQueued)
	p := h.proc("p1", "default")
	// Fetch one at a time: the cancelled jobs are skipped, not returned.
	var got []string
	for {
		fs := h.fetch(p, []string{"default"}, 1)
		if len(fs) == 0 {
			break
		}
		got = append(got, fs[0].ID)
		h.complete(p, succeeded(fs[0]))
	}
	if want := []string{js[0].ID, js[2].ID, js[4].ID}; !sameSet(got, want) {
		h.t.Fatalf("fetched %v, want %v", got, want)
	}
	h.wantCancelled(2, 3)
	if qs := h.queueStats("default"); qs.Size != 0 || qs.InFlight != 0 {
		h.t.Fatalf("queue stats after draining: %+v", qs)
	}
}

// A cancelled job that comes back to its queue (a retry made due, a
// recovery) is dropped too.
func testCancelRequeued(h *harness) {
	js := h.jobs("default", 2)
	h.enqueue(js...)
	doomed := h.doomedProc("doomed", "default")
	fs := h.fetch(doomed, []string{"default"}, 2)
	if len(fs) != 2 {
		h.t.Fatalf("fetched %d jobs, want 2", len(fs))
	}
	if n := h.recoverOrphans(afterDoomed()); n != 2 {
		h.t.Fatalf("RecoverOrphans = %d, want 2", n)
	}
	h.cancel("default", js[0].ID, backend.CancelQueued)
	p := h.proc("p1", "default")
	all := h.fetchAll(p, []string{"default"}, 10)
	if len(all) != 1 || all[0].ID != js[1].ID {
		h.t.Fatalf("fetched %v, want only %s", fetchedIDs(all), js[1].ID)
	}
	h.wantCancelled(1, 0)
}

func testCancelUnknown(h *harness) {
	for _, q := range []string{"default", "never-used"} {
		if _, err := h.b.CancelJob(h.ctx, q, "no-such-job"); !errors.Is(err, backend.ErrJobNotFound) {
			h.t.Fatalf("CancelJob(%s, unknown) = %v, want ErrJobNotFound", q, err)
		}
	}
	// A queue with scheduled and dead jobs, but none waiting.
	j := h.job("default")
	j.RunAt = time.Now().Add(time.Hour)
	h.enqueue(j)
	if _, err := h.b.CancelJob(h.ctx, "default", "no-such-job"); !errors.Is(err, backend.ErrJobNotFound) {
		h.t.Fatalf("CancelJob(unknown) = %v, want ErrJobNotFound", err)
	}
	if _, err := h.b.CancelJob(h.ctx, "default", ""); !errors.Is(err, backend.ErrJobNotFound) {
		h.t.Fatalf("CancelJob(empty id) = %v, want ErrJobNotFound", err)
	}
	h.wantSet(backend.SetScheduled, "default", j.ID)
	h.wantCancelled(0, 0)
}

// An id the queue may hold: the backend may not know it is unknown (that
// would cost a scan); it marks it, and the mark changes nothing.
func testCancelUnknownBusy(h *harness) {
	js := h.jobs("default", 3)
	h.enqueue(js...)
	res, err := h.b.CancelJob(h.ctx, "default", "no-such-job")
	if err != nil && !errors.Is(err, backend.ErrJobNotFound) || err == nil && res != backend.CancelQueued {
		h.t.Fatalf("CancelJob(unknown id, busy queue) = %v, %v; want CancelQueued or ErrJobNotFound", res, err)
	}
	p := h.proc("p1", "default")
	if fs := h.fetchAll(p, []string{"default"}, 2); len(fs) != 3 {
		h.t.Fatalf("fetched %d jobs, want 3", len(fs))
	}
	h.wantCancelled(0, 0)
	// The queue ran empty: the mark is gone, and the id is unknown.
	if _, err := h.b.CancelJob(h.ctx, "default", "no-such-job"); !errors.Is(err, backend.ErrJobNotFound) {
		h.t.Fatalf("CancelJob(unknown) after draining = %v, want ErrJobNotFound", err)
	}
}

// listen starts the backend's CancelListener, if it has one, and returns
// what it heard so far; nil when the backend has none.
func (h *harness) listen() func() []string {
	cl, ok := h.b.(backend.CancelListener)
	if !ok {
		return nil
	}
	var mu sync.Mutex
	var heard []string
	ctx, stop := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := cl.ListenCancels(ctx, func(q, id string) {
			mu.Lock()
			heard = append(heard, q+"/"+id)
			mu.Unlock()
		}); err != nil {
			h.t.Errorf("ListenCancels: %v", err)
		}
	}()
	h.t.Cleanup(func() { stop(); <-done })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), heard...)
	}
}

func testCancelRunning(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	heard := h.listen()
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	h.cancel("default", j.ID, backend.CancelRunning)
	if heard != nil {
		// The listener may subscribe after the first request: ask again
		// until it hears one (a running job's cancel is idempotent).
		h.waitFor("the cancel listener hears the request", func() bool {
			for _, s := range heard() {
				if s == "default/"+j.ID {
					return true
				}
			}
			h.cancel("default", j.ID, backend.CancelRunning)
			return false
		})
	}
	h.wantSet(backend.SetQueued, "default")
	if qs := h.queueStats("default"); qs.InFlight != 1 {
		h.t.Fatalf("a running job's cancel changed the queue: %+v", qs)
	}
	// The process ends the attempt as cancelled.
	h.complete(p, outcome(f, backend.OutcomeCancelled))
	h.wantCancelled(1, 0)
	if qs := h.queueStats("default"); qs.InFlight != 0 || qs.Size != 0 || qs.Retry != 0 {
		h.t.Fatalf("queue stats after the cancelled attempt: %+v", qs)
	}
	if _, err := h.b.CancelJob(h.ctx, "default", j.ID); !errors.Is(err, backend.ErrJobNotFound) {
		h.t.Fatalf("CancelJob after the attempt ended = %v, want ErrJobNotFound", err)
	}
}

// An attempt that succeeds before its process acts on the cancel stays
// succeeded; and if it is requeued at a shutdown, it runs again.
func testCancelRunningSucceeds(h *harness) {
	js := h.jobs("default", 2)
	h.enqueue(js...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 2)
	h.cancel("default", js[0].ID, backend.CancelRunning)
	h.cancel("default", js[1].ID, backend.CancelRunning)
	h.complete(p, succeeded(fs[0]), outcome(fs[1], backend.OutcomeRequeue))
	h.wantCancelled(0, 1)
	if got := h.fetchAll(p, []string{"default"}, 10); len(got) != 1 || got[0].ID != fs[1].ID {
		h.t.Fatalf("after a requeue, fetched %v; want %s", fetchedIDs(got), fs[1].ID)
	}
}

// A cancelled batch job ends its batch's hope of success: complete fires,
// success never does.
func testCancelBatch(h *harness, scheduled bool) {
	id := h.createBatch("", allEvents...)
	js := h.jobs(batchQueue, 2)
	if scheduled {
		js[0].RunAt = time.Now().Add(time.Hour)
	}
	if err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, Jobs: js}); err != nil {
		h.t.Fatalf("AddToBatch: %v", err)
	}
	h.commit(id)
	want := backend.CancelQueued
	if scheduled {
		want = backend.CancelRemoved
	}
	h.cancel(batchQueue, js[0].ID, want)
	h.runBatchJobs(allSucceed)
	h.runCallbacks()
	h.wantCounters(id, counters{Total: 2, Succeeded: 1, Cancelled: 1})
	h.wantCallbacks(cb(id, backend.CallbackComplete))
	h.wantCancelled(1, 1+1) // the batch job and the complete callback succeeded
}

// FindJob finds a job in every place it can be, and says which.
func testFindJob(h *harness) {
	queued, sched, retry, dead, running := h.job("default"), h.job("default"), h.job("default"), h.job("default"), h.job("default")
	sched.RunAt = time.Now().Add(time.Hour)
	h.enqueue(retry, dead, running)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 3)
	if len(fs) != 3 {
		h.t.Fatalf("fetched %d jobs, want 3", len(fs))
	}
	h.complete(p, retryResult(fs[0], time.Now().Add(time.Hour), defaultFailure()), deadResult(fs[1], time.Now(), defaultFailure()))
	h.enqueue(queued, sched)
	for _, c := range []struct {
		j   *backend.Job
		set backend.JobSet
	}{{queued, backend.SetQueued}, {sched, backend.SetScheduled}, {retry, backend.SetRetry}, {dead, backend.SetDead}, {running, backend.SetInFlight}} {
		found, err := h.b.FindJob(h.ctx, "default", c.j.ID)
		got, set := found.Job, found.Set
		if err != nil {
			h.t.Fatalf("FindJob(%s job): %v", c.set, err)
		}
		if set != c.set || got.ID != c.j.ID || got.Kind != c.j.Kind || string(got.Args) != string(c.j.Args) {
			h.t.Fatalf("FindJob(%s job) = %s %+v, want set %s and the job", c.set, set, got, c.set)
		}
	}
	for _, q := range []string{"default", "never-used"} {
		if _, err := h.b.FindJob(h.ctx, q, "no-such-job"); !errors.Is(err, backend.ErrJobNotFound) {
			h.t.Fatalf("FindJob(%s, unknown) = %v, want ErrJobNotFound", q, err)
		}
	}
}
