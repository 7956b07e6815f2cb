package joblot

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/joblot/joblot/backend"
)

// manualRetryArgs is the job of TestDeadJobRetriedByHandGetsOneAttempt.
type manualRetryArgs struct{}

func (manualRetryArgs) Kind() string { return "manual-retry" }

// A dead job retried by hand keeps its attempt count, so one more failure
// sends it back to the dead set: it gets exactly one new attempt, not a
// fresh set of retries (what RetryJobs and `joblot dead retry` document).
func TestDeadJobRetriedByHandGetsOneAttempt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var runs atomic.Int64
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[manualRetryArgs](func(context.Context, *Job[manualRetryArgs]) error {
			runs.Add(1)
			return errors.New("always fails")
		}), nil)
		idRes, err := NewClient(b, ClientConfig{}).Enqueue(ctx, manualRetryArgs{}, &EnqueueOpts{MaxRetries: 1})
		id := idRes.ID
		if err != nil {
			t.Fatal(err)
		}
		startServer(t, b, fastConfig(ws))

		dead := func() *backend.Job {
			for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetDead}) {
				if j.ID == id {
					return j
				}
			}
			return nil
		}
		waitFor(t, "the job to die after its one retry", func() bool { return dead() != nil })
		if j := dead(); j.Attempt != 2 || runs.Load() != 2 {
			t.Fatalf("dead job: attempt %d after %d runs, want 2 and 2", j.Attempt, runs.Load())
		}

		n, err := NewInspector(b).RetryJobs(ctx, backend.JobFilter{Set: backend.SetDead})
		if err != nil || n != 1 {
			t.Fatalf("RetryJobs = %d, %v; want 1", n, err)
		}
		// Retried by hand, the job left the dead set: seeing it there again
		// after a third run means its new attempt failed.
		waitFor(t, "the retried job to die again", func() bool { return runs.Load() >= 3 && dead() != nil })
		j := dead()
		if j.Attempt != 3 || runs.Load() != 3 || !j.ManualRetry {
			t.Fatalf("after the manual retry: attempt %d, %d runs, manual %v; want attempt 3 after 3 runs (one new attempt), manual", j.Attempt, runs.Load(), j.ManualRetry)
		}
		if retry := listAll(t, b, backend.JobFilter{Set: backend.SetRetry}); len(retry) != 0 {
			t.Fatalf("retry set holds %d jobs, want none", len(retry))
		}
	})
}
