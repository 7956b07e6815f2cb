package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// settledTests cover the settled callback: it fires once, when a complete
// batch has nothing pending or retrying (backend.BatchGate.Due), and
// waits for every child's settled as complete and success wait for
// theirs.
func settledTests() []test {
	return []test{
		{name: "AfterLastRetryingJobDies", run: testSettledAfterDeath},
		{name: "AfterLastRetryingJobSucceeds", run: testSettledWithSuccess},
		{name: "CancelledAndDiscardedCountAsEnded", run: testSettledCancelledDiscarded},
		{name: "DuplicateCompletionFiresOnce", run: testSettledDuplicate},
		{name: "LastJobsRace", run: testSettledRace},
		{name: "ManualRetryUnsettlesNothing", run: testSettledManualRetry},
		{name: "EmptyBatch", run: testSettledEmpty},
		{name: "WaitsForChildren", run: testSettledWaitsForChild},
		{name: "ChildWithoutCallback", run: testSettledChildWithoutCallback},
	}
}

// settledEvents are the callbacks the settled tests configure.
var settledEvents = []backend.CallbackEvent{backend.CallbackComplete, backend.CallbackSettled, backend.CallbackSuccess, backend.CallbackDeath}

// settledBatch creates a committed batch of n jobs with settledEvents.
func (h *harness) settledBatch(parent string, n int) string {
	h.t.Helper()
	id := h.createBatch(parent, settledEvents...)
	h.addToBatch(id, n)
	h.commit(id)
	return id
}

// wantSummary fails unless batch id's Summary is want.
func (h *harness) wantSummary(id, want string) *backend.BatchStatus {
	h.t.Helper()
	st := h.status(id)
	if got := st.Summary(); got != want {
		h.t.Fatalf("batch %s summary = %q, want %q (status %s)", id, got, want, fmtStatus(st))
	}
	return st
}

// wantNotSettled fails if batch id has settled.
func (h *harness) wantNotSettled(id string) {
	h.t.Helper()
	if st := h.status(id); !st.SettledAt.IsZero() {
		h.t.Fatalf("batch %s settled at %v, too early (status %s)", id, st.SettledAt, fmtStatus(st))
	}
}

func testSettledAfterDeath(h *harness) {
	id := h.settledBatch("", 3)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, succeeded(fs[0]), retryResult(fs[1], retryAt, defaultFailure()), retryResult(fs[2], retryAt, defaultFailure()))
	// Complete fires while two jobs retry; settled does not.
	h.wantSummary(id, "complete, 2 retrying")
	h.wantNotSettled(id)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))

	// A second failure of a retrying job, then a death: one still retries.
	h.moveDue(retryAt)
	again := h.fetchBatchJobs(p)
	if len(again) != 2 {
		h.t.Fatalf("fetched %d retried jobs, want 2", len(again))
	}
	retryAt2 := retryAt.Add(time.Hour)
	h.complete(p, retryResult(again[0], retryAt2, defaultFailure()), deadResult(again[1], time.Now(), defaultFailure()))
	h.wantSummary(id, "complete, 1 retrying")
	h.wantNotSettled(id)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath))

	// The last retrying job dies: settled fires, success never does.
	h.moveDue(retryAt2)
	h.complete(p, deadResult(h.fetchOne(p, batchQueue), time.Now(), defaultFailure()))
	st := h.wantSummary(id, "complete, settled")
	if st.SettledAt.IsZero() || st.SettledAt.Before(st.CompleteAt) || !st.SuccessAt.IsZero() {
		h.t.Fatalf("times: complete %v settled %v success %v", st.CompleteAt, st.SettledAt, st.SuccessAt)
	}
	h.wantCounters(id, counters{Total: 3, Succeeded: 1, Dead: 2})
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSettled))
}

func testSettledWithSuccess(h *harness) {
	id := h.settledBatch("", 2)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, succeeded(fs[0]), retryResult(fs[1], retryAt, defaultFailure()))
	h.wantSummary(id, "complete, 1 retrying")
	h.moveDue(retryAt)
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	st := h.wantState(id, backend.BatchSucceeded)
	if st.SettledAt.IsZero() || st.SettledAt.After(st.SuccessAt) {
		h.t.Fatalf("settled %v, success %v: settled fires at the latest with success", st.SettledAt, st.SuccessAt)
	}
	if got := st.Summary(); got != "success" {
		h.t.Fatalf("summary %q, want success", got)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSettled), cb(id, backend.CallbackSuccess))
}

func testSettledCancelledDiscarded(h *harness) {
	id := h.settledBatch("", 3)
	p := h.proc("p1", batchQueue)
	fs := h.fetch(p, []string{batchQueue}, 2)
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, outcome(fs[0], backend.OutcomeDiscarded), retryResult(fs[1], retryAt, defaultFailure()))
	h.wantSummary(id, "running, 1 retrying")
	if err := h.b.CancelBatch(h.ctx, id); err != nil {
		h.t.Fatalf("CancelBatch: %v", err)
	}
	// The pending job is skipped when fetched: complete fires, the retrying
	// one still holds settled back.
	h.complete(p, outcome(h.fetchOne(p, batchQueue), backend.OutcomeCancelled))
	h.wantSummary(id, "cancelled, 1 retrying")
	h.wantNotSettled(id)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))

	h.moveDue(retryAt)
	h.complete(p, outcome(h.fetchOne(p, batchQueue), backend.OutcomeCancelled))
	h.wantCounters(id, counters{Total: 3, Discarded: 1, Cancelled: 2})
	h.wantSummary(id, "cancelled, settled")
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSettled))
}

func testSettledDuplicate(h *harness) {
	id := h.settledBatch("", 2)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, succeeded(fs[0]), retryResult(fs[1], retryAt, defaultFailure()))
	// A stale duplicate of the first success, and of the failure, change
	// nothing.
	h.completeStale(p, succeeded(fs[0]), retryResult(fs[1], retryAt, defaultFailure()))
	h.wantNotSettled(id)

	h.moveDue(retryAt)
	last := h.fetchOne(p, batchQueue)
	died := deadResult(last, time.Now(), defaultFailure())
	h.complete(p, died)
	first := h.status(id).SettledAt
	if first.IsZero() {
		h.t.Fatalf("not settled after the last retrying job died")
	}
	h.runCallbacks()
	// The same death acked again, and a stale retry of it: settled does not
	// fire again and keeps its time.
	h.completeStale(p, died)
	h.completeStale(p, retryResult(last, retryAt.Add(time.Hour), defaultFailure()))
	st := h.wantCounters(id, counters{Total: 2, Succeeded: 1, Dead: 1})
	if !st.SettledAt.Equal(first) {
		h.t.Fatalf("settled time moved from %v to %v on a duplicate", first, st.SettledAt)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSettled))
}

// testSettledRace acks the last two retrying jobs of a batch at once from
// two processes, with forwarders racing, many times over.
func testSettledRace(h *harness) {
	const rounds = 10
	var want []string
	for range rounds {
		id := h.settledBatch("", 2)
		p1, p2 := h.proc("p1", batchQueue), h.proc("p2", batchQueue)
		f1, f2 := h.fetchOne(p1, batchQueue), h.fetchOne(p2, batchQueue)
		retryAt := time.Now().Add(time.Hour)
		h.complete(p1, retryResult(f1, retryAt, defaultFailure()))
		h.complete(p2, retryResult(f2, retryAt, defaultFailure()))
		h.moveDue(retryAt)
		g1, g2 := h.fetchOne(p1, batchQueue), h.fetchOne(p2, batchQueue)
		h.parallel(4, func(i int) error {
			switch i {
			case 0:
				return h.b.Complete(h.ctx, p1, []backend.Result{deadResult(g1, time.Now(), defaultFailure())})
			case 1:
				return h.b.Complete(h.ctx, p2, []backend.Result{succeeded(g2)})
			default:
				_, err := h.b.ForwardCallbacks(h.ctx, time.Now())
				return err
			}
		})
		h.wantCounters(id, counters{Total: 2, Succeeded: 1, Dead: 1})
		want = append(want, cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSettled))
	}
	h.fetchCallbacks()
	h.wantCallbacks(want...)
}

func testSettledManualRetry(h *harness) {
	id := h.settledBatch("", 2)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	h.complete(p, succeeded(fs[0]), deadResult(fs[1], time.Now(), defaultFailure()))
	settledAt := h.wantSummary(id, "complete, settled").SettledAt
	h.runCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSettled))

	// The dead job, retried by hand, fails again: the batch says so, and
	// nothing already fired is undone or fired again.
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: batchQueue, IDs: []string{fs[1].ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
	}
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, retryResult(h.fetchOne(p, batchQueue), retryAt, defaultFailure()))
	st := h.wantSummary(id, "complete, 1 retrying")
	if !st.SettledAt.Equal(settledAt) {
		h.t.Fatalf("settled time moved from %v to %v", settledAt, st.SettledAt)
	}
	h.moveDue(retryAt)
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	h.wantState(id, backend.BatchSucceeded)
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSettled),
		cb(id, backend.CallbackSuccess))
}

func testSettledEmpty(h *harness) {
	id := h.settledBatch("", 0)
	st := h.wantState(id, backend.BatchSucceeded)
	if st.SettledAt.IsZero() {
		h.t.Fatalf("an empty batch did not settle")
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSettled), cb(id, backend.CallbackSuccess))
}

// testSettledWaitsForChild: a child is one member of its parent, so the
// parent settles when its own jobs have and the child's settled callback
// has succeeded, as its complete waits for the child's complete callback.
func testSettledWaitsForChild(h *harness) {
	parent := h.settledBatch("", 1)
	child := h.createBatch(parent, settledEvents...)
	h.addToBatch(child, 1)
	h.commit(child)

	p := h.proc("p1", batchQueue)
	parentJob, childJob := h.fetchParentAndChild(p, parent, child)
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, succeeded(parentJob), retryResult(childJob, retryAt, defaultFailure()))
	h.runCallbacks() // the child's complete callback succeeds: the parent completes
	h.wantState(parent, backend.BatchComplete)
	h.wantSummary(parent, "complete, waiting for child batches")
	h.wantSummary(child, "complete, 1 retrying")
	h.runCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(parent, backend.CallbackComplete))

	h.moveDue(retryAt)
	h.complete(p, deadResult(h.fetchOne(p, batchQueue), time.Now(), defaultFailure()))
	h.wantSummary(child, "complete, settled")
	cbs := h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(parent, backend.CallbackComplete),
		cb(child, backend.CallbackDeath), cb(parent, backend.CallbackDeath), cb(child, backend.CallbackSettled))
	h.wantNotSettled(parent) // until the child's settled callback succeeded
	childSettled := callbackOf(cbs, child, backend.CallbackSettled)
	if childSettled == nil {
		h.t.Fatalf("the child's settled callback was not fetched")
	}
	var others []backend.Result
	for _, f := range cbs {
		if f != childSettled {
			others = append(others, succeeded(f))
		}
	}
	h.complete("callback-runner", others...)
	h.wantNotSettled(parent)
	h.complete("callback-runner", succeeded(childSettled))
	h.wantSummary(parent, "complete, settled")
	// A repeated success of the child's settled callback fires nothing more.
	h.completeStale("callback-runner", succeeded(childSettled))
	h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(parent, backend.CallbackComplete),
		cb(child, backend.CallbackDeath), cb(parent, backend.CallbackDeath), cb(child, backend.CallbackSettled),
		cb(parent, backend.CallbackSettled))
}

// testSettledChildWithoutCallback: a child with no settled callback tells
// its parent as it settles.
func testSettledChildWithoutCallback(h *harness) {
	parent := h.settledBatch("", 1)
	child := h.createBatch(parent)
	h.addToBatch(child, 1)
	h.commit(child)
	p := h.proc("p1", batchQueue)
	var results []backend.Result
	for _, f := range h.fetchBatchJobs(p) {
		if f.BatchID == child {
			results = append(results, outcome(f, backend.OutcomeDiscarded))
		} else {
			results = append(results, succeeded(f))
		}
	}
	h.complete(p, results...)
	h.wantCounters(child, counters{Total: 1, Discarded: 1})
	h.fetchCallbacks() // forwards the child's outbox, which tells the parent
	h.wantSummary(parent, "complete, settled")
	h.wantCallbacks(cb(parent, backend.CallbackComplete), cb(parent, backend.CallbackSettled))
}
