package joblot

import (
	"context"
	"log/slog"
	"time"

	"github.com/joblot/joblot/backend"
)

// deadTrimmer enforces the dead set's caps, every TrimInterval.
type deadTrimmer struct {
	backend backend.Backend
	logger  *slog.Logger
	every   time.Duration
}

func (deadTrimmer) name() string              { return "trim dead set" }
func (t deadTrimmer) interval() time.Duration { return t.every }

func (t deadTrimmer) run(ctx context.Context, now time.Time) error {
	n, err := t.backend.TrimDead(ctx, now)
	if n > 0 {
		t.logger.Warn("joblot: dead set caps dropped jobs", "jobs", n)
	}
	return err
}
