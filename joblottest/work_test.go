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

func mailWorker(f func(ctx context.Context, job *joblot.Job[mailArgs]) error) joblot.Worker[mailArgs] {
	return joblot.WorkFunc[mailArgs](f)
}

func TestWorkOutcomes(t *testing.T) {
	boom := errors.New("smtp down")
	fixed := joblot.ServerConfig{Now: func() time.Time { return t0 }, RetryPolicy: joblot.ConstantBackoff(time.Hour)}
	cases := []struct {
		name    string
		work    func(context.Context, *joblot.Job[mailArgs]) error
		opts    *joblottest.WorkOpts
		outcome backend.Outcome
		is      error // errors.Is(res.Err, is)
		panics  bool
		retryAt time.Time
	}{
		{name: "success", work: func(context.Context, *joblot.Job[mailArgs]) error { return nil }, outcome: backend.OutcomeSucceeded},
		{name: "error with retries left", work: func(context.Context, *joblot.Job[mailArgs]) error { return boom },
			opts: &joblottest.WorkOpts{Config: fixed}, outcome: backend.OutcomeRetry, is: boom,
			retryAt: t0.Add(time.Hour)},
		{name: "error on the last attempt", work: func(context.Context, *joblot.Job[mailArgs]) error { return boom },
			opts: &joblottest.WorkOpts{Attempt: 4, MaxRetries: 3}, outcome: backend.OutcomeDead, is: boom},
		{name: "retry budget from WorkerOpts", work: func(context.Context, *joblot.Job[mailArgs]) error { return boom },
			opts: &joblottest.WorkOpts{WorkerOpts: &joblot.WorkerOpts{MaxRetries: joblot.NoRetries}}, outcome: backend.OutcomeDead, is: boom},
		{name: "kill", work: func(context.Context, *joblot.Job[mailArgs]) error { return joblot.JobKill(boom) },
			outcome: backend.OutcomeDead, is: joblot.ErrJobKilled},
		{name: "discard", work: func(context.Context, *joblot.Job[mailArgs]) error { return joblot.JobDiscard(boom) },
			outcome: backend.OutcomeDiscarded, is: joblot.ErrJobDiscarded},
		{name: "panic", work: func(context.Context, *joblot.Job[mailArgs]) error { panic("nil map") },
			outcome: backend.OutcomeRetry, panics: true},
		{name: "timeout", work: func(ctx context.Context, _ *joblot.Job[mailArgs]) error { <-ctx.Done(); return ctx.Err() },
			opts: &joblottest.WorkOpts{Timeout: time.Millisecond}, outcome: backend.OutcomeRetry, is: joblot.ErrJobTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := joblottest.Work(context.Background(), t, mailWorker(c.work), mailArgs{To: "ada"}, c.opts)
			if res.Outcome != c.outcome {
				t.Errorf("outcome %v, want %v (err %v)", res.Outcome, c.outcome, res.Err)
			}
			if c.is != nil && !errors.Is(res.Err, c.is) {
				t.Errorf("err %v is not %v", res.Err, c.is)
			}
			if c.is == nil && !c.panics && res.Err != nil {
				t.Errorf("err %v, want nil", res.Err)
			}
			if res.Panicked != c.panics || (c.panics && !strings.Contains(res.Err.Error(), "panic: nil map")) {
				t.Errorf("panicked %v err %v, want panicked %v", res.Panicked, res.Err, c.panics)
			}
			if !c.retryAt.IsZero() && !res.RetryAt.Equal(c.retryAt) {
				t.Errorf("retry at %v, want %v", res.RetryAt, c.retryAt)
			}
			if (res.Failed != nil) != (c.outcome == backend.OutcomeRetry || c.outcome == backend.OutcomeDead) {
				t.Errorf("Failed = %+v for outcome %v", res.Failed, res.Outcome)
			}
			// Killed and discarded errors are not mistaken for each other.
			if errors.Is(res.Err, joblot.ErrJobKilled) && errors.Is(res.Err, joblot.ErrJobDiscarded) {
				t.Errorf("err %v is both killed and discarded", res.Err)
			}
		})
	}
}

func TestWorkSeesTheSyntheticJob(t *testing.T) {
	var seen *joblot.Job[mailArgs]
	var meta *joblot.JobMeta
	cfg := joblot.ServerConfig{Middleware: []joblot.Middleware{func(ctx context.Context, m *joblot.JobMeta, next func(context.Context) error) error {
		meta = m
		return next(ctx)
	}}}
	res := joblottest.Work(context.Background(), t, mailWorker(func(_ context.Context, job *joblot.Job[mailArgs]) error {
		seen = job
		return nil
	}), mailArgs{To: "ada"}, &joblottest.WorkOpts{JobID: "job-1", Queue: "mail", Attempt: 3, MaxRetries: 5, CreatedAt: t0, LastError: "before", Meta: map[string]string{"tenant": "acme"}, Config: cfg})
	if res.Outcome != backend.OutcomeSucceeded {
		t.Fatalf("outcome %v: %v", res.Outcome, res.Err)
	}
	want := joblot.Job[mailArgs]{ID: "job-1", Args: mailArgs{To: "ada"}, Queue: "mail", Attempt: 3, MaxRetries: 5, LastError: "before"}
	if seen.ID != want.ID || seen.Args.To != "ada" || seen.Queue != want.Queue || seen.Attempt != want.Attempt ||
		seen.MaxRetries != want.MaxRetries || !seen.CreatedAt.Equal(t0) || seen.LastError != want.LastError || seen.BatchID != "" {
		t.Fatalf("worker saw %+v", seen)
	}
	if meta == nil || meta.ID != "job-1" || meta.Kind != "mail" || meta.Meta["tenant"] != "acme" {
		t.Fatalf("middleware saw %+v", meta)
	}
	if seen.Meta["tenant"] != "acme" {
		t.Fatalf("worker saw metadata %v, want tenant=acme", seen.Meta)
	}
}

func TestWorkBatchFromContext(t *testing.T) {
	fanOut := mailWorker(func(ctx context.Context, job *joblot.Job[mailArgs]) error {
		batch, err := joblot.BatchFromContext(ctx)
		if err != nil {
			return err
		}
		return batch.Add(ctx, joblot.EnqueueParams{Args: resizeArgs{Image: job.Args.To, Width: 10}})
	})

	t.Run("temporary store", func(t *testing.T) {
		res := joblottest.Work(context.Background(), t, fanOut, mailArgs{To: "a.png"}, &joblottest.WorkOpts{BatchID: "b1", JobID: "j1"})
		if res.Outcome != backend.OutcomeSucceeded {
			t.Fatalf("outcome %v: %v", res.Outcome, res.Err)
		}
		added := joblottest.RequireEnqueued(t, res.Store, resizeArgs{Image: "a.png", Width: 10}, &joblottest.RequireOpts{BatchID: "b1"})
		if !strings.HasPrefix(added.ID, "j1@b1.") {
			t.Errorf("added job ID %q is not derived from the job", added.ID)
		}
	})
	t.Run("given store, existing batch", func(t *testing.T) {
		store := joblottest.NewStore(t)
		batch, err := joblot.NewClient(store, joblot.ClientConfig{}).NewBatch(context.Background(), joblot.BatchOpts{Description: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		res := joblottest.Work(context.Background(), t, fanOut, mailArgs{To: "b.png"}, &joblottest.WorkOpts{Store: store, BatchID: batch.ID()})
		if res.Outcome != backend.OutcomeSucceeded || res.Store != store {
			t.Fatalf("outcome %v: %v", res.Outcome, res.Err)
		}
		joblottest.RequireEnqueued(t, store, resizeArgs{Image: "b.png", Width: 10}, &joblottest.RequireOpts{BatchID: batch.ID()})
		st, err := batch.Status(context.Background())
		if err != nil || st.Description != "mine" || st.Total != 1 {
			t.Fatalf("batch status %+v, %v", st, err)
		}
	})
	t.Run("not a batch job", func(t *testing.T) {
		res := joblottest.Work(context.Background(), t, fanOut, mailArgs{To: "c.png"}, nil)
		if !errors.Is(res.Err, joblot.ErrNotInBatch) || res.Outcome != backend.OutcomeRetry {
			t.Fatalf("outcome %v, err %v; want a retry with ErrNotInBatch", res.Outcome, res.Err)
		}
	})
	t.Run("cancelled batch", func(t *testing.T) {
		store := joblottest.NewStore(t)
		c := joblot.NewClient(store, joblot.ClientConfig{})
		batch, err := c.NewBatch(context.Background(), joblot.BatchOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CancelBatch(context.Background(), batch.ID()); err != nil {
			t.Fatal(err)
		}
		ran := false
		res := joblottest.Work(context.Background(), t, mailWorker(func(context.Context, *joblot.Job[mailArgs]) error { ran = true; return nil }),
			mailArgs{}, &joblottest.WorkOpts{Store: store, BatchID: batch.ID()})
		if ran || res.Outcome != backend.OutcomeCancelled {
			t.Fatalf("ran %v, outcome %v", ran, res.Outcome)
		}
	})
}

func TestWorkCancelledContextRequeues(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	res := joblottest.Work(ctx, t, mailWorker(func(ctx context.Context, _ *joblot.Job[mailArgs]) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}), mailArgs{}, nil)
	if res.Outcome != backend.OutcomeRequeue || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("outcome %v, err %v", res.Outcome, res.Err)
	}
}
