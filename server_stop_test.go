package joblot

import (
	"context"
	"errors"
	"testing"

	"github.com/joblot/joblot/backend"
)

// TestStopRequestedThroughTheStore: an operator's StopProcess, from another
// connection to the store (Redis) or another process (bolt, through the
// owner's local endpoint), stops the server at its next heartbeat: the job
// it was running finishes, Run returns nil by itself, StoppedByOperator is
// closed and the process has left the store.
func TestStopRequestedThroughTheStore(t *testing.T) {
	run := func(t *testing.T, b, operator backend.Backend) {
		ctx := context.Background()
		started, ran := make(chan int, 2), make(chan int, 2)
		gate := make(chan struct{})
		s, err := NewServer(b, fastConfig(quietWorkers(started, ran, gate)))
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel) // only if the test fails before Run returns
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx) }()
		if _, err := NewClient(b, ClientConfig{}).Enqueue(ctx, quietArgs{N: 1}, nil); err != nil {
			t.Fatal(err)
		}
		waitRecv(t, "the job to start", started)
		in := NewInspector(operator)
		if err := in.StopProcess(ctx, "no-such-process"); !errors.Is(err, backend.ErrProcessNotFound) {
			t.Fatalf("StopProcess of an unknown process: %v, want ErrProcessNotFound", err)
		}
		if err := in.StopProcess(ctx, s.ProcessID()); err != nil {
			t.Fatalf("StopProcess: %v", err)
		}
		close(gate) // the running job may finish: the stop waits for it
		if err := waitRecv(t, "Run to return after the stop request", done); err != nil {
			t.Fatalf("Run returned %v after an operator's stop", err)
		}
		select {
		case <-s.StoppedByOperator():
		default:
			t.Fatal("StoppedByOperator is not closed after the operator's stop")
		}
		if n := waitRecv(t, "the running job to finish", ran); n != 1 {
			t.Fatalf("finished job %d, want 1", n)
		}
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p := findProcess(st, s.ProcessID()); p != nil {
			t.Fatalf("the stopped process is still registered: %+v", p)
		}
		if q, _ := st.Queue(DefaultQueue); q.InFlight != 0 || q.Size != 0 {
			t.Fatalf("queue after the stop: %+v, want the job done, nothing in flight", q)
		}
	}
	withOperatorHandle(t, run)
}

// TestStopProcessUnsupported: a store that cannot carry the request says
// so instead of pretending.
func TestStopProcessUnsupported(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	err := NewInspector(hiddenQuieter{b}).StopProcess(context.Background(), "p")
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("StopProcess on a backend without Stopper: %v, want ErrUnsupported", err)
	}
}
