package joblot

import (
	"context"
	"errors"
	"fmt"

	"github.com/joblot/joblot/backend"
)

// Quiet makes the server fetch no new jobs while it finishes those it holds
// (running or already prefetched) and keeps heartbeating, so its process
// stays live and its jobs stay its own; it gives up the background duties'
// lease, so that another process takes them over at once. This is
// Sidekiq's TSTP: a deploy quiets a process, waits for its jobs to finish
// (Health, or `joblot stats` showing nothing in flight), then stops it.
//
// Quiet returns once no fetch is under way (it waits for at most one store
// call), so a job enqueued after it returns stays in its queue for other
// processes; the jobs a fetch under way brought run here. It is idempotent
// and for good: a quiet server does not resume, Stop it and start a new
// one. It may be called before Start
// (the server then starts quiet), from a signal handler's goroutine, or by
// an operator from afar: `joblot process quiet ID` and
// Inspector.QuietProcess leave a mark in the store that the server reads
// on its heartbeat (on backends that implement backend.Quieter).
func (s *Server) Quiet() {
	if !s.fetcher.quiesce() { // waits for a fetch under way; none starts after this
		return
	}
	close(s.quietCh)
	s.logger.Info("joblot server quiet: fetching no new jobs", "process", s.ProcessID(), "running", s.inFlight.Load())
}

// IsQuiet reports whether Quiet was called or requested through the store.
func (s *Server) IsQuiet() bool { return s.fetcher.quiet.Load() }

// QuietProcess asks the live process id (Server.ProcessID, the PROCESS
// column of `joblot stats`) to quiet, as Server.Quiet would from inside
// it: the process reads the request on a heartbeat (every second one: within
// 6 s by default). It fails with
// an error wrapping backend.ErrProcessNotFound when no live process has
// that id, and with one wrapping errors.ErrUnsupported when the store
// cannot carry the request.
func (i *Inspector) QuietProcess(ctx context.Context, id string) error {
	q, ok := i.backend.(backend.Quieter)
	if !ok {
		return fmt.Errorf("joblot: quiet process: this store cannot carry the request: %w", errors.ErrUnsupported)
	}
	return q.RequestQuiet(ctx, id)
}
