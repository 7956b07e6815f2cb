package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// adminTests cover the operator's actions: RetryJobs and DeleteJobs.
func adminTests() []test {
	return []test{
		{name: "RetryFromDeadMarksManual", run: testRetryFromDead},
		{name: "RetryFromRetryAndScheduled", run: testRetryFromRetry},
		{name: "RetryUnknownIDs", run: testRetryUnknown},
		{name: "DeleteFromEachSet", run: testDeleteJobs},
	}
}

func testRetryFromDead(h *harness) {
	js := h.kill("default", 3, time.Now().Add(-time.Minute), nil)
	res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "default", IDs: []string{js[0].ID, js[2].ID}})
	n := res.Retried
	if err != nil || n != 2 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v; want 2", n, err)
	}
	h.wantSet(backend.SetDead, "default", js[1].ID)
	p := h.proc("p1", "default")
	fs := h.fetchAll(p, []string{"default"}, 10)
	if !sameSet(fetchedIDs(fs), []string{js[0].ID, js[2].ID}) {
		h.t.Fatalf("fetched %v after RetryJobs, want the two retried jobs", fetchedIDs(fs))
	}
	for _, f := range fs {
		if !f.ManualRetry {
			h.t.Fatalf("job %s retried from the dead set lacks ManualRetry", f.ID)
		}
		if f.ErrorMessage == "" {
			h.t.Fatalf("job %s retried from the dead set lost its error", f.ID)
		}
	}
	if qs := h.queueStats("default"); qs.Dead != 1 {
		h.t.Fatalf("queue stats Dead = %d, want 1", qs.Dead)
	}
}

func testRetryFromRetry(h *harness) {
	now := time.Now()
	h.enqueue(h.job("default"))
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	h.complete(p, retryResult(f, now.Add(24*time.Hour), defaultFailure()))
	sched := h.job("default")
	sched.RunAt = now.Add(24 * time.Hour)
	h.enqueue(sched)

	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetRetry, Queue: "default", IDs: []string{f.ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(retry) = %d, %v; want 1", res.Retried, err)
	}
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetScheduled, Queue: "default", IDs: []string{sched.ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(scheduled) = %d, %v; want 1", res.Retried, err)
	}
	h.wantSet(backend.SetRetry, "default")
	h.wantSet(backend.SetScheduled, "default")
	fs := h.fetchAll(p, []string{"default"}, 10)
	if !sameSet(fetchedIDs(fs), []string{f.ID, sched.ID}) {
		h.t.Fatalf("fetched %v, want both jobs now", fetchedIDs(fs))
	}
	for _, g := range fs {
		if g.ManualRetry {
			h.t.Fatalf("job %s from the retry/scheduled set marked ManualRetry", g.ID)
		}
		if g.ID == f.ID && g.Attempt != 1 {
			h.t.Fatalf("retried job Attempt = %d, want 1 (kept)", g.Attempt)
		}
	}
}

func testRetryUnknown(h *harness) {
	js := h.kill("default", 1, time.Now(), nil)
	res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "default", IDs: []string{"no-such-job", js[0].ID}})
	n := res.Retried
	if err != nil || n != 1 {
		h.t.Fatalf("RetryJobs with one unknown id = %d, %v; want 1", n, err)
	}
	res, err = h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "default", IDs: []string{js[0].ID}})
	n = res.Retried
	if err != nil || n != 0 {
		h.t.Fatalf("RetryJobs of a job no longer dead = %d, %v; want 0", n, err)
	}
	if got := len(h.setIDs(backend.SetQueued, "default")); got != 1 {
		h.t.Fatalf("%d jobs queued, want 1", got)
	}
}

func testDeleteJobs(h *harness) {
	now := time.Now()
	queued := h.jobs("default", 3)
	h.enqueue(queued...)
	sched := h.job("default")
	sched.RunAt = now.Add(time.Hour)
	h.enqueue(sched)
	dead := h.kill("other", 2, now, nil)
	h.enqueue(h.job("r"))
	p := h.proc("p1", "r")
	f := h.fetchOne(p, "r")
	h.complete(p, retryResult(f, now.Add(time.Hour), defaultFailure()))

	del := func(set backend.JobSet, queue string, ids []string, want int) {
		h.t.Helper()
		res, err := h.b.DeleteJobs(h.ctx, backend.DeleteJobsParams{Set: set, Queue: queue, IDs: ids})
		n := res.Deleted
		if err != nil || n != want {
			h.t.Fatalf("DeleteJobs(%s, %s, %v) = %d, %v; want %d", set, queue, ids, n, err, want)
		}
	}
	del(backend.SetQueued, "default", []string{queued[1].ID, "nope"}, 1)
	del(backend.SetScheduled, "default", []string{sched.ID}, 1)
	del(backend.SetDead, "other", []string{dead[0].ID}, 1)
	del(backend.SetRetry, "r", []string{f.ID}, 1)
	del(backend.SetRetry, "r", []string{f.ID}, 0)

	h.wantSet(backend.SetQueued, "default", queued[0].ID, queued[2].ID)
	h.wantSet(backend.SetScheduled, "default")
	h.wantSet(backend.SetDead, "other", dead[1].ID)
	h.wantSet(backend.SetRetry, "r")
	if n := h.moveDue(now.Add(48 * time.Hour)); n != 0 {
		h.t.Fatalf("MoveDue moved %d deleted jobs", n)
	}
}
