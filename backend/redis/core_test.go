package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

func TestEnqueueFetchCompleteLifecycle(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	jobs := []*backend.Job{newJob("q"), newJob("q"), newJob("q"), newJob("q")}
	mustEnqueue(t, b, jobs...)
	got := mustFetch(t, b, "p1", "q", 10)
	if len(got) != 4 {
		t.Fatalf("fetched %d jobs, want 4", len(got))
	}
	for i, f := range got {
		if f.ID != jobs[i].ID {
			t.Fatalf("fetch order: job %d is %s, want %s", i, f.ID, jobs[i].ID)
		}
	}
	s := mustStats(t, b)
	if qs := queueStats(s, "q"); qs.Size != 0 || qs.InFlight != 0 {
		// InFlight is only reported for registered processes.
		t.Logf("queue stats: %+v", qs)
	}
	retry := got[1].Job.Clone()
	retry.Attempt++
	retry.ErrorMessage = "boom"
	dead := got[2].Job.Clone()
	dead.ErrorMessage = "fatal"
	dead.DiedAt = time.Now()
	err := b.Complete(ctx, "p1", []backend.Result{
		{Fetched: got[0], Outcome: backend.OutcomeSucceeded},
		{Fetched: got[1], Outcome: backend.OutcomeRetry, Job: retry, RetryAt: time.Now().Add(-time.Second)},
		{Fetched: got[2], Outcome: backend.OutcomeDead, Job: dead},
		{Fetched: got[3], Outcome: backend.OutcomeRequeue},
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	s = mustStats(t, b)
	qs := queueStats(s, "q")
	if qs.Size != 1 || qs.Retry != 1 || qs.Dead != 1 {
		t.Fatalf("after complete: %+v", qs)
	}
	if s.Processed != 3 || s.Failed != 2 {
		t.Fatalf("processed %d failed %d, want 3 (every finished attempt) and 2", s.Processed, s.Failed)
	}
	if len(s.Days) != 1 || s.Days[0].Processed != 3 || s.Days[0].Failed != 2 {
		t.Fatalf("days: %+v", s.Days)
	}
	n, err := b.MoveDue(ctx, time.Now(), 100)
	if err != nil || n != 1 {
		t.Fatalf("MoveDue = %d, %v; want 1", n, err)
	}
	got = mustFetch(t, b, "p1", "q", 10)
	if len(got) != 2 || got[0].ID != jobs[3].ID || got[1].ID != jobs[1].ID || got[1].Attempt != 1 {
		t.Fatalf("after requeue and move: %v", got)
	}
	// Acking twice writes nothing the second time.
	res := []backend.Result{{Fetched: got[1], Outcome: backend.OutcomeRetry, Job: retry, RetryAt: time.Now()}}
	if err := b.Complete(ctx, "p1", res); err != nil {
		t.Fatal(err)
	}
	if err := b.Complete(ctx, "p1", res); err != nil {
		t.Fatal(err)
	}
	if qs := queueStats(mustStats(t, b), "q"); qs.Retry != 1 {
		t.Fatalf("double ack wrote %d retry entries", qs.Retry)
	}
}

func TestScheduledJobsWaitUntilDue(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	j := newJob("q")
	j.RunAt = time.Now().Add(time.Hour)
	mustEnqueue(t, b, j)
	if got := mustFetch(t, b, "p", "q", 10); len(got) != 0 {
		t.Fatalf("fetched a job scheduled in an hour")
	}
	if n, _ := b.MoveDue(ctx, time.Now(), 10); n != 0 {
		t.Fatalf("moved %d jobs before they were due", n)
	}
	if n, _ := b.MoveDue(ctx, time.Now().Add(2*time.Hour), 10); n != 1 {
		t.Fatalf("moved %d due jobs, want 1", n)
	}
	if got := mustFetch(t, b, "p", "q", 10); len(got) != 1 || got[0].ID != j.ID {
		t.Fatalf("fetched %v", got)
	}
}

func TestMalformedPayloadIsFetchedAsMalformed(t *testing.T) {
	b, srv := openTest(t)
	mustEnqueue(t, b, newJob("q"))
	if _, err := srv.Do("RPUSH", b.keys.QJobs("q"), "\x07garbage"); err != nil {
		t.Fatal(err)
	}
	got := mustFetch(t, b, "p", "q", 10)
	if len(got) != 2 || got[0].Malformed != nil || got[1].Malformed == nil {
		t.Fatalf("got %+v", got)
	}
	if want := backend.MalformedJobID([]byte("\x07garbage")); got[1].ID != want {
		t.Fatalf("malformed id %q, want %q", got[1].ID, want)
	}
	// Lua and Go agree on the in-flight field.
	if v, err := srv.Do("HGET", b.keys.QWip("q", "p"), got[1].ID); err != nil || v != "\x07garbage" {
		t.Fatalf("in-flight entry of malformed payload: %q, %v", v, err)
	}
	if err := b.Complete(context.Background(), "p", []backend.Result{{Fetched: got[1], Outcome: backend.OutcomeDead}}); err != nil {
		t.Fatal(err)
	}
	if qs := queueStats(mustStats(t, b), "q"); qs.Dead != 1 {
		t.Fatalf("dead = %d", qs.Dead)
	}
}

func TestRecoverOrphansAndPoisonPill(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	j := newJob("q")
	mustEnqueue(t, b, j)
	for round := 1; round <= backend.MaxRecoveries; round++ {
		proc := "p" + itoa(round)
		if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: proc}, time.Hour); err != nil {
			t.Fatal(err)
		}
		got := mustFetch(t, b, proc, "q", 1)
		if len(got) != 1 || got[0].Recoveries != round-1 {
			t.Fatalf("round %d: fetched %+v", round, got)
		}
		if n, err := b.RecoverOrphans(ctx, time.Now()); err != nil || n != 0 {
			t.Fatalf("recovered a live process: %d, %v", n, err)
		}
		n, err := b.RecoverOrphans(ctx, time.Now().Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("RecoverOrphans = %d, %v", n, err)
		}
		if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: proc}, time.Minute); !errors.Is(err, backend.ErrFenced) {
			t.Fatalf("heartbeat after recovery: %v, want ErrFenced", err)
		}
	}
	qs := queueStats(mustStats(t, b), "q")
	if qs.Size != 0 || qs.Dead != 1 {
		t.Fatalf("after %d recoveries: %+v", backend.MaxRecoveries, qs)
	}
	page, err := b.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead})
	if err != nil || len(page.Jobs) != 1 || page.Jobs[0].ErrorMessage != backend.PoisonPillMessage {
		t.Fatalf("dead set: %+v, %v", page, err)
	}
}

func TestDeregisterRequeuesLeftovers(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	mustEnqueue(t, b, newJob("q"), newJob("q"))
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p", Queues: []string{"q"}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	mustFetch(t, b, "p", "q", 2)
	s := mustStats(t, b)
	if len(s.Processes) != 1 || s.Processes[0].InFlight != 2 || queueStats(s, "q").InFlight != 2 {
		t.Fatalf("stats: %+v", s)
	}
	if err := b.Deregister(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	s = mustStats(t, b)
	if len(s.Processes) != 0 || queueStats(s, "q").Size != 2 {
		t.Fatalf("after deregister: %+v", s)
	}
	if got := mustFetch(t, b, "p2", "q", 5); len(got) != 2 || got[0].Recoveries != 0 {
		t.Fatalf("leftovers: %+v", got)
	}
}

func TestLease(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	for _, c := range []struct {
		holder string
		want   bool
	}{{"a", true}, {"b", false}, {"a", true}} {
		res, err := b.Lease(ctx, backend.LeaseParams{Name: "poller", Holder: c.holder, TTL: time.Minute})
		got := res.Held
		if err != nil || got != c.want {
			t.Fatalf("Lease(%s) = %v, %v; want %v", c.holder, got, err, c.want)
		}
	}
}

func TestOpenRefusesEvictingRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{MaxMemoryPolicy: "allkeys-lru"})
	_, err := Open(context.Background(), Options{URL: srv.URL})
	if !errors.Is(err, backend.ErrUnsafeEviction) {
		t.Fatalf("Open = %v, want ErrUnsafeEviction", err)
	}
	b, err := Open(context.Background(), Options{URL: srv.URL, AllowEviction: true})
	if err != nil {
		t.Fatalf("Open with AllowEviction: %v", err)
	}
	b.Close()
}

func TestOpenChecksDataModelVersion(t *testing.T) {
	b, srv := openTest(t)
	b.Close()
	if v, err := srv.Do("GET", b.keys.Version()); err != nil || v != itoa(backend.DataModelVersion) {
		t.Fatalf("jl:version = %q, %v", v, err)
	}
	if _, err := srv.Do("SET", b.keys.Version(), itoa(backend.DataModelVersion+1)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{URL: srv.URL})
	if !errors.Is(err, backend.ErrVersionTooNew) {
		t.Fatalf("Open = %v, want ErrVersionTooNew", err)
	}
}
