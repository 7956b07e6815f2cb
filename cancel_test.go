package joblot

import (
	"context"
	"errors"
	"testing"

	"github.com/joblot/joblot/backend"
)

type cancelArgs struct{ N int }

func (cancelArgs) Kind() string { return "cancel_test" }

// cancelUntilHeard cancels a running job until the server hears the
// request: its listener may subscribe after the first request (a running
// job's cancel is idempotent).
func cancelUntilHeard(t *testing.T, c *Client, s *Server, queue, id string) {
	t.Helper()
	cancelUntil(t, c, s, queue, id, true)
}

// cancelUntil cancels job id of queue until the server signals that it
// heard the request, with running as given (whether a worker ran the
// job): the server may subscribe after the first request.
func cancelUntil(t *testing.T, c *Client, s *Server, queue, id string, running bool) {
	t.Helper()
	signals := s.canceller.testSignals.heard.WaitC()
	heard := func() bool {
		for {
			select {
			case h := <-signals:
				if h.queue == queue && h.id == id && h.running == running {
					return true
				}
			default:
				return false
			}
		}
	}
	waitFor(t, "the server hears the cancel", func() bool {
		// Once heard, the job may end at once: cancelling it again would
		// find nothing.
		if heard() {
			return true
		}
		r, err := c.CancelJob(context.Background(), queue, id)
		if err != nil || r != CancelRunning {
			t.Fatalf("CancelJob of a claimed or running job = %v, %v; want CancelRunning", r, err)
		}
		return heard()
	})
}

// initCancelHeard makes the server signal the cancel requests it hears.
func initCancelHeard(t *testing.T) func(*Server) {
	return func(s *Server) { s.canceller.testSignals.heard.Init(t) }
}

// A running job that honours its context is cancelled on the server that
// runs it, with cause ErrJobCancelled; the attempt ends cancelled, not
// retried.
func TestCancelRunningJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started := make(chan string, 1)
		cause := make(chan error, 1)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[cancelArgs](func(ctx context.Context, j *Job[cancelArgs]) error {
			started <- j.ID
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return ctx.Err()
		}), nil)
		s := startServer(t, b, fastConfig(ws), initCancelHeard(t))
		c := NewClient(b, ClientConfig{})
		res, err := c.Enqueue(context.Background(), cancelArgs{1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id := waitRecv(t, "the job starts", started); id != res.ID {
			t.Fatalf("started %s, want %s", id, res.ID)
		}
		cancelUntilHeard(t, c, s, DefaultQueue, res.ID)
		if err := waitRecv(t, "the job's context is cancelled", cause); !errors.Is(err, ErrJobCancelled) {
			t.Fatalf("context cause = %v, want ErrJobCancelled", err)
		}
		waitFor(t, "the cancel is counted", func() bool {
			st, err := NewInspector(b).Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			q, _ := st.Queue(DefaultQueue)
			return st.Cancelled == 1 && q.InFlight == 0
		})
		st, _ := NewInspector(b).Stats(context.Background())
		q, _ := st.Queue(DefaultQueue)
		if st.Processed != 0 || st.Failed != 0 || q.Retry != 0 || q.Dead != 0 {
			t.Fatalf("after a cancelled attempt: Processed %d Failed %d, queue %+v; want nothing counted but the cancel", st.Processed, st.Failed, q)
		}
	})
}

// An attempt that returns success after the cancel landed stays
// succeeded: success wins.
func TestCancelRunningJobSucceedsFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started := make(chan string, 1)
		release := make(chan struct{})
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[cancelArgs](func(ctx context.Context, j *Job[cancelArgs]) error {
			started <- j.ID
			<-release // ignores its context
			return nil
		}), nil)
		s := startServer(t, b, fastConfig(ws), initCancelHeard(t))
		c := NewClient(b, ClientConfig{})
		res, err := c.Enqueue(context.Background(), cancelArgs{1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitRecv(t, "the job starts", started)
		cancelUntilHeard(t, c, s, DefaultQueue, res.ID)
		close(release)
		waitFor(t, "the success is counted", func() bool {
			st, err := NewInspector(b).Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return st.Processed == 1
		})
		st, _ := NewInspector(b).Stats(context.Background())
		if st.Cancelled != 0 || st.Failed != 0 {
			t.Fatalf("a job that succeeded despite its cancel: Cancelled %d Failed %d, want 0, 0", st.Cancelled, st.Failed)
		}
	})
}

// A job cancelled while a server holds it without running it yet (its
// workers are busy) is skipped when its turn comes.
func TestCancelPrefetchedJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		started := make(chan int, 2)
		release := make(chan struct{})
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[cancelArgs](func(ctx context.Context, j *Job[cancelArgs]) error {
			started <- j.Args.N
			<-release
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.Concurrency = 1
		s := startServer(t, b, cfg, initCancelHeard(t))
		c := NewClient(b, ClientConfig{})
		if _, err := c.Enqueue(context.Background(), cancelArgs{1}, nil); err != nil {
			t.Fatal(err)
		}
		if n := waitRecv(t, "the first job starts", started); n != 1 {
			t.Fatalf("started job %d first", n)
		}
		second, err := c.Enqueue(context.Background(), cancelArgs{2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the server claims the second job", func() bool {
			st, err := NewInspector(b).Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			q, _ := st.Queue(DefaultQueue)
			return q.InFlight == 2
		})
		cancelUntil(t, c, s, DefaultQueue, second.ID, false) // claimed, not running
		close(release)
		waitFor(t, "the second job is skipped", func() bool {
			st, err := NewInspector(b).Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return st.Processed == 1 && st.Cancelled == 1
		})
		select {
		case n := <-started:
			t.Fatalf("job %d ran after it was cancelled", n)
		default:
		}
	})
}
