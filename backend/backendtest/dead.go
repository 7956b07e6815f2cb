package backendtest

import (
	"slices"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// deadTests cover the dead set's caps (docs/data-model.md): by count, age and
// bytes, per queue and in total, always counted, never touching retries.
func deadTests() []test {
	return []test{
		{name: "CountCapPerQueue", opts: Options{Limits: backend.Limits{DeadMaxJobs: 5}}, run: testDeadCountCap},
		{name: "CountCapInTotal", opts: Options{Limits: backend.Limits{DeadMaxJobs: 5}}, run: testDeadTotalCap},
		{name: "AgeCap", opts: Options{Limits: backend.Limits{DeadMaxAge: 48 * time.Hour}}, run: testDeadAgeCap},
		{name: "BytesCap", opts: Options{Limits: backend.Limits{DeadMaxBytes: 3500}}, run: testDeadBytesCap},
		{name: "RetryingJobsNeverDropped", opts: Options{Limits: backend.Limits{DeadMaxJobs: 2, DeadMaxBytes: 1000}}, run: testRetryNeverDropped},
		{name: "ListedNewestFirst", run: testDeadNewestFirst},
	}
}

// kill runs jobs of queue to the dead set, one Complete per job, with
// DiedAt increasing from base by a second each; it returns them in order.
func (h *harness) kill(queue string, n int, base time.Time, args []byte) []*backend.Job {
	h.t.Helper()
	js := h.jobs(queue, n)
	for _, j := range js {
		if args != nil {
			j.Args = args
		}
	}
	h.enqueue(js...)
	p := h.proc("killer-"+queue, queue)
	for i := range js {
		f := h.fetchOne(p, queue)
		h.complete(p, deadResult(f, base.Add(time.Duration(i)*time.Second), defaultFailure()))
	}
	return js
}

func (h *harness) deadDropped() int64 {
	h.t.Helper()
	return h.stats(time.Now()).DeadDropped
}

func testDeadCountCap(h *harness) {
	base := time.Now().Add(-time.Hour)
	js := h.kill("default", 8, base, nil)
	h.trimDead(time.Now())
	h.wantSet(backend.SetDead, "default", jobIDs(js[3:])...) // the 3 oldest dropped
	if n := h.deadDropped(); n != 3 {
		h.t.Fatalf("Stats.DeadDropped = %d, want 3", n)
	}
	if qs := h.queueStats("default"); qs.Dead != 5 {
		h.t.Fatalf("queue stats Dead = %d, want 5", qs.Dead)
	}
	// Idempotent: a second trim drops nothing.
	h.trimDead(time.Now())
	if n := h.deadDropped(); n != 3 {
		h.t.Fatalf("Stats.DeadDropped = %d after a second trim, want 3", n)
	}
}

func testDeadTotalCap(h *harness) {
	base := time.Now().Add(-time.Hour)
	a := h.kill("a", 4, base, nil)
	b := h.kill("b", 4, base.Add(10*time.Second), nil) // b's are the newest
	h.trimDead(time.Now())
	all := h.setIDs(backend.SetDead, "")
	if len(all) != 5 {
		h.t.Fatalf("%d dead jobs in total after trim, want the cap of 5: %v", len(all), all)
	}
	if n := h.deadDropped(); n != 3 {
		h.t.Fatalf("Stats.DeadDropped = %d, want 3", n)
	}
	newest := b[len(b)-1].ID
	if !slices.Contains(all, newest) {
		h.t.Fatalf("the newest dead job %s was dropped by the total cap", newest)
	}
	known := jobIDs(append(a, b...))
	for _, id := range all {
		if !slices.Contains(known, id) {
			h.t.Fatalf("unknown job %s in the dead set", id)
		}
	}
}

func testDeadAgeCap(h *harness) {
	now := time.Now()
	h.kill("default", 3, now.Add(-time.Minute), nil)
	h.trimDead(now)
	if got := len(h.setIDs(backend.SetDead, "default")); got != 3 {
		h.t.Fatalf("%d dead jobs after a trim within the age cap, want 3", got)
	}
	if n := h.deadDropped(); n != 0 {
		h.t.Fatalf("DeadDropped = %d within the age cap", n)
	}
	h.trimDead(now.Add(72 * time.Hour))
	h.wantSet(backend.SetDead, "default")
	if n := h.deadDropped(); n != 3 {
		h.t.Fatalf("Stats.DeadDropped = %d after the age cap, want 3", n)
	}
}

func testDeadBytesCap(h *harness) {
	args := []byte(`"` + strings.Repeat("x", 1000) + `"`)
	js := h.kill("default", 5, time.Now().Add(-time.Hour), args)
	h.trimDead(time.Now())
	// Each payload is a little over 1,000 bytes: 3 fit in 3,500, 4 do not.
	h.wantSet(backend.SetDead, "default", jobIDs(js[2:])...)
	if n := h.deadDropped(); n != 2 {
		h.t.Fatalf("Stats.DeadDropped = %d, want 2", n)
	}
}

func testRetryNeverDropped(h *harness) {
	now := time.Now()
	retrying := h.jobs("default", 5)
	for _, j := range retrying {
		j.Args = []byte(`"` + strings.Repeat("r", 500) + `"`)
	}
	h.enqueue(retrying...)
	p := h.proc("p1", "default")
	for range retrying {
		f := h.fetchOne(p, "default")
		h.complete(p, retryResult(f, now.Add(time.Hour), defaultFailure()))
	}
	h.kill("default", 4, now.Add(-time.Minute), nil)
	h.trimDead(now.Add(365 * 24 * time.Hour))
	h.wantSet(backend.SetRetry, "default", jobIDs(retrying)...)
	if got := len(h.setIDs(backend.SetDead, "default")); got != 0 {
		h.t.Fatalf("%d dead jobs after a trim far in the future, want 0", got)
	}
	if n := h.deadDropped(); n != 4 {
		h.t.Fatalf("Stats.DeadDropped = %d, want 4", n)
	}
}

func testDeadNewestFirst(h *harness) {
	js := h.kill("default", 5, time.Now().Add(-time.Hour), nil)
	got := jobIDs(h.list(backend.JobFilter{Set: backend.SetDead, Queue: "default", Limit: 2}))
	want := jobIDs(js)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		h.t.Fatalf("dead set listed as %v, want newest first %v", got, want)
	}
}
