package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// scheduleTests cover scheduled jobs and MoveDue.
func scheduleTests() []test {
	return []test{
		{name: "FutureRunAtIsScheduled", run: testScheduled},
		{name: "MoveDueMovesOnlyDueJobs", run: testMoveDueOnlyDue},
		{name: "MoveDueRespectsLimit", run: testMoveDueLimit},
		{name: "MoveDueAppendsToTail", run: testMoveDueTail},
	}
}

func testScheduled(h *harness) {
	now := time.Now()
	j := h.job("default")
	j.RunAt = now.Add(time.Hour)
	h.enqueue(j)

	p := h.proc("p1", "default")
	if fs := h.fetch(p, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("a job scheduled an hour ahead was fetchable")
	}
	h.wantSet(backend.SetScheduled, "default", j.ID)
	h.wantSet(backend.SetQueued, "default")
	if qs := h.queueStats("default"); qs.Scheduled != 1 || qs.Size != 0 {
		h.t.Fatalf("queue stats = %+v, want Scheduled 1, Size 0", qs)
	}
	if n := h.moveDue(now.Add(30 * time.Minute)); n != 0 {
		h.t.Fatalf("MoveDue before RunAt moved %d jobs", n)
	}
	if n := h.moveDue(now.Add(2 * time.Hour)); n != 1 {
		h.t.Fatalf("MoveDue after RunAt moved %d jobs, want 1", n)
	}
	h.wantSet(backend.SetScheduled, "default")
	f := h.fetchOne(p, "default")
	h.wantJob("scheduled job after MoveDue", f.Job, j)
}

func testMoveDueOnlyDue(h *harness) {
	now := time.Now()
	var early, late []*backend.Job
	for i := range 6 {
		j := h.job("q" + string(rune('a'+i%2)))
		j.RunAt = now.Add(time.Duration(i+1) * time.Hour)
		if i < 3 {
			early = append(early, j)
		} else {
			late = append(late, j)
		}
		h.enqueue(j)
	}
	// Due are the jobs at 1, 2 and 3 hours.
	if n := h.moveDue(now.Add(3*time.Hour + 30*time.Minute)); n != 3 {
		h.t.Fatalf("MoveDue moved %d jobs, want 3", n)
	}
	p := h.proc("p1", "qa", "qb")
	got := h.fetchAll(p, []string{"qa", "qb"}, 10)
	if !sameSet(fetchedIDs(got), jobIDs(early)) {
		h.t.Fatalf("fetched %v after MoveDue, want the due jobs %v", fetchedIDs(got), jobIDs(early))
	}
	if n := h.moveDue(now.Add(24 * time.Hour)); n != 3 {
		h.t.Fatalf("second MoveDue moved %d jobs, want 3", n)
	}
	got = h.fetchAll(p, []string{"qa", "qb"}, 10)
	if !sameSet(fetchedIDs(got), jobIDs(late)) {
		h.t.Fatalf("fetched %v after the second MoveDue, want %v", fetchedIDs(got), jobIDs(late))
	}
}

func testMoveDueLimit(h *harness) {
	now := time.Now()
	for range 10 {
		j := h.job("default")
		j.RunAt = now.Add(time.Hour)
		h.enqueue(j)
	}
	n, err := h.b.MoveDue(h.ctx, now.Add(2*time.Hour), 4)
	if err != nil {
		h.t.Fatalf("MoveDue: %v", err)
	}
	if n < 1 || n > 4 {
		h.t.Fatalf("MoveDue(limit 4) moved %d jobs", n)
	}
	moved := n
	for range 20 {
		n := h.moveDue(now.Add(2 * time.Hour))
		if n == 0 {
			break
		}
		moved += n
	}
	if moved != 10 {
		h.t.Fatalf("MoveDue moved %d jobs in all, want 10", moved)
	}
	if got := len(h.setIDs(backend.SetQueued, "default")); got != 10 {
		h.t.Fatalf("%d jobs queued after MoveDue, want 10", got)
	}
}

func testMoveDueTail(h *harness) {
	now := time.Now()
	waiting := h.jobs("default", 2)
	h.enqueue(waiting...)
	j := h.job("default")
	j.RunAt = now.Add(time.Hour)
	h.enqueue(j)
	h.moveDue(now.Add(2 * time.Hour))
	p := h.proc("p1", "default")
	got := fetchedIDs(h.fetchAll(p, []string{"default"}, 10))
	want := append(jobIDs(waiting), j.ID)
	if !slices.Equal(got, want) {
		h.t.Fatalf("order after MoveDue = %v, want the due job at the tail: %v", got, want)
	}
}
