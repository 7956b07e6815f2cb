package joblot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestNoFetchUnderFencedIdentity: a fetch loop that waits for a free slot
// when the process fences itself fetches nothing once the slot frees: it
// looks at the fence again before fetching, so every job claimed after
// the fencing is claimed (and recorded) under the new identity.
func TestNoFetchUnderFencedIdentity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		started, ran := make(chan int, 10), make(chan int, 10)
		gate := make(chan struct{})
		var released atomic.Bool
		t.Cleanup(func() {
			if !released.Load() {
				close(gate)
			}
		})
		// Two slots (one worker, one prefetched job), both taken by held
		// jobs: the fetch loops wait for a slot.
		cfg := fastConfig(quietWorkers(started, ran, gate))
		cfg.Concurrency, cfg.Prefetch = 1, 1
		s := startServer(t, b, cfg, fenceSignals(t))
		c := NewClient(b, ClientConfig{})
		held := map[string]bool{}
		for range 2 {
			res, err := c.Enqueue(ctx, quietArgs{N: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			held[res.ID] = true
		}
		waitRecv(t, "a held job to start", started)
		waitFor(t, "both held jobs to be claimed", func() bool { return s.inFlight.Load() == 2 })
		oldID := s.ProcessID()

		// The takeover (see TestSelfFencing) while the loops wait for slots.
		if _, err := b.RecoverOrphans(ctx, time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if id := s.heartbeater.testSignals.fenced.WaitOrTimeout(); id != oldID {
			t.Fatalf("fenced identity %q, want %q", id, oldID)
		}
		next, err := c.Enqueue(ctx, quietArgs{N: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}

		// The held jobs end and free their slots; their results go under
		// the identity they were claimed under. Anything else recorded
		// under it was claimed after the fencing.
		released.Store(true)
		close(gate)
		for {
			a := s.acker.testSignals.acked.WaitOrTimeout()
			done := false
			for _, r := range a.results {
				id := r.Fetched.ID
				if a.proc == oldID {
					if !held[id] {
						t.Fatalf("job %s was claimed under the fenced identity %s", id, oldID)
					}
					delete(held, id) // a held job's first run only
				}
				done = done || id == next.ID
			}
			if done {
				break
			}
		}
	})
}
