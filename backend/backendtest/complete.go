package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// completeTests cover the outcomes of Complete.
func completeTests() []test {
	return []test{
		{name: "Succeeded", run: testCompleteSucceeded},
		{name: "Retry", run: testCompleteRetry},
		{name: "Dead", run: testCompleteDead},
		{name: "Discarded", run: testCompleteDiscarded},
		{name: "Requeue", run: testCompleteRequeue},
		{name: "ManyInOneCall", run: testCompleteMany},
		{name: "FailOnceThenSucceedCountsTwoAttempts", run: testCompleteCountsAttempts},
	}
}

// today returns the UTC dates a counter written between start and now may
// carry (two around midnight).
func utcDates(start time.Time) []string {
	return []string{start.UTC().Format(time.DateOnly), time.Now().UTC().Format(time.DateOnly)}
}

func dayStats(s *backend.Stats, dates []string) backend.DayStats {
	var sum backend.DayStats
	seen := map[string]bool{}
	for _, d := range s.Days {
		if slices.Contains(dates, d.Date) && !seen[d.Date] {
			seen[d.Date] = true
			sum.Processed += d.Processed
			sum.Failed += d.Failed
		}
	}
	return sum
}

func testCompleteSucceeded(h *harness) {
	start := time.Now()
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	h.complete(p, succeeded(f))

	for _, set := range []backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetRetry, backend.SetDead} {
		h.wantSet(set, "")
	}
	if fs := h.fetch(p, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("succeeded job fetchable again")
	}
	s := h.stats(time.Now())
	if s.Processed != 1 || s.Failed != 0 {
		h.t.Fatalf("Processed = %d, Failed = %d, want 1 and 0", s.Processed, s.Failed)
	}
	if d := dayStats(s, utcDates(start)); d.Processed != 1 || d.Failed != 0 {
		h.t.Fatalf("today's counters = %+v (Days %+v), want Processed 1, Failed 0", d, s.Days)
	}
	for i := 1; i < len(s.Days); i++ {
		if s.Days[i-1].Date <= s.Days[i].Date {
			h.t.Fatalf("Days not newest first: %+v", s.Days)
		}
	}
	if qs := h.queueStats("default"); qs.InFlight != 0 || qs.Size != 0 {
		h.t.Fatalf("queue stats after success = %+v", qs)
	}
}

func testCompleteRetry(h *harness) {
	start := time.Now()
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	retryAt := start.Add(10 * time.Minute)
	res := retryResult(f, retryAt, failure{class: "*app.Err", message: "upstream 503", fingerprint: "fp-503"})
	h.complete(p, res)

	h.wantSet(backend.SetQueued, "default")
	got := h.findJob(backend.SetRetry, "default", j.ID)
	h.wantJob("job in retry set", got, res.Job)
	if got.Attempt != 1 {
		h.t.Fatalf("Attempt = %d in the retry set, want 1", got.Attempt)
	}
	s := h.stats(time.Now())
	if s.Failed != 1 {
		h.t.Fatalf("Stats.Failed = %d, want 1", s.Failed)
	}
	if d := dayStats(s, utcDates(start)); d.Failed != 1 {
		h.t.Fatalf("today's Failed = %d (Days %+v), want 1", d.Failed, s.Days)
	}
	if qs := h.queueStats("default"); qs.Retry != 1 {
		h.t.Fatalf("queue stats Retry = %d, want 1", qs.Retry)
	}

	if n := h.moveDue(retryAt.Add(-time.Second)); n != 0 {
		h.t.Fatalf("MoveDue before RetryAt moved %d jobs", n)
	}
	if fs := h.fetch(p, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("retrying job fetchable before it is due")
	}
	if n := h.moveDue(retryAt); n != 1 {
		h.t.Fatalf("MoveDue(RetryAt) moved %d jobs, want 1", n)
	}
	h.wantSet(backend.SetRetry, "default")
	again := h.fetchOne(p, "default")
	h.wantJob("retried job", again.Job, res.Job)
}

func testCompleteDead(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	diedAt := time.Now().Add(-time.Second)
	res := deadResult(f, diedAt, failure{class: "*app.Fatal", message: "bad input", fingerprint: "fp-bad"})
	h.complete(p, res)

	h.wantSet(backend.SetQueued, "default")
	h.wantSet(backend.SetRetry, "default")
	got := h.findJob(backend.SetDead, "default", j.ID)
	h.wantJob("job in dead set", got, res.Job)
	if got.DiedAt.IsZero() {
		h.t.Fatalf("dead job has no DiedAt")
	}
	if qs := h.queueStats("default"); qs.Dead != 1 || qs.InFlight != 0 {
		h.t.Fatalf("queue stats = %+v, want Dead 1, InFlight 0", qs)
	}
	// Not fetchable, even after MoveDue.
	h.moveDue(time.Now().Add(365 * 24 * time.Hour))
	if fs := h.fetch(p, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("dead job fetchable")
	}
}

func testCompleteDiscarded(h *harness) {
	h.enqueue(h.job("default"))
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	h.complete(p, outcome(f, backend.OutcomeDiscarded))
	for _, set := range []backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetRetry, backend.SetDead} {
		h.wantSet(set, "")
	}
	if s := h.stats(time.Now()); s.Discarded != 1 || s.Processed != 1 || s.Failed != 0 {
		h.t.Fatalf("Stats Discarded, Processed, Failed = %d, %d, %d, want 1, 1, 0", s.Discarded, s.Processed, s.Failed)
	}
}

func testCompleteRequeue(h *harness) {
	js := h.jobs("default", 3)
	js[0].Attempt = 2
	h.enqueue(js...)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	h.complete(p, outcome(f, backend.OutcomeRequeue))

	if qs := h.queueStats("default"); qs.InFlight != 0 || qs.Size != 3 {
		h.t.Fatalf("queue stats after requeue = %+v, want Size 3, InFlight 0", qs)
	}
	fs := h.fetchAll(p, []string{"default"}, 10)
	if got, want := fetchedIDs(fs), jobIDs(js); !slices.Equal(got, want) {
		h.t.Fatalf("order after requeue = %v, want the requeued job at the head: %v", got, want)
	}
	h.wantJob("requeued job", fs[0].Job, js[0]) // untouched: Attempt still 2
	if s := h.stats(time.Now()); s.Processed != 0 || s.Failed != 0 {
		h.t.Fatalf("requeue counted: Processed %d, Failed %d", s.Processed, s.Failed)
	}
}

func testCompleteMany(h *harness) {
	h.enqueue(h.jobs("default", 10)...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 10)
	if len(fs) != 10 {
		h.t.Fatalf("fetched %d, want 10", len(fs))
	}
	now := time.Now()
	var results []backend.Result
	for i, f := range fs {
		switch i % 5 {
		case 0, 1:
			results = append(results, succeeded(f))
		case 2:
			results = append(results, retryResult(f, now.Add(time.Hour), defaultFailure()))
		case 3:
			results = append(results, deadResult(f, now, defaultFailure()))
		case 4:
			results = append(results, outcome(f, backend.OutcomeRequeue))
		}
	}
	h.complete(p, results...)
	// Processed counts every finished attempt (as Sidekiq's does), Failed
	// the retries and deaths; requeues count as neither.
	s := h.stats(time.Now())
	if s.Processed != 8 || s.Failed != 4 {
		h.t.Fatalf("Processed = %d, Failed = %d, want 8 (finished attempts) and 4 (retries and deaths), never the requeues", s.Processed, s.Failed)
	}
	var today backend.DayStats
	for _, d := range s.Days {
		today.Processed += d.Processed
		today.Failed += d.Failed
	}
	if today.Processed != 8 || today.Failed != 4 {
		h.t.Fatalf("day counters sum to %+v, want Processed 8, Failed 4", today)
	}
	h.wantSet(backend.SetRetry, "default", fs[2].ID, fs[7].ID)
	h.wantSet(backend.SetDead, "default", fs[3].ID, fs[8].ID)
	h.wantSet(backend.SetQueued, "default", fs[4].ID, fs[9].ID)
	if qs := h.queueStats("default"); qs.InFlight != 0 {
		h.t.Fatalf("InFlight = %d after completing everything", qs.InFlight)
	}
}

// testCompleteCountsAttempts holds every backend to one meaning of the
// counters: a job that fails once and then succeeds finished two attempts,
// one of which failed.
func testCompleteCountsAttempts(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	retryAt := time.Now().Add(time.Hour)
	h.complete(p, retryResult(h.fetchOne(p, "default"), retryAt, defaultFailure()))
	if n := h.moveDue(retryAt.Add(time.Hour)); n != 1 {
		h.t.Fatalf("MoveDue = %d, want 1", n)
	}
	h.complete(p, succeeded(h.fetchOne(p, "default")))
	if s := h.stats(time.Now()); s.Processed != 2 || s.Failed != 1 {
		h.t.Fatalf("after a failure then a success: Processed %d, Failed %d, want 2 and 1", s.Processed, s.Failed)
	}
}
