package backendtest

import (
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// verifyTests cover VerifyBatch on a healthy batch (every backend, through
// its interface only); RunBatchVerify adds the rows that damage a batch in
// the backend's own storage.
func verifyTests() []test {
	return []test{
		{name: "HealthyBatchVerifiesClean", run: testVerifyHealthy},
		{name: "UnknownBatch", run: testVerifyUnknown},
	}
}

// Corrupter damages what a backend stores, as a fault that keeps one write
// and loses another can (on Redis Cluster a batch's state and its jobs are
// written to different masters). Each backend's own test implements it on
// its storage, touching nothing else.
type Corrupter interface {
	// AddCounter adds delta to counter c of batch id.
	AddCounter(t *testing.T, b backend.Backend, id string, c backend.Counter, delta int64)
	// SetState overwrites the 2-bit state of job idx of batch id.
	SetState(t *testing.T, b backend.Backend, id string, idx int64, s backend.JobState)
	// DropQueued deletes job id from queue's queued jobs (a lost enqueue).
	DropQueued(t *testing.T, b backend.Backend, queue, id string)
}

// RunBatchVerify runs the verify rows that need a damaged batch: each
// damage is detected, repaired, then the batch verifies clean and its
// callbacks fire once each.
func RunBatchVerify(t *testing.T, newBackend NewBackendFunc, c Corrupter) {
	rows := []struct {
		name string
		run  func(h *harness, c Corrupter)
	}{
		{"CounterDrift", testVerifyCounterDrift},
		{"LostJob", testVerifyLostJob},
		{"DeathUnrecorded", testVerifyDeathUnrecorded},
		{"RetryUnrecorded", testVerifyRetryUnrecorded},
		{"StaleDeadEntry", testVerifyStaleDead},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			r.run(newHarness(t, newBackend(t, Options{})), c)
		})
	}
}

// verify runs VerifyBatch and fails on error.
func (h *harness) verify(id string, repair bool) backend.VerifyBatchResult {
	h.t.Helper()
	res, err := h.b.VerifyBatch(h.ctx, backend.VerifyBatchParams{ID: id, Repair: repair})
	if err != nil {
		h.t.Fatalf("VerifyBatch(%s, repair %v): %v", id, repair, err)
	}
	return res
}

// wantClean fails unless batch id verifies without a problem.
func (h *harness) wantClean(id string) backend.VerifyBatchResult {
	h.t.Helper()
	res := h.verify(id, false)
	if !res.Clean() || len(res.Problems) != 0 {
		h.t.Fatalf("VerifyBatch(%s) found %d problems, want none: %+v", id, res.ProblemCount, res.Problems)
	}
	for k, v := range res.Counters {
		if res.Want[k] != v {
			h.t.Fatalf("clean batch: counter %s = %d, want %d", k, v, res.Want[k])
		}
	}
	return res
}

// wantProblems fails unless res lists exactly the problem kinds want (in
// order, counters first).
func (h *harness) wantProblems(res backend.VerifyBatchResult, want ...backend.BatchProblemKind) {
	h.t.Helper()
	var got []backend.BatchProblemKind
	for _, p := range res.Problems {
		got = append(got, p.Kind)
	}
	if len(got) != len(want) || res.ProblemCount != len(want) {
		h.t.Fatalf("problems = %v (count %d), want %v: %+v", got, res.ProblemCount, want, res.Problems)
	}
	for i := range got {
		if got[i] != want[i] {
			h.t.Fatalf("problems = %v, want %v: %+v", got, want, res.Problems)
		}
	}
}

// repair repairs batch id and checks it then verifies clean.
func (h *harness) repair(id string) backend.VerifyBatchResult {
	h.t.Helper()
	res := h.verify(id, true)
	if !res.Repaired {
		h.t.Fatalf("VerifyBatch(%s, repair) did not repair: %+v", id, res)
	}
	h.wantClean(id)
	return res
}

// batchJobsByIndex fetches every waiting batch job for proc, by index.
func (h *harness) batchJobsByIndex(proc string) map[int64]*backend.Fetched {
	h.t.Helper()
	out := map[int64]*backend.Fetched{}
	for _, f := range h.fetchBatchJobs(proc) {
		out[f.Job.BatchIndex] = f
	}
	return out
}

// testVerifyHealthy: a batch with jobs succeeded, retrying, dead, in
// flight and queued verifies clean, and a repair of it writes nothing.
func testVerifyHealthy(h *harness) {
	id, _ := h.committedBatch(6)
	p := h.proc("p1", batchQueue)
	fs := h.batchJobsByIndex(p)
	if len(fs) != 6 {
		h.t.Fatalf("fetched %d batch jobs, want 6", len(fs))
	}
	later := time.Now().Add(time.Hour)
	h.complete(p, succeeded(fs[0]), succeeded(fs[1]), retryResult(fs[2], later, defaultFailure()), deadResult(fs[3], time.Now(), defaultFailure()))
	// fs[4] stays in flight; fs[5] goes back to its queue.
	if err := h.b.Complete(h.ctx, p, []backend.Result{outcome(fs[5], backend.OutcomeRequeue)}); err != nil {
		h.t.Fatalf("requeue: %v", err)
	}
	res := h.wantClean(id)
	if res.Total != 6 || res.Found != 4 {
		h.t.Fatalf("verify: total %d found %d, want 6 and 4 (retry, dead, in flight, queued)", res.Total, res.Found)
	}
	want := map[string]int64{"total": 6, "pending": 2, "failing": 1, "succeeded": 2, "dead": 1, "discarded": 0, "cancelled": 0, "removed": 0}
	for k, v := range want {
		if res.Counters[k] != v {
			h.t.Fatalf("verify counters = %v, want %v", res.Counters, want)
		}
	}
	if r := h.verify(id, true); r.Repaired || !r.Clean() {
		h.t.Fatalf("repair of a healthy batch: %+v, want nothing written", r)
	}
}

func testVerifyUnknown(h *harness) {
	_, err := h.b.VerifyBatch(h.ctx, backend.VerifyBatchParams{ID: "no-such-batch"})
	h.wantBatchErr(err, backend.ErrBatchNotFound, "VerifyBatch(unknown)")
}

// testVerifyCounterDrift: counters moved without their bits (a write of a
// counter survived, the bits' did not) are detected and recounted from the
// bits; the batch then completes and succeeds once.
func testVerifyCounterDrift(h *harness, c Corrupter) {
	id, _ := h.committedBatch(3)
	c.AddCounter(h.t, h.b, id, backend.CounterSucceeded, 2)
	c.AddCounter(h.t, h.b, id, backend.CounterPending, -1)
	res := h.verify(id, false)
	h.wantProblems(res, backend.ProblemCounter, backend.ProblemCounter)
	if res.Repaired {
		h.t.Fatalf("verify without repair wrote: %+v", res)
	}
	h.repair(id)
	h.wantCounters(id, counters{Total: 3, Pending: 3})
	h.runBatchJobs(allSucceed)
	h.runCallbacks()
	h.wantState(id, backend.BatchSucceeded)
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
	h.wantClean(id)
}

// testVerifyLostJob: a job whose enqueue was lost (its bit says pending,
// it is nowhere) is ended as removed, so the batch completes, once, and
// never succeeds.
func testVerifyLostJob(h *harness, c Corrupter) {
	id, js := h.committedBatch(3)
	c.DropQueued(h.t, h.b, batchQueue, js[1].ID)
	res := h.verify(id, false)
	h.wantProblems(res, backend.ProblemLostJob)
	if p := res.Problems[0]; p.State != "P" || p.Repaired != "X" || p.Set != "" {
		h.t.Fatalf("lost job problem = %+v, want P -> X, found nowhere", p)
	}
	h.runBatchJobs(allSucceed)
	h.runCallbacks()
	h.wantState(id, backend.BatchRunning)
	h.repair(id)
	h.wantCounters(id, counters{Total: 3, Succeeded: 2, Removed: 1})
	h.runCallbacks()
	h.wantState(id, backend.BatchComplete)
	h.wantCallbacks(cb(id, backend.CallbackComplete))
	// A second repair finds nothing and fires nothing again.
	if r := h.verify(id, true); r.Repaired {
		h.t.Fatalf("second repair wrote: %+v", r)
	}
	h.runCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))
}

// testVerifyDeathUnrecorded: a dead job whose batch lost the death (bits
// and counters back at pending) is recorded dead again; death fires once
// in all, and the batch completes when the rest is done.
func testVerifyDeathUnrecorded(h *harness, c Corrupter) {
	id, _ := h.committedBatch(2)
	p := h.proc("p1", batchQueue)
	fs := h.batchJobsByIndex(p)
	h.complete(p, deadResult(fs[0], time.Now(), defaultFailure()))
	h.runCallbacks()
	c.SetState(h.t, h.b, id, 0, backend.StatePending)
	c.AddCounter(h.t, h.b, id, backend.CounterDead, -1)
	c.AddCounter(h.t, h.b, id, backend.CounterPending, 1)
	res := h.verify(id, false)
	h.wantProblems(res, backend.ProblemDeathUnrecorded)
	if pr := res.Problems[0]; pr.Set != backend.SetDead || pr.Index != 0 || pr.State != "P" || pr.Repaired != "X" {
		h.t.Fatalf("problem = %+v, want job 0 P -> X found dead", pr)
	}
	h.repair(id)
	h.wantCounters(id, counters{Total: 2, Pending: 1, Dead: 1})
	h.complete(p, succeeded(fs[1]))
	h.runCallbacks()
	h.wantState(id, backend.BatchComplete)
	h.wantCallbacks(cb(id, backend.CallbackDeath), cb(id, backend.CallbackComplete))
	h.wantClean(id)
}

// testVerifyRetryUnrecorded: a retrying job whose batch lost its P -> F is
// recorded failing: complete fires then, not before (it counts as run).
func testVerifyRetryUnrecorded(h *harness, c Corrupter) {
	id, _ := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	f := h.fetchOne(p, batchQueue)
	h.complete(p, retryResult(f, time.Now().Add(time.Hour), defaultFailure()))
	h.runCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete))
	c.SetState(h.t, h.b, id, 0, backend.StatePending)
	c.AddCounter(h.t, h.b, id, backend.CounterFailing, -1)
	c.AddCounter(h.t, h.b, id, backend.CounterPending, 1)
	h.wantProblems(h.verify(id, false), backend.ProblemRetryUnrecorded)
	h.repair(id)
	h.wantCounters(id, counters{Total: 1, Failing: 1})
	// The retry runs and succeeds: success fires, complete not again.
	if n := h.moveDue(time.Now().Add(2 * time.Hour)); n != 1 {
		h.t.Fatalf("MoveDue moved %d, want 1", n)
	}
	h.runBatchJobs(allSucceed)
	h.runCallbacks()
	h.wantState(id, backend.BatchSucceeded)
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

// testVerifyStaleDead: a dead entry of a job the batch counts as
// succeeded is reported, and the repair leaves the success alone.
func testVerifyStaleDead(h *harness, c Corrupter) {
	id, _ := h.committedBatch(2)
	p := h.proc("p1", batchQueue)
	fs := h.batchJobsByIndex(p)
	h.complete(p, deadResult(fs[0], time.Now(), defaultFailure()), succeeded(fs[1]))
	h.runCallbacks()
	c.SetState(h.t, h.b, id, 0, backend.StateSucceeded)
	c.AddCounter(h.t, h.b, id, backend.CounterDead, -1)
	c.AddCounter(h.t, h.b, id, backend.CounterSucceeded, 1)
	res := h.verify(id, true)
	h.wantProblems(res, backend.ProblemStaleDead)
	if res.Repaired {
		h.t.Fatalf("a stale dead entry alone was repaired: %+v", res)
	}
	h.wantCounters(id, counters{Total: 2, Succeeded: 2})
}
