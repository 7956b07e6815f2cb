package backendtest

import (
	"fmt"
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
