package joblot

import (
	"context"
	"errors"
	"time"

	"github.com/joblot/joblot/backend"
)

// heartbeatLoop keeps the process's lease. A process that cannot renew its
// lease within ProcessTTL fences itself: it stops fetching, because a live
// process may already be recovering its jobs. Once its running jobs are
// done it re-registers under a new identity and resumes.
func (s *Server) heartbeatLoop() {
	defer s.services.Done()
	ctx := s.serviceCtx
	// Whether the lease is about to lapse is judged on the injected clock,
	// the one the lease's expiry is written and checked on; the ticker only
	// paces the beats.
	lastOK := s.cfg.Now()
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	quiet := s.quietCh // beat at once when the server goes quiet, to say so
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-quiet:
			quiet = nil
		}
		// The loop turned: Health's liveness. A beat stuck in the store
		// (past its timeout) stops this, which is what liveness catches.
		s.pulse.Store(s.cfg.Now().UnixNano())
		if s.fenced.Load() {
			if s.inFlight.Load() > 0 {
				continue // wait for running jobs before taking a new identity
			}
			s.procMu.Lock()
			s.procID = newProcessID()
			s.procMu.Unlock()
		}
		hctx, cancel := context.WithTimeout(ctx, s.cfg.HeartbeatInterval)
		err := s.backend.Heartbeat(hctx, s.processInfo(), s.cfg.ProcessTTL)
		cancel()
		switch {
		case err == nil:
			lastOK = s.cfg.Now()
			if s.fenced.Swap(false) {
				s.logger.Info("joblot: re-registered after fencing", "process", s.ProcessID())
			}
			s.readQuietRequest(ctx)
		case errors.Is(err, backend.ErrFenced):
			s.logger.Error("joblot: process was declared dead; fencing itself", "process", s.ProcessID())
			s.fenced.Store(true)
		default:
			s.logger.Warn("joblot: heartbeat failed", "err", err)
			if s.cfg.Now().Sub(lastOK) >= s.cfg.ProcessTTL-s.cfg.HeartbeatInterval && !s.fenced.Swap(true) {
				s.logger.Error("joblot: heartbeat lease about to lapse; fencing itself", "process", s.ProcessID())
			}
		}
		s.beatOK.Store(err == nil)
		if s.hooks.beat != nil {
			s.hooks.beat(err)
		}
	}
}

// dutiesLease names the lease the background duties run under.
const dutiesLease = "duties"

// dutiesLoop runs the background duties while this process holds the
// duties lease, and gives the lease up when the server goes quiet.
func (s *Server) dutiesLoop() {
	defer s.services.Done()
	ctx := s.serviceCtx
	leaseTTL := 3 * s.cfg.PollInterval
	var lastRecover, lastForward, lastTrim time.Time
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.quietCh:
			s.giveUpDuties(ctx)
			return
		case <-t.C:
		}
		if s.quiet.Load() {
			continue // the quietCh case gives the lease up
		}
		res, err := s.backend.Lease(ctx, backend.LeaseParams{Name: dutiesLease, Holder: s.ProcessID(), TTL: leaseTTL})
		held := res.Held
		if err != nil || !held {
			if err != nil && ctx.Err() == nil {
				s.logger.Warn("joblot: duties lease", "err", err)
			}
			continue
		}
		// now is what the duties decide by (which jobs are due, which
		// leases expired); wall only paces the less frequent duties, so a
		// fake clock that stands still does not stop them.
		now, wall := s.cfg.Now(), time.Now()
		s.duty(ctx, "move due jobs", func() error {
			for {
				n, err := s.backend.MoveDue(ctx, now, 1000)
				if err != nil || n < 1000 {
					return err
				}
			}
		})
		if wall.Sub(lastRecover) >= s.cfg.RecoverInterval {
			lastRecover = wall
			s.duty(ctx, "recover orphans", func() error {
				n, err := s.backend.RecoverOrphans(ctx, now)
				if n > 0 {
					s.logger.Warn("joblot: recovered jobs of dead processes", "jobs", n)
				}
				return err
			})
		}
		if wall.Sub(lastForward) >= s.cfg.ForwardInterval {
			lastForward = wall
			s.duty(ctx, "forward callbacks", func() error {
				_, err := s.backend.ForwardCallbacks(ctx, now)
				return err
			})
		}
		if wall.Sub(lastTrim) >= s.cfg.TrimInterval {
			lastTrim = wall
			s.duty(ctx, "trim dead set", func() error {
				n, err := s.backend.TrimDead(ctx, now)
				if n > 0 {
					s.logger.Warn("joblot: dead set caps dropped jobs", "jobs", n)
				}
				return err
			})
		}
		if s.hooks.dutiesRan != nil {
			s.hooks.dutiesRan()
		}
	}
}

func (s *Server) duty(ctx context.Context, name string, fn func() error) {
	if err := fn(); err != nil && ctx.Err() == nil {
		s.logger.Warn("joblot: duty failed", "duty", name, "err", err)
	}
}
