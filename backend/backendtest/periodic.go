package backendtest

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
)

// periodicTests cover FirePeriodic, the fire-if-later record of periodic
// jobs, and the definitions SetPeriodic and ListPeriodic keep.
func periodicTests() []test {
	return []test{
		{name: "SameInstantFiresOnce", run: testPeriodicSameInstant},
		{name: "EarlierAfterLaterFiresNothing", run: testPeriodicEarlier},
		{name: "ConcurrentCallersFireOnce", run: testPeriodicConcurrent},
		{name: "RecordOnly", run: testPeriodicRecordOnly},
		{name: "NamesAndQueuesIndependent", run: testPeriodicIndependent},
		{name: "Definitions", run: testPeriodicDefs},
	}
}

// periodicT0 is a schedule instant of the suite: a whole second, so that
// the milliseconds a store keeps compare equal.
var periodicT0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func (h *harness) firePeriodic(name, queue string, at time.Time, job *backend.Job) backend.FirePeriodicResult {
	h.t.Helper()
	res, err := h.b.FirePeriodic(h.ctx, backend.FirePeriodicParams{Name: name, Queue: queue, Instant: at, Job: job})
	if err != nil {
		h.t.Fatalf("FirePeriodic(%s, %v): %v", name, at, err)
	}
	return res
}

func testPeriodicSameInstant(h *harness) {
	j1, j2 := h.job("cron"), h.job("cron")
	if r := h.firePeriodic("report", "cron", periodicT0, j1); !r.Recorded || !r.Previous.IsZero() {
		h.t.Fatalf("first fire = %+v, want recorded with no previous instant", r)
	}
	r := h.firePeriodic("report", "cron", periodicT0, j2)
	if r.Recorded || !r.Previous.Equal(periodicT0) {
		h.t.Fatalf("second fire of the same instant = %+v, want not recorded, previous %v", r, periodicT0)
	}
	h.wantSet(backend.SetQueued, "cron", j1.ID)
}

func testPeriodicEarlier(h *harness) {
	later := h.job("cron")
	h.firePeriodic("report", "cron", periodicT0.Add(time.Minute), later)
	r := h.firePeriodic("report", "cron", periodicT0, h.job("cron"))
	if r.Recorded || !r.Previous.Equal(periodicT0.Add(time.Minute)) {
		h.t.Fatalf("earlier instant after a later one = %+v, want not recorded", r)
	}
	h.wantSet(backend.SetQueued, "cron", later.ID)
	next := h.job("cron")
	if r := h.firePeriodic("report", "cron", periodicT0.Add(2*time.Minute), next); !r.Recorded || !r.Previous.Equal(periodicT0.Add(time.Minute)) {
		h.t.Fatalf("a later instant = %+v, want recorded after %v", r, periodicT0.Add(time.Minute))
	}
	h.wantSet(backend.SetQueued, "cron", later.ID, next.ID)
	// The job goes where the queue's fetchers find it.
	p := h.proc("p1", "cron")
	if f := h.fetchOne(p, "cron"); f == nil || f.ID != later.ID {
		h.t.Fatalf("fetched %v, want %s", f, later.ID)
	}
}

func testPeriodicConcurrent(h *harness) {
	const callers = 8
	for round := range 5 {
		at := periodicT0.Add(time.Duration(round) * time.Second)
		var recorded atomic.Int32
		h.parallel(callers, func(i int) error {
			r, err := h.b.FirePeriodic(h.ctx, backend.FirePeriodicParams{Name: "tick", Queue: "cron", Instant: at, Job: h.jobFor("cron", fmt.Sprintf("r%dc%d", round, i))})
			if r.Recorded {
				recorded.Add(1)
			}
			return err
		})
		if n := recorded.Load(); n != 1 {
			h.t.Fatalf("round %d: %d of %d concurrent callers recorded instant %v, want 1", round, n, callers, at)
		}
	}
	if n := h.queueStats("cron").Size; n != 5 {
		h.t.Fatalf("queue holds %d jobs after 5 instants, want 5", n)
	}
}

// jobFor is a job of queue with id, safe to make from several goroutines
// (job numbers jobs through the harness).
func (h *harness) jobFor(queue, id string) *backend.Job {
	return &backend.Job{ID: backend.NewJobID() + "-" + id, Kind: "test_kind", Queue: queue, Args: []byte(`{}`), CreatedAt: time.Now()}
}

func testPeriodicRecordOnly(h *harness) {
	if r := h.firePeriodic("report", "cron", periodicT0, nil); !r.Recorded {
		h.t.Fatalf("record-only fire = %+v, want recorded", r)
	}
	h.wantSet(backend.SetQueued, "cron")
	if r := h.firePeriodic("report", "cron", periodicT0, h.job("cron")); r.Recorded {
		h.t.Fatalf("fire of an instant recorded without a job = %+v, want not recorded", r)
	}
	h.wantSet(backend.SetQueued, "cron")
}

func testPeriodicIndependent(h *harness) {
	a, b, c := h.job("cron"), h.job("cron"), h.job("other")
	for _, f := range []struct {
		name, queue string
		job         *backend.Job
	}{{"a", "cron", a}, {"b", "cron", b}, {"a", "other", c}} {
		if r := h.firePeriodic(f.name, f.queue, periodicT0, f.job); !r.Recorded {
			h.t.Fatalf("fire %s in %s = %+v, want recorded", f.name, f.queue, r)
		}
	}
	h.wantSet(backend.SetQueued, "cron", a.ID, b.ID)
	h.wantSet(backend.SetQueued, "other", c.ID)
}

func testPeriodicDefs(h *harness) {
	list := func() []backend.PeriodicState {
		h.t.Helper()
		l, err := h.b.ListPeriodic(h.ctx)
		if err != nil {
			h.t.Fatalf("ListPeriodic: %v", err)
		}
		return l
	}
	if l := list(); len(l) != 0 {
		h.t.Fatalf("ListPeriodic of an empty store = %+v", l)
	}
	defs := []backend.PeriodicDef{
		{Name: "b", Schedule: "@every 5m", Queue: "cron", Kind: "k2", Missed: "skip"},
		{Name: "a", Schedule: "0 3 * * *", Queue: "other", Kind: "k1", Missed: "run_once"},
	}
	if err := h.b.SetPeriodic(h.ctx, defs); err != nil {
		h.t.Fatalf("SetPeriodic: %v", err)
	}
	h.firePeriodic("a", "other", periodicT0, nil)
	l := list()
	if len(l) != 2 || l[0].Name != "a" || l[1].Name != "b" {
		h.t.Fatalf("ListPeriodic = %+v, want a then b", l)
	}
	if l[0].Schedule != "0 3 * * *" || l[0].Queue != "other" || l[0].Kind != "k1" || l[0].Missed != "run_once" || !l[0].Last.Equal(periodicT0) {
		h.t.Fatalf("a = %+v", l[0])
	}
	if !l[1].Last.IsZero() {
		h.t.Fatalf("b never fired but lists last %v", l[1].Last)
	}
	// A new configuration replaces the definitions and keeps the instants.
	if err := h.b.SetPeriodic(h.ctx, defs[1:]); err != nil {
		h.t.Fatalf("SetPeriodic: %v", err)
	}
	if l := list(); len(l) != 1 || l[0].Name != "a" || !l[0].Last.Equal(periodicT0) {
		h.t.Fatalf("after replacing the definitions: %+v", l)
	}
	if r := h.firePeriodic("a", "other", periodicT0, h.job("other")); r.Recorded {
		h.t.Fatalf("the replaced definitions forgot a's last instant: %+v", r)
	}
}
