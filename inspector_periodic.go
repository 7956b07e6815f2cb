package joblot

import (
	"context"
	"fmt"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// PeriodicInfo is a periodic job as the leading server stored it
// (ServerConfig.Periodic), with the last instant recorded for it and the
// next one its schedule gives.
type PeriodicInfo struct {
	backend.PeriodicState
	// Next is the schedule's next instant after the inspector's now; zero
	// when ScheduleError says why there is none.
	Next time.Time
	// ScheduleError says why the stored schedule gives no next instant
	// (written by another version of joblot, or it never fires again).
	ScheduleError string
}

// Periodic lists the periodic jobs the server holding the periodic lease
// last wrote, sorted by name, each with its last and next instant.
func (i *Inspector) Periodic(ctx context.Context) ([]PeriodicInfo, error) {
	states, err := i.backend.ListPeriodic(ctx)
	if err != nil {
		return nil, fmt.Errorf("joblot: list periodic jobs: %w", err)
	}
	now := clock.Or(i.Now)()
	out := make([]PeriodicInfo, 0, len(states))
	for _, st := range states {
		p := PeriodicInfo{PeriodicState: st}
		next, err := NextPeriodicInstant(st.Schedule, now)
		switch {
		case err != nil:
			p.ScheduleError = err.Error()
		case next.IsZero():
			p.ScheduleError = "no instant in the next five years"
		default:
			p.Next = next
		}
		out = append(out, p)
	}
	return out, nil
}
