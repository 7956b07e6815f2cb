package joblot

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// ackLoop records results, as many per round trip as are waiting (up to
// AckChunk), so acks batch themselves under load without delaying a lone
// job. Results are recorded under the identity their jobs were claimed
// under; a batch is cut where that identity changes (rarely: after a
// re-registration).
func (s *Server) ackLoop() {
	defer s.ackers.Done()
	batch := make([]backend.Result, 0, s.cfg.AckChunk)
	for first := range s.acks {
		proc := first.proc
		batch = append(batch[:0], first.Result)
	drain:
		for len(batch) < s.cfg.AckChunk {
			select {
			case a, ok := <-s.acks:
				if !ok {
					break drain
				}
				if a.proc != proc {
					s.complete(proc, batch)
					proc, batch = a.proc, batch[:0]
				}
				batch = append(batch, a.Result)
			default:
				break drain
			}
		}
		s.complete(proc, batch)
	}
}

// complete records the results of jobs claimed under proc, retrying on storage errors: the jobs stay in
// flight (and recoverable) until their results are recorded, so giving up
// loses nothing, but retrying avoids running them twice.
func (s *Server) complete(proc string, results []backend.Result) {
	wait := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.backend.Complete(ctx, proc, results)
		cancel()
		if err == nil {
			if s.hooks.acked != nil {
				s.hooks.acked(proc, results)
			}
			return
		}
		if attempt >= 8 && s.serviceCtx.Err() != nil {
			s.logger.Error("joblot: giving up recording results; the jobs will be recovered and run again", "jobs", len(results), "err", err)
			return
		}
		s.logger.Warn("joblot: recording results failed; retrying", "jobs", len(results), "attempt", attempt, "err", err)
		time.Sleep(wait)
		wait = min(wait*2, 2*time.Second)
	}
}
