package joblot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

type snoozeArgs struct {
	// Times is how many times the job snoozes before it succeeds.
	Times int `json:"times"`
}

func (snoozeArgs) Kind() string { return "snooze" }

// run is what one run of a snoozing job saw.
type run struct {
	attempt, snoozes int
	meta             string
}

// A job that snoozes twice and then succeeds runs three times, each as its
// first attempt: no retry is used (it has none), nothing is counted failed,
// it keeps its metadata, and it is processed once.
func TestSnoozeRunsAgainWithoutRetry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		var runs recorder[run]
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[snoozeArgs](func(ctx context.Context, j *Job[snoozeArgs]) error {
			runs.add(run{attempt: j.Attempt, snoozes: j.Snoozes, meta: j.Meta["tenant"]})
			if j.Snoozes < j.Args.Times {
				return JobSnooze(10 * time.Millisecond)
			}
			return nil
		}), nil)
		startServer(t, b, fastConfig(ws))
		c := NewClient(b, ClientConfig{})
		if _, err := c.Enqueue(context.Background(), snoozeArgs{Times: 2}, &EnqueueOpts{MaxRetries: NoRetries, Meta: map[string]string{"tenant": "acme"}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the job to succeed", func() bool {
			st, err := c.Stats(context.Background())
			return err == nil && st.Processed == 1
		})
		got := runs.all()
		want := []run{{1, 0, "acme"}, {1, 1, "acme"}, {1, 2, "acme"}}
		if len(got) != len(want) {
			t.Fatalf("runs = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("runs = %+v, want %+v", got, want)
			}
		}
		st, err := c.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Processed != 1 || st.Failed != 0 {
			t.Fatalf("Processed %d Failed %d, want 1, 0: a snooze is not a finished attempt", st.Processed, st.Failed)
		}
		for _, set := range []backend.JobSet{backend.SetRetry, backend.SetDead, backend.SetScheduled, backend.SetQueued} {
			if left := listAll(t, b, backend.JobFilter{Set: set}); len(left) != 0 {
				t.Fatalf("%d jobs left in the %s set", len(left), set)
			}
		}
	})
}

// A job that snoozes beyond its kind's cap fails with ErrTooManySnoozes:
// with no retries it goes dead after cap+1 runs, its snoozes counted.
func TestSnoozeCapFails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		var runs recorder[int]
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[snoozeArgs](func(ctx context.Context, j *Job[snoozeArgs]) error {
			runs.add(j.Snoozes)
			return JobSnooze(time.Millisecond)
		}), &WorkerOpts{MaxSnoozes: 2})
		startServer(t, b, fastConfig(ws))
		c := NewClient(b, ClientConfig{})
		idRes, err := c.Enqueue(context.Background(), snoozeArgs{}, &EnqueueOpts{MaxRetries: NoRetries})
		id := idRes.ID
		if err != nil {
			t.Fatal(err)
		}
		var dead []*backend.Job
		waitFor(t, "the job to die", func() bool {
			dead = listAll(t, b, backend.JobFilter{Set: backend.SetDead})
			return len(dead) == 1
		})
		j := dead[0]
		if j.ID != id || j.Snoozes != 2 || j.Attempt != 1 || !strings.Contains(j.ErrorMessage, "snoozed 2 times") {
			t.Fatalf("dead job: ID %s Snoozes %d Attempt %d error %q; want %s, 2, 1, the snooze cap", j.ID, j.Snoozes, j.Attempt, j.ErrorMessage, id)
		}
		if got := runs.all(); len(got) != 3 {
			t.Fatalf("runs saw snoozes %v, want 3 runs", got)
		}
		st, err := c.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Processed != 1 || st.Failed != 1 {
			t.Fatalf("Processed %d Failed %d, want 1, 1", st.Processed, st.Failed)
		}
	})
}

// The snooze decision in isolation, on an injected clock: the result
// schedules the job d from now, attempt unchanged; NoSnoozes and the cap
// turn it into a failure wrapping ErrTooManySnoozes.
func TestSnoozeResult(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &executor{cfg: ServerConfig{Now: func() time.Time { return now }, MaxRetries: 3, RetryPolicy: ConstantBackoff(time.Minute), MaxErrorBytes: 1024}}
	f := &backend.Fetched{Job: &backend.Job{ID: "j", Kind: "snooze", Queue: "q", Attempt: 2, Snoozes: 4, Recoveries: 1, Meta: map[string]string{"a": "b"}}}

	res := s.snooze(f, &workerEntry{}, time.Hour, time.Now())
	if res.Outcome != backend.OutcomeSnoozed || !res.RetryAt.Equal(now.Add(time.Hour)) || !res.Job.RunAt.Equal(res.RetryAt) {
		t.Fatalf("snooze result: %v at %v (RunAt %v)", res.Outcome, res.RetryAt, res.Job.RunAt)
	}
	if j := res.Job; j.Attempt != 2 || j.Snoozes != 5 || j.Recoveries != 0 || j.Meta["a"] != "b" || f.Job.Snoozes != 4 {
		t.Fatalf("snoozed job %+v (fetched one %+v)", j, f.Job)
	}
	if JobSnooze(-time.Hour).(*snoozeError).d != 0 {
		t.Fatal("a negative snooze is not 0")
	}
	for _, limit := range []int{NoSnoozes, 4} {
		res := s.snooze(f, &workerEntry{opts: WorkerOpts{MaxSnoozes: limit}}, time.Hour, time.Now())
		if res.Outcome != backend.OutcomeRetry || res.Job.Attempt != 3 || !strings.Contains(res.Job.ErrorMessage, ErrTooManySnoozes.Error()) {
			t.Fatalf("MaxSnoozes %d: %v, job %+v; want a retry with ErrTooManySnoozes", limit, res.Outcome, res.Job)
		}
	}
	// A middleware wrapping the snooze keeps it a snooze.
	if d, ok := snoozeOf(errors.Join(errors.New("ctx"), JobSnooze(time.Second))); !ok || d != time.Second {
		t.Fatalf("wrapped snooze: %v %v", d, ok)
	}
}

// A snooze matches ErrJobSnoozed, wrapped or not; a failure, a kill and a
// discard do not.
func TestErrJobSnoozed(t *testing.T) {
	if err := fmt.Errorf("later: %w", JobSnooze(time.Minute)); !errors.Is(err, ErrJobSnoozed) {
		t.Fatalf("wrapped snooze %v does not match ErrJobSnoozed", err)
	}
	for _, err := range []error{errors.New("boom"), JobKill(errors.New("x")), JobDiscard(nil)} {
		if errors.Is(err, ErrJobSnoozed) {
			t.Fatalf("%v matches ErrJobSnoozed", err)
		}
	}
}
