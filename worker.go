package joblot

import (
	"context"
	"fmt"
	"reflect"
	"time"
)

// Worker runs jobs of one args type. Work returns nil on success; an error
// schedules a retry (or kills the job when retries are exhausted); wrap the
// error with JobDiscard or JobKill to end the job at once. A panic is a
// failure whose stack is recorded. Work must honour ctx: it is cancelled at
// the job's timeout and when the server stops hard. A Work that ignores it
// is not waited for (half a second later the server records the attempt
// without it) but its goroutine runs on; see ServerConfig.MaxLingering and
// Server.Stop.
type Worker[T JobArgs] interface {
	Work(ctx context.Context, job *Job[T]) error
}

// WorkFunc adapts a function to Worker.
type WorkFunc[T JobArgs] func(ctx context.Context, job *Job[T]) error

// Work calls f.
func (f WorkFunc[T]) Work(ctx context.Context, job *Job[T]) error { return f(ctx, job) }

// WorkerOpts are per-kind settings. Zero fields take the server's defaults.
type WorkerOpts struct {
	// Timeout bounds one attempt; the job's context is cancelled after it
	// and the attempt fails with ErrJobTimeout, whether or not the job
	// returns (see ServerConfig.JobTimeout). 0 uses
	// ServerConfig.JobTimeout.
	Timeout time.Duration
	// MaxRetries is the kind's retry budget for jobs enqueued without one
	// (0: ServerConfig.MaxRetries; NoRetries: none).
	MaxRetries int
	// RetryPolicy overrides ServerConfig.RetryPolicy for this kind.
	RetryPolicy RetryPolicy
	// MaxSnoozes caps how many times a job of this kind may snooze over
	// its whole life (JobSnooze): the snooze beyond it is a failed attempt
	// with ErrTooManySnoozes, retried or dead as usual, so a job that
	// snoozes forever ends in the dead set. 0 uses DefaultMaxSnoozes;
	// NoSnoozes makes every snooze a failure.
	MaxSnoozes int
}

// NoSnoozes as WorkerOpts.MaxSnoozes turns every JobSnooze into a failure.
const NoSnoozes = -1

// Workers is the registry of workers by kind that a Server runs.
type Workers struct {
	byKind map[string]*workerEntry
}

// workerEntry is the type-erased form of a Worker[T].
type workerEntry struct {
	kind string
	opts WorkerOpts
	// run decodes args and runs the worker.
	run func(ctx context.Context, meta *JobMeta, args []byte) error
}

// NewWorkers returns an empty registry.
func NewWorkers() *Workers { return &Workers{byKind: map[string]*workerEntry{}} }

// AddWorker registers worker for the kind of T with its settings; opts may
// be nil for the server's defaults. It panics if the kind is already
// registered, like http.ServeMux does for a duplicate pattern: that is a
// programming error found at start-up.
func AddWorker[T JobArgs](ws *Workers, worker Worker[T], opts *WorkerOpts) {
	var zero T
	kind := zero.Kind()
	if _, dup := ws.byKind[kind]; dup {
		panic(fmt.Sprintf("joblot: worker for kind %q registered twice", kind))
	}
	e := &workerEntry{kind: kind}
	args := newArgsDecoder(reflect.TypeFor[T]())
	if opts != nil {
		e.opts = *opts
	}
	e.run = func(ctx context.Context, meta *JobMeta, raw []byte) error {
		// Decoded in place: a separate args value would escape to the
		// heap through Unmarshal and cost an allocation more per job.
		job := &Job[T]{
			ID:            meta.ID,
			Queue:         meta.Queue,
			Attempt:       meta.Attempt,
			MaxRetries:    meta.MaxRetries,
			CreatedAt:     meta.CreatedAt,
			BatchID:       meta.BatchID,
			CallbackOf:    meta.CallbackOf,
			CallbackEvent: meta.CallbackEvent,
			LastError:     meta.LastError,
			Meta:          meta.Meta,
			Snoozes:       meta.Snoozes,
		}
		if err := args.decode(raw, &job.Args); err != nil {
			return JobKill(fmt.Errorf("%w: kind %q: %v", ErrUndecodableArgs, kind, err))
		}
		return worker.Work(ctx, job)
	}
	ws.byKind[kind] = e
}

// Kinds returns the registered kinds.
func (ws *Workers) Kinds() []string {
	kinds := make([]string, 0, len(ws.byKind))
	for k := range ws.byKind {
		kinds = append(kinds, k)
	}
	return kinds
}
