package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// snoozeTests check backend.OutcomeSnoozed: the job waits in the scheduled
// set until the time it asked for, without using an attempt and without
// counting as processed or failed; a batch job stays as its batch counts
// it; a stale duplicate's snooze (backend.EventSnoozed) writes nothing.
func snoozeTests() []test {
	return []test{
		{name: "Scheduled", run: testSnoozeScheduled},
		{name: "NotCounted", run: testSnoozeNotCounted},
		{name: "BatchJobStaysPending", run: testSnoozeBatchPending},
		{name: "BatchJobStaysFailing", run: testSnoozeBatchFailing},
		{name: "StaleAfterSucceeded", run: func(h *harness) { testSnoozeStale(h, true) }},
		{name: "StaleAfterDead", run: func(h *harness) { testSnoozeStale(h, false) }},
		{name: "ManualRetryOfDeadJob", run: testSnoozeManualRetry},
		{name: "RecoveredMeanwhile", run: testSnoozeRecoveredMeanwhile},
	}
}

// snoozeResult snoozes f until at, as the server does: a clone with
// Snoozes incremented and RunAt set, Attempt unchanged.
func snoozeResult(f *backend.Fetched, at time.Time) backend.Result {
	j := f.Job.Clone()
	j.Snoozes++
	j.RunAt = at
	j.Recoveries = 0
	return backend.Result{Fetched: f, Outcome: backend.OutcomeSnoozed, Job: j, RetryAt: at, Duration: time.Millisecond}
}

// wantSnoozed fails unless job id sits in queue's scheduled set due at at,
// with its attempt unchanged and snoozes counted; it returns the job.
func (h *harness) wantSnoozed(queue, id string, at time.Time, attempt, snoozes int) *backend.Job {
	h.t.Helper()
	h.wantSet(backend.SetScheduled, queue, id)
	got := h.findJob(backend.SetScheduled, queue, id)
	if got.RunAt.UnixMilli() != at.UnixMilli() || got.Attempt != attempt || int(got.Snoozes) != snoozes {
		h.t.Fatalf("snoozed job: RunAt %v Attempt %d Snoozes %d; want %v, %d, %d", got.RunAt, got.Attempt, got.Snoozes, at, attempt, snoozes)
	}
	// Due at its time, not before.
	if n := h.moveDue(at.Add(-time.Second)); n != 0 {
		h.t.Fatalf("MoveDue a second before the snooze ends moved %d jobs", n)
	}
	return got
}

func testSnoozeScheduled(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	now := time.Now()
	at := now.Add(time.Hour)
	h.complete(p, snoozeResult(f, at))

	h.wantSnoozed("default", j.ID, at, 0, 1)
	h.wantSet(backend.SetQueued, "default")
	h.wantSet(backend.SetRetry, "default")
	qs := h.queueStats("default")
	if qs.Scheduled != 1 || qs.InFlight != 0 || qs.Retry != 0 {
		h.t.Fatalf("queue stats after a snooze: %+v; want Scheduled 1, InFlight 0, Retry 0", qs)
	}

	// Due: it runs again, and a second snooze counts 2.
	if n := h.moveDue(at); n != 1 {
		h.t.Fatalf("MoveDue at the snooze's end moved %d jobs, want 1", n)
	}
	f = h.fetchOne(p, "default")
	if f.Attempt != 0 || f.Snoozes != 1 {
		h.t.Fatalf("job after its snooze: Attempt %d Snoozes %d, want 0, 1", f.Attempt, f.Snoozes)
	}
	at2 := at.Add(time.Hour)
	h.complete(p, snoozeResult(f, at2))
	h.wantSnoozed("default", j.ID, at2, 0, 2)
}

// A snooze finishes no attempt: Processed and Failed do not move, in total
// or for the day; the attempt that then succeeds counts Processed 1.
func testSnoozeNotCounted(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	now := time.Now()
	for i := range 2 {
		f := h.fetchOne(p, "default")
		at := now.Add(time.Duration(i+1) * time.Hour)
		h.complete(p, snoozeResult(f, at))
		h.moveDue(at)
	}
	st := h.stats(now)
	if st.Processed != 0 || st.Failed != 0 {
		h.t.Fatalf("after two snoozes Processed %d Failed %d, want 0, 0", st.Processed, st.Failed)
	}
	for _, d := range st.Days {
		if d.Processed != 0 || d.Failed != 0 {
			h.t.Fatalf("after two snoozes day %s counts Processed %d Failed %d", d.Date, d.Processed, d.Failed)
		}
	}
	h.complete(p, succeeded(h.fetchOne(p, "default")))
	if st := h.stats(now); st.Processed != 1 || st.Failed != 0 {
		h.t.Fatalf("after two snoozes and a success Processed %d Failed %d, want 1, 0", st.Processed, st.Failed)
	}
}

// A snoozed batch job stays pending: no counter moves, complete does not
// fire; when it then succeeds, the batch completes and succeeds.
func testSnoozeBatchPending(h *harness) {
	id, js := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	f := h.fetchOne(p, batchQueue)
	at := time.Now().Add(time.Hour)
	h.complete(p, snoozeResult(f, at))

	h.wantCounters(id, counters{Total: 1, Pending: 1})
	h.wantSnoozed(batchQueue, js[0].ID, at, 0, 1)
	h.fetchCallbacks()
	h.wantCallbacks()
	if st := h.status(id); len(st.ErrorGroups) != 0 {
		h.t.Fatalf("a snooze made error groups: %+v", st.ErrorGroups)
	}

	h.moveDue(at)
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	h.wantCounters(id, counters{Total: 1, Succeeded: 1})
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

// A batch job that failed once and then snoozes stays failing (its batch
// completed at the failure: complete needs every job to have run once).
func testSnoozeBatchFailing(h *harness) {
	id, js := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	now := time.Now()
	h.complete(p, retryResult(h.fetchOne(p, batchQueue), now, firstFailure))
	h.moveDue(now)
	f := h.fetchOne(p, batchQueue)
	at := now.Add(time.Hour)
	h.complete(p, snoozeResult(f, at))
	h.wantCounters(id, counters{Total: 1, Failing: 1})
	h.wantSnoozed(batchQueue, js[0].ID, at, 1, 1)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))
}

// A stale duplicate's snooze writes nothing: the batch already counts the
// job as succeeded (or dead), so the copy a live process runs is not
// scheduled again and nothing is counted.
func testSnoozeStale(h *harness, afterSuccess bool) {
	id, _ := h.committedBatch(1)
	now := time.Now()
	stale := h.doomedProc("doomed", batchQueue)
	sf := h.fetchOne(stale, batchQueue)
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("RecoverOrphans = %d, want 1", n)
	}
	want := counters{Total: 1, Dead: 1}
	if afterSuccess {
		h.completeStale(stale, succeeded(sf))
		want = counters{Total: 1, Succeeded: 1}
	} else {
		h.completeStale(stale, deadResult(sf, now, firstFailure))
	}
	h.wantCounters(id, want)
	before := h.stats(now)

	live := h.proc("live", batchQueue)
	f := h.fetchOne(live, batchQueue)
	h.complete(live, snoozeResult(f, now.Add(time.Hour)))

	h.wantCounters(id, want)
	h.wantSet(backend.SetScheduled, batchQueue)
	h.wantSet(backend.SetQueued, batchQueue)
	h.wantSet(backend.SetRetry, batchQueue)
	if qs := h.queueStats(batchQueue); qs.InFlight != 0 || qs.Scheduled != 0 {
		h.t.Fatalf("after a stale snooze: %+v; want InFlight 0, Scheduled 0", qs)
	}
	if after := h.stats(now); after.Processed != before.Processed || after.Failed != before.Failed {
		h.t.Fatalf("a stale snooze counted: Processed %d→%d Failed %d→%d", before.Processed, after.Processed, before.Failed, after.Failed)
	}
}

// A dead job retried by hand may snooze: it is scheduled, and the batch
// still counts it dead until an attempt finishes.
func testSnoozeManualRetry(h *harness) {
	id, js := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	now := time.Now()
	h.complete(p, deadResult(h.fetchOne(p, batchQueue), now, firstFailure))
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: batchQueue, IDs: []string{js[0].ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
	}
	f := h.fetchOne(p, batchQueue)
	at := now.Add(time.Hour)
	h.complete(p, snoozeResult(f, at))
	h.wantCounters(id, counters{Total: 1, Dead: 1})
	if got := h.wantSnoozed(batchQueue, js[0].ID, at, 1, 1); !got.ManualRetry {
		h.t.Fatal("the snoozed copy lost ManualRetry")
	}
	h.moveDue(at)
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	h.wantCounters(id, counters{Total: 1, Succeeded: 1})
}

// A process declared dead that snoozes a job it no longer holds writes
// nothing: the recovered copy is the job.
func testSnoozeRecoveredMeanwhile(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	doomed := h.doomedProc("doomed", "default")
	f := h.fetchOne(doomed, "default")
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("RecoverOrphans = %d, want 1", n)
	}
	h.completeStale(doomed, snoozeResult(f, time.Now().Add(time.Hour)))
	h.wantSet(backend.SetScheduled, "default")
	h.wantSet(backend.SetQueued, "default", j.ID)
}
