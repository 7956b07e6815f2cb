package redis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

// clockAt is a settable clock for Options.Now.
type clockAt struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clockAt) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clockAt) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// failAll fetches every job of q and sends it dead with fingerprint fp.
func failAll(t *testing.T, b *Backend, q, fp string) {
	t.Helper()
	fs := mustFetch(t, b, "p", q, 100)
	rs := make([]backend.Result, len(fs))
	for i, f := range fs {
		j := f.Job.Clone()
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*app.Err", "boom", fp
		rs[i] = backend.Result{Fetched: f, Job: j, Outcome: backend.OutcomeDead}
	}
	if err := b.Complete(context.Background(), "p", rs); err != nil {
		t.Fatal(err)
	}
}

// A failure counts in its queue's bucket of the backend clock's hour, which
// expires the retention after the hour ends; a successful ack sends no
// error bucket at all; buckets of several hours merge.
func TestErrorBucketsPerHourExpire(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	clk := &clockAt{t: time.Date(2030, 1, 1, 10, 15, 0, 0, time.UTC)}
	b, err := Open(ctx, Options{URL: srv.URL, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var mu sync.Mutex
	var completeKeys [][]string
	b.hook = func(name string, keys []string) {
		if name == "complete.lua" {
			mu.Lock()
			completeKeys = append(completeKeys, keys)
			mu.Unlock()
		}
	}

	mustEnqueue(t, b, newJob("q"), newJob("q"))
	fs := mustFetch(t, b, "p", "q", 1)
	if err := b.Complete(ctx, "p", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeSucceeded}}); err != nil {
		t.Fatal(err)
	}
	if len(completeKeys) != 1 || len(completeKeys[0]) != 10 {
		t.Fatalf("a successful ack called complete.lua with keys %v, want the 10 without an error bucket", completeKeys)
	}
	failAll(t, b, "q", "fp-a")
	key := b.keys.QErrs("q", "2030010110")
	if last := completeKeys[len(completeKeys)-1]; len(last) != 11 || last[10] != key {
		t.Fatalf("a failed ack called complete.lua with keys %v, want the error bucket %s last", last, key)
	}
	ttl, err := b.c.Do(ctx, b.c.B().Ttl().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	// The hour ends in 45 minutes; the bucket lives 48 hours more.
	if want := int64((45*time.Minute + backend.DefaultErrorGroupRetention) / time.Second); ttl > want || ttl < want-3600 {
		t.Fatalf("TTL of %s = %ds, want about %ds", key, ttl, want)
	}

	// Two hours later: a new bucket; a query merges both.
	clk.set(clk.now().Add(2 * time.Hour))
	mustEnqueue(t, b, newJob("q"))
	failAll(t, b, "q", "fp-a")
	gs, err := b.ErrorGroups(ctx, backend.ErrorGroupFilter{}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Count != 2 || !gs[0].FirstSeen.Equal(time.Date(2030, 1, 1, 10, 15, 0, 0, time.UTC)) || !gs[0].LastSeen.Equal(clk.now()) {
		t.Fatalf("ErrorGroups = %+v, want fp-a counted twice from 10:15 to 12:15", gs)
	}
	if n, _ := b.c.Do(ctx, b.c.B().Exists().Key(b.keys.QErrs("q", "2030010112")).Build()).AsInt64(); n != 1 {
		t.Fatalf("no bucket for 12:00")
	}
}

// In one ack, each failure counts in its own group whatever the other ops
// around it (a snooze, a discard, a success).
func TestErrorGroupsOfMixedAck(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	mustEnqueue(t, b, newJob("q"), newJob("q"), newJob("q"), newJob("q"), newJob("q"))
	fs := mustFetch(t, b, "p", "q", 5)
	fail := func(f *backend.Fetched, o backend.Outcome, fp string) backend.Result {
		j := f.Job.Clone()
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*app.Err", fp, fp
		return backend.Result{Fetched: f, Job: j, Outcome: o, RetryAt: time.Now().Add(time.Hour)}
	}
	rs := []backend.Result{
		{Fetched: fs[0], Outcome: backend.OutcomeSnoozed, RetryAt: time.Now().Add(time.Hour)},
		fail(fs[1], backend.OutcomeDead, "fp-a"),
		{Fetched: fs[2], Outcome: backend.OutcomeDiscarded},
		fail(fs[3], backend.OutcomeRetry, "fp-b"),
		{Fetched: fs[4], Outcome: backend.OutcomeSucceeded},
	}
	if err := b.Complete(ctx, "p", rs); err != nil {
		t.Fatal(err)
	}
	gs, err := b.ErrorGroups(ctx, backend.ErrorGroupFilter{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, okA := findStat(gs, "fp-a")
	c, okB := findStat(gs, "fp-b")
	if len(gs) != 2 || !okA || !okB || a.Count != 1 || c.Count != 1 || a.JobID != fs[1].ID || c.JobID != fs[3].ID || a.Message != "fp-a" {
		t.Fatalf("ErrorGroups = %+v, want fp-a (job %s) and fp-b (job %s) once each", gs, fs[1].ID, fs[3].ID)
	}
}

func findStat(gs []backend.ErrorGroupStat, fp string) (backend.ErrorGroupStat, bool) {
	for _, g := range gs {
		if g.Fingerprint == fp {
			return g, true
		}
	}
	return backend.ErrorGroupStat{}, false
}
