package joblot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// RunOne classifies a job as a started server does and records nothing.
func TestRunOneClassifiesAndRecordsNothing(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	now := time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	ws := NewWorkers()
	var sawMiddleware bool
	AddWorker(ws, WorkFunc[runOneArgs](func(ctx context.Context, job *Job[runOneArgs]) error {
		switch job.Args.N {
		case 1:
			return errors.New("plain")
		case 2:
			return JobKill(errors.New("permanent"))
		case 3:
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}), &WorkerOpts{RetryPolicy: ConstantBackoff(time.Hour)})
	s, err := NewServer(b, ServerConfig{Workers: ws, Now: func() time.Time { return now }, Middleware: []Middleware{
		func(ctx context.Context, _ *JobMeta, next func(context.Context) error) error {
			sawMiddleware = true
			return next(ctx)
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int, timeout time.Duration) (backend.Result, error) {
		job := &backend.Job{ID: backend.NewJobID(), Kind: runOneArgs{}.Kind(), Queue: DefaultQueue, Args: fmt.Appendf(nil, `{"n":%d}`, n), Timeout: timeout, CreatedAt: now}
		return s.RunOne(context.Background(), &backend.Fetched{Job: job, Raw: job.AppendBinary(nil)})
	}

	if res, err := run(0, 0); err != nil || res.Outcome != backend.OutcomeSucceeded || !sawMiddleware {
		t.Fatalf("success: %v %v (middleware ran: %v)", res.Outcome, err, sawMiddleware)
	}
	res, err := run(1, 0)
	if err == nil || res.Outcome != backend.OutcomeRetry || !res.RetryAt.Equal(now.Add(time.Hour)) ||
		res.Job.Attempt != 1 || res.Job.ErrorMessage != "plain" || !res.Job.FailedAt.Equal(now) {
		t.Fatalf("failure: %+v %+v %v", res, res.Job, err)
	}
	res, err = run(2, 0)
	if !errors.Is(err, ErrJobKilled) || res.Outcome != backend.OutcomeDead || !res.Job.DiedAt.Equal(now) {
		t.Fatalf("kill: %+v %v", res, err)
	}
	res, err = run(3, time.Millisecond)
	if !errors.Is(err, ErrJobTimeout) || res.Outcome != backend.OutcomeRetry {
		t.Fatalf("timeout: %+v %v", res, err)
	}
	st, err := b.Stats(context.Background(), now)
	if err != nil || st.Processed != 0 {
		t.Fatalf("RunOne recorded something: processed %d, %v", st.Processed, err)
	}
}

type runOneArgs struct {
	N int `json:"n"`
}

func (runOneArgs) Kind() string { return "run-one" }
