//go:build !linux

package benchrun

import "time"

// pacerClock ticks every period from its start, on a time.Ticker (see
// pacer_linux.go for why Linux uses a timerfd instead).
type pacerClock struct {
	t      *time.Ticker
	start  time.Time
	period time.Duration
}

// startPacerClock starts a clock whose first tick is one period from now.
func startPacerClock(period time.Duration) (*pacerClock, error) {
	return &pacerClock{t: time.NewTicker(period), start: time.Now(), period: period}, nil
}

// wait blocks until the next tick and returns the latest tick instant due
// by then.
func (c *pacerClock) wait() (time.Time, error) {
	now := <-c.t.C
	return c.start.Add(now.Sub(c.start).Truncate(c.period)), nil
}

func (c *pacerClock) stop() { c.t.Stop() }
