package joblot

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// fenceSignals makes a server signal its fencing, its re-registration, the
// fetch loops' fenced pauses and its acks.
func fenceSignals(t *testing.T) func(*Server) {
	return func(s *Server) {
		s.heartbeater.testSignals.fenced.Init(t)
		s.heartbeater.testSignals.reRegistered.Init(t)
		s.fetcher.testSignals.fenced.Init(t)
		s.acker.testSignals.acked.Init(t)
	}
}

// waitAckOf waits for the ack of job id and returns the identity it was
// recorded under.
func waitAckOf(s *Server, id string) string {
	for {
		a := s.acker.testSignals.acked.WaitOrTimeout()
		for _, r := range a.results {
			if r.Fetched.ID == id {
				return a.proc
			}
		}
	}
}

// TestSelfFencing: a process whose lease another process took over (it
// was declared dead and its jobs recovered) fences itself at its next
// heartbeat: its fetch loops pause, Health says fenced. Once its running
// jobs are done (their results recorded under the identity they were
// claimed under) it re-registers under a new identity, and fetches and
// records the next jobs under that one.
func TestSelfFencing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		// The held job may run twice: the takeover returns it to its
		// queue, and this process may claim it again before it notices.
		started, ran := make(chan int, 10), make(chan int, 10)
		gate := make(chan struct{})
		var released atomic.Bool
		t.Cleanup(func() {
			if !released.Load() {
				close(gate)
			}
		})
		s := startServer(t, b, fastConfig(quietWorkers(started, ran, gate)), fenceSignals(t))
		c := NewClient(b, ClientConfig{})
		held, err := c.Enqueue(ctx, quietArgs{N: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitRecv(t, "the held job to start", started)
		oldID := s.ProcessID()

		// The takeover: the process's lease is an hour, so two hours on a
		// recoverer declares it dead and recovers its job.
		if _, err := b.RecoverOrphans(ctx, time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if id := s.heartbeater.testSignals.fenced.WaitOrTimeout(); id != oldID {
			t.Fatalf("fenced identity %q, want %q", id, oldID)
		}
		// A fetch loop comes round to the fence and pauses; the held job
		// keeps the process from re-registering meanwhile.
		s.fetcher.testSignals.fenced.WaitOrTimeout()
		if h := s.Health(ctx); h.State != StateFenced || h.Process != oldID || !h.Live || h.Ready {
			t.Fatalf("Health while fenced = %+v, want live, not ready, fenced under %s", h, oldID)
		}

		released.Store(true)
		close(gate)
		if proc := waitAckOf(s, held.ID); proc != oldID {
			t.Fatalf("the held job was recorded under %q, want the identity it was claimed under, %q", proc, oldID)
		}
		newID := s.heartbeater.testSignals.reRegistered.WaitOrTimeout()
		if newID == oldID || newID != s.ProcessID() {
			t.Fatalf("re-registered as %q (ProcessID %q), want a new identity, not %q", newID, s.ProcessID(), oldID)
		}
		if h := s.Health(ctx); !h.Ready || h.Process != newID {
			t.Fatalf("Health after the re-registration = %+v, want ready under %s", h, newID)
		}

		next, err := c.Enqueue(ctx, quietArgs{N: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if proc := waitAckOf(s, next.ID); proc != newID {
			t.Fatalf("a job enqueued after the re-registration was recorded under %q, want %q", proc, newID)
		}
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if findProcess(st, newID) == nil {
			t.Fatalf("the new identity %s is not listed: %+v", newID, st.Processes)
		}
		if findProcess(st, oldID) != nil {
			t.Fatalf("the fenced identity %s is listed again", oldID)
		}
	})
}

// TestReRegisterAfterStoreForgot: when the store forgets a live process
// (here its entry in Redis's process set is deleted, as a flushed or
// restored Redis would), the next heartbeat finds it gone; the process
// fences itself as if it had been declared dead and, with no job running,
// re-registers at once under a new identity, then runs jobs under it.
func TestReRegisterAfterStoreForgot(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ran := make(chan int, 10)
	s := startServer(t, b, fastConfig(quietWorkers(make(chan int, 10), ran, nil)), fenceSignals(t))
	oldID := s.ProcessID()

	keys, err := srv.Do("KEYS", "*:procs")
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.Fields(keys)) != 1 {
		t.Fatalf("process set keys = %q, want one", keys)
	}
	if _, err := srv.Do("DEL", strings.TrimSpace(keys)); err != nil {
		t.Fatal(err)
	}
	if id := s.heartbeater.testSignals.fenced.WaitOrTimeout(); id != oldID {
		t.Fatalf("fenced identity %q, want %q", id, oldID)
	}
	newID := s.heartbeater.testSignals.reRegistered.WaitOrTimeout()
	if newID == oldID {
		t.Fatalf("re-registered under the forgotten identity %q, want a new one", oldID)
	}
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if findProcess(st, newID) == nil {
		t.Fatalf("the new identity %s is not listed: %+v", newID, st.Processes)
	}
	res, err := NewClient(b, ClientConfig{}).Enqueue(ctx, quietArgs{N: 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if proc := waitAckOf(s, res.ID); proc != newID {
		t.Fatalf("a job after the re-registration was recorded under %q, want %q", proc, newID)
	}
}
