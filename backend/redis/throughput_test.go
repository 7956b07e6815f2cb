package redis

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestThroughputMemoryPerQueue fills a whole day of minutes of one queue,
// each with a success and a failure, and measures what the per-minute ring
// costs: every hour's hash stays a listpack (121 fields, under Redis's
// default hash-max-listpack-entries of 128), 24 of them in all.
func TestThroughputMemoryPerQueue(t *testing.T) {
	b, srv := openTest(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 0, 0, 30, 0, time.UTC)
	b.now = func() time.Time { return now }
	for m := range backend.ThroughputMinutes {
		mustEnqueue(t, b, newJob("q"), newJob("q"))
		fs := mustFetch(t, b, "p1", "q", 2)
		j := fs[1].Job.Clone()
		j.ErrorMessage = "boom"
		if err := b.Complete(ctx, "p1", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeSucceeded}, {Fetched: fs[1], Outcome: backend.OutcomeRetry, Job: j, RetryAt: now.Add(48 * time.Hour)}}); err != nil {
			t.Fatalf("minute %d: Complete: %v", m, err)
		}
		now = now.Add(time.Minute)
	}
	total := 0
	for h := range 24 {
		key := b.keys.QMinutes("q", h)
		enc, err := srv.Do("OBJECT", "ENCODING", key)
		if err != nil || enc != "listpack" {
			t.Fatalf("%s: encoding %q (%v), want listpack", key, enc, err)
		}
		n, err := srv.Do("MEMORY", "USAGE", key, "SAMPLES", "0")
		if err != nil {
			t.Fatalf("MEMORY USAGE %s: %v", key, err)
		}
		v, _ := strconv.Atoi(n)
		total += v
	}
	t.Logf("per-minute counters of one queue, a full day: %d bytes (%d per hour)", total, total/24)
	if limit := 48 << 10; total > limit {
		t.Fatalf("a queue's full day of minutes takes %d bytes, want at most %d", total, limit)
	}
	res, err := b.Throughput(ctx, backend.ThroughputParams{Queue: "q"})
	if err != nil {
		t.Fatalf("Throughput: %v", err)
	}
	// The clock is a minute into the next day: the window is that hour
	// (nothing acked yet) and the 23 before it.
	if want := 23 * 60; len(res.Points) != want {
		t.Fatalf("%d points, want %d", len(res.Points), want)
	}
	for _, p := range res.Points {
		if p.Processed != 2 || p.Failed != 1 {
			t.Fatalf("point %+v, want processed 2 failed 1", p)
		}
	}
}
