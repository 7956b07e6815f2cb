package joblot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// A payload over the limit that reached the store without Enqueue (here an
// LPUSH straight into the queue) goes dead with the reason and never runs;
// the server goes on with the next job.
func TestOversizedStoredPayloadGoesDeadUnrun(t *testing.T) {
	ctx := context.Background()
	b := openRedis(t, backend.Limits{})
	args, err := json.Marshal(greetArgs{Name: strings.Repeat("x", 5<<20)})
	if err != nil {
		t.Fatal(err)
	}
	big := &backend.Job{ID: backend.NewJobID(), Kind: "greet", Queue: DefaultQueue, Args: args, CreatedAt: time.Now()}
	raw := big.AppendBinary(nil)
	rc := b.Client()
	if err := rc.Do(ctx, rc.B().Lpush().Key("{jl:q:"+DefaultQueue+"}:jobs").Element(string(raw)).Build()).Error(); err != nil {
		t.Fatal(err)
	}

	ran := &recorder[int]{}
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[greetArgs](func(_ context.Context, j *Job[greetArgs]) error {
		ran.add(len(j.Args.Name))
		return nil
	}), nil)
	startServer(t, b, fastConfig(ws))
	waitFor(t, "the oversized job to die", func() bool {
		return len(listAll(t, b, backend.JobFilter{Set: backend.SetDead})) == 1
	})
	dead := listAll(t, b, backend.JobFilter{Set: backend.SetDead})[0]
	if dead.ID != big.ID || !strings.Contains(dead.ErrorMessage, "too large") || !strings.Contains(dead.ErrorMessage, "over the limit of 1048576") {
		t.Fatalf("dead job %s: %q, want %s with the size reason", dead.ID, dead.ErrorMessage, big.ID)
	}

	// The server keeps going.
	if _, err := NewClient(b, ClientConfig{}).Enqueue(ctx, greetArgs{Name: "small"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next job", func() bool { return ran.len() == 1 })
	if got := ran.all(); got[0] != len("small") {
		t.Fatalf("the worker ran a job with a %d-byte name: the oversized job ran", got[0])
	}
}

// The limit is on the job as enqueued: the failure record a server adds
// (error message, backtrace) does not push a job under the limit over it.
func TestPayloadLimitOnFetchIgnoresTheFailureRecord(t *testing.T) {
	s := &executor{client: NewClient(nil, ClientConfig{MaxPayloadBytes: 1000})}
	fetched := func(args, msg, trace int) *backend.Fetched {
		j := &backend.Job{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: make([]byte, args),
			ErrorMessage: strings.Repeat("e", msg), Backtrace: make([]byte, trace)}
		return &backend.Fetched{Job: j, Raw: j.AppendBinary(nil)}
	}
	for _, c := range []struct {
		args, msg, trace int
		ok               bool
	}{
		{900, 0, 0, true},
		{900, 900, 0, true},
		{900, 500, 400, true},
		{1200, 0, 0, false},
		{900, 800, 800, false},
	} {
		err := s.unrunnable(fetched(c.args, c.msg, c.trace))
		if c.ok != (err == nil) || err != nil && !errors.Is(err, ErrPayloadTooLarge) {
			t.Errorf("args %d, message %d, backtrace %d: %v", c.args, c.msg, c.trace, err)
		}
	}
}

// panicObserver panics on every job, as an observer may on data it did not
// expect.
type panicObserver struct{}

func (panicObserver) JobDone(string, string, backend.Outcome, time.Duration) { panic("observer bug") }

// The observer runs outside the job's recover: its panic must not take the
// worker process down, nor lose the job's outcome.
func TestPanickingObserverDoesNotStopTheServer(t *testing.T) {
	ctx := context.Background()
	b := openBolt(t, backend.Limits{})
	ran := &recorder[string]{}
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[greetArgs](func(_ context.Context, j *Job[greetArgs]) error {
		ran.add(j.Args.Name)
		return nil
	}), nil)
	cfg := fastConfig(ws)
	cfg.Observer = panicObserver{}
	startServer(t, b, cfg)
	client := NewClient(b, ClientConfig{})
	for _, name := range []string{"a", "b", "c"} {
		if _, err := client.Enqueue(ctx, greetArgs{Name: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three jobs acked", func() bool {
		st, err := client.Stats(ctx)
		return err == nil && st.Processed == 3
	})
	if ran.len() != 3 {
		t.Fatalf("ran %v", ran.all())
	}
}
