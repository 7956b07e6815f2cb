package backendtest

import (
	"github.com/joblot/joblot/backend"
)

// childReleaseTests cover what releases a parent from a child: deleting the
// child ends every wait on it.
func childReleaseTests() []test {
	return []test{
		{name: "DeletedChildReleasesParent", run: testDeletedChildReleasesParent},
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
