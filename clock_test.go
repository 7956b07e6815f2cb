package joblot

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/clock"
	"github.com/joblot/joblot/internal/redistest"
)

// forEachBackendAt runs fn once per backend, each on fresh, empty storage
// and with its own fake clock, set to t0, which the backend reads.
func forEachBackendAt(t *testing.T, t0 time.Time, fn func(t *testing.T, b backend.Backend, clk *clock.Fake)) {
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		clk := clock.NewFake(t0)
		srv := redistest.Start(t)
		b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL, Now: clk.Now})
		if err != nil {
			t.Fatalf("open redis backend: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		fn(t, b, clk)
	})
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		clk := clock.NewFake(t0)
		b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true, Now: clk.Now})
		if err != nil {
			t.Fatalf("open bolt backend: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		fn(t, b, clk)
	})
}

// clockArgs is a job of TestFakeClockDrivesTime: "ok" succeeds, "fail"
// always fails, "kill" dies at once.
type clockArgs struct {
	Mode string `json:"mode"`
}

func (clockArgs) Kind() string { return "clock" }

// TestFakeClockDrivesTime runs a server, its client and the backend on one
// fake clock set years ahead of the wall clock, which moves only when the
// test moves it: every stored time and every due-or-not decision must come
// from it. Run on the wall clock, the times below would all be off by
// years, and a job "due" at the wall clock's now would not wait.
func TestFakeClockDrivesTime(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	forEachBackendAt(t, t0, func(t *testing.T, b backend.Backend, clk *clock.Fake) {
		ctx := context.Background()
		ran := make(chan string, 8)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[clockArgs](func(ctx context.Context, j *Job[clockArgs]) error {
			switch j.Args.Mode {
			case "fail":
				return errors.New("always fails")
			case "kill":
				return JobKill(errors.New("hopeless"))
			}
			ran <- j.ID
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{Now: clk.Now})
		cfg := fastConfig(ws)
		cfg.Now = clk.Now
		cfg.RetryPolicy = SidekiqBackoff{} // seconds to minutes: nothing retries while the clock stands still
		cfg.ProcessTTL = 24 * time.Hour    // longer than the jump below: the server's own lease survives it
		s := startServer(t, b, cfg, func(s *Server) { s.duties.testSignals.ran.Init(t) })

		delayedRes, err := client.Enqueue(ctx, clockArgs{Mode: "ok"}, &EnqueueOpts{Delay: time.Hour})
		delayed := delayedRes.ID
		if err != nil {
			t.Fatal(err)
		}
		failingRes, err := client.Enqueue(ctx, clockArgs{Mode: "fail"}, nil)
		failing := failingRes.ID
		if err != nil {
			t.Fatal(err)
		}
		killedRes, err := client.Enqueue(ctx, clockArgs{Mode: "kill"}, nil)
		killed := killedRes.ID
		if err != nil {
			t.Fatal(err)
		}
		batch, err := client.NewBatch(ctx, BatchOpts{CommitTimeout: 90 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}

		sched := listAll(t, b, backend.JobFilter{Set: backend.SetScheduled})
		if len(sched) != 1 || sched[0].ID != delayed {
			t.Fatalf("scheduled set = %+v, want only job %s", sched, delayed)
		}
		sameMs(t, "delayed job's RunAt", sched[0].RunAt, t0.Add(time.Hour))
		sameMs(t, "delayed job's CreatedAt", sched[0].CreatedAt, t0)

		retry1 := waitForJob(t, b, backend.SetRetry, failing, 1)
		sameMs(t, "first FailedAt", retry1.FailedAt, t0)
		sameMs(t, "CreatedAt of the failing job", retry1.CreatedAt, t0)
		dead := waitForJob(t, b, backend.SetDead, killed, 1)
		sameMs(t, "DiedAt", dead.DiedAt, t0)
		sameMs(t, "FailedAt of the killed job", dead.FailedAt, t0)

		// The first retry is due 15 to 24 s (SidekiqBackoff's first step)
		// after the fake now: not a millisecond sooner...
		if n := moveDue(t, b, t0.Add(15*time.Second-time.Millisecond)); n != 0 {
			t.Fatalf("MoveDue just before fake now + 15s moved %d jobs; the retry was scheduled off the fake clock", n)
		}
		// ...and at the latest by then.
		if n := moveDue(t, b, t0.Add(24*time.Second)); n != 1 {
			t.Fatalf("MoveDue at fake now + 24s moved %d jobs, want the retry", n)
		}
		// It runs again and fails again, still at t0: the second retry is
		// due 16 to 35 s after t0, so the duties leave it alone while the
		// clock stands still.
		sameMs(t, "second FailedAt", waitForJob(t, b, backend.SetRetry, failing, 2).FailedAt, t0)

		// Rounds of duties at t0 do not run the delayed job, nor expire the
		// uncommitted batch.
		s.duties.testSignals.ran.Drain() // rounds from now on
		for range 3 {
			s.duties.testSignals.ran.WaitOrTimeout()
		}
		select {
		case id := <-ran:
			t.Fatalf("job %s ran before its time on the fake clock", id)
		default:
		}
		if st := batchState(t, client, batch.ID()); st.State != backend.BatchPopulating {
			t.Fatalf("batch is %s before its commit deadline, want %s", st.State, backend.BatchPopulating)
		} else {
			sameMs(t, "batch CreatedAt", st.CreatedAt, t0)
		}
		stats, err := client.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stats.Days) == 0 || stats.Days[0].Date != "2030-01-01" || stats.Days[0].Failed != 3 {
			t.Fatalf("stats days = %+v, want 3 failures counted on 2030-01-01", stats.Days)
		}
		if p := findProcess(stats, s.ProcessID()); p == nil {
			t.Fatalf("process %s missing from %+v", s.ProcessID(), stats.Processes)
		} else {
			sameMs(t, "process StartedAt", p.StartedAt, t0)
		}

		// Two hours on, the duties run the delayed job and the retry, and
		// expire the batch.
		t2 := clk.Advance(2 * time.Hour)
		if got := waitRecv(t, "the delayed job to run", ran); got != delayed {
			t.Fatalf("ran job %s, want %s", got, delayed)
		}
		sameMs(t, "third FailedAt", waitForJob(t, b, backend.SetRetry, failing, 3).FailedAt, t2)
		if n := moveDue(t, b, t2.Add(31*time.Second-time.Millisecond)); n != 0 {
			t.Fatalf("MoveDue just before t2 + 31s moved %d jobs; the third retry was scheduled off the fake clock", n)
		}
		waitFor(t, "the uncommitted batch to expire", func() bool {
			return batchState(t, client, batch.ID()).State == backend.BatchExpired
		})
	})
}

// sameMs fails the test unless got and want are the same instant to the
// millisecond (stores keep milliseconds).
func sameMs(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if got.UnixMilli() != want.UnixMilli() {
		t.Fatalf("%s = %v, want %v", what, got.UTC(), want.UTC())
	}
}

// waitForJob waits until job id sits in set with the given attempt count
// and returns it.
func waitForJob(t *testing.T, b backend.Backend, set backend.JobSet, id string, attempt int) *backend.Job {
	t.Helper()
	var found *backend.Job
	waitFor(t, "job "+id+" in the "+string(set)+" set", func() bool {
		for _, j := range listAll(t, b, backend.JobFilter{Set: set}) {
			if j.ID == id && j.Attempt == attempt {
				found = j
				return true
			}
		}
		return false
	})
	return found
}

// moveDue moves the jobs due at now, as the duties would.
func moveDue(t *testing.T, b backend.Backend, now time.Time) int {
	t.Helper()
	n, err := b.MoveDue(context.Background(), now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func batchState(t *testing.T, c *Client, id string) *BatchStatus {
	t.Helper()
	st, err := c.BatchStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func findProcess(st *backend.Stats, id string) *backend.ProcessInfo {
	for i := range st.Processes {
		if st.Processes[i].ID == id {
			return &st.Processes[i]
		}
	}
	return nil
}
