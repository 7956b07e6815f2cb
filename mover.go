package joblot

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// moveDueChunk is the most due jobs one MoveDue call moves.
const moveDueChunk = 1000

// dueMover moves due scheduled and retry jobs to their queues, on every
// round of duties.
type dueMover struct{ backend backend.Backend }

func (dueMover) name() string            { return "move due jobs" }
func (dueMover) interval() time.Duration { return 0 }

func (m dueMover) run(ctx context.Context, now time.Time) error {
	for {
		n, err := m.backend.MoveDue(ctx, now, moveDueChunk)
		if err != nil || n < moveDueChunk {
			return err
		}
	}
}
