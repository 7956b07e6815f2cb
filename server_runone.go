package joblot

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// RunOne runs one fetched job in the calling goroutine the way a worker of
// the started server runs it — the kind's worker, the middleware, the
// timeout, panic recovery, batch cancellation, BatchFromContext, and the
// classification of the result (success, retry with its due time from the
// retry policy and the server's clock, dead, discard) — and returns the
// result the server would record, with the job's error (nil on success).
//
// It records nothing and tells no Observer: the caller may hand the result
// to the backend's Complete (for a job it fetched) or keep it. The server
// need not be started; package joblottest runs jobs this way, without a
// Server's goroutines. Unlike a started server, RunOne waits for a job that
// ignores its timeout rather than abandoning it. ctx plays the part of the
// server's shutdown deadline: once it is cancelled the job's context is,
// and a job that returns because of it gets OutcomeRequeue.
func (s *Server) RunOne(ctx context.Context, f *backend.Fetched) (backend.Result, error) {
	// As a fetcher does for what it claimed: is the job's batch cancelled?
	s.executor.batches.refresh(ctx, s.backend, s.logger, []*backend.Fetched{f})
	a := &attempt{claimed: claimed{Fetched: f}, start: time.Now(), parent: ctx}
	res := s.executor.execute(nil, a)
	return res, a.err
}
