package joblot

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// JobMeta describes the job a middleware or worker runs, without its args.
type JobMeta struct {
	ID         string
	Kind       string
	Queue      string
	Attempt    int
	MaxRetries int
	CreatedAt  time.Time
	BatchID    string
	// CallbackOf and CallbackEvent are set on a batch callback job.
	CallbackOf    string
	CallbackEvent backend.CallbackEvent
	LastError     string
	// Meta is the job's metadata, nil if none; a copy: changes reach the
	// worker (Job.Meta) but are not stored.
	Meta map[string]string
	// TraceContext is the trace context enqueue middleware stored with the
	// job (EnqueueJob.TraceContext), nil if none.
	TraceContext []byte
	// Snoozes counts the job's snoozes so far.
	Snoozes int
}

// Middleware wraps every job run. It sees the job's metadata and calls next
// to run the job (or does not, to skip it); the error it returns is the
// job's result. Middleware runs inside the job's panic recovery and timeout.
type Middleware func(ctx context.Context, job *JobMeta, next func(context.Context) error) error

// chain builds the middleware stack around run, first middleware outermost.
func chain(mws []Middleware, meta *JobMeta, run func(context.Context) error) func(context.Context) error {
	for i := len(mws) - 1; i >= 0; i-- {
		mw, next := mws[i], run
		run = func(ctx context.Context) error { return mw(ctx, meta, next) }
	}
	return run
}

// EnqueueJob is a job being enqueued, as enqueue middleware sees it.
type EnqueueJob struct {
	// Args are the job's args, to read.
	Args JobArgs
	// Kind and Queue are resolved (defaults applied), to read.
	Kind, Queue string
	// ID is the ID the job is stored under, to read (a unique job found to
	// be a duplicate is not stored). It is empty for a job added to a batch
	// from inside a running job: that ID is derived from the running job
	// when the job is stored, so that a re-run adds nothing twice.
	ID string
	// BatchID is the batch the job is added to (Batch.Add), to read; empty
	// for a job outside a batch.
	BatchID string
	// CallbackOf and CallbackEvent are set, to read, on a batch callback.
	// A callback is built when its batch is created (NewBatch,
	// Batch.NewChild), with the context of that call: the metadata and
	// trace context it gets then are the ones it runs with.
	CallbackOf    string
	CallbackEvent backend.CallbackEvent
	// Meta is the job's metadata, the middleware's to change: a copy of
	// EnqueueOpts.Meta, nil if the job has none (use SetMeta).
	Meta map[string]string
	// TraceContext is stored with the job in binary form (see
	// backend.Job.TraceContext) for worker middleware (JobMeta) to read:
	// an OpenTelemetry middleware sets it, and reads it back to start the
	// job's span.
	TraceContext []byte
}

// SetMeta sets one metadata entry, creating the map if needed.
func (j *EnqueueJob) SetMeta(key, value string) {
	if j.Meta == nil {
		j.Meta = map[string]string{}
	}
	j.Meta[key] = value
}

// EnqueueMiddleware runs around the building of every job a Client
// enqueues (Enqueue, EnqueueMany, Batch.Add, batch callbacks, and adds
// from inside a job), first middleware outermost, with the context of the
// call. It may change job.Meta and job.TraceContext, and refuses the job by
// returning an error (the call then stores nothing). next runs the inner
// middleware; the job is stored after the whole chain returns, with the
// other jobs of its call. The metadata cap (MaxMetaBytes) is checked after
// the chain. Like River's JobInsertMiddleware.
type EnqueueMiddleware func(ctx context.Context, job *EnqueueJob, next func(context.Context) error) error

// runEnqueueMiddleware runs mws around job.
func runEnqueueMiddleware(ctx context.Context, mws []EnqueueMiddleware, job *EnqueueJob) error {
	run := func(context.Context) error { return nil }
	for i := len(mws) - 1; i >= 0; i-- {
		mw, next := mws[i], run
		run = func(ctx context.Context) error { return mw(ctx, job, next) }
	}
	return run(ctx)
}
