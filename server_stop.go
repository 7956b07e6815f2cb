package joblot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/joblot/joblot/backend"
)

// remoteStop is an operator's stop request as the server carries it out:
// once, in a goroutine of its own (Stop waits for the heartbeater that
// read the request), within ShutdownTimeout. Run returns its result.
type remoteStop struct {
	once    sync.Once
	started atomic.Bool
	done    chan struct{}
	err     error // set before done is closed
}

func newRemoteStop() *remoteStop { return &remoteStop{done: make(chan struct{})} }

// stopOnRequest stops the server gracefully because an operator asked
// (Inspector.StopProcess), as Run does when its context ends.
func (s *Server) stopOnRequest() {
	s.remoteStop.once.Do(func() {
		s.remoteStop.started.Store(true)
		s.logger.Info("joblot: an operator asked this process to stop", "process", s.ProcessID())
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
			defer cancel()
			s.remoteStop.err = s.Stop(ctx)
			close(s.remoteStop.done)
		}()
	})
}

// StoppedByOperator returns a channel closed once the server has stopped
// because an operator asked it to (Inspector.StopProcess, read on its
// heartbeat). Run returns then by itself; a program that calls Start and
// Stop can wait on it to exit.
func (s *Server) StoppedByOperator() <-chan struct{} { return s.remoteStop.done }

// StopProcess asks the live process id to stop gracefully, as Run does
// when its context ends: it stops fetching, finishes or returns its jobs
// within its ShutdownTimeout, deregisters, and its Run returns. The
// process reads the request on its next heartbeat. It fails with an error
// wrapping backend.ErrProcessNotFound when no live process has that id,
// and with one wrapping errors.ErrUnsupported when the store cannot carry
// the request.
func (i *Inspector) StopProcess(ctx context.Context, id string) error {
	st, ok := i.backend.(backend.Stopper)
	if !ok {
		return fmt.Errorf("joblot: stop process: this store cannot carry the request: %w", errors.ErrUnsupported)
	}
	return st.RequestStop(ctx, id)
}

// readRequests reads an operator's quiet and stop requests after a
// successful heartbeat and acts on them: in one store call when the
// backend can (backend.ProcessRequestsReader), so the stop request costs
// an idle process no extra call; else one call for each.
func (h *heartbeater) readRequests(ctx context.Context) {
	rr, ok := h.backend.(backend.ProcessRequestsReader)
	if !ok || h.noCombinedRequests.Load() {
		h.readQuietRequest(ctx)
		h.readStopRequest(ctx)
		return
	}
	if h.isQuiet() && h.noStopRequests.Load() {
		return // nothing left to hear
	}
	rctx, cancel := context.WithTimeout(ctx, h.cfg.HeartbeatInterval)
	req, err := rr.ProcessRequests(rctx, h.lease.ID())
	cancel()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		h.noCombinedRequests.Store(true)
		h.readQuietRequest(ctx)
		h.readStopRequest(ctx)
	case err != nil:
		if ctx.Err() == nil {
			h.logger.Warn("joblot: reading the operator's requests failed", "err", err)
		}
	default:
		if req.Quiet && !h.isQuiet() {
			h.logger.Info("joblot: an operator asked this process to quiet", "process", h.lease.ID())
			h.quiet()
		}
		if req.Stop && !h.noStopRequests.Swap(true) {
			h.stopServer()
		}
	}
}

// readStopRequest asks the store, after a successful heartbeat, whether an
// operator asked this process to stop, and stops it if so. A backend that
// cannot carry the request is asked nothing, nor is it asked again once
// the stop is under way.
func (h *heartbeater) readStopRequest(ctx context.Context) {
	st, ok := h.backend.(backend.Stopper)
	if !ok || h.noStopRequests.Load() {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, h.cfg.HeartbeatInterval)
	requested, err := st.StopRequested(sctx, h.lease.ID())
	cancel()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		h.noStopRequests.Store(true)
	case err != nil:
		if ctx.Err() == nil {
			h.logger.Warn("joblot: reading the stop request failed", "err", err)
		}
	case requested:
		h.noStopRequests.Store(true)
		h.stopServer()
	}
}
