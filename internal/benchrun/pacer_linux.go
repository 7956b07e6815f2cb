package benchrun

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pacerClock ticks every period from its start, on a Linux timerfd read
// through the runtime's poller. The runtime's own timers (time.Ticker,
// time.Sleep) wake an idle process through epoll_wait, whose timeout is in
// whole milliseconds, so a 1 ms tick fired up to a millisecond late, and
// that lateness counted as the system's enqueue → start latency. A
// timerfd's expiry is a file event, delivered as soon as it fires, and
// waiting for it holds no P, unlike a blocking nanosleep.
// LatencyResult.PacerLateP99Ms shows what is left.
type pacerClock struct {
	f      *os.File
	start  time.Time
	period time.Duration
	ticks  int64 // expirations read so far
	buf    [8]byte
}

// startPacerClock starts a clock whose first tick is one period from now.
func startPacerClock(period time.Duration) (*pacerClock, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bench latency: timerfd: %w", err)
	}
	c := &pacerClock{f: os.NewFile(uintptr(fd), "pacer-timerfd"), period: period}
	p := unix.NsecToTimespec(int64(period))
	c.start = time.Now()
	if err := unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Interval: p, Value: p}, nil); err != nil {
		c.f.Close()
		return nil, fmt.Errorf("bench latency: timerfd: %w", err)
	}
	return c, nil
}

// wait blocks until the next tick and returns the instant it was due
// (start + ticks·period, ticks missed meanwhile included).
func (c *pacerClock) wait() (time.Time, error) {
	if _, err := c.f.Read(c.buf[:]); err != nil {
		return time.Time{}, fmt.Errorf("bench latency: timerfd: %w", err)
	}
	c.ticks += int64(binary.LittleEndian.Uint64(c.buf[:]))
	return c.start.Add(time.Duration(c.ticks) * c.period), nil
}

func (c *pacerClock) stop() { c.f.Close() }
