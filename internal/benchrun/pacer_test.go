package benchrun

import (
	"testing"
	"time"
)

// TestPacerClockTicks: each wait returns a later tick instant that is due
// by the time it returns.
func TestPacerClockTicks(t *testing.T) {
	c, err := startPacerClock(time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	last := c.start
	for range 20 {
		due, err := c.wait()
		if err != nil {
			t.Fatal(err)
		}
		if now := time.Now(); due.After(now) {
			t.Fatalf("tick due at %v returned early, at %v", due, now)
		}
		if !due.After(last) {
			t.Fatalf("tick %v does not follow %v", due, last)
		}
		last = due
	}
}
