package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// childReleaseTests cover what releases a parent from a child: deleting the
// child ends every wait on it, and a child's settled counts once.
func childReleaseTests() []test {
	return []test{
		{name: "DeletedChildReleasesParent", run: testDeletedChildReleasesParent},
		{name: "RepeatedChildSettledCountsOnce", run: testRepeatedChildSettled},
	}
}

// testDeletedChildReleasesParent: a parent waits for a running child's
// complete, success and settled; once the child is deleted it waits no
// more, lists it no more, and fires what is then due.
func testDeletedChildReleasesParent(h *harness) {
	parent := h.settledBatch("", 1)
	child := h.settledBatch(parent, 1)
	p := h.proc("p1", batchQueue)
	for _, f := range h.fetchBatchJobs(p) {
		if f.BatchID == parent {
			h.complete(p, succeeded(f)) // the child's job stays running
		}
	}
	h.runCallbacks()
	h.wantState(parent, backend.BatchRunning)

	if err := h.b.DeleteBatch(h.ctx, child); err != nil {
		h.t.Fatalf("DeleteBatch(%s): %v", child, err)
	}
	h.runCallbacks()
	st := h.wantState(parent, backend.BatchSucceeded)
	if len(st.Children) != 0 {
		h.t.Fatalf("parent Children = %v after its child was deleted, want none", st.Children)
	}
	if st.CompleteAt.IsZero() || st.SettledAt.IsZero() || st.SuccessAt.IsZero() {
		h.t.Fatalf("parent did not complete, settle and succeed once its child was deleted: %s", fmtStatus(st))
	}
	h.wantCallbacks(cb(parent, backend.CallbackComplete), cb(parent, backend.CallbackSettled), cb(parent, backend.CallbackSuccess))
}

// testRepeatedChildSettled: a child's settled callback that succeeds twice
// releases its parent's settled from that child once: the parent still
// waits for its other child.
func testRepeatedChildSettled(h *harness) {
	parent := h.settledBatch("", 1)
	a := h.settledBatch(parent, 1)
	b := h.settledBatch(parent, 1)
	p := h.proc("p1", batchQueue)
	retryAt := time.Now().Add(time.Hour)
	var results []backend.Result
	for _, f := range h.fetchBatchJobs(p) {
		if f.BatchID == b {
			results = append(results, retryResult(f, retryAt, defaultFailure())) // b completes but does not settle
		} else {
			results = append(results, succeeded(f))
		}
	}
	h.complete(p, results...)
	var aSettled *backend.Fetched
	for range 3 { // a's callbacks, then the parent's complete they make due
		for _, f := range h.fetchCallbacks() {
			if f.CallbackOf == a && f.CallbackEvent == backend.CallbackSettled {
				aSettled = f
			}
			h.complete("callback-runner", succeeded(f))
		}
	}
	if aSettled == nil {
		h.t.Fatalf("child %s's settled callback was not fetched", a)
	}
	h.wantSummary(b, "complete, 1 retrying")
	h.wantState(parent, backend.BatchComplete)
	h.wantNotSettled(parent)

	// A repeated success of a's settled callback: b still holds the parent.
	h.completeStale("callback-runner", succeeded(aSettled))
	h.runCallbacks()
	h.wantNotSettled(parent)

	h.moveDue(retryAt)
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	for range 3 {
		h.runCallbacks()
	}
	if st := h.wantState(parent, backend.BatchSucceeded); st.SettledAt.IsZero() {
		h.t.Fatalf("parent did not settle once both children settled: %s", fmtStatus(st))
	}
}
