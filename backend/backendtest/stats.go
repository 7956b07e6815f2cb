package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// statsTests cover Stats: queue sizes, latency, processes and in-flight
// counts.
func statsTests() []test {
	return []test{
		{name: "QueueSizes", run: testStatsQueueSizes},
		{name: "Latency", run: testStatsLatency},
		{name: "Processes", run: testStatsProcesses},
	}
}

func queueByName(s *backend.Stats, name string) (backend.QueueStats, bool) {
	i := slices.IndexFunc(s.Queues, func(q backend.QueueStats) bool { return q.Name == name })
	if i < 0 {
		return backend.QueueStats{}, false
	}
	return s.Queues[i], true
}

func testStatsQueueSizes(h *harness) {
	now := time.Now()
	h.enqueue(h.jobs("a", 6)...)
	h.enqueue(h.jobs("b", 1)...)
	sched := h.job("a")
	sched.RunAt = now.Add(time.Hour)
	h.enqueue(sched)
	p := h.proc("p1", "a")
	fs := h.fetch(p, []string{"a"}, 3)
	h.complete(p, retryResult(fs[0], now.Add(time.Hour), defaultFailure()))
	h.complete(p, deadResult(fs[1], now, defaultFailure()))
	// fs[2] stays in flight.

	s := h.stats(time.Now())
	a, ok := queueByName(s, "a")
	if !ok {
		h.t.Fatalf("Stats has no queue a: %+v", s.Queues)
	}
	want := backend.QueueStats{Name: "a", Size: 3, Scheduled: 1, Retry: 1, Dead: 1, InFlight: 1}
	a.Latency, a.Paused = 0, false
	if a != want {
		h.t.Fatalf("queue a stats = %+v, want %+v", a, want)
	}
	b, ok := queueByName(s, "b")
	if !ok || b.Size != 1 || b.InFlight != 0 {
		h.t.Fatalf("queue b stats = %+v (found %v), want Size 1", b, ok)
	}
}

func testStatsLatency(h *harness) {
	before := time.Now()
	h.enqueue(h.jobs("busy", 2)...)
	h.enqueue(h.job("drained"))
	p := h.proc("p1", "drained")
	h.complete(p, succeeded(h.fetchOne(p, "drained")))

	// The oldest job was enqueued between before and now, so at an hour
	// after now it has waited an hour plus at most now-before (however long
	// the steps above took), give or take the store's second rounding.
	now := time.Now()
	s := h.stats(now.Add(time.Hour))
	busy, _ := queueByName(s, "busy")
	if lo, hi := time.Hour-time.Second, time.Hour+now.Sub(before)+time.Second; busy.Latency < lo || busy.Latency > hi {
		h.t.Fatalf("latency of a queue whose oldest job waited an hour = %v, want within [%v, %v]", busy.Latency, lo, hi)
	}
	if d, ok := queueByName(s, "drained"); ok && d.Latency != 0 {
		h.t.Fatalf("latency of an empty queue = %v, want 0", d.Latency)
	}
}

func testStatsProcesses(h *harness) {
	h.enqueue(h.jobs("default", 5)...)
	p := h.proc("p1", "default", "other")
	idle := h.proc("p2", "default")
	h.fetch(p, []string{"default"}, 3)
	s := h.stats(time.Now())
	byID := map[string]backend.ProcessInfo{}
	for _, pi := range s.Processes {
		byID[pi.ID] = pi
	}
	got, ok := byID[p]
	if !ok {
		h.t.Fatalf("process %s missing from Stats.Processes: %+v", p, s.Processes)
	}
	if got.InFlight != 3 {
		h.t.Fatalf("process InFlight = %d, want 3", got.InFlight)
	}
	if got.Hostname != "host-"+p || got.PID != 4242 || got.Concurrency != 10 || !slices.Equal(got.Queues, []string{"default", "other"}) {
		h.t.Fatalf("process info not kept: %+v", got)
	}
	if got.LastBeat.IsZero() || got.StartedAt.IsZero() {
		h.t.Fatalf("process LastBeat/StartedAt missing: %+v", got)
	}
	if byID[idle].InFlight != 0 {
		h.t.Fatalf("idle process InFlight = %d", byID[idle].InFlight)
	}
	if q, _ := queueByName(s, "default"); q.InFlight != 3 || q.Size != 2 {
		h.t.Fatalf("queue stats = %+v, want Size 2, InFlight 3", q)
	}

	// A process the recoverer declared dead is no longer listed.
	gone := h.doomedProc("p3", "default")
	h.fetchOne(gone, "default")
	h.recoverOrphans(afterDoomed())
	for _, pi := range h.stats(time.Now()).Processes {
		if pi.ID == gone {
			h.t.Fatalf("process %s listed after it was declared dead", gone)
		}
	}
}
