package backendtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// throughputTests cover the per-minute counters Complete keeps and
// Throughput reads, on a clock the test moves.
func throughputTests() []test {
	return []test{
		{name: "CountsPerMinute", clock: true, run: testThroughputCountsPerMinute},
		{name: "OlderThanWindowGone", clock: true, run: testThroughputOlderGone},
		{name: "Bounded", clock: true, run: testThroughputBounded},
	}
}

// clockStart is where a test's clock starts: 30 s into a UTC minute, 10
// minutes into an hour.
var clockStart = time.Date(2026, 3, 4, 10, 10, 30, 0, time.UTC)

// testClock is a backend clock a test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// add moves the clock by d.
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// bucketCounter is implemented by the backends that can say how many
// per-minute buckets they hold for a queue.
type bucketCounter interface {
	ThroughputBuckets(ctx context.Context, queue string) (int, error)
}

func (h *harness) throughput(p backend.ThroughputParams) []backend.ThroughputPoint {
	h.t.Helper()
	res, err := h.b.Throughput(h.ctx, p)
	if err != nil {
		h.t.Fatalf("Throughput(%+v): %v", p, err)
	}
	return res.Points
}

func pointsString(ps []backend.ThroughputPoint) string {
	s := ""
	for _, p := range ps {
		s += fmt.Sprintf("[%s %s p%d f%d] ", p.Minute.Format("01-02T15:04"), p.Queue, p.Processed, p.Failed)
	}
	return s
}

func (h *harness) wantPoints(what string, got, want []backend.ThroughputPoint) {
	h.t.Helper()
	eq := slices.EqualFunc(got, want, func(a, b backend.ThroughputPoint) bool {
		return a.Minute.Equal(b.Minute) && a.Queue == b.Queue && a.Processed == b.Processed && a.Failed == b.Failed
	})
	if !eq {
		h.t.Fatalf("%s: points %s, want %s", what, pointsString(got), pointsString(want))
	}
}

func testThroughputCountsPerMinute(h *harness) {
	m0 := clockStart.Truncate(time.Minute)
	m1 := m0.Add(time.Minute)
	h.enqueue(h.jobs("a", 9)...)
	h.enqueue(h.jobs("b", 2)...)
	p := h.proc("p1", "a", "b")
	fa := h.fetch(p, []string{"a"}, 9)
	fb := h.fetch(p, []string{"b"}, 2)
	if len(fa) != 9 || len(fb) != 2 {
		h.t.Fatalf("fetched %d and %d jobs, want 9 and 2", len(fa), len(fb))
	}
	later := clockStart.Add(time.Hour)
	// Minute 0: 3 successes, a retry and a death on a (5 processed, 2
	// failed), a discard and a requeue on b (1 processed); a cancel
	// counts nothing.
	h.complete(p, succeeded(fa[0]), succeeded(fa[1]), retryResult(fa[2], later, defaultFailure()), outcome(fb[0], backend.OutcomeDiscarded))
	h.complete(p, succeeded(fa[3]), deadResult(fa[4], clockStart, defaultFailure()), outcome(fb[1], backend.OutcomeRequeue), outcome(fa[5], backend.OutcomeCancelled))
	// Minute 1, 50 seconds on: 2 more successes on a, and a snooze.
	h.clock.add(50 * time.Second)
	h.complete(p, succeeded(fa[6]), succeeded(fa[7]), backend.Result{Fetched: fa[8], Outcome: backend.OutcomeSnoozed, Job: fa[8].Job.Clone(), RetryAt: later})

	all := []backend.ThroughputPoint{
		{Minute: m0, Queue: "a", Processed: 5, Failed: 2},
		{Minute: m0, Queue: "b", Processed: 1},
		{Minute: m1, Queue: "a", Processed: 2},
	}
	h.wantPoints("every queue", h.throughput(backend.ThroughputParams{}), all)
	h.wantPoints("queue b", h.throughput(backend.ThroughputParams{Queue: "b"}), all[1:2])
	h.wantPoints("since minute 1", h.throughput(backend.ThroughputParams{Since: m1.Add(59 * time.Second)}), all[2:])
	h.wantPoints("until minute 0", h.throughput(backend.ThroughputParams{Until: m0.Add(59 * time.Second)}), all[:2])
	h.wantPoints("queue a at an hour on", h.throughput(backend.ThroughputParams{Queue: "a", Until: m0.Add(time.Hour)}), []backend.ThroughputPoint{all[0], all[2]})

	// The totals agree with Stats.
	s := h.stats(h.clock.Now())
	if s.Processed != 8 || s.Failed != 2 {
		h.t.Fatalf("Stats processed %d failed %d, want 8 and 2 (the points' sums)", s.Processed, s.Failed)
	}
}

func testThroughputOlderGone(h *harness) {
	m0 := clockStart.Truncate(time.Minute)
	h.enqueue(h.jobs("a", 3)...)
	p := h.proc("p1", "a")
	fs := h.fetch(p, []string{"a"}, 3)
	h.complete(p, succeeded(fs[0]))
	old := []backend.ThroughputPoint{{Minute: m0, Queue: "a", Processed: 1}}
	// 23 h later the minute is still read.
	h.clock.add(23 * time.Hour)
	h.wantPoints("23 h on", h.throughput(backend.ThroughputParams{}), old)
	// Once the hour 24 h later begins, it is out of the window, though no
	// ack has written anything since.
	h.clock.add(time.Hour - 10*time.Minute)
	h.wantPoints("in the hour 24 h on", h.throughput(backend.ThroughputParams{Since: m0.Add(-time.Hour)}), nil)
	// An ack in the minute 24 h on counts alone; the old minute is gone
	// even for a window that would still hold it.
	h.clock.add(10 * time.Minute)
	h.complete(p, succeeded(fs[1]), succeeded(fs[2]))
	h.wantPoints("24 h on", h.throughput(backend.ThroughputParams{}), []backend.ThroughputPoint{{Minute: m0.Add(24 * time.Hour), Queue: "a", Processed: 2}})
	h.wantPoints("the old window", h.throughput(backend.ThroughputParams{Until: m0.Add(time.Minute)}), nil)
}

// throughputDays is how many days of minutes testThroughputBounded acks.
const throughputDays = 3

func testThroughputBounded(h *harness) {
	n := throughputDays * backend.ThroughputMinutes
	for i := 0; i < n; i += 500 {
		h.enqueue(h.jobs("a", min(500, n-i))...)
	}
	p := h.proc("p1", "a")
	fs := h.fetchAll(p, []string{"a"}, 500)
	if len(fs) != n {
		h.t.Fatalf("fetched %d jobs, want %d", len(fs), n)
	}
	bc, counts := h.b.(bucketCounter)
	for i, f := range fs {
		if i > 0 {
			h.clock.add(time.Minute)
		}
		h.complete(p, succeeded(f))
		if counts && i%97 == 0 {
			if got, err := bc.ThroughputBuckets(h.ctx, "a"); err != nil || got > backend.ThroughputMinutes {
				h.t.Fatalf("after %d minutes the store holds %d buckets (%v), want at most %d", i+1, got, err, backend.ThroughputMinutes)
			}
		}
	}
	if counts {
		got, err := bc.ThroughputBuckets(h.ctx, "a")
		if err != nil || got > backend.ThroughputMinutes || got < backend.ThroughputMinutes-60 {
			h.t.Fatalf("after %d days of minutes the store holds %d buckets (%v), want %d to %d", throughputDays, got, err, backend.ThroughputMinutes-60, backend.ThroughputMinutes)
		}
	}
	// Every minute of the window has its one success, nothing older.
	now := h.clock.Now()
	pts := h.throughput(backend.ThroughputParams{Since: clockStart})
	first := now.Truncate(time.Hour).Add(-23 * time.Hour)
	want := int(now.Truncate(time.Minute).Sub(first)/time.Minute) + 1
	if len(pts) != want {
		h.t.Fatalf("%d points over the window, want %d (one per minute since %v)", len(pts), want, first)
	}
	for i, pt := range pts {
		if !pt.Minute.Equal(first.Add(time.Duration(i)*time.Minute)) || pt.Processed != 1 || pt.Failed != 0 {
			h.t.Fatalf("point %d = %s, want minute %v processed 1", i, pointsString(pts[i:i+1]), first.Add(time.Duration(i)*time.Minute))
		}
	}
}
