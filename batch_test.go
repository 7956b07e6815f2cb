package joblot

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/joblot/joblot/backend"
)

type cbArgs struct {
	Tag string `json:"tag"`
}

func (cbArgs) Kind() string { return "cb" }

type stepArgs struct {
	Fail  bool `json:"fail"`
	Spawn int  `json:"spawn"` // jobs to add to the batch from inside the job
	Child bool `json:"child"` // create a child batch from inside the job
}

func (stepArgs) Kind() string { return "step" }

// callbackLog counts callback runs by tag and event.
type callbackLog struct{ rec recorder[string] }

func (l *callbackLog) count(entry string) int {
	n := 0
	for _, e := range l.rec.all() {
		if e == entry {
			n++
		}
	}
	return n
}

func batchWorkers(t *testing.T, cbs *callbackLog, attempts *atomic.Int64) *Workers {
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[cbArgs](func(ctx context.Context, j *Job[cbArgs]) error {
		cbs.rec.add(j.Args.Tag + ":" + string(j.CallbackEvent))
		return nil
	}), nil)
	AddWorker(ws, WorkFunc[stepArgs](func(ctx context.Context, j *Job[stepArgs]) error {
		attempts.Add(1)
		if j.Args.Spawn > 0 || j.Args.Child {
			b, err := BatchFromContext(ctx)
			if err != nil {
				return err
			}
			if j.Args.Spawn > 0 {
				params := make([]EnqueueParams, j.Args.Spawn)
				for i := range params {
					params[i] = EnqueueParams{Args: stepArgs{}}
				}
				if err := b.Add(ctx, params...); err != nil {
					return err
				}
			}
			if j.Args.Child {
				child, err := b.NewChild(ctx, BatchOpts{OnComplete: &Callback{Args: cbArgs{Tag: "child"}}})
				if err != nil {
					return err
				}
				if err := child.Add(ctx, EnqueueParams{Args: stepArgs{}}, EnqueueParams{Args: stepArgs{}}); err != nil {
					return err
				}
				if err := child.Commit(ctx); err != nil {
					return err
				}
			}
			// Fail the first attempt after adding: the re-run must add
			// nothing twice.
			if j.Attempt == 1 {
				return errors.New("fail after adding")
			}
		}
		if j.Args.Fail {
			return errors.New("step failed")
		}
		return nil
	}), nil)
	return ws
}

func callbacks(tag string) BatchOpts {
	return BatchOpts{
		Description: tag,
		OnComplete:  &Callback{Args: cbArgs{Tag: tag}},
		OnSuccess:   &Callback{Args: cbArgs{Tag: tag}},
		OnDeath:     &Callback{Args: cbArgs{Tag: tag}},
	}
}

func TestBatchCallbacksFireOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var cbs callbackLog
		var attempts atomic.Int64
		client := NewClient(b, ClientConfig{EnqueueChunk: 40})
		ok, err := client.NewBatch(ctx, callbacks("ok"))
		if err != nil {
			t.Fatal(err)
		}
		bad, err := client.NewBatch(ctx, callbacks("bad"))
		if err != nil {
			t.Fatal(err)
		}
		empty, err := client.NewBatch(ctx, callbacks("empty"))
		if err != nil {
			t.Fatal(err)
		}
		params := func(fail bool) []EnqueueParams {
			p := make([]EnqueueParams, 100)
			for i := range p {
				p[i] = EnqueueParams{Args: stepArgs{Fail: fail && i%10 == 0}, Opts: EnqueueOpts{MaxRetries: NoRetries}}
			}
			return p
		}
		if err := ok.Add(ctx, params(false)...); err != nil {
			t.Fatal(err)
		}
		if err := bad.Add(ctx, params(true)...); err != nil {
			t.Fatal(err)
		}
		for _, bt := range []*Batch{ok, bad, empty} {
			if err := bt.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		startServer(t, b, fastConfig(batchWorkers(t, &cbs, &attempts)))
		waitFor(t, "callbacks", func() bool {
			return cbs.count("ok:success") == 1 && cbs.count("bad:complete") == 1 && cbs.count("bad:death") == 1 &&
				cbs.count("empty:success") == 1 && cbs.count("empty:complete") == 1 && cbs.count("ok:complete") == 1
		})
		st, err := client.BatchStatus(ctx, bad.ID())
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != 100 || st.Succeeded != 90 || st.Dead != 10 || st.Pending != 0 || len(st.ErrorGroups) != 1 || st.ErrorGroups[0].Count != 10 {
			t.Fatalf("bad batch status %+v", st)
		}
		if n := cbs.count("bad:success") + cbs.count("ok:death"); n != 0 {
			t.Fatalf("%d callbacks fired that must not", n)
		}
		failures, err := client.BatchFailures(ctx, bad.ID(), backend.SetDead, st.ErrorGroups[0].Fingerprint, "", 100)
		if err != nil || len(failures.Jobs) != 10 {
			t.Fatalf("batch failures: %v %v", failures, err)
		}
	})
}

func TestBatchAddsFromInsideAJobAreIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var cbs callbackLog
		var attempts atomic.Int64
		client := NewClient(b, ClientConfig{})
		bt, err := client.NewBatch(ctx, callbacks("grow"))
		if err != nil {
			t.Fatal(err)
		}
		// One job that adds 5 jobs and a child batch of 2, failing its first
		// attempt after adding: the retry adds nothing twice.
		if err := bt.Add(ctx, EnqueueParams{Args: stepArgs{Spawn: 5, Child: true}}); err != nil {
			t.Fatal(err)
		}
		if err := bt.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		startServer(t, b, fastConfig(batchWorkers(t, &cbs, &attempts)))
		// The callbacks are jobs of their own, run in any order: wait for
		// all three before counting them.
		waitFor(t, "parent success and both complete callbacks", func() bool {
			return cbs.count("grow:success") == 1 && cbs.count("grow:complete") >= 1 && cbs.count("child:complete") >= 1
		})
		st, err := client.BatchStatus(ctx, bt.ID())
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != 6 || st.Succeeded != 6 {
			t.Fatalf("parent: total %d succeeded %d, want 6 and 6 (re-run added nothing twice)", st.Total, st.Succeeded)
		}
		if len(st.Children) != 1 {
			t.Fatalf("parent has %d children, want 1", len(st.Children))
		}
		child, err := client.BatchStatus(ctx, st.Children[0])
		if err != nil {
			t.Fatal(err)
		}
		if child.Total != 2 || child.ParentID != bt.ID() {
			t.Fatalf("child %+v", child)
		}
		if cbs.count("child:complete") != 1 || cbs.count("grow:complete") != 1 {
			t.Fatalf("callbacks %v", cbs.rec.all())
		}
	})
}

func TestCancelledBatchSkipsItsJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var cbs callbackLog
		var attempts atomic.Int64
		client := NewClient(b, ClientConfig{})
		bt, err := client.NewBatch(ctx, callbacks("cancel"))
		if err != nil {
			t.Fatal(err)
		}
		params := make([]EnqueueParams, 20)
		for i := range params {
			params[i] = EnqueueParams{Args: stepArgs{}}
		}
		if err := bt.Add(ctx, params...); err != nil {
			t.Fatal(err)
		}
		if err := bt.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := client.CancelBatch(ctx, bt.ID()); err != nil {
			t.Fatal(err)
		}
		startServer(t, b, fastConfig(batchWorkers(t, &cbs, &attempts)))
		waitFor(t, "complete callback", func() bool { return cbs.count("cancel:complete") == 1 })
		st, err := client.BatchStatus(ctx, bt.ID())
		if err != nil {
			t.Fatal(err)
		}
		if st.Cancelled != 20 || attempts.Load() != 0 {
			t.Fatalf("cancelled %d, jobs run %d; want 20 and 0", st.Cancelled, attempts.Load())
		}
		if cbs.count("cancel:success") != 0 {
			t.Fatal("success fired for a cancelled batch")
		}
		if err := bt.Add(ctx, EnqueueParams{Args: stepArgs{}}); !errors.Is(err, ErrBatchFinished) {
			t.Fatalf("add to cancelled batch: %v, want ErrBatchFinished", err)
		}
	})
}

type fanArgs struct {
	Goroutines int `json:"goroutines"`
	Each       int `json:"each"`
}

func (fanArgs) Kind() string { return "fan" }

// Goroutines of one job adding to its batch at once lose nothing: adds are
// serialised, so storage sees the job's sequence numbers in order.
func TestConcurrentAddsFromOneJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var cbs callbackLog
		var attempts atomic.Int64
		ws := batchWorkers(t, &cbs, &attempts)
		AddWorker(ws, WorkFunc[fanArgs](func(ctx context.Context, j *Job[fanArgs]) error {
			bt, err := BatchFromContext(ctx)
			if err != nil {
				return err
			}
			errs := make(chan error, j.Args.Goroutines)
			for range j.Args.Goroutines {
				go func() {
					params := make([]EnqueueParams, j.Args.Each)
					for i := range params {
						params[i] = EnqueueParams{Args: stepArgs{}}
					}
					errs <- bt.Add(ctx, params...)
				}()
			}
			for range j.Args.Goroutines {
				if err := <-errs; err != nil {
					return err
				}
			}
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{EnqueueChunk: 10})
		bt, err := client.NewBatch(ctx, callbacks("fan"))
		if err != nil {
			t.Fatal(err)
		}
		if err := bt.Add(ctx, EnqueueParams{Args: fanArgs{Goroutines: 8, Each: 25}}); err != nil {
			t.Fatal(err)
		}
		if err := bt.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig(ws)
		cfg.Client = client
		startServer(t, b, cfg)
		waitFor(t, "fan success", func() bool { return cbs.count("fan:success") == 1 })
		st, err := client.BatchStatus(ctx, bt.ID())
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != 201 || st.Succeeded != 201 || attempts.Load() != 200 {
			t.Fatalf("total %d succeeded %d ran %d; want 201, 201, 200", st.Total, st.Succeeded, attempts.Load())
		}
	})
}
