package joblottest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/joblottest"
)

func TestDrain(t *testing.T) {
	ctx := context.Background()
	store := joblottest.NewStore(t)
	client := joblot.NewClient(store, joblot.ClientConfig{})
	boom := errors.New("smtp down")
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, mailWorker(func(_ context.Context, job *joblot.Job[mailArgs]) error {
		switch {
		case job.Args.To == "flaky" && job.Attempt < 3, job.Args.To == "doomed":
			return boom
		}
		return nil
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[resizeArgs](func(context.Context, *joblot.Job[resizeArgs]) error { return nil }), nil)

	start := time.Now()
	enqueue(t, client, mailArgs{To: "ada"}, nil)
	enqueue(t, client, mailArgs{To: "later"}, &joblot.EnqueueOpts{Delay: 3 * time.Hour, Queue: "slow"})
	enqueue(t, client, mailArgs{To: "flaky"}, nil)
	doomed := enqueue(t, client, mailArgs{To: "doomed"}, &joblot.EnqueueOpts{MaxRetries: 2})
	batch, err := client.NewBatch(ctx, joblot.BatchOpts{OnSuccess: &joblot.Callback{Args: mailArgs{To: "batch done"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Add(ctx, joblot.EnqueueParams{Args: resizeArgs{Image: "1"}}, joblot.EnqueueParams{Args: resizeArgs{Image: "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	res := joblottest.Drain(ctx, t, store, workers, &joblottest.DrainOpts{Config: joblot.ServerConfig{RetryPolicy: joblot.ConstantBackoff(time.Hour)}})

	runs := map[string][]joblottest.JobRun{}
	for _, r := range res.Runs {
		runs[r.ID] = append(runs[r.ID], r)
	}
	if len(res.Runs) != 11 || res.Count(backend.OutcomeSucceeded) != 6 || res.Count(backend.OutcomeRetry) != 4 || res.Count(backend.OutcomeDead) != 1 {
		t.Fatalf("runs: %+v", res.Runs)
	}
	d := runs[doomed]
	if len(d) != 3 || d[2].Outcome != backend.OutcomeDead || d[2].Attempt != 3 || !errors.Is(d[2].Err, boom) || !d[1].At.Equal(d[0].RetryAt) {
		t.Fatalf("doomed job's runs: %+v", d)
	}
	var later joblottest.JobRun
	for _, r := range res.Runs {
		if r.Queue == "slow" {
			later = r
		}
	}
	// Stored times keep milliseconds: compare with start cut to them.
	if later.At.Sub(start.Truncate(time.Millisecond)) < 3*time.Hour || res.Now.Before(later.At) {
		t.Fatalf("the delayed job ran at %v (start %v), Drain ended at %v", later.At, start, res.Now)
	}
	// Everything ran; the dead job is in the dead set; the batch succeeded
	// and its callback ran.
	joblottest.RequireNotEnqueued(t, store, mailArgs{}, &joblottest.RequireOpts{KindOnly: true})
	dead, err := store.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead})
	if err != nil || len(dead.Jobs) != 1 || dead.Jobs[0].ID != doomed {
		t.Fatalf("dead set %+v, %v", dead, err)
	}
	st, err := batch.Status(ctx)
	if err != nil || st.Succeeded != 2 {
		t.Fatalf("batch %+v, %v", st, err)
	}
	if last := res.Runs[len(res.Runs)-1]; last.Kind != "mail" || runs[last.ID][0].Outcome != backend.OutcomeSucceeded {
		t.Fatalf("last run %+v", last)
	}
	var callbackRan bool
	for _, r := range res.Runs {
		callbackRan = callbackRan || r.ID == backend.CallbackJobID(batch.ID(), backend.CallbackSuccess)
	}
	if !callbackRan {
		t.Fatalf("the success callback did not run: %+v", res.Runs)
	}
}

func TestDrainQueuesAndPreexistingRetries(t *testing.T) {
	ctx := context.Background()
	store := joblottest.NewStore(t)
	client := joblot.NewClient(store, joblot.ClientConfig{})
	enqueue(t, client, mailArgs{To: "stays"}, nil)
	retried := enqueue(t, client, mailArgs{To: "retried"}, &joblot.EnqueueOpts{Queue: "mail"})
	// Another process failed "retried" and scheduled its retry far ahead.
	fr, err := store.Fetch(ctx, backend.FetchParams{Proc: "other", Queues: []string{"mail"}, Max: 1})
	fetched := fr.Jobs
	if err != nil || len(fetched) != 1 {
		t.Fatalf("fetch: %v %v", fetched, err)
	}
	failed := fetched[0].Job.Clone()
	failed.Attempt = 1
	if err := store.Complete(ctx, "other", []backend.Result{{Fetched: fetched[0], Outcome: backend.OutcomeRetry, Job: failed, RetryAt: time.Now().Add(100 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}

	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, mailWorker(func(context.Context, *joblot.Job[mailArgs]) error { return nil }), nil)
	res := joblottest.Drain(ctx, t, store, workers, &joblottest.DrainOpts{Config: joblot.ServerConfig{Queues: map[string]int{"mail": 1}}})
	if len(res.Runs) != 1 || res.Runs[0].ID != retried || res.Runs[0].Attempt != 2 || res.Runs[0].Outcome != backend.OutcomeSucceeded {
		t.Fatalf("runs %+v", res.Runs)
	}
	joblottest.RequireEnqueued(t, store, mailArgs{To: "stays"}, &joblottest.RequireOpts{Queue: joblot.DefaultQueue})
}

func TestDrainStopsAtMaxRuns(t *testing.T) {
	ctx := context.Background()
	store := joblottest.NewStore(t)
	client := joblot.NewClient(store, joblot.ClientConfig{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, mailWorker(func(ctx context.Context, job *joblot.Job[mailArgs]) error {
		_, err := client.Enqueue(ctx, job.Args, nil) // forever
		return err
	}), nil)
	enqueue(t, client, mailArgs{To: "again"}, nil)
	r := &recorder{TB: t}
	res := joblottest.Drain(ctx, r, store, workers, &joblottest.DrainOpts{MaxRuns: 5})
	if msg := r.failure(t); !strings.Contains(msg, "ran 5 jobs and jobs are still left") {
		t.Fatalf("failure %q", msg)
	}
	if len(res.Runs) != 5 {
		t.Fatalf("%d runs", len(res.Runs))
	}
}
