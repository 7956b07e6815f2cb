package joblot

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
)

// Enqueue middleware sees the ID a job is stored under, the batch it joins
// and, on a batch callback, the batch and event: for a plain enqueue, a
// batch add, a callback, and (ID left empty, since it is derived later) a
// batch add from inside a running job.
func TestEnqueueMiddlewareSeesIDAndBatch(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	var seenJobs recorder[EnqueueJob]
	client := NewClient(b, ClientConfig{Middleware: []EnqueueMiddleware{
		func(ctx context.Context, j *EnqueueJob, next func(context.Context) error) error {
			seenJobs.add(*j)
			return next(ctx)
		},
	}})
	ctx := context.Background()
	last := func() EnqueueJob { all := seenJobs.all(); return all[len(all)-1] }

	res, err := client.Enqueue(ctx, metaArgs{N: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if j := last(); j.ID != res.ID || j.BatchID != "" || j.CallbackOf != "" {
		t.Fatalf("plain enqueue: middleware saw ID %q batch %q callback of %q, stored as %q", j.ID, j.BatchID, j.CallbackOf, res.ID)
	}

	batch, err := client.NewBatch(ctx, BatchOpts{OnSuccess: &Callback{Args: metaArgs{N: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	cb := last()
	if cb.ID != backend.CallbackJobID(batch.ID(), backend.CallbackSuccess) || cb.CallbackOf != batch.ID() || cb.CallbackEvent != backend.CallbackSuccess || cb.BatchID != "" {
		t.Fatalf("callback: middleware saw ID %q batch %q callback of %q/%q; batch %s", cb.ID, cb.BatchID, cb.CallbackOf, cb.CallbackEvent, batch.ID())
	}
	if err := batch.Add(ctx, EnqueueParams{Args: metaArgs{N: 3}}); err != nil {
		t.Fatal(err)
	}
	member := last()
	stored := listAll(t, b, backend.JobFilter{Set: backend.SetQueued, Queue: DefaultQueue, BatchID: batch.ID()})
	if len(stored) != 1 || member.ID != stored[0].ID || member.BatchID != batch.ID() {
		t.Fatalf("batch add: middleware saw ID %q batch %q; stored %d jobs in batch %s", member.ID, member.BatchID, len(stored), batch.ID())
	}

	// Inside a running batch job, an add gets an ID derived from the job.
	ws := NewWorkers()
	added := make(chan error, 1)
	AddWorker(ws, WorkFunc[metaArgs](func(ctx context.Context, job *Job[metaArgs]) error {
		if job.Args.N != 3 {
			return nil
		}
		b, err := BatchFromContext(ctx)
		if err == nil {
			err = b.Add(ctx, EnqueueParams{Args: metaArgs{N: 4}})
		}
		added <- err
		return err
	}), nil)
	cfg := fastConfig(ws)
	cfg.Client = client // its middleware sees the adds from inside jobs
	startServer(t, b, cfg)
	if err := waitRecv(t, "the batch job's add", added); err != nil {
		t.Fatal(err)
	}
	var inJob *EnqueueJob
	for _, j := range seenJobs.all() {
		if j.Args.(metaArgs).N == 4 {
			inJob = &j
		}
	}
	if inJob == nil || inJob.ID != "" || inJob.BatchID != batch.ID() {
		t.Fatalf("add inside a job: middleware saw %+v, want no ID and batch %s", inJob, batch.ID())
	}
}
