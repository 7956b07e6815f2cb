package backendtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// listJobsTests cover ListJobs: order per set, filters, and paging through
// more jobs than one page without duplicates or gaps.
func listJobsTests() []test {
	return []test{
		{name: "QueuedPagedOldestFirst", run: testListQueuedPaged},
		{name: "AllQueues", run: testListAllQueues},
		{name: "ScheduledAndRetrySoonestFirst", run: testListSoonestFirst},
		{name: "FilterKind", run: testListFilterKind},
		{name: "FilterErrorsPaged", run: testListFilterErrors},
		{name: "DeleteEachPageActsOnEveryJobOnce", run: func(h *harness) { testActOnEachPage(h, false) }},
		{name: "RetryEachPageActsOnEveryJobOnce", run: func(h *harness) { testActOnEachPage(h, true) }},
	}
}

func testListQueuedPaged(h *harness) {
	js := h.jobs("default", 250)
	h.enqueue(js...)
	h.enqueue(h.jobs("other", 5)...)
	got := h.list(backend.JobFilter{Set: backend.SetQueued, Queue: "default", Limit: 40})
	if !slices.Equal(jobIDs(got), jobIDs(js)) {
		h.t.Fatalf("paged listing (%d jobs) differs from the queue in order (%d jobs)", len(got), len(js))
	}
	h.wantJob("listed job", got[17], js[17])
	// The default page size applies with Limit 0.
	page, err := h.b.ListJobs(h.ctx, backend.JobFilter{Set: backend.SetQueued, Queue: "default"})
	if err != nil {
		h.t.Fatalf("ListJobs: %v", err)
	}
	if len(page.Jobs) != 100 || page.Next == "" {
		h.t.Fatalf("default page = %d jobs, Next %q; want 100 and a cursor", len(page.Jobs), page.Next)
	}
}

func testListAllQueues(h *harness) {
	var all []*backend.Job
	for _, q := range []string{"a", "b", "c"} {
		js := h.jobs(q, 15)
		h.enqueue(js...)
		all = append(all, js...)
	}
	got := h.list(backend.JobFilter{Set: backend.SetQueued, Limit: 4})
	if !sameSet(jobIDs(got), jobIDs(all)) {
		h.t.Fatalf("listing all queues found %d jobs, want %d", len(got), len(all))
	}
}

func testListSoonestFirst(h *harness) {
	now := time.Now()
	var sched []*backend.Job
	for _, d := range []int{5, 1, 4, 2, 3} {
		j := h.job("default")
		j.RunAt = now.Add(time.Duration(d) * time.Hour)
		sched = append(sched, j)
		h.enqueue(j)
	}
	got := jobIDs(h.list(backend.JobFilter{Set: backend.SetScheduled, Queue: "default", Limit: 2}))
	want := []string{sched[1].ID, sched[3].ID, sched[4].ID, sched[2].ID, sched[0].ID}
	if !slices.Equal(got, want) {
		h.t.Fatalf("scheduled listed as %v, want soonest first %v", got, want)
	}

	fresh := h.jobs("r", 4)
	h.enqueue(fresh...)
	p := h.proc("p1", "r")
	for _, d := range []int{3, 1, 4, 2} {
		f := h.fetchOne(p, "r")
		h.complete(p, retryResult(f, now.Add(time.Duration(d)*time.Hour), defaultFailure()))
	}
	got = jobIDs(h.list(backend.JobFilter{Set: backend.SetRetry, Queue: "r", Limit: 3}))
	want = []string{fresh[1].ID, fresh[3].ID, fresh[0].ID, fresh[2].ID}
	if !slices.Equal(got, want) {
		h.t.Fatalf("retry listed as %v, want soonest first %v", got, want)
	}
}

func testListFilterKind(h *harness) {
	var mail []*backend.Job
	for i := range 30 {
		j := h.job("default")
		if i%3 == 0 {
			j.Kind = "send_mail"
			mail = append(mail, j)
		}
		h.enqueue(j)
	}
	got := h.list(backend.JobFilter{Set: backend.SetQueued, Kind: "send_mail", Limit: 3})
	if !slices.Equal(jobIDs(got), jobIDs(mail)) {
		h.t.Fatalf("Kind filter found %v, want %v", jobIDs(got), jobIDs(mail))
	}
	if got := h.list(backend.JobFilter{Set: backend.SetQueued, Kind: "no_such_kind"}); len(got) != 0 {
		h.t.Fatalf("Kind filter for an unknown kind found %d jobs", len(got))
	}
}

func testListFilterErrors(h *harness) {
	now := time.Now()
	h.enqueue(h.jobs("a", 60)...)
	h.enqueue(h.jobs("b", 20)...)
	p := h.proc("p1", "a", "b")
	var timeouts, refusedA, retrying []string
	i := 0
	for _, f := range h.fetchAll(p, []string{"a", "b"}, 25) {
		i++
		fl := failure{class: "*net.OpError", message: fmt.Sprintf("dial tcp 10.0.0.%d: connection refused", i), fingerprint: "fp-refused"}
		if i%4 == 0 {
			fl = failure{class: "context.deadlineExceeded", message: fmt.Sprintf("request %d: i/o timeout after 30s", i), fingerprint: "fp-timeout"}
		}
		if i%5 == 0 {
			h.complete(p, retryResult(f, now.Add(time.Hour), fl))
			retrying = append(retrying, f.ID)
			continue
		}
		h.complete(p, deadResult(f, now.Add(time.Duration(i)*time.Millisecond), fl))
		switch {
		case fl.fingerprint == "fp-timeout":
			timeouts = append(timeouts, f.ID)
		case f.Queue == "a":
			refusedA = append(refusedA, f.ID)
		}
	}
	got := h.list(backend.JobFilter{Set: backend.SetDead, ErrorContains: "i/o timeout", Limit: 7})
	if !sameSet(jobIDs(got), timeouts) {
		h.t.Fatalf("ErrorContains found %d jobs, want %d", len(got), len(timeouts))
	}
	for _, j := range got {
		if !strings.Contains(j.ErrorMessage, "i/o timeout") {
			h.t.Fatalf("ErrorContains returned %q", j.ErrorMessage)
		}
	}
	got = h.list(backend.JobFilter{Set: backend.SetDead, Queue: "a", ErrorFingerprint: "fp-refused", Limit: 7})
	if !sameSet(jobIDs(got), refusedA) {
		h.t.Fatalf("Queue+ErrorFingerprint found %d jobs, want %d", len(got), len(refusedA))
	}
	got = h.list(backend.JobFilter{Set: backend.SetRetry, Limit: 5})
	if !sameSet(jobIDs(got), retrying) {
		h.t.Fatalf("retry set holds %d jobs, want %d", len(got), len(retrying))
	}
	if got := h.list(backend.JobFilter{Set: backend.SetDead, ErrorContains: "no such text"}); len(got) != 0 {
		h.t.Fatalf("ErrorContains with no match found %d jobs", len(got))
	}
}

// pagedSetSize is how many jobs testActOnEachPage puts in each set: three
// pages of 100.
const pagedSetSize = 300

// testActOnEachPage lists the scheduled, retry and dead sets page by page
// and deletes (or retries) each page's jobs before asking for the next, as
// an operator's bulk action does: every job is acted on exactly once. Many
// jobs share one time (the order within a time is the backend's), and jobs
// scheduled between pages before the listing's position are not listed.
// Every time is hours from now: a job must still be in the future when the
// backend stores it, however slow the machine.
func testActOnEachPage(h *harness, retry bool) {
	now := time.Now()
	var sched []string
	for i := range pagedSetSize {
		j := h.job("sched")
		j.RunAt = now.Add(10 * time.Hour)
		if i%3 == 0 {
			j.RunAt = now.Add(time.Duration(i+1) * 10 * time.Minute)
		}
		h.enqueue(j)
		sched = append(sched, j.ID)
	}
	h.enqueue(h.jobs("failing", 2*pagedSetSize)...)
	p := h.proc("p1", "failing")
	var retrying, dead []string
	for i, f := range h.fetchAll(p, []string{"failing"}, 100) {
		if i%2 == 0 {
			h.complete(p, retryResult(f, now.Add(time.Duration(i%7)*time.Hour), defaultFailure()))
			retrying = append(retrying, f.ID)
			continue
		}
		h.complete(p, deadResult(f, now.Add(-time.Duration(i%5)*time.Minute), defaultFailure()))
		dead = append(dead, f.ID)
	}

	for _, tc := range []struct {
		set   backend.JobSet
		queue string
		want  []string
	}{{backend.SetScheduled, "sched", sched}, {backend.SetRetry, "failing", retrying}, {backend.SetDead, "failing", dead}} {
		f := backend.JobFilter{Set: tc.set, Queue: tc.queue, Limit: 100}
		acted := map[string]int{}
		var late []string
		for range 100 {
			page, err := h.b.ListJobs(h.ctx, f)
			if err != nil {
				h.t.Fatalf("ListJobs(%s): %v", tc.set, err)
			}
			ids := jobIDs(page.Jobs)
			for _, id := range ids {
				acted[id]++
			}
			var n int
			if retry {
				var res backend.RetryJobsResult
				res, err = h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: tc.set, Queue: tc.queue, IDs: ids})
				n = res.Retried
			} else {
				var res backend.DeleteJobsResult
				res, err = h.b.DeleteJobs(h.ctx, backend.DeleteJobsParams{Set: tc.set, Queue: tc.queue, IDs: ids})
				n = res.Deleted
			}
			if err != nil || n != len(ids) {
				h.t.Fatalf("acting on a page of %d %s jobs = %d, %v", len(ids), tc.set, n, err)
			}
			if tc.set == backend.SetScheduled {
				// A job inserted before the listing's position (past the
				// first page, every listed job is due in 10 hours or more).
				j := h.job(tc.queue)
				j.RunAt = now.Add(time.Hour)
				h.enqueue(j)
				late = append(late, j.ID)
			}
			if page.Next == "" {
				break
			}
			f.Cursor = page.Next
		}
		for id, n := range acted {
			if n != 1 {
				h.t.Fatalf("%s job %s listed %d times", tc.set, id, n)
			}
		}
		if got := slices.Sorted(maps.Keys(acted)); !sameSet(got, tc.want) {
			h.t.Fatalf("acted on %d of %d %s jobs (retry %v): the listing skipped some", len(got), len(tc.want), tc.set, retry)
		}
		h.wantSet(tc.set, tc.queue, late...)
	}
}
