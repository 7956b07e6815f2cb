package joblot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
)

// processLease is the identity in-flight jobs are recorded under and
// whether the process fenced itself. The heartbeater changes both; the
// fetcher, the duties and Health read them.
type processLease struct {
	mu sync.RWMutex
	id string
	// fenced: the lease was lost; fetch nothing until re-registered.
	fenced atomic.Bool
	// fencedCh is closed when the process fences itself, and replaced
	// when it re-registers (guarded by mu).
	fencedCh chan struct{}
}

func newProcessLease() *processLease {
	return &processLease{id: newProcessID(), fencedCh: make(chan struct{})}
}

// fence fences the process; it reports whether it was not fenced yet.
func (l *processLease) fence() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fenced.Swap(true) {
		return false
	}
	close(l.fencedCh)
	return true
}

// unfence lifts the fence; it reports whether the process was fenced.
func (l *processLease) unfence() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.fenced.Swap(false) {
		return false
	}
	l.fencedCh = make(chan struct{})
	return true
}

// fencedChan is closed once the process fences itself (at once if it is
// fenced now).
func (l *processLease) fencedChan() <-chan struct{} {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.fencedCh
}

// ID returns the current identity.
func (l *processLease) ID() string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.id
}

// renew takes a new identity, for a re-registration after fencing.
func (l *processLease) renew() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.id = newProcessID()
}

func (l *processLease) isFenced() bool { return l.fenced.Load() }

// heartbeater keeps the process's lease. A process that cannot renew its
// lease within ProcessTTL, or that the store declared dead
// (backend.ErrFenced), fences itself: the fetcher stops fetching, because a
// live process may already be recovering its jobs. Once its running jobs
// are done it re-registers under a new identity and the fetcher resumes.
// After a successful beat it reads an operator's quiet request.
type heartbeater struct {
	cfg      ServerConfig
	backend  backend.Backend
	logger   *slog.Logger
	lease    *processLease
	inFlight *atomic.Int64
	// info describes the process for a beat.
	info func() backend.ProcessInfo
	// quietCh is closed when the server goes quiet: beat at once, to say so.
	quietCh <-chan struct{}
	isQuiet func() bool
	// quiet quiets the server (Server.Quiet), on an operator's request.
	quiet func()
	// noQuietRequests: the store cannot carry quiet requests (a remote
	// owner whose backend has none), so the heartbeater stops asking.
	noQuietRequests atomic.Bool
	// stopServer stops the server on an operator's request (readStopRequest);
	// noStopRequests: the store cannot carry them, or the stop is under
	// way, so the heartbeater stops asking.
	stopServer     func()
	noStopRequests atomic.Bool
	// noCombinedRequests: the store cannot read both requests in one call
	// (a remote owner whose backend cannot): ask for each.
	noCombinedRequests atomic.Bool

	// pulse is the loop's last turn and beatOK whether that beat reached
	// the store: Health reads them.
	pulse  atomic.Int64 // unix ns on cfg.Now
	beatOK atomic.Bool

	cancel context.CancelFunc
	done   chan struct{}

	testSignals heartbeaterTestSignals
}

// heartbeaterTestSignals tell tests what the heartbeater does.
type heartbeaterTestSignals struct {
	// beat: the loop turned and beat; the value is the beat's error (nil
	// when it reached the store).
	beat testsignal.TestSignal[error]
	// fenced: the process fenced itself; the value is the identity it
	// held.
	fenced testsignal.TestSignal[string]
	// reRegistered: the process re-registered after fencing; the value is
	// its new identity.
	reRegistered testsignal.TestSignal[string]
}

// register records the process in the store, before anything else starts.
func (h *heartbeater) register(ctx context.Context, now time.Time) error {
	if err := h.backend.Heartbeat(ctx, h.info(), h.cfg.ProcessTTL); err != nil {
		return fmt.Errorf("joblot: register process: %w", err)
	}
	h.beatOK.Store(true)
	h.pulse.Store(now.UnixNano())
	return nil
}

// start starts the heartbeat loop.
func (h *heartbeater) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan struct{})
	go h.loop(ctx)
}

// stop ends the loop and waits for it.
func (h *heartbeater) stop() {
	h.cancel()
	<-h.done
}

func (h *heartbeater) loop(ctx context.Context) {
	defer close(h.done)
	// Whether the lease is about to lapse is judged on the injected clock,
	// the one the lease's expiry is written and checked on; the ticker only
	// paces the beats.
	lastOK := h.cfg.Now()
	t := time.NewTicker(h.cfg.HeartbeatInterval)
	defer t.Stop()
	quiet := h.quietCh // beat at once when the server goes quiet, to say so
	for beat := 0; ; beat++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-quiet:
			quiet = nil
		}
		// The loop turned: Health's liveness. A beat stuck in the store
		// (past its timeout) stops this, which is what liveness catches.
		h.pulse.Store(h.cfg.Now().UnixNano())
		if h.lease.isFenced() {
			if h.inFlight.Load() > 0 {
				continue // wait for running jobs before taking a new identity
			}
			h.lease.renew()
		}
		hctx, cancel := context.WithTimeout(ctx, h.cfg.HeartbeatInterval)
		err := h.backend.Heartbeat(hctx, h.info(), h.cfg.ProcessTTL)
		cancel()
		reRegistered := false
		switch {
		case err == nil:
			lastOK = h.cfg.Now()
			if h.lease.unfence() {
				reRegistered = true
				h.logger.Info("joblot: re-registered after fencing", "process", h.lease.ID())
			}
			if beat%quietReadBeats == 0 {
				h.readRequests(ctx) // quiet and stop, one store call
			}
		case errors.Is(err, backend.ErrFenced):
			h.logger.Error("joblot: process was declared dead; fencing itself", "process", h.lease.ID())
			h.lease.fence()
			h.testSignals.fenced.Signal(h.lease.ID())
		default:
			h.logger.Warn("joblot: heartbeat failed", "err", err)
			if h.cfg.Now().Sub(lastOK) >= h.cfg.ProcessTTL-h.cfg.HeartbeatInterval && h.lease.fence() {
				h.logger.Error("joblot: heartbeat lease about to lapse; fencing itself", "process", h.lease.ID())
				h.testSignals.fenced.Signal(h.lease.ID())
			}
		}
		h.beatOK.Store(err == nil)
		if reRegistered { // once the turn is done: Health says ready
			h.testSignals.reRegistered.Signal(h.lease.ID())
		}
		h.testSignals.beat.Signal(err)
	}
}

// quietReadBeats: a quiet or stop request is read on every
// quietReadBeats-th successful heartbeat (every 6 s by default), which
// keeps an idle process under 5 Redis calls a second; an operator's quiet
// or stop is not that urgent.
const quietReadBeats = 2

// readQuietRequest asks the store, after a successful heartbeat, whether an
// operator asked this process to quiet, and quiets it if so. A backend that
// cannot carry the request is asked nothing.
func (h *heartbeater) readQuietRequest(ctx context.Context) {
	q, ok := h.backend.(backend.Quieter)
	if !ok || h.isQuiet() || h.noQuietRequests.Load() {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, h.cfg.HeartbeatInterval)
	requested, err := q.QuietRequested(qctx, h.lease.ID())
	cancel()
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		// A store served by an owner whose backend cannot: stop asking.
		h.noQuietRequests.Store(true)
	case err != nil:
		if ctx.Err() == nil {
			h.logger.Warn("joblot: reading the quiet request failed", "err", err)
		}
	case requested:
		h.logger.Info("joblot: an operator asked this process to quiet", "process", h.lease.ID())
		h.quiet()
	}
}
