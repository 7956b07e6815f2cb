package cleanup

import (
	"context"
	"time"

	"github.com/joblot/joblot/internal/keyspace"
)

// limiter paces removals to rate units per second on average since the
// first removal, so a burst never exceeds one chunk.
type limiter struct {
	rate  float64
	start time.Time
	done  float64
}

func newLimiter(rate int) *limiter { return &limiter{rate: float64(rate)} }

// wait blocks until n more units may be removed.
func (l *limiter) wait(ctx context.Context, n int) error {
	if l.start.IsZero() {
		l.start = time.Now()
	}
	due := l.start.Add(time.Duration(l.done / l.rate * float64(time.Second)))
	l.done += float64(n)
	return keyspace.Pause(ctx, time.Until(due))
}
