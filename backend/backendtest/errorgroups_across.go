package backendtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// acrossTests cover error groups across batches (backend.ErrorGroups):
// every recorded failure counts once per attempt in its queue's hourly
// bucket, whatever its batch, with a capped number of groups per bucket,
// a retention, and filters.
func acrossTests() []test {
	return []test{
		{name: "CountedOncePerAttempt", run: testAcrossCountedOnce},
		{name: "Capped", opts: Options{Limits: backend.Limits{ErrorGroupsPerHour: 3}}, run: testAcrossCapped},
		{name: "Retention", run: testAcrossRetention},
		{name: "Filters", run: testAcrossFilters},
		{name: "PoisonPill", run: testAcrossPoisonPill},
	}
}

// The queues and failure shapes of the tests: three fingerprints over two
// kinds, two queues.
const (
	acrossQA, acrossQB = "errs-a", "errs-b"
	kindMail, kindSMS  = "mailer", "sms"
)

var (
	shapeTimeout = failure{class: "*net.OpError", message: "dial tcp: i/o timeout", fingerprint: "fp-timeout"}
	shapeRefused = failure{class: "*app.Refused", message: strings.Repeat("refused by the relay ", 40), fingerprint: "fp-refused"}
	shapeCarrier = failure{class: "*sms.Error", message: "carrier rejected", fingerprint: "fp-carrier"}
)

// errorGroups calls ErrorGroups and checks the order every answer keeps:
// groups most frequent first, then the other rows.
func (h *harness) errorGroups(f backend.ErrorGroupFilter, now time.Time) []backend.ErrorGroupStat {
	h.t.Helper()
	gs, err := h.b.ErrorGroups(h.ctx, f, now)
	if err != nil {
		h.t.Fatalf("ErrorGroups(%+v): %v", f, err)
	}
	for i := 1; i < len(gs); i++ {
		a, b := gs[i-1], gs[i]
		if a.Other && !b.Other || !a.Other && !b.Other && a.Count < b.Count {
			h.t.Fatalf("ErrorGroups out of order at %d: %s", i, fmtGroups(gs))
		}
	}
	return gs
}

func fmtGroups(gs []backend.ErrorGroupStat) string {
	var b strings.Builder
	for _, g := range gs {
		fmt.Fprintf(&b, "\n  %s/%s kind %q count %d other %v", g.Queue, g.Fingerprint, g.Kind, g.Count, g.Other)
	}
	return b.String()
}

// findGroup finds queue's group fp in gs.
func findGroup(gs []backend.ErrorGroupStat, queue, fp string) (backend.ErrorGroupStat, bool) {
	for _, g := range gs {
		if !g.Other && g.Queue == queue && g.Fingerprint == fp {
			return g, true
		}
	}
	return backend.ErrorGroupStat{}, false
}

// kinded returns n fresh jobs of kind on queue.
func (h *harness) kinded(queue, kind string, n int) []*backend.Job {
	js := h.jobs(queue, n)
	for _, j := range js {
		j.Kind = kind
	}
	return js
}

// failAcross enqueues the failures of testAcrossCountedOnce and records
// them: on errs-a 4 retries of fp-timeout and 2 deaths of fp-refused (and a
// success and a discard, which count nothing), on errs-b 3 deaths of
// fp-carrier and 1 retry of fp-timeout. It returns the job IDs by queue
// and fingerprint, and the retries' due time.
func (h *harness) failAcross() (map[[2]string][]string, time.Time) {
	h.t.Helper()
	retryAt := time.Now().Add(time.Hour)
	h.enqueue(h.kinded(acrossQA, kindMail, 8)...)
	h.enqueue(h.kinded(acrossQB, kindSMS, 3)...)
	h.enqueue(h.kinded(acrossQB, kindMail, 1)...)
	p := h.proc("across", acrossQA, acrossQB)
	ids := map[[2]string][]string{}
	var results []backend.Result
	for i, f := range h.fetchAll(p, []string{acrossQA, acrossQB}, 5) {
		var r backend.Result
		var fl failure
		switch {
		case f.Queue == acrossQA && i < 4:
			fl, r = shapeTimeout, retryResult(f, retryAt, shapeTimeout)
		case f.Queue == acrossQA && i < 6:
			fl, r = shapeRefused, deadResult(f, time.Now(), shapeRefused)
		case f.Queue == acrossQA && i == 6:
			r = succeeded(f)
		case f.Queue == acrossQA:
			r = outcome(f, backend.OutcomeDiscarded)
		case f.Kind == kindSMS:
			fl, r = shapeCarrier, deadResult(f, time.Now(), shapeCarrier)
		default:
			fl, r = shapeTimeout, retryResult(f, retryAt, shapeTimeout)
		}
		if fl.fingerprint != "" {
			k := [2]string{f.Queue, fl.fingerprint}
			ids[k] = append(ids[k], f.ID)
		}
		results = append(results, r)
	}
	if len(results) != 12 {
		h.t.Fatalf("fetched %d jobs, want 12", len(results))
	}
	h.complete(p, results...)
	// The same acks again (a retried call): their jobs are no longer in
	// flight, so nothing counts twice.
	h.complete(p, results...)
	return ids, retryAt
}

func testAcrossCountedOnce(h *harness) {
	start := time.Now()
	ids, retryAt := h.failAcross()
	// A second attempt of one errs-a retry fails again: it counts again.
	if n := h.moveDue(retryAt); n != 5 {
		h.t.Fatalf("MoveDue = %d, want the 5 retries", n)
	}
	p := h.proc("again", acrossQA)
	again := h.fetchOne(p, acrossQA)
	h.complete(p, deadResult(again, time.Now(), shapeTimeout))
	h.complete(p, deadResult(again, time.Now(), shapeTimeout))
	end := time.Now()

	gs := h.errorGroups(backend.ErrorGroupFilter{}, end)
	want := []struct {
		queue, fp, kind string
		fl              failure
		count           int64
	}{
		{acrossQA, shapeTimeout.fingerprint, kindMail, shapeTimeout, 5},
		{acrossQB, shapeCarrier.fingerprint, kindSMS, shapeCarrier, 3},
		{acrossQA, shapeRefused.fingerprint, kindMail, shapeRefused, 2},
		{acrossQB, shapeTimeout.fingerprint, kindMail, shapeTimeout, 1},
	}
	if len(gs) != len(want) {
		h.t.Fatalf("ErrorGroups = %d rows, want %d:%s", len(gs), len(want), fmtGroups(gs))
	}
	var sum int64
	for i, w := range want {
		g := gs[i]
		if g.Queue != w.queue || g.Fingerprint != w.fp || g.Count != w.count || g.Kind != w.kind || g.Class != w.fl.class || g.Other {
			h.t.Fatalf("row %d = %+v, want %s/%s counted %d:%s", i, g, w.queue, w.fp, w.count, fmtGroups(gs))
		}
		if len(g.Message) == 0 || len(g.Message) > backend.ErrorSampleBytes || !strings.HasPrefix(w.fl.message, g.Message) {
			h.t.Fatalf("%s/%s sample message of %d bytes, want a prefix of at most %d", g.Queue, g.Fingerprint, len(g.Message), backend.ErrorSampleBytes)
		}
		if !slices.Contains(ids[[2]string{w.queue, w.fp}], g.JobID) {
			h.t.Fatalf("%s/%s sample job %q is not one of the group's jobs", g.Queue, g.Fingerprint, g.JobID)
		}
		if g.FirstSeen.Before(start.Truncate(time.Millisecond)) || g.LastSeen.Before(g.FirstSeen) || g.LastSeen.After(end) {
			h.t.Fatalf("%s/%s first/last seen %v/%v, not within the run %v..%v", g.Queue, g.Fingerprint, g.FirstSeen, g.LastSeen, start, end)
		}
		sum += g.Count
	}
	// Every failure Stats counts is in exactly one group.
	if st := h.stats(end); st.Failed != sum {
		h.t.Fatalf("Stats.Failed = %d, the groups count %d", st.Failed, sum)
	}
	// A group's fingerprint lists its jobs in the retry and dead sets.
	refused := h.list(backend.JobFilter{Set: backend.SetDead, Queue: acrossQA, ErrorFingerprint: shapeRefused.fingerprint})
	if !sameSet(jobIDs(refused), ids[[2]string{acrossQA, shapeRefused.fingerprint}]) {
		h.t.Fatalf("dead jobs of fp-refused = %v, want %v", jobIDs(refused), ids[[2]string{acrossQA, shapeRefused.fingerprint}])
	}
}

func testAcrossCapped(h *harness) {
	h.enqueue(h.kinded(acrossQA, kindMail, 7)...)
	p := h.proc("capped", acrossQA)
	fs := h.fetchAll(p, []string{acrossQA}, 10)
	fps := []string{"fp-1", "fp-1", "fp-2", "fp-3", "fp-4", "fp-4", "fp-5"}
	results := make([]backend.Result, len(fs))
	for i, f := range fs {
		results[i] = deadResult(f, time.Now(), failure{class: "*app.Err", message: "rare " + fps[i], fingerprint: fps[i]})
	}
	// One call: one hour's bucket, whatever the clock.
	h.complete(p, results...)
	gs := h.errorGroups(backend.ErrorGroupFilter{}, time.Now())
	if len(gs) != 4 {
		h.t.Fatalf("ErrorGroups = %d rows, want the cap of 3 groups and other:%s", len(gs), fmtGroups(gs))
	}
	var sum int64
	for _, g := range gs[:3] {
		if g.Other || g.Queue != acrossQA {
			h.t.Fatalf("group row %+v", g)
		}
		sum += g.Count
	}
	other := gs[3]
	if !other.Other || other.Queue != acrossQA || other.Fingerprint != "" || sum+other.Count != 7 || other.Count < 2 {
		h.t.Fatalf("groups count %d + other %+v, want 7 failures in all, the rest in other:%s", sum, other, fmtGroups(gs))
	}
	if g, ok := findGroup(gs, acrossQA, "fp-1"); !ok || g.Count != 2 {
		h.t.Fatalf("the first fingerprint is not kept whole:%s", fmtGroups(gs))
	}
	// Other failures carry no kind: a filter by kind leaves them out.
	if gs := h.errorGroups(backend.ErrorGroupFilter{Kind: kindMail}, time.Now()); len(gs) != 3 || gs[2].Other {
		h.t.Fatalf("ErrorGroups(kind) = %s, want the 3 groups only", fmtGroups(gs))
	}
}

func testAcrossRetention(h *harness) {
	start := time.Now()
	h.failAcross()
	end := time.Now()
	ret := backend.DefaultErrorGroupRetention
	// Still kept an hour before the retention has passed...
	if gs := h.errorGroups(backend.ErrorGroupFilter{}, start.Add(ret-time.Hour)); len(gs) != 4 {
		h.t.Fatalf("ErrorGroups before the retention = %s, want 4 groups", fmtGroups(gs))
	}
	// ...gone once it has passed after the hour, janitor run or not.
	later := end.Add(ret + time.Hour)
	if gs := h.errorGroups(backend.ErrorGroupFilter{}, later); len(gs) != 0 {
		h.t.Fatalf("ErrorGroups after the retention = %s, want none", fmtGroups(gs))
	}
	if _, err := h.b.ForwardCallbacks(h.ctx, later); err != nil {
		h.t.Fatalf("ForwardCallbacks: %v", err)
	}
	h.trimDead(later)
	if gs := h.errorGroups(backend.ErrorGroupFilter{}, later); len(gs) != 0 {
		h.t.Fatalf("ErrorGroups after the janitor = %s, want none", fmtGroups(gs))
	}
}

func testAcrossFilters(h *harness) {
	start := time.Now()
	h.failAcross()
	end := time.Now()
	byQueue := h.errorGroups(backend.ErrorGroupFilter{Queue: acrossQB}, end)
	if len(byQueue) != 2 || byQueue[0].Fingerprint != shapeCarrier.fingerprint || byQueue[1].Fingerprint != shapeTimeout.fingerprint {
		h.t.Fatalf("ErrorGroups(queue %s) = %s, want fp-carrier, fp-timeout", acrossQB, fmtGroups(byQueue))
	}
	for _, g := range byQueue {
		if g.Queue != acrossQB {
			h.t.Fatalf("ErrorGroups(queue %s) returned a group of %s", acrossQB, g.Queue)
		}
	}
	if gs := h.errorGroups(backend.ErrorGroupFilter{Kind: kindSMS}, end); len(gs) != 1 || gs[0].Fingerprint != shapeCarrier.fingerprint || gs[0].Count != 3 {
		h.t.Fatalf("ErrorGroups(kind sms) = %s, want fp-carrier counted 3", fmtGroups(gs))
	}
	if gs := h.errorGroups(backend.ErrorGroupFilter{Queue: acrossQA, Kind: kindSMS}, end); len(gs) != 0 {
		h.t.Fatalf("ErrorGroups(queue a, kind sms) = %s, want none", fmtGroups(gs))
	}
	if gs := h.errorGroups(backend.ErrorGroupFilter{Since: start.Add(-time.Hour)}, end); len(gs) != 4 {
		h.t.Fatalf("ErrorGroups(since an hour before) = %s, want 4 groups", fmtGroups(gs))
	}
	// Since after the last failure: nothing, whether its hour is the
	// failures' or a later one.
	if gs := h.errorGroups(backend.ErrorGroupFilter{Since: end.Add(time.Millisecond)}, end.Add(time.Hour)); len(gs) != 0 {
		h.t.Fatalf("ErrorGroups(since after the failures) = %s, want none", fmtGroups(gs))
	}
	if gs := h.errorGroups(backend.ErrorGroupFilter{Limit: 2}, end); len(gs) != 2 || gs[0].Count != 4 || gs[1].Count != 3 {
		h.t.Fatalf("ErrorGroups(limit 2) = %s, want the 2 most frequent", fmtGroups(gs))
	}
}

// A poison pill goes dead without an ack: it counts all the same, in its
// kind's poison-pill group.
func testAcrossPoisonPill(h *harness) {
	j := h.kinded(acrossQA, kindMail, 1)[0]
	h.enqueue(j)
	for round := 1; round <= backend.MaxRecoveries; round++ {
		p := h.doomedProc(fmt.Sprintf("crashy-%d", round), acrossQA)
		h.fetchOne(p, acrossQA)
		if n := h.recoverOrphans(afterDoomed()); n != 1 {
			h.t.Fatalf("round %d: RecoverOrphans = %d, want 1", round, n)
		}
	}
	gs := h.errorGroups(backend.ErrorGroupFilter{}, afterDoomed())
	fp := backend.FallbackFingerprint(kindMail, backend.PoisonPillClass)
	if len(gs) != 1 || gs[0].Fingerprint != fp || gs[0].Count != 1 || gs[0].JobID != j.ID || gs[0].Class != backend.PoisonPillClass {
		h.t.Fatalf("ErrorGroups = %s, want the poison pill's group %q counted once", fmtGroups(gs), fp)
	}
}
