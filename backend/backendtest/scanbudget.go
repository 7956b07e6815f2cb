package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// scanBudgetTests cover JobFilter.ScanBudget: a sparse filter examines at
// most the budget per call and says so.
func scanBudgetTests() []test {
	return []test{
		{name: "Queued", run: func(h *harness) { testScanBudget(h, backend.SetQueued) }},
		{name: "Dead", run: func(h *harness) { testScanBudget(h, backend.SetDead) }},
	}
}

// scanJobs is how many jobs testScanBudget stores; every rareEvery-th
// (from rareFrom) is of the rare kind.
const (
	scanJobs  = 30
	rareEvery = 11
	rareFrom  = 5
)

func testScanBudget(h *harness, set backend.JobSet) {
	jobs := h.jobs("default", scanJobs)
	for i := rareFrom; i < scanJobs; i += rareEvery {
		jobs[i].Kind = "rare"
	}
	h.enqueue(jobs...)
	if set == backend.SetDead {
		p := h.proc("p1", "default")
		fs := h.fetchAll(p, []string{"default"}, 100)
		base := time.Now().Add(-time.Hour)
		for i, f := range fs {
			h.complete(p, deadResult(f, base.Add(time.Duration(i)*time.Second), defaultFailure()))
		}
	}
	// The listing order, and the rare jobs within each stretch of budget
	// entries of it.
	order := h.list(backend.JobFilter{Set: set, Queue: "default"})
	if len(order) != scanJobs {
		h.t.Fatalf("%d jobs listed, want %d", len(order), scanJobs)
	}
	const budget = 10
	f := backend.JobFilter{Set: set, Queue: "default", Kind: "rare", Limit: 2, ScanBudget: budget}
	for start := 0; start < scanJobs; start += budget {
		var want []string
		for _, j := range order[start : start+budget] {
			if j.Kind == "rare" {
				want = append(want, j.ID)
			}
		}
		page, err := h.b.ListJobs(h.ctx, f)
		if err != nil {
			h.t.Fatalf("ListJobs(%+v): %v", f, err)
		}
		if got := jobIDs(page.Jobs); !slices.Equal(got, want) {
			h.t.Fatalf("entries %d..%d with a budget of %d: found %v, want %v", start, start+budget-1, budget, got, want)
		}
		if !page.Partial || page.Next == "" {
			h.t.Fatalf("entries %d..%d: Partial %v, Next %q: want a partial page and a cursor", start, start+budget-1, page.Partial, page.Next)
		}
		f.Cursor = page.Next
	}
	if page, err := h.b.ListJobs(h.ctx, f); err != nil || len(page.Jobs) != 0 || page.Next != "" || page.Partial {
		h.t.Fatalf("after the last entry: %+v, %v; want an empty, final page", page, err)
	}

	// The default budget covers this small set in one call.
	page, err := h.b.ListJobs(h.ctx, backend.JobFilter{Set: set, Queue: "default", Kind: "rare"})
	if err != nil || len(page.Jobs) != 3 || page.Partial || page.Next != "" {
		h.t.Fatalf("default budget: %d jobs, Partial %v, Next %q (%v); want the 3 rare jobs in one final page", len(page.Jobs), page.Partial, page.Next, err)
	}
	// A budget below the page size still fills the page.
	page, err = h.b.ListJobs(h.ctx, backend.JobFilter{Set: set, Queue: "default", Limit: 20, ScanBudget: 5})
	if err != nil || len(page.Jobs) != 20 || page.Partial {
		h.t.Fatalf("budget 5, limit 20, no filter: %d jobs, Partial %v (%v); want a full page", len(page.Jobs), page.Partial, err)
	}
}
