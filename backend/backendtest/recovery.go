package backendtest

import (
	"errors"
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// recoveryTests cover reliable fetch (docs/reliability.md): heartbeats, orphan
// recovery, poison pills, fencing and clean deregistration.
func recoveryTests() []test {
	return []test{
		{name: "OrphansBackAtHead", run: testOrphansBackAtHead},
		{name: "PoisonPillAfterThreeRecoveries", run: testPoisonPill},
		{name: "LiveProcessNotRecovered", run: testLiveNotRecovered},
		{name: "HeartbeatExtendsLease", run: testHeartbeatExtends},
		{name: "HeartbeatAfterRecoveryIsFenced", run: testHeartbeatFenced},
		{name: "CompleteFromFencedProcessWritesNothing", run: testFencedCompleteWritesNothing},
		{name: "DeregisterReturnsLeftovers", run: testDeregister},
		{name: "NothingToRecover", run: testNothingToRecover},
	}
}

func testOrphansBackAtHead(h *harness) {
	js := h.jobs("default", 3)
	h.enqueue(js...)
	dead := h.doomedProc("dead", "default")
	taken := h.fetch(dead, []string{"default"}, 2)
	if len(taken) != 2 {
		h.t.Fatalf("fetched %d, want 2", len(taken))
	}
	if n := h.recoverOrphans(time.Now()); n != 0 {
		h.t.Fatalf("RecoverOrphans before the lease expired recovered %d jobs", n)
	}
	if n := h.recoverOrphans(afterDoomed()); n != 2 {
		h.t.Fatalf("RecoverOrphans recovered %d jobs, want 2", n)
	}
	if qs := h.queueStats("default"); qs.Size != 3 || qs.InFlight != 0 {
		h.t.Fatalf("queue stats after recovery = %+v, want Size 3, InFlight 0", qs)
	}
	live := h.proc("live", "default")
	fs := h.fetchAll(live, []string{"default"}, 10)
	got := fetchedIDs(fs)
	if len(got) != 3 || !sameSet(got[:2], jobIDs(js[:2])) || got[2] != js[2].ID {
		h.t.Fatalf("order after recovery = %v, want the recovered %v before %s", got, jobIDs(js[:2]), js[2].ID)
	}
	for _, f := range fs[:2] {
		if f.Recoveries != 1 {
			h.t.Fatalf("recovered job %s has Recoveries %d, want 1", f.ID, f.Recoveries)
		}
		want := slices.IndexFunc(js, func(j *backend.Job) bool { return j.ID == f.ID })
		w := js[want].Clone()
		w.Recoveries = 1
		h.wantJob("recovered job", f.Job, w)
	}
	if fs[2].Recoveries != 0 {
		h.t.Fatalf("job never fetched has Recoveries %d", fs[2].Recoveries)
	}
}

func testPoisonPill(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	for round := 1; round <= backend.MaxRecoveries; round++ {
		p := h.doomedProc("crashy-"+string(rune('0'+round)), "default")
		f := h.fetchOne(p, "default")
		if f.Recoveries != round-1 {
			h.t.Fatalf("round %d: Recoveries = %d, want %d", round, f.Recoveries, round-1)
		}
		if n := h.recoverOrphans(afterDoomed()); n != 1 {
			h.t.Fatalf("round %d: RecoverOrphans = %d, want 1", round, n)
		}
	}
	h.wantSet(backend.SetQueued, "default")
	d := h.findJob(backend.SetDead, "default", j.ID)
	if d == nil {
		h.t.Fatalf("poison pill not in the dead set")
	}
	if d.ErrorMessage != backend.PoisonPillMessage {
		h.t.Fatalf("poison pill ErrorMessage = %q, want %q", d.ErrorMessage, backend.PoisonPillMessage)
	}
	if d.DiedAt.IsZero() {
		h.t.Fatalf("poison pill has no DiedAt")
	}
	if d.Kind != j.Kind || string(d.Args) != string(j.Args) {
		h.t.Fatalf("poison pill lost its payload: %+v", d)
	}
}

func testLiveNotRecovered(h *harness) {
	h.enqueue(h.jobs("default", 2)...)
	live := h.proc("live", "default")
	dead := h.doomedProc("dead", "default")
	mine := h.fetchOne(live, "default")
	h.fetchOne(dead, "default")
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("RecoverOrphans = %d, want only the dead process's job", n)
	}
	if got := h.setIDs(backend.SetQueued, "default"); len(got) != 1 || got[0] == mine.ID {
		h.t.Fatalf("queued after recovery = %v, want only the dead process's job", got)
	}
	h.complete(live, succeeded(mine))
	if s := h.stats(time.Now()); s.Processed != 1 {
		h.t.Fatalf("live process's ack lost: Processed = %d", s.Processed)
	}
}

func testHeartbeatExtends(h *harness) {
	h.enqueue(h.job("default"))
	p := h.doomedProc("p1", "default")
	h.fetchOne(p, "default")
	h.heartbeat(p, liveTTL, "default") // refreshed: no longer doomed
	if n := h.recoverOrphans(afterDoomed()); n != 0 {
		h.t.Fatalf("RecoverOrphans took %d jobs from a process that heartbeats", n)
	}
	if err := h.b.Heartbeat(h.ctx, backend.ProcessInfo{ID: p}, liveTTL); err != nil {
		h.t.Fatalf("Heartbeat of a live process: %v", err)
	}
}

func testHeartbeatFenced(h *harness) {
	h.enqueue(h.job("default"))
	p := h.doomedProc("p1", "default")
	h.fetchOne(p, "default")
	h.recoverOrphans(afterDoomed())
	err := h.b.Heartbeat(h.ctx, backend.ProcessInfo{ID: p, Queues: []string{"default"}}, liveTTL)
	if !errors.Is(err, backend.ErrFenced) {
		h.t.Fatalf("Heartbeat after recovery = %v, want ErrFenced", err)
	}
}

func testFencedCompleteWritesNothing(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	a := h.doomedProc("a", "default")
	fa := h.fetchOne(a, "default")
	h.recoverOrphans(afterDoomed())

	now := time.Now()
	h.completeStale(a, retryResult(fa, now.Add(time.Minute), defaultFailure()))
	h.completeStale(a, deadResult(fa, now, defaultFailure()))
	h.completeStale(a, outcome(fa, backend.OutcomeRequeue))
	h.wantSet(backend.SetQueued, "default", j.ID)
	h.wantSet(backend.SetRetry, "default")
	h.wantSet(backend.SetDead, "default")

	b := h.proc("b", "default")
	fb := h.fetchOne(b, "default")
	h.completeStale(a, succeeded(fa))
	h.completeStale(a, deadResult(fa, now, defaultFailure()))
	if qs := h.queueStats("default"); qs.InFlight != 1 {
		h.t.Fatalf("InFlight = %d after the fenced process acked, want b's job still in flight", qs.InFlight)
	}
	h.wantSet(backend.SetDead, "default")
	h.complete(b, succeeded(fb))
	for _, set := range []backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetRetry, backend.SetDead} {
		h.wantSet(set, "")
	}
	if qs := h.queueStats("default"); qs.InFlight != 0 {
		h.t.Fatalf("InFlight = %d at the end", qs.InFlight)
	}
}

func testDeregister(h *harness) {
	js := h.jobs("default", 3)
	h.enqueue(js...)
	p := h.proc("p1", "default")
	h.fetch(p, []string{"default"}, 2)
	if err := h.b.Deregister(h.ctx, p); err != nil {
		h.t.Fatalf("Deregister: %v", err)
	}
	h.wantSet(backend.SetQueued, "default", jobIDs(js)...)
	if qs := h.queueStats("default"); qs.InFlight != 0 {
		h.t.Fatalf("InFlight = %d after Deregister", qs.InFlight)
	}
	for _, pi := range h.stats(time.Now()).Processes {
		if pi.ID == p {
			h.t.Fatalf("deregistered process still listed: %+v", pi)
		}
	}
	if n := h.recoverOrphans(afterDoomed().Add(48 * time.Hour)); n != 0 {
		h.t.Fatalf("RecoverOrphans found %d jobs of a deregistered process", n)
	}
}

func testNothingToRecover(h *harness) {
	if n := h.recoverOrphans(afterDoomed()); n != 0 {
		h.t.Fatalf("RecoverOrphans on an empty store = %d", n)
	}
	h.proc("idle", "default")
	h.doomedProc("idle-dead", "default")
	if n := h.recoverOrphans(afterDoomed()); n != 0 {
		h.t.Fatalf("RecoverOrphans with no jobs in flight = %d", n)
	}
}
