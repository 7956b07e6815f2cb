package backendtest

import (
	"errors"
	"time"

	"github.com/joblot/joblot/backend"
)

// uniqueTests check unique locks (backend.Job.Unique): while a unique job
// is in its queue's store (queued, scheduled, running, retrying, snoozed,
// or recovered from a dead process), Enqueue skips another job of that
// queue with the same lock key and names the holder; every way the job
// leaves the store releases the lock, so the next enqueue is accepted.
func uniqueTests() []test {
	tests := []test{
		{name: "DuplicateSkippedNamingHolder", run: testUniqueDuplicate},
		{name: "PerQueue", run: testUniquePerQueue},
		{name: "WithinOneCall", run: testUniqueWithinOneCall},
		{name: "ScheduledHoldsLock", run: testUniqueScheduled},
		{name: "ExpiredLockTakenOver", run: testUniqueExpired},
		{name: "PlainJobsUnaffected", run: testUniquePlainJobs},
		{name: "NotInBatch", run: testUniqueNotInBatch},
		{name: "RecoveryKeepsLock", run: testUniqueRecoveryKeeps},
		{name: "StaleAckKeepsLock", run: testUniqueStaleAck},
		{name: "ReleasedOnlyByHolder", run: testUniqueReleasedOnlyByHolder},
	}
	for _, e := range uniqueExits() {
		tests = append(tests, test{name: "ReleasedBy" + e.name, run: func(h *harness) { testUniqueExit(h, e) }})
	}
	for _, s := range uniqueStays() {
		tests = append(tests, test{name: "KeptBy" + s.name, run: func(h *harness) { testUniqueStay(h, s) }})
	}
	return tests
}

// uniqueJob returns a fresh job of queue holding lock key (no expiry).
func (h *harness) uniqueJob(queue, key string) *backend.Job {
	j := h.job(queue)
	j.SetUnique(key, time.Time{})
	return j
}

// wantStored enqueues j alone and fails unless it was stored.
func (h *harness) wantStored(j *backend.Job) {
	h.t.Helper()
	if res := h.enqueueResult(j); !res.Stored(0) {
		h.t.Fatalf("unique job %s (lock %q) skipped as a duplicate of %v; want stored", j.ID, j.UniqueKey(), res.Skipped)
	}
}

// wantDuplicate enqueues j alone and fails unless it was skipped as a
// duplicate of holder.
func (h *harness) wantDuplicate(j *backend.Job, holder string) {
	h.t.Helper()
	res := h.enqueueResult(j)
	if got, dup := res.Duplicate(0); !dup || got != holder {
		h.t.Fatalf("unique job %s (lock %q): duplicate %v of %q; want a duplicate of %s", j.ID, j.UniqueKey(), dup, got, holder)
	}
	for _, set := range []backend.JobSet{backend.SetQueued, backend.SetScheduled} {
		if h.findJob(set, j.Queue, j.ID) != nil {
			h.t.Fatalf("a skipped duplicate %s was stored in %s", j.ID, set)
		}
	}
}

func testUniqueDuplicate(h *harness) {
	a := h.uniqueJob("default", "k1")
	h.wantStored(a)
	h.wantDuplicate(h.uniqueJob("default", "k1"), a.ID)
	h.wantStored(h.uniqueJob("default", "k2"))
	if qs := h.queueStats("default"); qs.Size != 2 {
		h.t.Fatalf("queue size %d, want 2 (the duplicate is not stored)", qs.Size)
	}
}

func testUniquePerQueue(h *harness) {
	h.wantStored(h.uniqueJob("a", "k"))
	h.wantStored(h.uniqueJob("b", "k"))
}

// Duplicates inside one call: the first takes the lock, the next ones are
// skipped naming it; plain and scheduled jobs in the call are stored.
func testUniqueWithinOneCall(h *harness) {
	first, second, third := h.uniqueJob("default", "k"), h.uniqueJob("default", "k"), h.uniqueJob("default", "k")
	plain := h.job("default")
	later := h.uniqueJob("default", "other")
	later.RunAt = time.Now().Add(time.Hour)
	res := h.enqueueResult(first, plain, second, later, third)
	for i, want := range []string{"", "", first.ID, "", first.ID} {
		got, dup := res.Duplicate(i)
		if dup != (want != "") || got != want {
			h.t.Fatalf("job %d: duplicate %v of %q, want %q (result %+v)", i, dup, got, want, res.Skipped)
		}
	}
	h.wantSet(backend.SetQueued, "default", first.ID, plain.ID)
	h.wantSet(backend.SetScheduled, "default", later.ID)
}

func testUniqueScheduled(h *harness) {
	a := h.uniqueJob("default", "k")
	a.RunAt = time.Now().Add(time.Hour)
	h.wantStored(a)
	h.wantDuplicate(h.uniqueJob("default", "k"), a.ID)
	got := h.findJob(backend.SetScheduled, "default", a.ID)
	if got == nil || got.UniqueKey() != "k" {
		h.t.Fatalf("scheduled unique job as listed: %+v; want its lock key k", got)
	}
}

// A lock with a period expires at its end: a job of the next window (or
// any job once it has passed) takes it over. Margins of hours on the
// backend's clock.
func testUniqueExpired(h *harness) {
	old := h.job("default")
	old.SetUnique("k", time.Now().Add(-time.Hour))
	h.wantStored(old)
	b := h.job("default")
	b.SetUnique("k", time.Now().Add(time.Hour))
	h.wantStored(b)
	c := h.job("default")
	c.SetUnique("k", time.Now().Add(2*time.Hour))
	h.wantDuplicate(c, b.ID)
}

// Jobs without a lock are never skipped, whatever locks the queue holds.
func testUniquePlainJobs(h *harness) {
	h.wantStored(h.uniqueJob("default", "k"))
	plain := h.jobs("default", 3)
	if res := h.enqueueResult(plain...); len(res.Skipped) != 0 {
		h.t.Fatalf("plain jobs skipped: %+v", res.Skipped)
	}
}

func testUniqueNotInBatch(h *harness) {
	id := h.createBatch("")
	err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, Jobs: []*backend.Job{h.job(batchQueue), h.uniqueJob(batchQueue, "k")}})
	if !errors.Is(err, backend.ErrUniqueInBatch) {
		h.t.Fatalf("AddToBatch with a unique job: %v, want ErrUniqueInBatch", err)
	}
	if st := h.status(id); st.Total != 0 {
		h.t.Fatalf("a refused add stored %d jobs", st.Total)
	}
	h.wantSet(backend.SetQueued, batchQueue)
}

// A job recovered from a dead process is back in its queue: it keeps its
// lock, before and after it runs again, until it succeeds.
func testUniqueRecoveryKeeps(h *harness) {
	a := h.uniqueJob("default", "k")
	h.wantStored(a)
	dead := h.doomedProc("dead", "default")
	h.fetchOne(dead, "default")
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("RecoverOrphans recovered %d jobs, want 1", n)
	}
	h.wantDuplicate(h.uniqueJob("default", "k"), a.ID)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	if f.ID != a.ID || f.UniqueKey() != "k" {
		h.t.Fatalf("recovered job %s with lock %q, want %s with k", f.ID, f.UniqueKey(), a.ID)
	}
	h.wantDuplicate(h.uniqueJob("default", "k"), a.ID)
	h.complete(p, succeeded(f))
	h.wantStored(h.uniqueJob("default", "k"))
}

// The ack of a process declared dead, for a job recovered meanwhile,
// releases nothing: the job is back in its queue.
func testUniqueStaleAck(h *harness) {
	a := h.uniqueJob("default", "k")
	h.wantStored(a)
	dead := h.doomedProc("dead", "default")
	f := h.fetchOne(dead, "default")
	h.recoverOrphans(afterDoomed())
	h.completeStale(dead, succeeded(f))
	h.wantSet(backend.SetQueued, "default", a.ID)
	h.wantDuplicate(h.uniqueJob("default", "k"), a.ID)
}

// A dead job let go of its lock; retried by hand, it runs without it and
// its success does not release the lock another job took since.
func testUniqueReleasedOnlyByHolder(h *harness) {
	a := h.uniqueJob("default", "k")
	h.wantStored(a)
	p := h.proc("p1", "default")
	h.complete(p, deadResult(h.fetchOne(p, "default"), time.Now(), defaultFailure()))
	b := h.uniqueJob("default", "k")
	h.wantStored(b)
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "default", IDs: []string{a.ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
	}
	// The queue holds b then a: run a only.
	fs := h.fetch(p, []string{"default"}, 2)
	ran := false
	for _, f := range fs {
		if f.ID == a.ID {
			h.complete(p, succeeded(f))
			ran = true
		}
	}
	if !ran {
		h.t.Fatalf("the retried dead job %s was not fetched (got %v): its success releasing b's lock is untested", a.ID, fetchedIDs(fs))
	}
	h.wantDuplicate(h.uniqueJob("default", "k"), b.ID)
}

// uniqueExit puts a stored unique job in some state and takes it out of
// the store in one way.
type uniqueExit struct {
	name string
	exit func(h *harness, j *backend.Job)
}

func uniqueExits() []uniqueExit {
	ack := func(o func(*backend.Fetched) backend.Result) func(h *harness, j *backend.Job) {
		return func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, o(h.fetchOne(p, j.Queue)))
		}
	}
	del := func(set backend.JobSet) func(h *harness, j *backend.Job) {
		return func(h *harness, j *backend.Job) {
			if set == backend.SetRetry {
				p := h.proc("p1", j.Queue)
				h.complete(p, retryResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour), defaultFailure()))
			}
			if set == backend.SetScheduled {
				p := h.proc("p1", j.Queue)
				h.complete(p, snoozeResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour)))
			}
			if res, err := h.b.DeleteJobs(h.ctx, backend.DeleteJobsParams{Set: set, Queue: j.Queue, IDs: []string{j.ID}}); err != nil || res.Deleted != 1 {
				h.t.Fatalf("DeleteJobs(%s) = %d, %v; want 1", set, res.Deleted, err)
			}
		}
	}
	return []uniqueExit{
		{"Success", ack(succeeded)},
		{"Death", ack(func(f *backend.Fetched) backend.Result { return deadResult(f, time.Now(), defaultFailure()) })},
		{"Discard", ack(func(f *backend.Fetched) backend.Result { return outcome(f, backend.OutcomeDiscarded) })},
		{"Cancel", ack(func(f *backend.Fetched) backend.Result { return outcome(f, backend.OutcomeCancelled) })},
		{"RetryThenSuccess", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			now := time.Now()
			h.complete(p, retryResult(h.fetchOne(p, j.Queue), now, defaultFailure()))
			h.moveDue(now.Add(time.Second))
			h.complete(p, succeeded(h.fetchOne(p, j.Queue)))
		}},
		{"PoisonPill", func(h *harness, j *backend.Job) {
			for round := range backend.MaxRecoveries {
				p := h.doomedProc("crashy-"+string(rune('0'+round)), j.Queue)
				h.fetchOne(p, j.Queue)
				h.recoverOrphans(afterDoomed())
			}
			h.wantSet(backend.SetDead, j.Queue, j.ID)
		}},
		{"CancelJobQueued", func(h *harness, j *backend.Job) {
			h.cancelJob(j.Queue, j.ID)
			// The tombstoned job leaves the store when a fetch drops it.
			if fs := h.fetch(h.proc("p1", j.Queue), []string{j.Queue}, 10); len(fs) != 0 {
				h.t.Fatalf("a cancelled job was fetched: %v", fetchedIDs(fs))
			}
		}},
		{"CancelJobScheduled", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, snoozeResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour)))
			h.cancelJob(j.Queue, j.ID)
		}},
		{"CancelJobRetry", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, retryResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour), defaultFailure()))
			h.cancelJob(j.Queue, j.ID)
		}},
		{"DeleteQueued", del(backend.SetQueued)},
		{"DeleteScheduled", del(backend.SetScheduled)},
		{"DeleteRetry", del(backend.SetRetry)},
		{"ClearQueue", func(h *harness, j *backend.Job) {
			// Around it, more queued jobs than one clear chunk, a few unique.
			for range 3 {
				jobs := h.jobs(j.Queue, 700)
				for i := range 5 {
					jobs[i].SetUnique("other-"+jobs[i].ID, time.Time{})
				}
				h.enqueue(jobs...)
			}
			if n, err := h.b.ClearQueue(h.ctx, j.Queue); err != nil || n != 2101 {
				h.t.Fatalf("ClearQueue = %d, %v; want 2101", n, err)
			}
		}},
	}
}

// testUniqueExit: after the exit, the lock is free again.
func testUniqueExit(h *harness, e uniqueExit) {
	a := h.uniqueJob("default", "k")
	h.wantStored(a)
	h.wantDuplicate(h.uniqueJob("default", "k"), a.ID)
	e.exit(h, a)
	h.wantStored(h.uniqueJob("default", "k"))
}

// uniqueStay moves a stored unique job without taking it out of the
// store.
type uniqueStay struct {
	name string
	stay func(h *harness, j *backend.Job)
}

func uniqueStays() []uniqueStay {
	return []uniqueStay{
		{"Running", func(h *harness, j *backend.Job) { h.fetchOne(h.proc("p1", j.Queue), j.Queue) }},
		{"Retry", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, retryResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour), defaultFailure()))
		}},
		{"RetryDue", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			now := time.Now()
			h.complete(p, retryResult(h.fetchOne(p, j.Queue), now, defaultFailure()))
			h.moveDue(now.Add(time.Second))
			h.wantSet(backend.SetQueued, j.Queue, j.ID)
		}},
		{"RetriedByHand", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, retryResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour), defaultFailure()))
			if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetRetry, Queue: j.Queue, IDs: []string{j.ID}}); err != nil || res.Retried != 1 {
				h.t.Fatalf("RetryJobs(retry) = %d, %v", res.Retried, err)
			}
		}},
		{"Snooze", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, snoozeResult(h.fetchOne(p, j.Queue), time.Now().Add(time.Hour)))
		}},
		{"Requeue", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.complete(p, outcome(h.fetchOne(p, j.Queue), backend.OutcomeRequeue))
		}},
		{"Deregister", func(h *harness, j *backend.Job) {
			p := h.proc("p1", j.Queue)
			h.fetchOne(p, j.Queue)
			if err := h.b.Deregister(h.ctx, p); err != nil {
				h.t.Fatalf("Deregister: %v", err)
			}
		}},
		{"DeleteOfAnotherJob", func(h *harness, j *backend.Job) {
			other := h.job(j.Queue)
			h.enqueue(other)
			if res, err := h.b.DeleteJobs(h.ctx, backend.DeleteJobsParams{Set: backend.SetQueued, Queue: j.Queue, IDs: []string{other.ID}}); err != nil || res.Deleted != 1 {
				h.t.Fatalf("DeleteJobs = %d, %v", res.Deleted, err)
			}
		}},
	}
}

// testUniqueStay: the job is still in the store, and so is its lock.
func testUniqueStay(h *harness, s uniqueStay) {
	a := h.uniqueJob("default", "k")
	h.wantStored(a)
	s.stay(h, a)
	h.wantDuplicate(h.uniqueJob("default", "k"), a.ID)
}

// cancelJob cancels job id of queue and fails the test on error.
func (h *harness) cancelJob(queue, id string) {
	h.t.Helper()
	if _, err := h.b.CancelJob(h.ctx, queue, id); err != nil {
		h.t.Fatalf("CancelJob(%s, %s): %v", queue, id, err)
	}
}
