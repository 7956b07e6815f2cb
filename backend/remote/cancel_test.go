package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// A CLI cancelling a running job through the socket reaches the owner's
// cancel listeners, in the process that runs the job; ErrJobNotFound
// crosses the wire.
func TestCancelJobReachesOwner(t *testing.T) {
	o := serve(t, backend.Limits{})
	cl, ok := o.b.(backend.CancelListener)
	if !ok {
		t.Fatalf("%T is not a CancelListener", o.b)
	}
	ctx, stop := context.WithCancel(context.Background())
	heard := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- cl.ListenCancels(ctx, func(q, id string) {
			select { // a listener must not block
			case heard <- q + "/" + id:
			default:
			}
		})
	}()
	defer func() { stop(); <-done }()

	j := &backend.Job{ID: backend.NewJobID(), Kind: "k", Queue: "q", CreatedAt: time.Now()}
	if _, err := o.b.Enqueue(ctx, []*backend.Job{j}); err != nil {
		t.Fatal(err)
	}
	if err := o.b.Heartbeat(ctx, backend.ProcessInfo{ID: "p1", Queues: []string{"q"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if res, err := o.b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"q"}, Max: 1}); err != nil || len(res.Jobs) != 1 {
		t.Fatalf("Fetch = %d jobs, %v", len(res.Jobs), err)
	}
	c := o.dial(t)
	// The listener registers asynchronously: ask until it hears.
	deadline := time.After(time.Minute)
	for got := ""; got != "q/"+j.ID; {
		r, err := c.CancelJob(ctx, "q", j.ID)
		if err != nil || r != backend.CancelRunning {
			t.Fatalf("CancelJob through the socket = %v, %v; want CancelRunning", r, err)
		}
		select {
		case got = <-heard:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatal("the owner's listener never heard the cancel")
		}
	}
	if _, err := c.CancelJob(ctx, "q", "no-such-job"); !errors.Is(err, backend.ErrJobNotFound) {
		t.Fatalf("CancelJob(unknown) through the socket = %v, want ErrJobNotFound", err)
	}
}
