package joblot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// progressStore is a backend that counts progress writes, and can hold
// one under way until released.
type progressStore struct {
	backend.Backend
	mu      sync.Mutex
	writes  []backend.SetProgressParams
	started chan struct{} // receives when a write starts, if set
	release chan struct{} // a write waits for it, if set
	done    func()        // called when a write ends, if set
}

func (p *progressStore) SetProgress(ctx context.Context, sp backend.SetProgressParams) (backend.SetProgressResult, error) {
	if p.started != nil {
		p.started <- struct{}{}
	}
	if p.release != nil {
		<-p.release
	}
	p.mu.Lock()
	p.writes = append(p.writes, sp)
	p.mu.Unlock()
	if p.done != nil {
		p.done()
	}
	return backend.SetProgressResult{Stored: true}, nil
}

func (p *progressStore) JobOutput(context.Context, string, string) (*backend.JobOutput, error) {
	return nil, backend.ErrNoOutput
}

func (p *progressStore) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.writes)
}

type outputArgs struct {
	N int `json:"n"`
}

func (outputArgs) Kind() string { return "output-args" }

// runOutputJob runs one job of work on a server over store with the given
// progress interval, and returns its result.
func runOutputJob(t *testing.T, store backend.Backend, interval time.Duration, work func(ctx context.Context) error) (backend.Result, error) {
	t.Helper()
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[outputArgs](func(ctx context.Context, _ *Job[outputArgs]) error { return work(ctx) }),
		&WorkerOpts{MaxRetries: 5})
	s, err := NewServer(store, ServerConfig{Workers: ws, ProgressInterval: interval, MaxOutputBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	job := &backend.Job{ID: backend.NewJobID(), Kind: outputArgs{}.Kind(), Queue: DefaultQueue, Args: []byte(`{}`), CreatedAt: time.Now()}
	return s.RunOne(context.Background(), &backend.Fetched{Job: job, Raw: job.AppendBinary(nil)})
}

// A tight loop of SetProgress calls costs one store write per interval:
// with an interval of an hour, the first call writes and the others only
// keep the latest value, which the success ack carries.
func TestSetProgressCoalesces(t *testing.T) {
	ps := &progressStore{Backend: openBolt(t, backend.Limits{})}
	res, err := runOutputJob(t, ps, time.Hour, func(ctx context.Context) error {
		for i := range 100_000 {
			if err := SetProgress(ctx, i%101, "step"); err != nil {
				return err
			}
		}
		return SetOutput(ctx, map[string]int{"rows": 7})
	})
	if err != nil || res.Outcome != backend.OutcomeSucceeded {
		t.Fatalf("run: %v %v", res.Outcome, err)
	}
	if n := ps.count(); n != 1 {
		t.Fatalf("%d progress writes for 100000 calls within one interval, want 1", n)
	}
	o := res.Output
	if o == nil || !o.Succeeded || !o.HasProgress || o.Progress != 99_999%101 || o.Note != "step" || string(o.Output) != `{"rows":7}` {
		t.Fatalf("ack carries %+v", o)
	}
}

// A write under way when the attempt ends lands before the ack: settle
// waits for it, so no progress write can follow the final record.
func TestSettleWaitsForProgressWrite(t *testing.T) {
	ps := &progressStore{Backend: openBolt(t, backend.Limits{}), started: make(chan struct{}, 1), release: make(chan struct{})}
	var (
		mu  sync.Mutex
		log []string
	)
	note := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	ps.done = func() { note("write") }
	recs := make(chan *outputRecorder, 1)
	done := make(chan backend.Result, 1)
	go func() {
		res, _ := runOutputJob(t, ps, time.Hour, func(ctx context.Context) error {
			r, _ := recorderOf(ctx)
			recs <- r
			if err := SetProgress(ctx, 10, ""); err != nil {
				return err
			}
			<-ps.started // the write has started: end the attempt under it
			return nil
		})
		note("result")
		done <- res
	}()
	r := waitRecv(t, "recorder", recs)
	waitFor(t, "the attempt to settle", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.closed
	})
	close(ps.release)
	res := waitRecv(t, "result", done)
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(log, ",") != "write,result" || res.Output == nil || res.Output.Progress != 10 {
		t.Fatalf("events %v, output %+v", log, res.Output)
	}
}

// A failed attempt that wrote progress asks the backend to remove it; one
// that wrote none adds nothing to its ack, nor does a success without
// output or progress.
func TestFailedAttemptClearsProgress(t *testing.T) {
	ps := &progressStore{Backend: openBolt(t, backend.Limits{})}
	res, _ := runOutputJob(t, ps, time.Hour, func(ctx context.Context) error {
		if err := SetOutput(ctx, "partial"); err != nil {
			return err
		}
		if err := SetProgress(ctx, 50, "half"); err != nil {
			return err
		}
		return errors.New("boom")
	})
	if res.Outcome != backend.OutcomeRetry || res.Output == nil || res.Output.Succeeded || res.Output.Output != nil || res.Output.HasProgress {
		t.Fatalf("failed attempt: %v, output %+v", res.Outcome, res.Output)
	}
	res, _ = runOutputJob(t, ps, time.Hour, func(ctx context.Context) error { return errors.New("boom") })
	if res.Output != nil {
		t.Fatalf("failure without progress carries %+v", res.Output)
	}
	res, _ = runOutputJob(t, ps, time.Hour, func(ctx context.Context) error { return nil })
	if res.Output != nil {
		t.Fatalf("success without output carries %+v", res.Output)
	}
}

// Bad input gets a clear error and changes nothing.
func TestOutputErrors(t *testing.T) {
	if err := SetOutput(context.Background(), 1); !errors.Is(err, ErrNotInJob) {
		t.Fatalf("outside a job: %v", err)
	}
	if err := SetProgress(context.Background(), 1, ""); !errors.Is(err, ErrNotInJob) {
		t.Fatalf("outside a job: %v", err)
	}
	ps := &progressStore{Backend: openBolt(t, backend.Limits{})}
	var errs []error
	res, _ := runOutputJob(t, ps, time.Hour, func(ctx context.Context) error {
		errs = append(errs,
			SetOutput(ctx, "kept"),
			SetOutput(ctx, strings.Repeat("x", 100)), // MaxOutputBytes is 64
			SetProgress(ctx, 101, ""),
			SetProgress(ctx, -1, ""),
			SetProgress(ctx, 5, strings.Repeat("n", backend.MaxProgressNote+1)),
			SetOutput(ctx, func() {}),
		)
		return nil
	})
	want := []error{nil, ErrOutputTooLarge, ErrInvalidProgress, ErrInvalidProgress, ErrInvalidProgress, nil}
	for i, w := range want {
		if w == nil && i == 0 && errs[i] != nil || w != nil && !errors.Is(errs[i], w) {
			t.Errorf("call %d: %v, want %v", i, errs[i], w)
		}
	}
	if errs[5] == nil {
		t.Error("an unencodable output was accepted")
	}
	var got string
	if res.Output == nil || json.Unmarshal(res.Output.Output, &got) != nil || got != "kept" || res.Output.HasProgress || ps.count() != 0 {
		t.Fatalf("after refused calls: %+v, %d writes", res.Output, ps.count())
	}
}

// End to end on both backends: a job's progress is readable while it
// runs, its output after it succeeded; a job that fails (and then
// succeeds without output) keeps nothing.
func TestOutputEndToEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		running, release := make(chan struct{}), make(chan struct{})
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[outputArgs](func(ctx context.Context, job *Job[outputArgs]) error {
			switch job.Args.N {
			case 1:
				if err := SetProgress(ctx, 30, "working"); err != nil {
					return err
				}
				close(running)
				<-release
				return SetOutput(ctx, []int{1, 2, 3})
			case 2:
				if job.Attempt == 1 {
					if err := SetProgress(ctx, 60, "about to fail"); err != nil {
						return err
					}
					return errors.New("first attempt fails")
				}
			}
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{})
		startServer(t, b, fastConfig(ws))
		in := NewInspector(b)
		j1, err := client.Enqueue(ctx, outputArgs{N: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitRecv(t, "job 1 to run", running)
		var rec *backend.JobOutput
		waitFor(t, "job 1's progress", func() bool {
			rec, _ = in.JobOutput(ctx, DefaultQueue, j1.ID)
			return rec != nil
		})
		if rec.Succeeded || rec.Progress != 30 || rec.Note != "working" {
			t.Fatalf("while running: %+v", rec)
		}
		close(release)
		waitFor(t, "job 1's output", func() bool {
			rec, _ = in.JobOutput(ctx, DefaultQueue, j1.ID)
			return rec != nil && rec.Succeeded
		})
		if string(rec.Output) != "[1,2,3]" || rec.Progress != 30 {
			t.Fatalf("after success: %+v", rec)
		}

		j2, err := client.Enqueue(ctx, outputArgs{N: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "job 2 to succeed", func() bool {
			st, err := in.Stats(ctx)
			return err == nil && st.Processed == 3
		})
		if _, err := in.JobOutput(ctx, DefaultQueue, j2.ID); !errors.Is(err, backend.ErrNoOutput) {
			t.Fatalf("job 2 (failed, then succeeded without output): %v, want ErrNoOutput", err)
		}
		st, err := in.Stats(ctx)
		if err != nil || st.OutputRecords != 1 {
			t.Fatalf("stats: %d records, %v; want 1", st.OutputRecords, err)
		}
	})
}

// A job that keeps its context past its end (a goroutine it started) can
// call SetOutput and SetProgress late: they are accepted and change
// nothing, neither its ack nor the recorder shared by attempts that
// recorded nothing.
func TestOutputAfterTheAttemptSettled(t *testing.T) {
	for _, early := range []bool{false, true} {
		var jobCtx context.Context
		res, err := runOutputJob(t, openBolt(t, backend.Limits{}), time.Hour, func(ctx context.Context) error {
			jobCtx = ctx
			if early {
				return SetOutput(ctx, "kept")
			}
			return nil
		})
		if err != nil || res.Outcome != backend.OutcomeSucceeded {
			t.Fatalf("run: %v %v", res.Outcome, err)
		}
		if want := early; (res.Output != nil) != want {
			t.Fatalf("early=%v: ack output %+v", early, res.Output)
		}
		if err := SetOutput(jobCtx, "late"); err != nil {
			t.Fatalf("late SetOutput: %v", err)
		}
		if err := SetProgress(jobCtx, 50, "late"); err != nil {
			t.Fatalf("late SetProgress: %v", err)
		}
		r, _ := recorderOf(jobCtx)
		r.mu.Lock()
		out, closed, progress := r.output, r.closed, r.hasProgress
		r.mu.Unlock()
		if !closed || progress || early && string(out) != `"kept"` || !early && out != nil {
			t.Fatalf("early=%v: after the attempt the recorder has output %q, closed %v, progress %v", early, out, closed, progress)
		}
	}
}
