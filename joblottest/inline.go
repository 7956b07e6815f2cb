package joblottest

import (
	"context"
	"fmt"
	"testing"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// InlineOpts configure NewInlineClient. Zero fields take the defaults
// given.
type InlineOpts struct {
	// Store holds everything that is not run inline (batches and their
	// jobs, stats). Default: a temporary store (NewStore).
	Store backend.Backend
	// Client configures the returned client (its payload limit applies as
	// in production).
	Client joblot.ClientConfig
	// Config is the server configuration jobs run under: Middleware,
	// JobTimeout, MaxErrorBytes and Now apply; Workers is replaced by the
	// workers given, and Client by the inline client.
	Config joblot.ServerConfig
}

// NewInlineClient returns a client whose Enqueue and EnqueueMany run each
// job at once, in the calling goroutine, with the given workers, through
// the path a server runs jobs on (Server.RunOne), instead of storing it.
// Enqueue returns the job's error, wrapped (errors.Is and errors.As see
// it; ErrJobKilled and ErrJobDiscarded tell a kill or a discard): one
// attempt, no retries. A scheduled job (Delay, RunAt) runs at once too.
// EnqueueMany stops at the first job that fails; the jobs after it do not
// run. A job of a kind with no worker fails with joblot.ErrUnknownKind.
//
// Batches are not run inline: NewBatch, Batch.Add and Commit store into
// the store underneath (opts.Store), where Drain runs them. Jobs a job
// enqueues through this client run inline too, nested. opts may be nil.
func NewInlineClient(t testing.TB, workers *joblot.Workers, opts *InlineOpts) *joblot.Client {
	t.Helper()
	var o InlineOpts
	if opts != nil {
		o = *opts
	}
	if o.Store == nil {
		o.Store = NewStore(t)
	}
	if o.Client.Now == nil {
		o.Client.Now = o.Config.Now
	}
	inline := &inlineStore{Backend: o.Store}
	client := joblot.NewClient(inline, o.Client)
	cfg := o.Config
	cfg.Workers = workers
	cfg.Client = client
	srv, err := joblot.NewServer(o.Store, cfg)
	if err != nil {
		t.Fatalf("joblottest: %v", err)
		return nil
	}
	inline.srv = srv
	return client
}

// inlineStore is a backend whose Enqueue runs jobs instead of storing
// them; every other method is the store's underneath.
type inlineStore struct {
	backend.Backend
	srv *joblot.Server
}

// Enqueue runs jobs one by one and returns the first error.
func (s *inlineStore) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	for _, job := range jobs {
		// One attempt: the result (retry or dead) is not recorded, so the
		// budget does not matter; only the error does.
		_, err := s.srv.RunOne(ctx, &backend.Fetched{Job: job, Raw: job.AppendBinary(nil)})
		if err != nil {
			return backend.EnqueueResult{}, fmt.Errorf("job %s ran inline and failed: %w", job.ID, err)
		}
	}
	return backend.EnqueueResult{}, nil
}
