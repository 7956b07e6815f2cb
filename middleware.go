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
