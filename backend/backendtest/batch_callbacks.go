package backendtest

import (
	"fmt"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// callbackTests cover batch callbacks: enqueued by the Complete that fires
// them, each exactly once however the last events race (docs/batch-states.md).
func callbackTests() []test {
	return []test{
		{name: "CompleteEnqueuesCallbacks", run: testCompleteEnqueuesCallbacks},
		{name: "DeathOnceManyInOneCall", run: testDeathOnceOneCall},
		{name: "DeathOnceConcurrent", run: testDeathOnceConcurrent},
		{name: "ExactlyOnceWhenLastJobsRace", run: testCallbacksRace},
		{name: "SuccessAfterManualRetryOfDeadJob", run: testSuccessAfterManualRetry},
		{name: "NoCallbackConfigured", run: testNoCallbacks},
	}
}

// testCompleteEnqueuesCallbacks checks that the ack that fires callbacks
// also enqueues them, without waiting for ForwardCallbacks.
func testCompleteEnqueuesCallbacks(h *harness) {
	id, _ := h.committedBatch(1)
	p := h.proc("p1", batchQueue)
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	queued := h.list(backend.JobFilter{Set: backend.SetQueued, Queue: cbQueue})
	if !sameSet(jobIDs(queued), []string{cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess)}) {
		h.t.Fatalf("callback queue after the last ack = %v, want complete and success", jobIDs(queued))
	}
	for _, j := range queued {
		h.checkCallbackJob(j)
		if j.CallbackOf != id {
			h.t.Fatalf("callback %s has CallbackOf %q, want %q", j.ID, j.CallbackOf, id)
		}
	}
	// A forwarder running afterwards adds no duplicate.
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
}

func testDeathOnceOneCall(h *harness) {
	const n = 1000
	id := h.createBatch("", allEvents...)
	for range n / 250 {
		h.addToBatch(id, 250)
	}
	h.commit(id)
	now := time.Now()
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	if len(fs) != n {
		h.t.Fatalf("fetched %d batch jobs, want %d", len(fs), n)
	}
	results := make([]backend.Result, len(fs))
	for i, f := range fs {
		results[i] = deadResult(f, now, defaultFailure())
	}
	h.complete(p, results...)
	st := h.wantCounters(id, counters{Total: n, Dead: n})
	if st.DeathAt.IsZero() || st.CompleteAt.IsZero() || !st.SuccessAt.IsZero() {
		h.t.Fatalf("times: death %v complete %v success %v", st.DeathAt, st.CompleteAt, st.SuccessAt)
	}
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackDeath), cb(id, backend.CallbackComplete))
}

func testDeathOnceConcurrent(h *harness) {
	const workers, each = 4, 100
	id, _ := h.committedBatch(workers * each)
	now := time.Now()
	procs := make([]string, workers)
	fetched := make([][]*backend.Fetched, workers)
	for w := range workers {
		procs[w] = h.proc(fmt.Sprintf("w%d", w), batchQueue)
		for len(fetched[w]) < each {
			fs := h.fetch(procs[w], []string{batchQueue}, each-len(fetched[w]))
			if len(fs) == 0 {
				h.t.Fatalf("batch queue ran empty early")
			}
			fetched[w] = append(fetched[w], fs...)
		}
	}
	h.parallel(workers, func(w int) error {
		// Several Complete calls per worker, interleaving with the others.
		for i := 0; i < each; i += 10 {
			results := make([]backend.Result, 0, 10)
			for _, f := range fetched[w][i : i+10] {
				results = append(results, deadResult(f, now, defaultFailure()))
			}
			if err := h.b.Complete(h.ctx, procs[w], results); err != nil {
				return err
			}
		}
		return nil
	})
	h.wantCounters(id, counters{Total: workers * each, Dead: workers * each})
	h.fetchCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackDeath), cb(id, backend.CallbackComplete))
}

// parallel runs fn(0..n-1) in goroutines started together and fails the
// test with the first error.
func (h *harness) parallel(n int, fn func(i int) error) {
	h.t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := fn(i); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		h.t.Fatal(err)
	}
}

// testCallbacksRace acks the last two jobs of a batch at once from two
// processes, with forwarders racing, many times over.
func testCallbacksRace(h *harness) {
	const rounds = 20
	var want []string
	for range rounds {
		id, _ := h.committedBatch(2)
		p1, p2 := h.proc("p1", batchQueue), h.proc("p2", batchQueue)
		f1, f2 := h.fetchOne(p1, batchQueue), h.fetchOne(p2, batchQueue)
		h.parallel(4, func(i int) error {
			switch i {
			case 0:
				return h.b.Complete(h.ctx, p1, []backend.Result{succeeded(f1)})
			case 1:
				return h.b.Complete(h.ctx, p2, []backend.Result{succeeded(f2)})
			default:
				_, err := h.b.ForwardCallbacks(h.ctx, time.Now())
				return err
			}
		})
		h.wantCounters(id, counters{Total: 2, Succeeded: 2})
		want = append(want, cb(id, backend.CallbackComplete), cb(id, backend.CallbackSuccess))
	}
	h.fetchCallbacks()
	h.wantCallbacks(want...)
}

func testSuccessAfterManualRetry(h *harness) {
	id, _ := h.committedBatch(2)
	now := time.Now()
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	h.complete(p, succeeded(fs[0]), deadResult(fs[1], now, defaultFailure()))
	h.wantCounters(id, counters{Total: 2, Succeeded: 1, Dead: 1})
	h.wantState(id, backend.BatchComplete)
	h.runCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath))

	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: batchQueue, IDs: []string{fs[1].ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
	}
	h.complete(p, succeeded(h.fetchOne(p, batchQueue)))
	st := h.wantCounters(id, counters{Total: 2, Succeeded: 2})
	if st.State != backend.BatchSucceeded || st.SuccessAt.IsZero() {
		h.t.Fatalf("state %q success %v after the manual retry succeeded", st.State, st.SuccessAt)
	}
	h.runCallbacks()
	h.wantCallbacks(cb(id, backend.CallbackComplete), cb(id, backend.CallbackDeath), cb(id, backend.CallbackSuccess))
}

func testNoCallbacks(h *harness) {
	id := h.createBatch("")
	h.addToBatch(id, 2)
	h.commit(id)
	p := h.proc("p1", batchQueue)
	fs := h.fetchBatchJobs(p)
	h.complete(p, succeeded(fs[0]), deadResult(fs[1], time.Now(), defaultFailure()))
	h.wantState(id, backend.BatchComplete)
	h.fetchCallbacks()
	h.wantCallbacks()
}
