package joblottest

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// DefaultDrainMaxRuns is how many job runs Drain allows when
// DrainOpts.MaxRuns is zero: far more than a test enqueues, few enough to
// stop a job that enqueues itself forever within seconds.
const DefaultDrainMaxRuns = 10_000

// drainLease is the process lease Drain registers under: long enough that
// no server sharing the store recovers the job Drain is running.
const drainLease = time.Hour

// moveDueChunk is how many due jobs one MoveDue call moves.
const moveDueChunk = 1000

// DrainOpts configure Drain. Zero fields take the defaults given.
type DrainOpts struct {
	// Start is the fake clock's time when Drain starts (default the wall
	// clock's now).
	Start time.Time
	// MaxRuns bounds the job runs (default DefaultDrainMaxRuns); past it,
	// Drain fails t.
	MaxRuns int
	// Config is the server configuration jobs run under: Middleware,
	// MaxRetries, RetryPolicy, JobTimeout, MaxErrorBytes, Backtraces and
	// Client apply. Queues, if set, limits Drain to those queues, tried
	// in descending weight; by default it drains every queue the store
	// knows, by name. Workers and Now are replaced (Now by Drain's fake
	// clock).
	Config joblot.ServerConfig
}

// JobRun is one attempt Drain ran.
type JobRun struct {
	ID, Kind, Queue string
	// Attempt is the attempt the worker saw, 1 for the first.
	Attempt int
	// At is the fake clock's time when it ran.
	At time.Time
	// Outcome, Err and RetryAt are as in WorkResult.
	Outcome backend.Outcome
	Err     error
	RetryAt time.Time
}

// DrainResult is what Drain ran, in order.
type DrainResult struct {
	Runs []JobRun
	// Now is the fake clock's time when Drain returned.
	Now time.Time
}

// Count returns how many runs had outcome o.
func (r DrainResult) Count(o backend.Outcome) int {
	n := 0
	for _, run := range r.Runs {
		if run.Outcome == o {
			n++
		}
	}
	return n
}

// Drain runs the jobs in store with workers until none is left to run: the
// jobs waiting in queues, then, moving a fake clock forward to each one's
// due time, the scheduled jobs and the retries, including the jobs and
// batch callbacks that the jobs run enqueue. Jobs run one at a time in the
// calling goroutine, through the path a server runs them on
// (Server.RunOne), and their results are recorded in the store as a
// server records them, so retries, the dead set, batch counters and
// callbacks behave as in production, without waiting for real time to
// pass. It returns every run in order.
//
// Jobs in a paused queue stay where they are. Jobs already in the retry
// set when Drain starts (their due time is not readable) run at once.
// Drain fails t on a store error, or after MaxRuns runs. opts may be nil.
func Drain(ctx context.Context, t testing.TB, store backend.Backend, workers *joblot.Workers, opts *DrainOpts) (out DrainResult) {
	t.Helper()
	var o DrainOpts
	if opts != nil {
		o = *opts
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	if o.MaxRuns <= 0 {
		o.MaxRuns = DefaultDrainMaxRuns
	}
	d := &drainer{t: t, store: store, clk: clock.NewFake(o.Start), weights: o.Config.Queues, dueAt: map[string]time.Time{}}
	defer func() { out.Now = d.clk.Now() }()
	cfg := o.Config
	cfg.Workers = workers
	cfg.Now = d.clk.Now
	srv, err := joblot.NewServer(store, cfg)
	if err != nil {
		t.Fatalf("joblottest: %v", err)
		return out
	}
	host, _ := os.Hostname()
	d.proc = "joblottest-drain-" + backend.NewJobID()
	info := backend.ProcessInfo{ID: d.proc, Hostname: host, PID: os.Getpid(), Concurrency: 1, StartedAt: d.clk.Now()}
	if err := store.Heartbeat(ctx, info, drainLease); err != nil {
		t.Fatalf("joblottest: register the draining process: %v", err)
		return out
	}
	defer func() {
		if err := store.Deregister(context.WithoutCancel(ctx), d.proc); err != nil {
			t.Errorf("joblottest: deregister the draining process: %v", err)
		}
	}()

	for {
		if !d.moveDue(ctx) {
			return out
		}
		queues, ok := d.queues(ctx)
		if !ok {
			return out
		}
		res, err := store.Fetch(ctx, backend.FetchParams{Proc: d.proc, Queues: queues, Max: 1})
		fetched := res.Jobs
		if err != nil {
			t.Fatalf("joblottest: fetch: %v", err)
			return out
		}
		if len(fetched) == 0 {
			more, ok := d.advance(ctx, queues)
			if !ok || !more {
				return out
			}
			continue
		}
		for _, f := range fetched {
			if len(out.Runs) == o.MaxRuns {
				t.Fatalf("joblottest: Drain ran %d jobs and jobs are still left (DrainOpts.MaxRuns); the last: %s", o.MaxRuns, showRuns(out.Runs[len(out.Runs)-min(len(out.Runs), maxShown):]))
				return out
			}
			run := JobRun{ID: f.ID, Queue: f.Queue, At: d.clk.Now()}
			if f.Malformed == nil {
				run.Kind, run.Attempt = f.Kind, f.Attempt+1
			}
			res, err := srv.RunOne(ctx, f)
			run.Outcome, run.Err, run.RetryAt = res.Outcome, err, res.RetryAt
			if err := store.Complete(ctx, d.proc, []backend.Result{res}); err != nil {
				t.Fatalf("joblottest: record the result of job %s: %v", show(f.ID), err)
				return out
			}
			if !res.RetryAt.IsZero() { // a retry, or any outcome that reschedules the job
				d.dueAt[f.ID] = res.RetryAt
			}
			out.Runs = append(out.Runs, run)
		}
	}
}

// drainer is Drain's state.
type drainer struct {
	t       testing.TB
	store   backend.Backend
	clk     *clock.Fake
	proc    string
	weights map[string]int
	// dueAt holds the due times of the jobs Drain rescheduled (retries):
	// the store does not say when a job in the retry set is due.
	dueAt map[string]time.Time
}

// moveDue moves the jobs due at the fake clock's now to their queues and
// forwards batch callbacks, as a server's background duties do.
func (d *drainer) moveDue(ctx context.Context) bool {
	now := d.clk.Now()
	for {
		n, err := d.store.MoveDue(ctx, now, moveDueChunk)
		if err != nil {
			d.t.Fatalf("joblottest: move due jobs: %v", err)
			return false
		}
		if n < moveDueChunk {
			break
		}
	}
	if _, err := d.store.ForwardCallbacks(ctx, now); err != nil {
		d.t.Fatalf("joblottest: forward batch callbacks: %v", err)
		return false
	}
	return true
}

// queues returns the queues to fetch from, in order.
func (d *drainer) queues(ctx context.Context) ([]string, bool) {
	var names []string
	if len(d.weights) > 0 {
		for q := range d.weights {
			names = append(names, q)
		}
		sort.Slice(names, func(a, b int) bool {
			wa, wb := d.weights[names[a]], d.weights[names[b]]
			return wa > wb || (wa == wb && names[a] < names[b])
		})
		return names, true
	}
	st, err := d.store.Stats(ctx, d.clk.Now())
	if err != nil {
		d.t.Fatalf("joblottest: read the store's queues: %v", err)
		return nil, false
	}
	for _, q := range st.Queues {
		names = append(names, q.Name) // sorted by name
	}
	return names, true
}

// advance makes the next scheduled job or retry due: it moves the fake
// clock to the earliest due time, or moves a retry whose due time Drain
// does not know to its queue at once. It reports whether anything is left
// to run.
func (d *drainer) advance(ctx context.Context, queues []string) (more, ok bool) {
	now := d.clk.Now()
	var next time.Time
	for _, q := range queues {
		for _, set := range []backend.JobSet{backend.SetScheduled, backend.SetRetry} {
			page, err := d.store.ListJobs(ctx, backend.JobFilter{Set: set, Queue: q, Limit: 1})
			if err != nil {
				d.t.Fatalf("joblottest: list %s jobs of %s: %v", set, show(q), err)
				return false, false
			}
			if len(page.Jobs) == 0 {
				continue
			}
			j := page.Jobs[0]
			due := j.RunAt
			if known, ok := d.dueAt[j.ID]; ok && known.After(due) {
				due = known
			}
			if set == backend.SetRetry {
				if _, ok := d.dueAt[j.ID]; !ok {
					if _, err := d.store.RetryJobs(ctx, backend.RetryJobsParams{Set: set, Queue: q, IDs: []string{j.ID}}); err != nil {
						d.t.Fatalf("joblottest: move retry %s to its queue: %v", show(j.ID), err)
						return false, false
					}
					return true, true
				}
			}
			if next.IsZero() || due.Before(next) {
				next = due
			}
		}
	}
	if next.IsZero() {
		return false, true
	}
	if !next.After(now) {
		// Due, yet MoveDue left it: it would never move.
		d.t.Fatalf("joblottest: a job due at %s is still not in its queue at %s", next.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		return false, false
	}
	d.clk.Set(next)
	return true, true
}

// showRuns lists runs for a failure message.
func showRuns(runs []JobRun) string {
	s := ""
	for _, r := range runs {
		s += fmt.Sprintf("\n\t%s queue %s kind %s attempt %d: %s", show(r.ID), show(r.Queue), show(r.Kind), r.Attempt, r.Outcome)
	}
	return s
}
