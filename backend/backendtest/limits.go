package backendtest

import (
	"errors"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// limitTests check global limits (backend.QueueLimit, Backend.SetLimits):
// the concurrency limit holds across fetches and processes, a job over it
// waits and each release (ack or recovery) moves one waiting job back, and
// a job over its rate waits in the scheduled set without using an attempt.
func limitTests() []test {
	return []test{
		{name: "ConcurrencyAcrossFetches", run: testLimitConcurrency},
		{name: "AckReleasesAndMovesOneBack", run: testLimitAckReleases},
		{name: "StaleAckReleasesNothing", run: testLimitStaleAck},
		{name: "RecoveryReleasesSlots", run: testLimitRecovery},
		{name: "RateDefersWithoutAttempt", run: testLimitRate},
		{name: "ByKind", run: testLimitByKind},
		{name: "RemovedLimitReleasesWaiting", run: testLimitRemoved},
		{name: "BadLimitRefused", run: testLimitBad},
		{name: "UnlimitedQueueNotLimited", run: testLimitNone},
		{name: "CancelWaitingJob", run: testLimitCancelWaiting},
		{name: "KeyReadPastEveryField", run: testLimitKeyPastFields},
	}
}

func (h *harness) setLimit(queue string, l backend.QueueLimit) backend.SetLimitsResult {
	h.t.Helper()
	res, err := h.b.SetLimits(h.ctx, backend.SetLimitsParams{Queue: queue, Limit: l})
	if err != nil {
		h.t.Fatalf("SetLimits(%s, %+v): %v", queue, l, err)
	}
	return res
}

// keyed returns n jobs of queue with limit key key.
func (h *harness) keyed(queue, key string, n int) []*backend.Job {
	js := h.jobs(queue, n)
	for _, j := range js {
		j.SetLimitKey(key)
	}
	return js
}

// wantGroup fails unless queue's limit stats show group with run slots
// held and wait jobs waiting (a group not listed counts 0, 0).
func (h *harness) wantGroup(queue, group string, run, wait int64) {
	h.t.Helper()
	qs := h.queueStats(queue)
	if qs.Limit == nil {
		h.t.Fatalf("queue %s: no limit stats", queue)
	}
	var got backend.LimitGroupStats
	for _, g := range qs.Limit.Groups {
		if g.Group == group {
			got = g
		}
	}
	if got.Running != run || got.Waiting != wait {
		h.t.Fatalf("queue %s group %q: running %d waiting %d; want %d, %d (all: %+v)", queue, group, got.Running, got.Waiting, run, wait, qs.Limit.Groups)
	}
}

func testLimitConcurrency(h *harness) {
	l := backend.QueueLimit{Concurrency: 2, By: backend.LimitByKey}
	if res := h.setLimit("default", l); !res.Changed {
		h.t.Fatalf("SetLimits on a queue without limits: Changed false")
	}
	if res := h.setLimit("default", l); res.Changed {
		h.t.Fatalf("SetLimits with the same limit again: Changed true")
	}
	a, b := h.keyed("default", "a", 3), h.keyed("default", "b", 1)
	h.enqueue(append(a, b...)...)
	p1 := h.proc("p1", "default")
	fs := h.fetch(p1, []string{"default"}, 10)
	got := fetchedIDs(fs)
	if !sameSet(got, []string{a[0].ID, a[1].ID, b[0].ID}) {
		h.t.Fatalf("fetched %v; want the first two of key a and the one of key b", got)
	}
	for _, f := range fs {
		if !f.Limited {
			h.t.Fatalf("job %s of a limited queue fetched with Limited false", f.ID)
		}
	}
	// Another process, another fetch: the limit holds across them, and the
	// waiting job is not read again (the queue is empty).
	p2 := h.proc("p2", "default")
	if fs := h.fetch(p2, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("second process fetched %v over the limit", fetchedIDs(fs))
	}
	qs := h.queueStats("default")
	if qs.Size != 0 || qs.InFlight != 3 || qs.Limit.Limit != l {
		h.t.Fatalf("queue stats: Size %d InFlight %d Limit %+v; want 0, 3, %+v", qs.Size, qs.InFlight, qs.Limit.Limit, l)
	}
	h.wantGroup("default", "a", 2, 1)
	h.wantGroup("default", "b", 1, 0)
}

func testLimitAckReleases(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 2, By: backend.LimitByKey})
	a := h.keyed("default", "a", 4)
	h.enqueue(a...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 10)
	if len(fs) != 2 {
		h.t.Fatalf("fetched %d, want 2", len(fs))
	}
	h.wantGroup("default", "a", 2, 2)
	// A success releases its slot and moves one waiting job back.
	h.complete(p, succeeded(fs[0]))
	if qs := h.queueStats("default"); qs.Size != 1 {
		h.t.Fatalf("after one ack: Size %d, want 1 (one waiting job moved back)", qs.Size)
	}
	h.wantGroup("default", "a", 1, 1)
	next := h.fetch(p, []string{"default"}, 10)
	if got := fetchedIDs(next); len(got) != 1 || got[0] != a[2].ID {
		h.t.Fatalf("after one ack fetched %v, want the first waiting job %s", got, a[2].ID)
	}
	// A failure (a retry) releases its slot too.
	h.complete(p, retryResult(fs[1], time.Now().Add(time.Hour), defaultFailure()))
	next2 := h.fetch(p, []string{"default"}, 10)
	if got := fetchedIDs(next2); len(got) != 1 || got[0] != a[3].ID {
		h.t.Fatalf("after a retry fetched %v, want %s", got, a[3].ID)
	}
	h.complete(p, succeeded(next[0]), succeeded(next2[0]))
	if qs := h.queueStats("default"); qs.Size != 0 || qs.InFlight != 0 || len(qs.Limit.Groups) != 0 {
		h.t.Fatalf("all acknowledged: Size %d InFlight %d groups %+v; want 0, 0, none", qs.Size, qs.InFlight, qs.Limit.Groups)
	}
}

func testLimitStaleAck(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 1})
	js := h.jobs("default", 3)
	h.enqueue(js...)
	dead := h.doomedProc("dead", "default")
	f := h.fetchOne(dead, "default")
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("recovered %d, want 1", n)
	}
	live := h.proc("live", "default")
	again := h.fetchOne(live, "default")
	if again.ID != f.ID {
		h.t.Fatalf("after recovery fetched %s, want the recovered %s", again.ID, f.ID)
	}
	// The dead process's late ack must not free the live holder's slot.
	h.completeStale(dead, succeeded(f))
	if fs := h.fetch(live, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("a stale ack freed a slot: fetched %v", fetchedIDs(fs))
	}
	h.wantGroup("default", "", 1, 2)
}

func testLimitRecovery(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 2, By: backend.LimitByKey})
	a := h.keyed("default", "a", 3)
	h.enqueue(a...)
	dead := h.doomedProc("dead", "default")
	if fs := h.fetch(dead, []string{"default"}, 10); len(fs) != 2 {
		h.t.Fatalf("fetched %d, want 2", len(fs))
	}
	if n := h.recoverOrphans(afterDoomed()); n != 2 {
		h.t.Fatalf("recovered %d, want 2", n)
	}
	qs := h.queueStats("default")
	if qs.Size != 3 || qs.InFlight != 0 {
		h.t.Fatalf("after recovery: Size %d InFlight %d; want 3 (both recovered and the waiting one back), 0", qs.Size, qs.InFlight)
	}
	h.wantGroup("default", "a", 0, 0)
	live := h.proc("live", "default")
	fs := h.fetch(live, []string{"default"}, 10)
	if got := fetchedIDs(fs); !sameSet(got, jobIDs(a[:2])) {
		h.t.Fatalf("after recovery fetched %v, want the recovered %v (the limit still holds)", got, jobIDs(a[:2]))
	}
	h.wantGroup("default", "a", 2, 1)
}

func testLimitRate(h *harness) {
	h.setLimit("default", backend.QueueLimit{Rate: 2, Per: time.Hour})
	js := h.jobs("default", 3)
	h.enqueue(js...)
	p := h.proc("p1", "default")
	before := time.Now()
	fs := h.fetch(p, []string{"default"}, 10)
	after := time.Now()
	if got := fetchedIDs(fs); !sameSet(got, jobIDs(js[:2])) {
		h.t.Fatalf("fetched %v, want the first two", got)
	}
	for _, f := range fs {
		if f.Limited {
			h.t.Fatalf("job %s of a queue with only a rate limit fetched Limited (it holds no slot)", f.ID)
		}
	}
	h.wantSet(backend.SetScheduled, "default", js[2].ID)
	got := h.findJob(backend.SetScheduled, "default", js[2].ID)
	h.wantJob("rate-limited job", got, js[2])
	due := h.list(backend.JobFilter{Set: backend.SetScheduled, Queue: "default"})
	if len(due) != 1 {
		h.t.Fatalf("scheduled set holds %d, want 1", len(due))
	}
	if n := h.moveDue(before.Add(time.Hour - time.Minute)); n != 0 {
		h.t.Fatalf("MoveDue before the window frees moved %d", n)
	}
	if n := h.moveDue(after.Add(time.Hour + time.Minute)); n != 1 {
		h.t.Fatalf("MoveDue once the window frees moved %d, want 1", n)
	}
	s := h.stats(time.Now())
	if s.Processed != 0 || s.Failed != 0 {
		h.t.Fatalf("a rate-limited job counted: Processed %d Failed %d", s.Processed, s.Failed)
	}
}

func testLimitByKind(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 1, By: backend.LimitByKind})
	x, y := h.jobs("default", 2), h.jobs("default", 2)
	for _, j := range y {
		j.Kind = "other_kind"
	}
	h.enqueue(x[0], x[1], y[0], y[1])
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 10)
	if got := fetchedIDs(fs); !sameSet(got, []string{x[0].ID, y[0].ID}) {
		h.t.Fatalf("fetched %v, want one job of each kind", got)
	}
	h.wantGroup("default", "test_kind", 1, 1)
	h.wantGroup("default", "other_kind", 1, 1)
}

func testLimitRemoved(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 1})
	js := h.jobs("default", 3)
	h.enqueue(js...)
	p := h.proc("p1", "default")
	first := h.fetch(p, []string{"default"}, 10)
	if len(first) != 1 {
		h.t.Fatalf("fetched %d, want 1", len(first))
	}
	res := h.setLimit("default", backend.QueueLimit{})
	if !res.Changed || res.Released != 2 {
		h.t.Fatalf("removing the limit: %+v, want Changed and Released 2", res)
	}
	fs := h.fetch(p, []string{"default"}, 10)
	if got := fetchedIDs(fs); len(got) != 2 || got[0] != js[1].ID || got[1] != js[2].ID {
		h.t.Fatalf("without the limit fetched %v, want %v in order", got, jobIDs(js[1:]))
	}
	if fs[0].Limited {
		h.t.Fatalf("a job fetched after the limit was removed is Limited")
	}
	// The slot taken under the limit is still released by its ack.
	h.complete(p, succeeded(first[0]), succeeded(fs[0]), succeeded(fs[1]))
	if qs := h.queueStats("default"); qs.Limit != nil {
		h.t.Fatalf("no limit and nothing held, but stats show %+v", *qs.Limit)
	}
}

func testLimitBad(h *harness) {
	for _, l := range []backend.QueueLimit{{Concurrency: -1}, {Rate: 1}, {Rate: 1, Per: time.Microsecond}, {Concurrency: 1, By: 9}} {
		if _, err := h.b.SetLimits(h.ctx, backend.SetLimitsParams{Queue: "default", Limit: l}); !errors.Is(err, backend.ErrBadLimit) {
			h.t.Fatalf("SetLimits(%+v) = %v, want ErrBadLimit", l, err)
		}
	}
	if _, err := h.b.SetLimits(h.ctx, backend.SetLimitsParams{Limit: backend.QueueLimit{Concurrency: 1}}); !errors.Is(err, backend.ErrBadLimit) {
		h.t.Fatalf("SetLimits without a queue = %v, want ErrBadLimit", err)
	}
}

func testLimitNone(h *harness) {
	h.enqueue(h.jobs("default", 2)...)
	p := h.proc("p1", "default")
	for _, f := range h.fetch(p, []string{"default"}, 10) {
		if f.Limited {
			h.t.Fatalf("job %s of a queue without limits fetched Limited", f.ID)
		}
	}
	if qs := h.queueStats("default"); qs.Limit != nil {
		h.t.Fatalf("queue without limits has limit stats %+v", *qs.Limit)
	}
}

func testLimitCancelWaiting(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 1, By: backend.LimitByKey})
	a, b := h.keyed("default", "a", 4), h.keyed("default", "b", 1)
	h.enqueue(a[0], a[1], b[0], a[2], a[3])
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default") // a0 runs
	// a1 is marked while queued; the next fetch hands out b0 and empties
	// the queue (a1 is moved aside or dropped): the marks must stay for
	// the jobs waiting.
	if res, err := h.b.CancelJob(h.ctx, "default", a[1].ID); err != nil || res != backend.CancelQueued {
		h.t.Fatalf("CancelJob of a queued job = %v, %v; want CancelQueued", res, err)
	}
	fs := h.fetch(p, []string{"default"}, 10)
	if got := fetchedIDs(fs); len(got) != 1 || got[0] != b[0].ID {
		h.t.Fatalf("fetched %v, want only %s", got, b[0].ID)
	}
	// A waiting job is a queued job: with the queue empty it is marked,
	// not "not found".
	if res, err := h.b.CancelJob(h.ctx, "default", a[2].ID); err != nil || res != backend.CancelQueued {
		h.t.Fatalf("CancelJob of a waiting job = %v, %v; want CancelQueued", res, err)
	}
	// Another job empties the queue while a2 waits: its mark stays.
	c := h.keyed("default", "c", 1)
	h.enqueue(c...)
	if got := fetchedIDs(h.fetch(p, []string{"default"}, 10)); len(got) != 1 || got[0] != c[0].ID {
		h.t.Fatalf("fetched %v, want only %s", got, c[0].ID)
	}
	h.complete(p, succeeded(f), succeeded(fs[0])) // frees a's slot: one waiting job comes back
	// The cancelled jobs are dropped when they come back, and the chain of
	// releases does not break on them: a3 runs (a fetch may leave a job it
	// moved back for the next one).
	var got []*backend.Fetched
	for range 3 {
		got = append(got, h.fetch(p, []string{"default"}, 10)...)
	}
	if ids := fetchedIDs(got); len(ids) != 1 || ids[0] != a[3].ID {
		h.t.Fatalf("after the cancels fetched %v, want only %s", ids, a[3].ID)
	}
	if s := h.stats(time.Now()); s.Cancelled != 2 {
		h.t.Fatalf("Cancelled = %d, want 2", s.Cancelled)
	}
	if qs := h.queueStats("default"); qs.Size != 0 || qs.InFlight != 2 {
		h.t.Fatalf("queue: Size %d InFlight %d, want 0, 2 (a3 and c0)", qs.Size, qs.InFlight)
	}
	h.wantGroup("default", "a", 1, 0)
}

// testLimitKeyPastFields: the group is read from a job that carries every
// kind of field before its limit key (long args, times, negative and big
// numbers, metadata, a trace context, a unique lock), as a store that
// parses the stored form must.
func testLimitKeyPastFields(h *harness) {
	h.setLimit("default", backend.QueueLimit{Concurrency: 1, By: backend.LimitByKey})
	full := func() *backend.Job {
		j := h.job("default")
		j.Args = []byte(`{"pad":"` + strings.Repeat("x", 300) + `"}`)
		j.Attempt, j.MaxRetries, j.Timeout = 3, -1, 90*time.Minute
		j.RunAt = time.Now().Add(-time.Hour)
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "E", strings.Repeat("m", 200), "fp"
		j.FailedAt = time.Now()
		j.Meta = map[string]string{"tenant": "t1", "req": "r"}
		j.TraceContext = backend.TraceContext("\x00\x01trace")
		j.Snoozes = 2
		j.SetUnique("u-"+j.ID, time.Now().Add(time.Hour))
		j.SetLimitKey("k")
		return j
	}
	a, b := full(), full()
	h.enqueue(a, b)
	p := h.proc("p1", "default")
	if fs := h.fetch(p, []string{"default"}, 10); len(fs) != 1 || fs[0].ID != a.ID {
		h.t.Fatalf("fetched %v, want only %s (limit 1 on key k)", fetchedIDs(fs), a.ID)
	}
	h.wantGroup("default", "k", 1, 1)
}
