package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// childTests cover child batches (docs/batch-states.md): a child is one member of its
// parent; the parent's complete waits for each child's complete callback to
// succeed, its success for each child's success callback; a death in a child
// fires the parent's death once.
func childTests() []test {
	return []test{
		{name: "Registered", run: testChildRegistered},
		{name: "ParentWaitsForChildCallbacks", run: testParentWaitsForChild},
		{name: "ChildDeathFiresParentDeathOnce", run: testChildDeath},
	}
}

func testChildRegistered(h *harness) {
	parent := h.createBatch("", allEvents...)
	spec := h.batchSpec(parent, allEvents...)
	h.create(spec)
	h.create(spec) // idempotent: registered once
	st := h.status(parent)
	if !slices.Equal(st.Children, []string{spec.ID}) {
		h.t.Fatalf("parent Children = %v, want [%s]", st.Children, spec.ID)
	}
	if got := h.status(spec.ID).ParentID; got != parent {
		h.t.Fatalf("child ParentID = %q, want %q", got, parent)
	}
}

// callbackOf returns the fetched callback of batch id for ev, or nil.
func callbackOf(fs []*backend.Fetched, id string, ev backend.CallbackEvent) *backend.Fetched {
	for _, f := range fs {
		if f.ID == cb(id, ev) {
			return f
		}
	}
	return nil
}

func testParentWaitsForChild(h *harness) {
	parent := h.createBatch("", allEvents...)
	h.addToBatch(parent, 1)
	h.commit(parent)
	// A job of the parent opens a child batch while the parent runs.
	child := h.createBatch(parent, allEvents...)
	h.addToBatch(child, 1)
	h.commit(child)

	p := h.proc("p1", batchQueue)
	parentJob, childJob := h.fetchParentAndChild(p, parent, child)
	h.complete(p, succeeded(parentJob))
	h.wantState(parent, backend.BatchRunning) // the child is still running
	h.complete(p, succeeded(childJob))
	h.wantState(child, backend.BatchSucceeded)

	cbs := h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(child, backend.CallbackSuccess))
	st := h.status(parent)
	if !st.CompleteAt.IsZero() || !st.SuccessAt.IsZero() {
		h.t.Fatalf("parent completed before its child's callbacks succeeded: %s", fmtStatus(st))
	}

	// The child's complete callback fails once: the parent keeps waiting.
	childComplete := callbackOf(cbs, child, backend.CallbackComplete)
	childSuccess := callbackOf(cbs, child, backend.CallbackSuccess)
	retryAt := time.Now().Add(time.Minute)
	h.complete("callback-runner", retryResult(childComplete, retryAt, defaultFailure()))
	h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(child, backend.CallbackSuccess))

	h.moveDue(retryAt)
	retried := h.fetch("callback-runner", []string{cbQueue}, 10)
	if len(retried) != 1 || retried[0].ID != childComplete.ID {
		h.t.Fatalf("fetched %v from the callback queue, want the retried complete callback", fetchedIDs(retried))
	}
	h.complete("callback-runner", succeeded(retried[0]))
	h.wantState(parent, backend.BatchComplete)
	h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(child, backend.CallbackSuccess), cb(parent, backend.CallbackComplete))

	h.complete("callback-runner", succeeded(childSuccess))
	h.wantState(parent, backend.BatchSucceeded)
	h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackComplete), cb(child, backend.CallbackSuccess),
		cb(parent, backend.CallbackComplete), cb(parent, backend.CallbackSuccess))
}

func testChildDeath(h *harness) {
	parent := h.createBatch("", allEvents...)
	h.addToBatch(parent, 1)
	child := h.createBatch(parent, allEvents...)
	h.addToBatch(child, 3)
	h.commit(child)
	h.commit(parent)

	now := time.Now()
	p := h.proc("p1", batchQueue)
	var childJobs []*backend.Fetched
	var parentJob *backend.Fetched
	for _, f := range h.fetchBatchJobs(p) {
		if f.BatchID == child {
			childJobs = append(childJobs, f)
		} else {
			parentJob = f
		}
	}
	h.complete(p, deadResult(childJobs[0], now, defaultFailure()))
	h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackDeath), cb(parent, backend.CallbackDeath))
	if h.status(parent).DeathAt.IsZero() {
		h.t.Fatalf("parent DeathAt not set after a child's job died")
	}

	// More deaths, in the child and in the parent, fire nothing more.
	h.complete(p, deadResult(childJobs[1], now, defaultFailure()), deadResult(parentJob, now, defaultFailure()))
	h.fetchCallbacks()
	h.wantCallbacks(cb(child, backend.CallbackDeath), cb(parent, backend.CallbackDeath))

	h.complete(p, succeeded(childJobs[2]))
	h.runCallbacks() // the child's complete callback runs and succeeds
	h.runCallbacks() // the parent's complete, now due
	h.wantCallbacks(cb(child, backend.CallbackDeath), cb(parent, backend.CallbackDeath),
		cb(child, backend.CallbackComplete), cb(parent, backend.CallbackComplete))
	h.wantState(parent, backend.BatchComplete)
}
