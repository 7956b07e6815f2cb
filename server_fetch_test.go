package joblot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// TestPartialFetchRunsClaimedJobs: a fetch that fails at one queue after
// claiming jobs from another hands the claimed jobs to the workers and
// frees the slots of the jobs it did not return. Dropped, the jobs would
// sit in the live process's in-flight hash, never run nor recovered, and
// their slots would leak until the process stopped fetching altogether.
func TestPartialFetchRunsClaimedJobs(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	// A key of the wrong type where the "broken" queue's list should be:
	// every fetch that reaches that queue fails.
	if _, err := srv.Do("SET", "{jl:q:broken}:jobs", "not a list"); err != nil {
		t.Fatal(err)
	}

	ran := &recorder[int]{}
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
		ran.add(j.Args.N)
		return nil
	}), nil)
	cfg := fastConfig(ws)
	cfg.Concurrency = 4
	cfg.Prefetch = 1
	// "good" first, so each fetch claims its jobs and then fails at
	// "broken".
	cfg.Queues = map[string]int{"good": 2, "broken": 1}
	cfg.StrictPriority = true
	s := startServer(t, b, cfg)
	capacity := cfg.Concurrency + cfg.Prefetch

	client := NewClient(b, ClientConfig{})
	// Rounds of fewer jobs than slots: every fetch comes back partial.
	// Leaking 3 slots a round, the fourth round would find none left.
	const rounds, perRound = 4, 3
	for r := range rounds {
		params := make([]EnqueueParams, perRound)
		for i := range params {
			params[i] = EnqueueParams{Args: greetArgs{N: r*perRound + i}, Opts: EnqueueOpts{Queue: "good"}}
		}
		if _, err := client.EnqueueMany(ctx, params); err != nil {
			t.Fatal(err)
		}
		want := (r + 1) * perRound
		waitFor(t, "the round's jobs to run", func() bool { return ran.len() >= want })
	}
	seen := map[int]bool{}
	for _, n := range ran.all() {
		if seen[n] {
			t.Errorf("job %d ran twice", n)
		}
		seen[n] = true
	}
	// Nothing stays in flight once the results are recorded (Stats cannot
	// say while the broken key is there: it fails on it too).
	waitFor(t, "the in-flight hashes to empty", func() bool {
		wip, err := srv.Do("KEYS", "{jl:q:good}:wip:*")
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range strings.Fields(wip) {
			if n, err := srv.Do("HLEN", key); err != nil || n != "0" {
				return false
			}
		}
		return true
	})
	// Between fetches (each fails at "broken" and backs off) every slot
	// is free again.
	waitFor(t, "all slots free", func() bool {
		sl := s.executor.slots
		sl.mu.Lock()
		defer sl.mu.Unlock()
		return sl.free == capacity
	})

	if _, err := srv.Do("DEL", "{jl:q:broken}:jobs"); err != nil {
		t.Fatal(err)
	}
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Processed != rounds*perRound {
		t.Errorf("processed = %d, want %d", st.Processed, rounds*perRound)
	}
	if q, _ := st.Queue("good"); q.InFlight != 0 || q.Size != 0 {
		t.Errorf("queue good: %d in flight, %d queued; want 0 and 0", q.InFlight, q.Size)
	}
}
