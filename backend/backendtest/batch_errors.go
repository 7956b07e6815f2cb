package backendtest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// errorGroupTests cover a batch's failures (docs/batch-states.md): aggregated in capped
// error groups, and listed from the retry and dead sets by batch and group.
func errorGroupTests() []test {
	return []test{
		{name: "GroupsAggregated", run: testErrorGroups},
		{name: "GroupsCapped", run: testErrorGroupsCapped},
		{name: "GroupsKeepMostFrequent", run: testErrorGroupsKeepMostFrequent},
		{name: "GroupsCountStateChanges", run: testErrorGroupsCountStateChanges},
		{name: "GroupsHoldHeavyHitters", run: testErrorGroupsHoldHeavyHitters},
		{name: "ListFailuresByBatchAndGroup", run: testListBatchFailures},
	}
}

func testErrorGroups(h *harness) {
	start := time.Now()
	id, _ := h.committedBatch(12)
	timeout := failure{class: "*net.OpError", message: "i/o timeout", fingerprint: "fp-timeout"}
	long := failure{class: "*app.Err", message: strings.Repeat("very long message ", 100), fingerprint: "fp-long"}
	var timeoutJobs []string
	h.runBatchJobs(func(i int, f *backend.Fetched) backend.Result {
		switch {
		case i < 8:
			timeoutJobs = append(timeoutJobs, f.ID)
			return retryResult(f, time.Now().Add(time.Hour), timeout)
		case i < 11:
			return deadResult(f, time.Now(), long)
		}
		return succeeded(f)
	})
	st := h.wantCounters(id, counters{Total: 12, Failing: 8, Dead: 3, Succeeded: 1})
	if len(st.ErrorGroups) != 2 || st.OtherErrors != 0 {
		h.t.Fatalf("error groups = %+v, other %d; want 2 groups", st.ErrorGroups, st.OtherErrors)
	}
	g := st.ErrorGroups[0] // most frequent first
	if g.Fingerprint != "fp-timeout" || g.Count != 8 || g.Class != timeout.class || g.Message != timeout.message || g.Kind != "test_kind" {
		h.t.Fatalf("first group = %+v, want fp-timeout counted 8 times", g)
	}
	if !slices.Contains(timeoutJobs, g.JobID) {
		h.t.Fatalf("sample job %q is not one of the group's jobs", g.JobID)
	}
	if g.FirstSeen.Before(start.Add(-time.Second)) || g.LastSeen.Before(g.FirstSeen) {
		h.t.Fatalf("first/last seen = %v/%v", g.FirstSeen, g.LastSeen)
	}
	g = st.ErrorGroups[1]
	if g.Fingerprint != "fp-long" || g.Count != 3 {
		h.t.Fatalf("second group = %+v, want fp-long counted 3 times", g)
	}
	if len(g.Message) == 0 || len(g.Message) > backend.ErrorSampleBytes || !strings.HasPrefix(long.message, g.Message) {
		h.t.Fatalf("sample message of %d bytes, want a prefix of at most %d", len(g.Message), backend.ErrorSampleBytes)
	}
}

func testErrorGroupsCapped(h *harness) {
	const distinct = 40
	id, _ := h.committedBatch(10 + distinct)
	// The common error fails first, then 40 distinct ones.
	h.runBatchJobs(func(i int, f *backend.Fetched) backend.Result {
		fl := failure{class: "*app.Err", message: "common", fingerprint: "fp-common"}
		if i >= 10 {
			fl = failure{class: "*app.Err", message: fmt.Sprintf("rare %d", i), fingerprint: fmt.Sprintf("fp-rare-%d", i)}
		}
		return deadResult(f, time.Now(), fl)
	})
	st := h.wantCounters(id, counters{Total: 10 + distinct, Dead: 10 + distinct})
	if len(st.ErrorGroups) != backend.MaxErrorGroups {
		h.t.Fatalf("%d error groups, want the cap of %d", len(st.ErrorGroups), backend.MaxErrorGroups)
	}
	var sum int64
	for _, g := range st.ErrorGroups {
		sum += g.Count
	}
	if sum+st.OtherErrors != 10+distinct || st.OtherErrors == 0 {
		h.t.Fatalf("groups count %d + other %d, want %d failures in all, some in other", sum, st.OtherErrors, 10+distinct)
	}
	if g := st.ErrorGroups[0]; g.Fingerprint != "fp-common" || g.Count != 10 {
		h.t.Fatalf("first group = %+v, want fp-common counted 10 times", g)
	}
}

// wantGroupBounds checks the error groups of st against the true number of
// failures of each fingerprint: every group's count lies in [Count,
// Count+Error], and the groups' Count plus OtherErrors is every failure.
func wantGroupBounds(h *harness, st *backend.BatchStatus, truth map[string]int64) {
	h.t.Helper()
	var all, sum int64
	for _, n := range truth {
		all += n
	}
	for _, g := range st.ErrorGroups {
		sum += g.Count
		if n := truth[g.Fingerprint]; n < g.Count || n > g.Count+g.Error || g.Error < 0 {
			h.t.Errorf("group %s: count %d, error %d; it failed %d times, outside [count, count+error]", g.Fingerprint, g.Count, g.Error, n)
		}
	}
	if sum+st.OtherErrors != all {
		h.t.Fatalf("groups count %d + other %d, want %d failures in all", sum, st.OtherErrors, all)
	}
}

// Forty fingerprints, the last eight far more frequent than the first
// thirty-two: the eight are kept (the first ones that arrived are not),
// each with a bound on what it missed, and nothing is lost from the sum.
func testErrorGroupsKeepMostFrequent(h *harness) {
	const small, big, bigFailures = 32, 8, 5
	id, _ := h.committedBatch(small + big*bigFailures)
	truth := map[string]int64{}
	p := h.proc("batch-runner", batchQueue)
	fs := h.fetchBatchJobs(p)
	fail := func(f *backend.Fetched, fp string) backend.Result {
		truth[fp]++
		return deadResult(f, time.Now(), failure{class: "*app.Err", message: "shape " + fp, fingerprint: fp})
	}
	// The rare shapes fail first and take every group; then the frequent
	// ones, round robin, one ack per round.
	var rare []backend.Result
	for i := range small {
		rare = append(rare, fail(fs[i], fmt.Sprintf("fp-rare-%02d", i)))
	}
	h.complete(p, rare...)
	k := small
	for range bigFailures {
		var round []backend.Result
		for b := range big {
			round = append(round, fail(fs[k], fmt.Sprintf("fp-big-%d", b)))
			k++
		}
		h.complete(p, round...)
	}
	st := h.wantCounters(id, counters{Total: small + big*bigFailures, Dead: small + big*bigFailures})
	if len(st.ErrorGroups) != backend.MaxErrorGroups {
		h.t.Fatalf("%d error groups, want %d", len(st.ErrorGroups), backend.MaxErrorGroups)
	}
	var kept []string
	for _, g := range st.ErrorGroups {
		kept = append(kept, g.Fingerprint)
	}
	for b := range big {
		if fp := fmt.Sprintf("fp-big-%d", b); !slices.Contains(kept, fp) {
			h.t.Fatalf("frequent fingerprint %s was not kept; kept: %v", fp, kept)
		}
	}
	for i, g := range st.ErrorGroups[:big] {
		if !strings.HasPrefix(g.Fingerprint, "fp-big-") || g.Error == 0 {
			h.t.Errorf("group %d = %+v, want a frequent fingerprint that replaced a rare group (error > 0)", i, g)
		}
	}
	if st.OtherErrors != big {
		h.t.Errorf("other = %d, want the %d rare groups replaced", st.OtherErrors, big)
	}
	wantGroupBounds(h, st, truth)
}

// A failure counts when it moves its job's state: an ack sent again for
// the same attempt counts nothing more, and neither does a later failed
// attempt of a job already failing (F -> F cannot be told from a repeated
// ack in two bits); its death counts again.
func testErrorGroupsCountStateChanges(h *harness) {
	id, _ := h.committedBatch(2)
	now := time.Now()
	fl := failure{class: "*app.Err", message: "flaky", fingerprint: "fp-flaky"}
	p := h.proc("acker", batchQueue)
	fs := h.fetchBatchJobs(p)
	retry, dead := retryResult(fs[0], now.Add(time.Minute), fl), deadResult(fs[1], now, fl)
	h.complete(p, retry, dead)
	h.completeStale(p, retry, dead) // the ack sent again, as after a lost reply
	st := h.wantCounters(id, counters{Total: 2, Failing: 1, Dead: 1})
	wantGroupBounds(h, st, map[string]int64{"fp-flaky": 2})

	h.moveDue(now.Add(time.Hour))
	again := h.fetchOne(p, batchQueue)
	h.complete(p, retryResult(again, now.Add(time.Minute), fl)) // F -> F
	h.moveDue(now.Add(2 * time.Hour))
	last := h.fetchOne(p, batchQueue)
	h.complete(p, deadResult(last, now, fl)) // F -> X
	h.completeStale(p, deadResult(last, now, fl))
	st = h.wantCounters(id, counters{Total: 2, Dead: 2})
	wantGroupBounds(h, st, map[string]int64{"fp-flaky": 3})
	if len(st.ErrorGroups) != 1 || st.ErrorGroups[0].Count != 3 || st.ErrorGroups[0].Error != 0 {
		h.t.Fatalf("groups %+v, want fp-flaky counted 3 times", st.ErrorGroups)
	}
}

// A stream of failures over many fingerprints, a few of them frequent and
// many seen once, acked in chunks of varied sizes (some with more new
// fingerprints than there are groups): every fingerprint with more than
// 1/MaxErrorGroups of the failures holds a group, every group's bound
// holds, and nothing is lost from the sum.
func testErrorGroupsHoldHeavyHitters(h *harness) {
	const jobs = 600
	id, _ := h.committedBatch(jobs)
	r := rand.New(rand.NewPCG(7, 11))
	truth := map[string]int64{}
	p := h.proc("batch-runner", batchQueue)
	fs := h.fetchBatchJobs(p)
	var results []backend.Result
	for i, f := range fs {
		fp := fmt.Sprintf("fp-once-%d", i) // most failures: a fingerprint seen once
		if x := r.IntN(100); x < 45 {
			fp = fmt.Sprintf("fp-hot-%d", x%3) // three heavy hitters, 15% each
		}
		truth[fp]++
		results = append(results, deadResult(f, time.Now(), failure{class: "*app.Err", message: fp, fingerprint: fp}))
	}
	for len(results) > 0 {
		n := min(len(results), 1+r.IntN(120))
		h.complete(p, results[:n]...)
		results = results[n:]
	}
	st := h.wantCounters(id, counters{Total: jobs, Dead: jobs})
	wantGroupBounds(h, st, truth)
	kept := map[string]bool{}
	for _, g := range st.ErrorGroups {
		kept[g.Fingerprint] = true
	}
	if len(st.ErrorGroups) != backend.MaxErrorGroups {
		h.t.Errorf("%d groups, want %d", len(st.ErrorGroups), backend.MaxErrorGroups)
	}
	for fp, n := range truth {
		if n*backend.MaxErrorGroups > jobs && !kept[fp] {
			h.t.Errorf("%s failed %d of %d times and holds no group", fp, n, jobs)
		}
	}
}

func testListBatchFailures(h *harness) {
	now := time.Now()
	a, _ := h.committedBatch(20)
	b, _ := h.committedBatch(5)
	h.enqueue(h.jobs(batchQueue, 3)...) // not in any batch
	type key struct {
		batch string
		set   backend.JobSet
		fp    string
	}
	want := map[key][]string{}
	i := 0
	h.runBatchJobs(func(_ int, f *backend.Fetched) backend.Result {
		i++
		fl := failure{class: "*app.Err", message: "odd failure", fingerprint: "fp-odd"}
		if i%2 == 0 {
			fl = failure{class: "*app.Err", message: "even failure", fingerprint: "fp-even"}
		}
		set := backend.SetDead
		res := deadResult(f, now.Add(time.Duration(i)*time.Millisecond), fl)
		if i%3 == 0 {
			set = backend.SetRetry
			res = retryResult(f, now.Add(time.Hour), fl)
		}
		k := key{f.BatchID, set, fl.fingerprint}
		want[k] = append(want[k], f.ID)
		want[key{f.BatchID, set, ""}] = append(want[key{f.BatchID, set, ""}], f.ID)
		return res
	})
	for _, batch := range []string{a, b} {
		for _, set := range []backend.JobSet{backend.SetDead, backend.SetRetry} {
			for _, fp := range []string{"", "fp-odd", "fp-even"} {
				got := h.list(backend.JobFilter{Set: set, BatchID: batch, ErrorFingerprint: fp, Limit: 3})
				if !sameSet(jobIDs(got), want[key{batch, set, fp}]) {
					h.t.Fatalf("ListJobs(%s, batch %s, fingerprint %q) = %d jobs, want %d", set, batch, fp, len(got), len(want[key{batch, set, fp}]))
				}
				for _, j := range got {
					if j.BatchID != batch {
						h.t.Fatalf("listed job %s of batch %q", j.ID, j.BatchID)
					}
				}
			}
		}
	}
}
