package joblot

import (
	"context"
	"log/slog"
	"time"

	"github.com/joblot/joblot/backend"
)

// recoverer returns the in-flight jobs of dead processes (whose leases
// expired) to their queues, every RecoverInterval.
type recoverer struct {
	backend backend.Backend
	logger  *slog.Logger
	every   time.Duration
}

func (recoverer) name() string              { return "recover orphans" }
func (r recoverer) interval() time.Duration { return r.every }

func (r recoverer) run(ctx context.Context, now time.Time) error {
	n, err := r.backend.RecoverOrphans(ctx, now)
	if n > 0 {
		r.logger.Warn("joblot: recovered jobs of dead processes", "jobs", n)
	}
	return err
}
