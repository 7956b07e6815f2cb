package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// queueAdminTests cover pausing, resuming and clearing a queue.
func queueAdminTests() []test {
	return []test{
		{name: "PausedQueueIsSkipped", run: testPauseQueue},
		{name: "ClearRemovesOnlyQueuedJobs", run: testClearQueue},
		{name: "ClearCountsBatchJobsRemoved", run: testClearBatchJobs},
	}
}

func testPauseQueue(h *harness) {
	queued := h.jobs("paused", 3)
	h.enqueue(queued...)
	h.enqueue(h.jobs("open", 2)...)
	if _, err := h.b.PauseQueue(h.ctx, backend.PauseQueueParams{Queue: "paused", Paused: true}); err != nil {
		h.t.Fatalf("PauseQueue: %v", err)
	}
	p := h.proc("p1", "paused", "open")
	fs := h.fetch(p, []string{"paused", "open"}, 10)
	for _, f := range fs {
		if f.Queue == "paused" {
			h.t.Fatalf("fetched job %s from a paused queue", f.ID)
		}
	}
	if qs := h.queueStats("paused"); !qs.Paused || qs.Size != 3 {
		h.t.Fatalf("paused queue stats: paused %v size %d; want true, 3", qs.Paused, qs.Size)
	}
	h.fetch(p, []string{"paused"}, 10) // polling a paused queue changes nothing
	later := h.job("paused")
	h.enqueue(later) // enqueue goes on while paused
	if _, err := h.b.PauseQueue(h.ctx, backend.PauseQueueParams{Queue: "paused", Paused: false}); err != nil {
		h.t.Fatalf("resume: %v", err)
	}
	got := h.fetchAll(p, []string{"paused"}, 10)
	if len(got) != 4 {
		h.t.Fatalf("fetched %d jobs after resume, want 4", len(got))
	}
	// In their order: the fetches while paused left the queue as it was.
	for i, want := range append(queued, later) {
		if got[i].ID != want.ID {
			h.t.Fatalf("job %d after resume is %s, want %s (order kept while paused)", i, got[i].ID, want.ID)
		}
	}
	if qs := h.queueStats("paused"); qs.Paused {
		h.t.Fatal("queue still reported paused after resume")
	}
}

func testClearQueue(h *harness) {
	dead := h.kill("default", 1, time.Now(), nil)
	h.enqueue(h.jobs("default", 1203)...) // more than one chunk
	h.enqueue(h.jobs("other", 2)...)
	p := h.proc("p1", "default")
	inFlight := h.fetchOne(p, "default")

	n, err := h.b.ClearQueue(h.ctx, "default")
	if err != nil || n != 1202 {
		h.t.Fatalf("ClearQueue = %d, %v; want 1202 (1203 queued minus the one in flight)", n, err)
	}
	if qs := h.queueStats("default"); qs.Size != 0 || qs.Dead != 1 {
		h.t.Fatalf("after clear: size %d dead %d; want 0 and 1", qs.Size, qs.Dead)
	}
	h.wantSet(backend.SetDead, "default", dead[0].ID)
	if qs := h.queueStats("other"); qs.Size != 2 {
		h.t.Fatalf("other queue size %d after clearing default, want 2", qs.Size)
	}
	h.complete(p, backend.Result{Fetched: inFlight, Outcome: backend.OutcomeSucceeded})
	if n, err := h.b.ClearQueue(h.ctx, "default"); err != nil || n != 0 {
		h.t.Fatalf("second ClearQueue = %d, %v; want 0", n, err)
	}
}

func testClearBatchJobs(h *harness) {
	id, _ := h.committedBatch(5)
	n, err := h.b.ClearQueue(h.ctx, batchQueue)
	if err != nil || n != 5 {
		h.t.Fatalf("ClearQueue = %d, %v; want 5", n, err)
	}
	h.wantCounters(id, counters{Total: 5, Removed: 5})
	h.runCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))
}
