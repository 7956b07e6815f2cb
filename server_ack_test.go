package joblot

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestAckUnderFetchingIdentity: a result is recorded under the identity
// its job was claimed under, even when the process re-registered under a
// new one (after fencing) between the fetch and the ack. Recorded under the
// new identity, the ack would find nothing in flight and the job would stay
// in the old identity's in-flight record, to be recovered and run again.
func TestAckUnderFetchingIdentity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		started := make(chan struct{})
		release := make(chan struct{})
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
			close(started)
			<-release
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.ProcessTTL = time.Hour // the old identity stays listed, with its in-flight count
		s, err := NewServer(b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.acker.testSignals.acked.Init(t)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Stop(sctx)
		})
		if _, err := NewClient(b, ClientConfig{}).Enqueue(ctx, greetArgs{Name: "x"}, nil); err != nil {
			t.Fatal(err)
		}
		<-started
		oldID := s.ProcessID()
		// What the heartbeater does when it re-registers after fencing.
		s.lease.renew()
		close(release)

		if proc := s.acker.testSignals.acked.WaitOrTimeout().proc; proc != oldID {
			t.Errorf("result recorded under %q, want the fetching identity %q", proc, oldID)
		}
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := st.Queue(DefaultQueue); q.InFlight != 0 {
			t.Errorf("queue %q has %d jobs in flight after the ack, want 0", DefaultQueue, q.InFlight)
		}
		found := false
		for _, p := range st.Processes {
			if p.ID == oldID {
				found = true
				if p.InFlight != 0 {
					t.Errorf("old identity still has %d jobs in flight", p.InFlight)
				}
			}
		}
		if !found {
			t.Errorf("old identity %q not listed; cannot check its in-flight record", oldID)
		}
		if st.Processed != 1 {
			t.Errorf("processed = %d, want 1", st.Processed)
		}
	})
}
