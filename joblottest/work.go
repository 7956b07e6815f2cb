package joblottest

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// WorkOpts describe the synthetic job Work runs and the setting it runs
// in. Zero fields take the defaults given.
type WorkOpts struct {
	// Store is where the job runs: jobs and batches the worker adds
	// through BatchFromContext go there. Default: a temporary store
	// (NewStore), returned in WorkResult.Store.
	Store backend.Backend
	// JobID is the job's ID (default a new random one). Adds from inside
	// a batch job derive their IDs from it.
	JobID string
	// Queue is the job's queue (default joblot.DefaultQueue).
	Queue string
	// Attempt is the attempt the worker sees, 1 for the first (default
	// 1). With the retry budget it decides whether a failure is retried
	// or dies.
	Attempt int
	// MaxRetries is the job's own retry budget, as EnqueueOpts.MaxRetries
	// (0: WorkerOpts's, then Config's).
	MaxRetries int
	// Timeout bounds the attempt, as EnqueueOpts.Timeout.
	Timeout time.Duration
	// BatchID makes it a batch job. The batch is created in Store if it
	// does not exist (uncommitted, without callbacks), so that
	// BatchFromContext and Batch.Add work in the worker.
	BatchID string
	// CreatedAt is the job's creation time (default Config.Now()).
	CreatedAt time.Time
	// LastError is the previous attempt's error message the worker sees.
	LastError string
	// Meta is the job's metadata (Job.Meta, JobMeta.Meta in middleware).
	Meta map[string]string
	// WorkerOpts are the kind's settings, as given to AddWorker.
	WorkerOpts *joblot.WorkerOpts
	// Config is the server configuration the job runs under: Middleware,
	// MaxRetries, RetryPolicy, JobTimeout, MaxErrorBytes, Backtraces,
	// Client and Now apply; Workers is replaced by the worker under test.
	Config joblot.ServerConfig
}

// WorkResult is the outcome of Work.
type WorkResult struct {
	// Outcome is what a server would record for the attempt:
	// OutcomeSucceeded; OutcomeRetry (a failure with retries left);
	// OutcomeDead (killed with JobKill, or a failure with no retries
	// left); OutcomeDiscarded (JobDiscard); OutcomeCancelled (the batch
	// is cancelled: the worker did not run); OutcomeRequeue (ctx was
	// cancelled while the job ran). A panic is a failure: OutcomeRetry or
	// OutcomeDead, with Panicked set.
	Outcome backend.Outcome
	// Err is the job's error, nil on success. errors.Is tells
	// joblot.ErrJobKilled, joblot.ErrJobDiscarded and joblot.ErrJobTimeout
	// from other failures.
	Err error
	// Panicked reports that the worker panicked; Err's message is then
	// "panic: " and the value.
	Panicked bool
	// RetryAt is when the job would run again after this attempt (on
	// Config.Now's clock), zero when it would not.
	RetryAt time.Time
	// Failed is the job as a server would store it after a failed attempt
	// (Attempt, error class and message, FailedAt, DiedAt), nil otherwise.
	Failed *backend.Job
	// Output is what a succeeded attempt recorded with joblot.SetOutput
	// and joblot.SetProgress, nil when it recorded nothing or did not
	// succeed.
	Output *backend.JobOutput
	// Store is where the job ran (WorkOpts.Store or the temporary store,
	// open until the test ends): RequireEnqueued on it checks what the
	// worker enqueued.
	Store backend.Backend
}

// Work runs worker once on a job with args, in the calling goroutine, the
// way a server would run it (through Server.RunOne: middleware, timeout,
// panic recovery, BatchFromContext), and returns the outcome the server
// would give it. Nothing is recorded: the job is not in the store before
// or after. It fails t if the job cannot be set up (args that do not
// encode, a store error creating the batch). opts may be nil.
func Work[T joblot.JobArgs](ctx context.Context, t testing.TB, worker joblot.Worker[T], args T, opts *WorkOpts) WorkResult {
	t.Helper()
	var o WorkOpts
	if opts != nil {
		o = *opts
	}
	store := o.Store
	if store == nil {
		store = NewStore(t)
	}
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, worker, o.WorkerOpts)
	cfg := o.Config
	cfg.Workers = workers
	srv, err := joblot.NewServer(store, cfg)
	if err != nil {
		t.Fatalf("joblottest: %v", err)
		return WorkResult{}
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatalf("joblottest: encode %s args: %v", args.Kind(), err)
		return WorkResult{}
	}
	job := &backend.Job{
		ID:           o.JobID,
		Kind:         args.Kind(),
		Queue:        o.Queue,
		Args:         raw,
		Attempt:      max(o.Attempt, 1) - 1,
		MaxRetries:   o.MaxRetries,
		Timeout:      o.Timeout,
		CreatedAt:    o.CreatedAt,
		BatchID:      o.BatchID,
		ErrorMessage: o.LastError,
		Meta:         maps.Clone(o.Meta),
	}
	if job.ID == "" {
		job.ID = backend.NewJobID()
	}
	if job.Queue == "" {
		job.Queue = joblot.DefaultQueue
	}
	if job.CreatedAt.IsZero() {
		job.CreatedAt = now()
	}
	if job.BatchID != "" {
		spec := &backend.BatchSpec{
			ID:             job.BatchID,
			CreatedAt:      now(),
			CommitDeadline: now().Add(backend.DefaultCommitTimeout),
			Callbacks:      map[backend.CallbackEvent]*backend.Job{},
		}
		if err := store.CreateBatch(ctx, spec); err != nil {
			t.Fatalf("joblottest: create batch %s: %v", show(job.BatchID), err)
			return WorkResult{}
		}
	}
	res, err := srv.RunOne(ctx, &backend.Fetched{Job: job, Raw: job.AppendBinary(nil)})
	return resultOf(res, err, store)
}

// resultOf turns what RunOne returned into a WorkResult.
func resultOf(res backend.Result, err error, store backend.Backend) WorkResult {
	out := WorkResult{Outcome: res.Outcome, Err: err, RetryAt: res.RetryAt, Store: store}
	if res.Outcome == backend.OutcomeSucceeded {
		out.Output = res.Output
	}
	if res.Job != nil {
		out.Failed = res.Job
		out.Panicked = res.Job.ErrorClass == panicClass
	}
	return out
}

// panicClass is the error class a server records for a panic.
const panicClass = "panic"
