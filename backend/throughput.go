package backend

import "time"

// ThroughputWindow is how far back per-minute counters are kept: a store
// holds at most ThroughputMinutes buckets per queue, and Throughput reads
// the minutes of Until's UTC hour and of the 23 hours before it (between
// 23 and 24 hours of them), ignoring any older bucket a store still holds.
const ThroughputWindow = 24 * time.Hour

// ThroughputMinutes is the number of per-minute buckets kept per queue.
const ThroughputMinutes = int(ThroughputWindow / time.Minute)

// ThroughputParams selects per-minute counters.
type ThroughputParams struct {
	// Queue limits the result to one queue; empty means every queue.
	Queue string
	// Since is the first minute wanted (truncated to the minute); it is
	// raised to the start of the UTC hour 23 hours before Until's, as
	// older buckets are gone (ThroughputWindow).
	Since time.Time
	// Until is the last minute wanted (truncated to the minute); zero
	// means the backend's now.
	Until time.Time
}

// ThroughputResult holds per-minute counters.
type ThroughputResult struct {
	// Points are the minutes with a count, ordered by minute then queue.
	// A minute without a finished attempt has no point.
	Points []ThroughputPoint
}

// ThroughputPoint is one queue's counters of one UTC minute.
type ThroughputPoint struct {
	// Minute is the start of the minute (UTC).
	Minute time.Time
	Queue  string
	// Processed and Failed count like Stats.Processed and Stats.Failed.
	Processed, Failed int64
}

// Window returns the first and last minute (unix minutes, inclusive) that
// p selects when now is the backend's clock: Until (or now) truncated to
// the minute, and Since raised to the start of the hour 23 hours before
// Until's. first > last selects nothing.
func (p ThroughputParams) Window(now time.Time) (first, last int64) {
	until := p.Until
	if until.IsZero() {
		until = now
	}
	last = UnixMinute(until)
	hours := int64(ThroughputWindow / time.Hour)
	first = (floorDiv(last, 60) - hours + 1) * 60
	if !p.Since.IsZero() {
		first = max(first, UnixMinute(p.Since))
	}
	return first, last
}

// UnixMinute returns t as minutes since the Unix epoch (floor).
func UnixMinute(t time.Time) int64 {
	return floorDiv(t.Unix(), 60)
}

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
