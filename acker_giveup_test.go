package joblot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
)

// failingComplete is a real backend whose Complete always fails, as a
// store that became unreachable for results would; it reports each failed
// call on failed.
type failingComplete struct {
	backend.Backend
	failed chan struct{}
}

var errNoComplete = errors.New("test: the store takes no results")

func (f *failingComplete) Complete(ctx context.Context, proc string, results []backend.Result) error {
	select {
	case f.failed <- struct{}{}:
	default:
	}
	return errNoComplete
}

// TestStopGivesUpAckingAfterItsContext: results the store will not take
// are retried while the server runs, but Stop returns once its context is
// done, logging the jobs it gave up on; the jobs are not lost: they stay
// in flight and go back to their queue (here when the process deregisters).
func TestStopGivesUpAckingAfterItsContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, real backend.Backend) {
		ctx := context.Background()
		b := &failingComplete{Backend: real, failed: make(chan struct{}, 1)}
		logs := &logBuffer{}
		cfg := fastConfig(quietWorkers(make(chan int, 10), make(chan int, 10), nil))
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		s, err := NewServer(b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := NewClient(real, ClientConfig{}).Enqueue(ctx, quietArgs{N: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Two failed attempts: the acker is retrying.
		waitRecv(t, "a failed ack", b.failed)
		waitRecv(t, "a retried ack", b.failed)

		sctx, cancel := context.WithCancel(ctx)
		cancel() // Stop's time is up already
		stopped := make(chan error, 1)
		go func() { stopped <- s.Stop(sctx) }()
		if err := waitRecv(t, "Stop to return", stopped); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if l := logs.String(); !strings.Contains(l, "giving up recording results") || !strings.Contains(l, res.ID) {
			t.Errorf("no give-up log naming job %s:\n%s", res.ID, l)
		}
		queued := listAll(t, real, backend.JobFilter{Set: backend.SetQueued, Queue: DefaultQueue})
		if len(queued) != 1 || queued[0].ID != res.ID {
			t.Errorf("queued after Stop = %v, want job %s back", queued, res.ID)
		}
	})
}
