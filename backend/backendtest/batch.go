package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// batchTests cover a batch's life: population, commit, reopening, cancel,
// delete, expiry and listing (docs/batch-states.md).
func batchTests() []test {
	return []test{
		{name: "CreateAddCommit", run: testBatchCreateAddCommit},
		{name: "ChunkedPopulationDenseIndex", run: testBatchChunked},
		{name: "NotCompleteBeforeCommit", run: testBatchNotCompleteBeforeCommit},
		{name: "EmptyBatchFiresOnCommit", run: testBatchEmpty},
		{name: "IdempotentAddsFromAJob", run: testBatchIdempotentAdds},
		{name: "AddToFinishedOrUnknown", run: testBatchAddFinished},
		{name: "RerunRepeatsAddsAfterChildFinished", run: testBatchRerunAfterChildFinished},
		{name: "ReopenAfterComplete", run: testBatchReopen},
		{name: "Cancel", run: testBatchCancel},
		{name: "DeleteThenEventsRecreateNothing", run: testBatchDelete},
		{name: "UncommittedExpiresAfterDeadline", run: testBatchCommitDeadline},
		{name: "ListNewestFirstPaged", run: testListBatches},
	}
}

func testBatchCreateAddCommit(h *harness) {
	spec := h.batchSpec("", allEvents...)
	h.create(spec)
	js := h.addToBatch(spec.ID, 3)
	st := h.wantState(spec.ID, backend.BatchPopulating)
	if got := countersOf(st); got != (counters{Total: 3, Pending: 3}) {
		h.t.Fatalf("counters after adding 3 = %+v", got)
	}
	if st.ID != spec.ID || st.Description != spec.Description || st.CreatedAt.UnixMilli() != spec.CreatedAt.UnixMilli() {
		h.t.Fatalf("status does not describe the batch: %+v", st)
	}
	for _, ev := range allEvents {
		c := st.Callbacks[ev]
		if c == nil || c.Kind != "on_"+string(ev) || c.Queue != cbQueue {
			h.t.Fatalf("status callback %s = %+v, want the template", ev, c)
		}
	}
	h.create(spec) // idempotent: resets nothing
	h.wantCounters(spec.ID, counters{Total: 3, Pending: 3})

	h.commit(spec.ID)
	st = h.wantState(spec.ID, backend.BatchRunning)
	if st.CommittedAt.IsZero() {
		h.t.Fatalf("CommittedAt not set after commit")
	}
	h.wantSet(backend.SetQueued, batchQueue, jobIDs(js)...)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	for i, f := range fs {
		if f.BatchID != spec.ID || f.BatchIndex != int64(i) {
			h.t.Fatalf("job %d: BatchID %q BatchIndex %d, want %q and %d", i, f.BatchID, f.BatchIndex, spec.ID, i)
		}
	}
	h.complete(p, succeededAll(fs)...)
	st = h.wantState(spec.ID, backend.BatchSucceeded)
	if st.CompleteAt.IsZero() || st.SuccessAt.IsZero() || !st.DeathAt.IsZero() {
		h.t.Fatalf("times after success: complete %v success %v death %v", st.CompleteAt, st.SuccessAt, st.DeathAt)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(spec.ID, backend.CallbackComplete), cb(spec.ID, backend.CallbackSuccess))
}

func testBatchChunked(h *harness) {
	id := h.createBatch("", allEvents...)
	for chunk := range 3 {
		h.addToBatch(id, 4)
		// The chunk added so far runs to success before the next one is
		// streamed in: no complete while uncommitted.
		h.runBatchJobs(allSucceed)
		h.wantCounters(id, counters{Total: int64(4 * (chunk + 1)), Succeeded: int64(4 * (chunk + 1))})
		h.wantState(id, backend.BatchPopulating)
	}
	h.addToBatch(id, 2)
	h.commit(id)
	h.wantCounters(id, counters{Total: 14, Pending: 2, Succeeded: 12})
	h.fetchCallbacks()
	h.wantCallbacks()

	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	if len(fs) != 2 || fs[0].BatchIndex != 12 || fs[1].BatchIndex != 13 {
		h.t.Fatalf("last chunk = %d jobs, want indexes 12 and 13", len(fs))
	}
	h.complete(p, succeededAll(fs)...)
	h.wantState(id, backend.BatchSucceeded)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

func testBatchNotCompleteBeforeCommit(h *harness) {
	id := h.createBatch("", allEvents...)
	h.addToBatch(id, 2)
	h.runBatchJobs(allSucceed)
	st := h.wantState(id, backend.BatchPopulating)
	if !st.CompleteAt.IsZero() {
		h.t.Fatalf("CompleteAt set before commit")
	}
	h.fetchCallbacks()
	h.wantCallbacks()
	h.commit(id)
	h.wantState(id, backend.BatchSucceeded)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

func testBatchEmpty(h *harness) {
	id := h.createBatch("", allEvents...)
	h.commit(id)
	st := h.wantState(id, backend.BatchSucceeded)
	if got := countersOf(st); got != (counters{}) {
		h.t.Fatalf("empty batch counters = %+v", got)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
	h.commit(id) // committing again fires nothing more
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

func testBatchIdempotentAdds(h *harness) {
	id := h.createBatch("", allEvents...)
	parent := h.addToBatch(id, 1)[0]
	derived := func(from, n int) []*backend.Job {
		js := make([]*backend.Job, n)
		for i := range js {
			js[i] = h.job(batchQueue)
			js[i].ID = backend.DerivedJobID(parent.ID, from+i)
		}
		return js
	}
	add := func(addedBy string, seq int, js []*backend.Job) {
		h.t.Helper()
		if err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, AddedBy: addedBy, Seq: seq, Jobs: js}); err != nil {
			h.t.Fatalf("AddToBatch(seq %d): %v", seq, err)
		}
	}
	add(parent.ID, 0, derived(0, 3))
	h.wantCounters(id, counters{Total: 4, Pending: 4})
	add(parent.ID, 0, derived(0, 3)) // the adding job re-ran: nothing new
	h.wantCounters(id, counters{Total: 4, Pending: 4})
	add(parent.ID, 2, derived(2, 3)) // overlaps at seq 2: only 3 and 4 are new
	h.wantCounters(id, counters{Total: 6, Pending: 6})
	add(parent.ID, 1, derived(1, 1)) // entirely seen
	h.wantCounters(id, counters{Total: 6, Pending: 6})

	want := []string{parent.ID}
	for i := range 5 {
		want = append(want, backend.DerivedJobID(parent.ID, i))
	}
	h.wantSet(backend.SetQueued, batchQueue, want...)

	// Client adds (no AddedBy) are never deduplicated.
	h.addToBatch(id, 2)
	h.wantCounters(id, counters{Total: 8, Pending: 8})
}

func testBatchAddFinished(h *harness) {
	one := func(id string) error {
		return h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, Jobs: h.jobs(batchQueue, 1)})
	}
	h.wantBatchErr(one("no-such-batch"), backend.ErrBatchNotFound, "AddToBatch(unknown)")
	_, err := h.b.BatchStatus(h.ctx, "no-such-batch")
	h.wantBatchErr(err, backend.ErrBatchNotFound, "BatchStatus(unknown)")
	h.wantBatchErr(h.b.CommitBatch(h.ctx, "no-such-batch"), backend.ErrBatchNotFound, "CommitBatch(unknown)")

	done := h.createBatch("", allEvents...)
	h.commit(done) // empty: succeeds at once
	h.wantState(done, backend.BatchSucceeded)
	h.wantBatchErr(one(done), backend.ErrBatchFinished, "AddToBatch(succeeded)")

	cancelled := h.createBatch("")
	h.addToBatch(cancelled, 1)
	if err := h.b.CancelBatch(h.ctx, cancelled); err != nil {
		h.t.Fatalf("CancelBatch: %v", err)
	}
	h.wantBatchErr(one(cancelled), backend.ErrBatchFinished, "AddToBatch(cancelled)")
	h.wantCounters(cancelled, counters{Total: 1, Pending: 1})
	if got := len(h.setIDs(backend.SetQueued, batchQueue)); got != 1 {
		h.t.Fatalf("%d jobs queued, want only the cancelled batch's first job: a refused add enqueues nothing", got)
	}
}

func testBatchReopen(h *harness) {
	id, _ := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	first := h.fetchOne(p, batchQueue)
	retryAt := time.Now().Add(time.Minute)
	h.complete(p, retryResult(first, retryAt, defaultFailure()))
	// Pending is 0 (the job is failing): complete fires.
	h.wantState(id, backend.BatchComplete)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))

	// The failing job's retry runs, adds a job (reopen) and succeeds.
	h.moveDue(retryAt)
	retried := h.fetchOne(p, batchQueue)
	added := h.job(batchQueue)
	added.ID = backend.DerivedJobID(retried.ID, 0)
	if err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, AddedBy: retried.ID, Jobs: []*backend.Job{added}}); err != nil {
		h.t.Fatalf("AddToBatch after complete: %v", err)
	}
	h.complete(p, succeeded(retried))
	st := h.wantCounters(id, counters{Total: 2, Pending: 1, Succeeded: 1})
	if st.State.Finished() {
		h.t.Fatalf("reopened batch in finished state %q", st.State)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete)) // complete fires once, success waits

	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	h.wantState(id, backend.BatchSucceeded)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

func testBatchCancel(h *harness) {
	id, _ := h.committedBatch(3)
	other, _ := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	fs := h.fetch(p, []string{batchQueue}, 1)
	h.complete(p, succeeded(fs[0]))

	if err := h.b.CancelBatch(h.ctx, id); err != nil {
		h.t.Fatalf("CancelBatch: %v", err)
	}
	got, err := h.b.BatchesCancelled(h.ctx, []string{id, other, "no-such-batch"})
	if err != nil {
		h.t.Fatalf("BatchesCancelled: %v", err)
	}
	if !got[id] || got[other] || got["no-such-batch"] {
		h.t.Fatalf("BatchesCancelled = %v, want only %s", got, id)
	}
	st := h.wantState(id, backend.BatchCancelled)
	if st.CancelledAt.IsZero() {
		h.t.Fatalf("CancelledAt not set")
	}
	h.fetchCallbacks()
	h.wantCallbacks()

	// The server skips the remaining jobs as they are fetched.
	var results []backend.Result
	for _, f := range h.fetchBatchJobs(p) {
		if f.BatchID == id {
			results = append(results, outcome(f, backend.OutcomeCancelled))
		} else {
			results = append(results, succeeded(f))
		}
	}
	h.complete(p, results...)
	st = h.wantCounters(id, counters{Total: 3, Succeeded: 1, Cancelled: 2})
	if st.State != backend.BatchCancelled || !st.SuccessAt.IsZero() || st.CompleteAt.IsZero() {
		h.t.Fatalf("cancelled batch: state %q, complete %v, success %v", st.State, st.CompleteAt, st.SuccessAt)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete),
		cb(other, backend.CallbackComplete), cb(other, backend.CallbackSuccess))
}

func testBatchDelete(h *harness) {
	id, _ := h.committedBatch(3)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	if err := h.b.DeleteBatch(h.ctx, id); err != nil {
		h.t.Fatalf("DeleteBatch: %v", err)
	}
	_, err := h.b.BatchStatus(h.ctx, id)
	h.wantBatchErr(err, backend.ErrBatchNotFound, "BatchStatus after DeleteBatch")

	now := time.Now()
	h.complete(p, succeeded(fs[0]), retryResult(fs[1], now.Add(time.Minute), defaultFailure()), deadResult(fs[2], now, defaultFailure()))
	_, err = h.b.BatchStatus(h.ctx, id)
	h.wantBatchErr(err, backend.ErrBatchNotFound, "BatchStatus after events for a deleted batch")
	if n := h.stats(time.Now()).ExpiredBatchEvents; n != 3 {
		h.t.Fatalf("Stats.ExpiredBatchEvents = %d, want 3", n)
	}
	h.fetchCallbacks()
	h.wantCallbacks()
	h.wantBatchErr(h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, Jobs: h.jobs(batchQueue, 1)}), backend.ErrBatchNotFound, "AddToBatch after DeleteBatch")
	bs, err := h.b.ListBatches(h.ctx, backend.BatchListOptions{Limit: 10})
	if err != nil {
		h.t.Fatalf("ListBatches: %v", err)
	}
	for _, b := range bs {
		if b.ID == id {
			h.t.Fatalf("deleted batch still listed")
		}
	}
}

func testBatchCommitDeadline(h *harness) {
	now := time.Now()
	spec := h.batchSpec("", allEvents...)
	spec.CommitDeadline = now.Add(time.Hour)
	h.create(spec)
	h.addToBatch(spec.ID, 1)
	if _, err := h.b.ForwardCallbacks(h.ctx, now); err != nil {
		h.t.Fatalf("ForwardCallbacks: %v", err)
	}
	h.wantState(spec.ID, backend.BatchPopulating)
	if _, err := h.b.ForwardCallbacks(h.ctx, now.Add(2*time.Hour)); err != nil {
		h.t.Fatalf("ForwardCallbacks: %v", err)
	}
	st := h.wantState(spec.ID, backend.BatchExpired)
	if !st.State.Finished() {
		h.t.Fatalf("expired batch not finished")
	}
	h.wantBatchErr(h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: spec.ID, Jobs: h.jobs(batchQueue, 1)}), backend.ErrBatchFinished, "AddToBatch(expired)")

	// A committed batch never expires for want of a commit.
	id, _ := h.committedBatch(1)
	if _, err := h.b.ForwardCallbacks(h.ctx, now.Add(48*time.Hour)); err != nil {
		h.t.Fatalf("ForwardCallbacks: %v", err)
	}
	h.wantState(id, backend.BatchRunning)
}

func testListBatches(h *harness) {
	base := time.Now().Add(-time.Hour)
	var want []string
	for i := range 7 {
		spec := h.batchSpec("")
		spec.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		h.create(spec)
		want = append(want, spec.ID)
	}
	slices.Reverse(want)
	var got []string
	opts := backend.BatchListOptions{Limit: 3}
	for range 10 {
		page, err := h.b.ListBatches(h.ctx, opts)
		if err != nil {
			h.t.Fatalf("ListBatches: %v", err)
		}
		if len(page) > 3 {
			h.t.Fatalf("ListBatches(Limit 3) returned %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, st := range page {
			checkCounters(h, st)
			got = append(got, st.ID)
		}
		opts.Before = page[len(page)-1].CreatedAt
	}
	if !slices.Equal(got, want) {
		h.t.Fatalf("ListBatches paged = %v, want newest first %v", got, want)
	}
}

// testBatchRerunAfterChildFinished: a job creates a child batch, adds to it,
// commits it and fails; the child succeeds meanwhile. The job's retry repeats
// the same create, adds and commit: each is a no-op that succeeds (else the
// job could never succeed again), and only an add of new jobs is refused.
func testBatchRerunAfterChildFinished(h *harness) {
	parent, _ := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	job := h.fetchOne(p, batchQueue)

	childSpec := h.batchSpec(parent, allEvents...)
	childSpec.ID = backend.DerivedJobID(job.ID, 1000)
	derived := func(from, n int) []*backend.Job {
		js := h.jobs(batchQueue, n)
		for i, j := range js {
			j.ID = backend.DerivedJobID(job.ID, from+i)
		}
		return js
	}
	run := func(what string) {
		h.t.Helper()
		if err := h.b.CreateBatch(h.ctx, childSpec); err != nil {
			h.t.Fatalf("%s: CreateBatch(child): %v", what, err)
		}
		for _, seq := range []int{0, 2} {
			add := &backend.BatchAdd{BatchID: childSpec.ID, AddedBy: job.ID, Seq: seq, Jobs: derived(seq, 2)}
			if err := h.b.AddToBatch(h.ctx, add); err != nil {
				h.t.Fatalf("%s: AddToBatch(child, seq %d): %v", what, seq, err)
			}
		}
		if err := h.b.CommitBatch(h.ctx, childSpec.ID); err != nil {
			h.t.Fatalf("%s: CommitBatch(child): %v", what, err)
		}
	}
	run("first run")
	retryAt := time.Now().Add(time.Minute)
	h.complete(p, retryResult(job, retryAt, defaultFailure()))

	// The child's four jobs succeed, then its callbacks.
	fs := h.fetchBatchJobs(p)
	if len(fs) != 4 {
		h.t.Fatalf("fetched %d child jobs, want 4", len(fs))
	}
	h.complete(p, succeededAll(fs)...)
	h.wantState(childSpec.ID, backend.BatchSucceeded)
	h.runCallbacks()

	// The retry repeats everything it did: no error, nothing added twice.
	h.moveDue(retryAt)
	job = h.fetchOne(p, batchQueue)
	run("re-run")
	h.wantCounters(childSpec.ID, counters{Total: 4, Succeeded: 4})
	h.wantState(childSpec.ID, backend.BatchSucceeded)
	if got := h.setIDs(backend.SetQueued, batchQueue); len(got) != 0 {
		h.t.Fatalf("the re-run's repeated adds queued %v, want nothing", got)
	}
	// New jobs are refused by the finished child, and nothing is recorded.
	err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: childSpec.ID, AddedBy: job.ID, Seq: 3, Jobs: derived(3, 2)})
	h.wantBatchErr(err, backend.ErrBatchFinished, "AddToBatch(finished child, seqs 3 and 4)")
	h.wantCounters(childSpec.ID, counters{Total: 4, Succeeded: 4})

	h.complete(p, succeeded(job))
	h.wantState(parent, backend.BatchSucceeded)
	h.runCallbacks()
	h.wantCallbacks(cb(childSpec.ID, backend.CallbackComplete), cb(childSpec.ID, backend.CallbackSuccess),
		cb(parent, backend.CallbackComplete), cb(parent, backend.CallbackSuccess))

	// Once the parent has finished too, re-creating the registered child and
	// re-committing it still succeed; a new child is refused.
	run("re-run after the parent finished")
	err = h.b.CreateBatch(h.ctx, h.batchSpec(parent, allEvents...))
	h.wantBatchErr(err, backend.ErrBatchFinished, "CreateBatch(new child of a finished parent)")
	h.wantState(parent, backend.BatchSucceeded)
	h.wantCounters(childSpec.ID, counters{Total: 4, Succeeded: 4})
}
