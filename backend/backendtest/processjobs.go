package backendtest

import (
	"slices"
	"strings"

	"github.com/joblot/joblot/backend"
)

// processJobsTests cover backend.ProcessJobsReader, on backends that
// implement it: a process's in-flight jobs, and only its own.
func processJobsTests() []test {
	return []test{
		{name: "OwnJobsSortedAndLimited", run: testProcessJobs},
	}
}

func (h *harness) processJobs(r backend.ProcessJobsReader, proc string, limit int) backend.ProcessJobsResult {
	h.t.Helper()
	res, err := r.ProcessJobs(h.ctx, backend.ProcessJobsParams{Proc: proc, Limit: limit})
	if err != nil {
		h.t.Fatalf("ProcessJobs(%s, %d): %v", proc, limit, err)
	}
	return res
}

// testProcessJobs: two processes hold jobs of two queues; each lists
// exactly its own, sorted by queue then ID, with their kind and args; a
// limit cuts the list and says there is more; a completed job leaves it;
// an unknown process holds nothing.
func testProcessJobs(h *harness) {
	r, ok := h.b.(backend.ProcessJobsReader)
	if !ok {
		h.t.Skip("the backend does not implement backend.ProcessJobsReader")
	}
	qs := []string{"pj-a", "pj-b"}
	pa, pb := h.proc("pa", qs...), h.proc("pb", qs...)
	h.enqueue(h.jobs(qs[0], 2)...)
	h.enqueue(h.jobs(qs[1], 3)...)
	held := h.fetch(pa, qs, 3)
	held = append(held, h.fetch(pa, qs[1:], 1)...)
	other := h.fetch(pb, qs, 1)
	if len(held) != 4 || len(other) != 1 {
		h.t.Fatalf("fetched %d and %d jobs, want 4 and 1", len(held), len(other))
	}
	want := make([]*backend.Job, len(held))
	for i, f := range held {
		want[i] = f.Job
	}
	slices.SortFunc(want, func(a, b *backend.Job) int {
		if c := strings.Compare(a.Queue, b.Queue); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	got := h.processJobs(r, pa, 0)
	if got.More || len(got.Jobs) != len(want) {
		h.t.Fatalf("ProcessJobs(pa) = %d jobs (more %v), want %d", len(got.Jobs), got.More, len(want))
	}
	for i := range want {
		if g, w := got.Jobs[i], want[i]; g.ID != w.ID || g.Queue != w.Queue || g.Kind != w.Kind || string(g.Args) != string(w.Args) {
			h.t.Fatalf("ProcessJobs(pa)[%d] = %s/%s %s %s, want %s/%s %s %s", i, g.Queue, g.ID, g.Kind, g.Args, w.Queue, w.ID, w.Kind, w.Args)
		}
	}
	if cut := h.processJobs(r, pa, 2); !cut.More || len(cut.Jobs) != 2 || cut.Jobs[0].ID != want[0].ID || cut.Jobs[1].ID != want[1].ID {
		h.t.Fatalf("ProcessJobs(pa, limit 2) = %d jobs (more %v), want the first 2 and more", len(cut.Jobs), cut.More)
	}
	if b := h.processJobs(r, pb, 0); len(b.Jobs) != 1 || b.Jobs[0].ID != other[0].ID {
		h.t.Fatalf("ProcessJobs(pb) = %d jobs, want only its own %s", len(b.Jobs), other[0].ID)
	}
	h.complete(pa, backend.Result{Fetched: held[0], Outcome: backend.OutcomeSucceeded})
	after := h.processJobs(r, pa, 0)
	if len(after.Jobs) != 3 || slices.ContainsFunc(after.Jobs, func(j *backend.Job) bool { return j.ID == held[0].ID }) {
		h.t.Fatalf("after completing %s, ProcessJobs(pa) = %d jobs, want the 3 others", held[0].ID, len(after.Jobs))
	}
	if none := h.processJobs(r, "nobody", 0); len(none.Jobs) != 0 || none.More {
		h.t.Fatalf("ProcessJobs(unknown) = %d jobs", len(none.Jobs))
	}
}
