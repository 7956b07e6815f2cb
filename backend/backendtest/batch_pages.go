package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// pageTests cover a batch spanning several pages of job states
// (backend.BatchPageSize): a page whose jobs have all settled is dropped
// and reads as final, so stale duplicates of its jobs change nothing; a
// page with a retrying or dead job is kept. Whether a page was dropped is
// storage detail, checked by each backend's own tests; here the counters
// and callbacks must stay exact throughout.
func pageTests() []test {
	return []test{
		{name: "StaleDuplicatesInDroppedPage", run: testPagesStaleDuplicates},
		{name: "DeadJobKeepsItsPage", run: testPagesDeadJobKept},
	}
}

// pagedBatchSize spans two full pages and a partial third.
const pagedBatchSize = 2*backend.BatchPageSize + 10

// A batch of three pages: page 0 settles at once, page 1 keeps one
// retrying job, page 2 is partial. Late acks of a declared-dead process
// for jobs of page 0 (failed, died, succeeded) arrive after page 0 settled:
// nothing moves, no death fires. The retrying job then succeeds, and a
// stale copy of its failure changes nothing either.
func testPagesStaleDuplicates(h *harness) {
	id, _ := h.committedBatch(pagedBatchSize)
	now := time.Now()
	doomed := h.doomedProc("doomed", batchQueue)
	stale := h.fetch(doomed, []string{batchQueue}, 3)
	if len(stale) != 3 {
		h.t.Fatalf("doomed process fetched %d jobs, want 3", len(stale))
	}
	for _, f := range stale {
		if p, _ := backend.BatchPageOf(f.Job.BatchIndex); p != 0 {
			h.t.Fatalf("first jobs fetched are not of page 0: index %d", f.Job.BatchIndex)
		}
	}
	if n := h.recoverOrphans(afterDoomed()); n != 3 {
		h.t.Fatalf("RecoverOrphans = %d, want 3", n)
	}

	live := h.proc("live", batchQueue)
	fs := h.fetchAll(live, []string{batchQueue}, 500)
	if len(fs) != pagedBatchSize {
		h.t.Fatalf("fetched %d batch jobs, want %d", len(fs), pagedBatchSize)
	}
	keep := int64(backend.BatchPageSize + 5) // in page 1
	var retrying *backend.Fetched
	results := make([]backend.Result, 0, len(fs))
	for _, f := range fs {
		if f.Job.BatchIndex == keep {
			retrying = f
			results = append(results, retryResult(f, now.Add(time.Minute), firstFailure))
			continue
		}
		results = append(results, succeeded(f))
	}
	if retrying == nil {
		h.t.Fatalf("no job with index %d fetched", keep)
	}
	h.complete(live, results...)
	want := counters{Total: pagedBatchSize, Succeeded: pagedBatchSize - 1, Failing: 1}
	h.wantCounters(id, want)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))

	// Stale duplicates of page 0's jobs, page 0 now settled.
	h.completeStale(doomed,
		retryResult(stale[0], now.Add(time.Minute), secondFailure),
		deadResult(stale[1], now, secondFailure),
		succeeded(stale[2]))
	h.completeStale(doomed, outcome(stale[0], backend.OutcomeDiscarded), outcome(stale[1], backend.OutcomeCancelled))
	h.wantCounters(id, want)
	h.wantSet(backend.SetDead, batchQueue)
	h.wantSet(backend.SetRetry, batchQueue, retrying.ID)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))

	// The retrying job succeeds: page 1 settles too.
	h.moveDue(now.Add(time.Hour))
	again := h.fetchOne(live, batchQueue)
	if again.Job.BatchIndex != keep {
		h.t.Fatalf("fetched index %d, want the retrying job %d", again.Job.BatchIndex, keep)
	}
	h.complete(live, succeeded(again))
	want = counters{Total: pagedBatchSize, Succeeded: pagedBatchSize}
	h.wantCounters(id, want)
	// A stale copy of its first failure, and of its success.
	h.completeStale(live, retryResult(retrying, now.Add(time.Minute), secondFailure), succeeded(again))
	h.wantCounters(id, want)
	h.wantSet(backend.SetRetry, batchQueue)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

// A page with a dead job is kept, so that a retry of that job by hand
// still counts once (dead −1, succeeded +1), and its duplicate not again.
func testPagesDeadJobKept(h *harness) {
	id, _ := h.committedBatch(pagedBatchSize)
	now := time.Now()
	live := h.proc("live", batchQueue)
	fs := h.fetchAll(live, []string{batchQueue}, 500)
	var dead *backend.Fetched
	results := make([]backend.Result, 0, len(fs))
	for _, f := range fs {
		if f.Job.BatchIndex == 7 { // in page 0, whose other jobs all settle
			dead = f
			results = append(results, deadResult(f, now, firstFailure))
			continue
		}
		results = append(results, succeeded(f))
	}
	h.complete(live, results...)
	h.wantCounters(id, counters{Total: pagedBatchSize, Succeeded: pagedBatchSize - 1, Dead: 1})
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: batchQueue, IDs: []string{dead.ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
	}
	f := h.fetchOne(live, batchQueue)
	if !f.ManualRetry || f.ID != dead.ID {
		h.t.Fatalf("fetched %s (manual %v), want the dead job retried by hand", f.ID, f.ManualRetry)
	}
	h.complete(live, succeeded(f))
	want := counters{Total: pagedBatchSize, Succeeded: pagedBatchSize}
	h.wantCounters(id, want)
	h.completeStale(live, succeeded(f))
	h.wantCounters(id, want)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSuccess))
}
