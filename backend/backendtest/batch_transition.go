package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// This file checks every cell of the batch state/event table (docs/batch-states.md,
// backend.Transition) as its own test, through what a user can observe: the
// batch's counters, the retry and dead sets, and the callbacks fired.
//
// A job reaches state S or X and is then delivered again the way it happens
// in production: a process takes it and is declared dead, the recoverer puts
// it back, the dead process's late ack moves the batch (its queue-side write
// is skipped, it no longer holds the job), and a live process runs the copy.

// fromState is where a row starts.
type fromState string

const (
	fromP       fromState = "P"
	fromF       fromState = "F"
	fromS       fromState = "S"
	fromX       fromState = "X"
	fromXManual fromState = "XManual" // X, then retried by hand from the dead set
)

// transitionRow is one cell of the table and what it must leave behind.
type transitionRow struct {
	from fromState
	ev   backend.BatchEvent
	want counters
	// inRetry and inDead say whether the job ends in the retry or dead set.
	inRetry, inDead bool
	// death says whether the batch's death callback fired (once).
	death bool
}

var eventNames = map[backend.BatchEvent]string{
	backend.EventFailed:    "Failed",
	backend.EventSucceeded: "Succeeded",
	backend.EventDied:      "Died",
	backend.EventDiscarded: "Discarded",
	backend.EventCancelled: "Cancelled",
	backend.EventRemoved:   "Removed",
}

func transitionRows() []transitionRow {
	one := func(c counters) counters { c.Total = 1; return c }
	succ := one(counters{Succeeded: 1})
	dead := one(counters{Dead: 1})
	return []transitionRow{
		{from: fromP, ev: backend.EventFailed, want: one(counters{Failing: 1}), inRetry: true},
		{from: fromP, ev: backend.EventSucceeded, want: succ},
		{from: fromP, ev: backend.EventDied, want: dead, inDead: true, death: true},
		{from: fromP, ev: backend.EventDiscarded, want: one(counters{Discarded: 1})},
		{from: fromP, ev: backend.EventCancelled, want: one(counters{Cancelled: 1})},
		{from: fromP, ev: backend.EventRemoved, want: one(counters{Removed: 1})},

		{from: fromF, ev: backend.EventFailed, want: one(counters{Failing: 1}), inRetry: true},
		{from: fromF, ev: backend.EventSucceeded, want: succ},
		{from: fromF, ev: backend.EventDied, want: dead, inDead: true, death: true},
		{from: fromF, ev: backend.EventDiscarded, want: one(counters{Discarded: 1})},
		{from: fromF, ev: backend.EventCancelled, want: one(counters{Cancelled: 1})},
		{from: fromF, ev: backend.EventRemoved, want: one(counters{Removed: 1})},

		// From S everything is stale: no retry, no dead entry, no count.
		{from: fromS, ev: backend.EventFailed, want: succ},
		{from: fromS, ev: backend.EventSucceeded, want: succ},
		{from: fromS, ev: backend.EventDied, want: succ},
		{from: fromS, ev: backend.EventDiscarded, want: succ},
		{from: fromS, ev: backend.EventCancelled, want: succ},
		{from: fromS, ev: backend.EventRemoved, want: succ},

		// From X (not a manual retry) everything is stale too.
		{from: fromX, ev: backend.EventFailed, want: dead, death: true},
		{from: fromX, ev: backend.EventSucceeded, want: dead, death: true},
		{from: fromX, ev: backend.EventDied, want: dead, death: true},
		{from: fromX, ev: backend.EventDiscarded, want: dead, death: true},
		{from: fromX, ev: backend.EventCancelled, want: dead, death: true},
		{from: fromX, ev: backend.EventRemoved, want: dead, death: true},

		// A manual retry of a dead job moves it out of X.
		{from: fromXManual, ev: backend.EventFailed, want: one(counters{Failing: 1}), inRetry: true, death: true},
		{from: fromXManual, ev: backend.EventSucceeded, want: succ, death: true},
		{from: fromXManual, ev: backend.EventDied, want: dead, inDead: true, death: true},
	}
}

func transitionTests() []test {
	var tests []test
	for _, r := range transitionRows() {
		tests = append(tests, test{name: string(r.from) + "_" + eventNames[r.ev], run: func(h *harness) { runTransition(h, r) }})
	}
	return tests
}

var (
	firstFailure  = failure{class: "*app.Err", message: "first failure", fingerprint: "fp-first"}
	secondFailure = failure{class: "*app.Err", message: "second failure", fingerprint: "fp-second"}
)

func runTransition(h *harness, r transitionRow) {
	id, js := h.committedBatch(1)
	j := js[0]
	now := time.Now()
	deliver := r.ev != backend.EventRemoved
	removeFrom := backend.SetQueued
	var (
		proc string
		f    *backend.Fetched
	)

	// Bring the job to r.from; f is the copy the event applies to.
	switch r.from {
	case fromP:
		proc = h.proc("live", batchQueue)
		if deliver {
			f = h.fetchOne(proc, batchQueue)
		}
	case fromF:
		proc = h.proc("live", batchQueue)
		first := h.fetchOne(proc, batchQueue)
		h.complete(proc, retryResult(first, now.Add(time.Minute), firstFailure))
		h.wantCounters(id, counters{Total: 1, Failing: 1})
		if deliver {
			h.moveDue(now.Add(time.Hour))
			f = h.fetchOne(proc, batchQueue)
		} else {
			removeFrom = backend.SetRetry
		}
	case fromS, fromX:
		stale := h.doomedProc("doomed", batchQueue)
		sf := h.fetchOne(stale, batchQueue)
		if n := h.recoverOrphans(afterDoomed()); n != 1 {
			h.t.Fatalf("RecoverOrphans = %d, want 1", n)
		}
		if r.from == fromS {
			h.completeStale(stale, succeeded(sf))
			h.wantCounters(id, counters{Total: 1, Succeeded: 1})
		} else {
			h.completeStale(stale, deadResult(sf, now, firstFailure))
			h.wantCounters(id, counters{Total: 1, Dead: 1})
		}
		proc = h.proc("live", batchQueue)
		if deliver {
			f = h.fetchOne(proc, batchQueue)
		}
	case fromXManual:
		proc = h.proc("live", batchQueue)
		first := h.fetchOne(proc, batchQueue)
		h.complete(proc, deadResult(first, now, firstFailure))
		h.wantCounters(id, counters{Total: 1, Dead: 1})
		if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: batchQueue, IDs: []string{j.ID}}); err != nil || res.Retried != 1 {
			h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
		}
		f = h.fetchOne(proc, batchQueue)
		if !f.ManualRetry {
			h.t.Fatalf("job retried from the dead set is not marked ManualRetry")
		}
	}

	// Apply the event.
	switch r.ev {
	case backend.EventFailed:
		h.complete(proc, retryResult(f, now.Add(time.Hour), secondFailure))
	case backend.EventSucceeded:
		h.complete(proc, succeeded(f))
	case backend.EventDied:
		h.complete(proc, deadResult(f, now.Add(time.Second), secondFailure))
	case backend.EventDiscarded:
		h.complete(proc, outcome(f, backend.OutcomeDiscarded))
	case backend.EventCancelled:
		h.complete(proc, outcome(f, backend.OutcomeCancelled))
	case backend.EventRemoved:
		if res, err := h.b.DeleteJobs(h.ctx, backend.DeleteJobsParams{Set: removeFrom, Queue: batchQueue, IDs: []string{j.ID}}); err != nil || res.Deleted != 1 {
			h.t.Fatalf("DeleteJobs(%s) = %d, %v; want 1", removeFrom, res.Deleted, err)
		}
	}

	// What it left behind.
	h.wantCounters(id, r.want)
	h.wantSet(backend.SetQueued, batchQueue)
	if qs := h.queueStats(batchQueue); qs.InFlight != 0 {
		h.t.Fatalf("InFlight = %d after the event", qs.InFlight)
	}
	if r.inRetry {
		got := h.findJob(backend.SetRetry, batchQueue, j.ID)
		if got == nil || got.ErrorMessage != secondFailure.message {
			h.t.Fatalf("retry set entry = %+v, want the job with the second failure", got)
		}
		h.wantSet(backend.SetRetry, batchQueue, j.ID)
	} else {
		h.wantSet(backend.SetRetry, batchQueue)
	}
	if r.inDead {
		got := h.findJob(backend.SetDead, batchQueue, j.ID)
		if got == nil || got.ErrorMessage != secondFailure.message {
			h.t.Fatalf("dead set entry = %+v, want the job with the second failure", got)
		}
		h.wantSet(backend.SetDead, batchQueue, j.ID)
	} else {
		h.wantSet(backend.SetDead, batchQueue)
	}

	// Pending is 0 in every row: complete fired once; success iff the job
	// succeeded; death iff it ever died.
	want := []string{cb(id, backend.CallbackComplete)}
	if r.want.Succeeded == 1 {
		want = append(want, cb(id, backend.CallbackSuccess))
	}
	if r.death {
		want = append(want, cb(id, backend.CallbackDeath))
	}
	h.fetchCallbacks()
	h.wantCallbacks(want...)
}
