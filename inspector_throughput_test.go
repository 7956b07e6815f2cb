package joblot

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// TestInspectorThroughputReadsItsClock: Throughput's window ends at the
// Inspector's clock when the caller gives no Until.
func TestInspectorThroughputReadsItsClock(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 30, 0, time.UTC)
	forEachBackendAt(t, t0, func(t *testing.T, b backend.Backend, clk *clock.Fake) {
		ctx := context.Background()
		if _, err := b.Enqueue(ctx, []*backend.Job{{ID: "j1", Kind: "greet", Queue: "default", Args: []byte(`{}`), CreatedAt: t0}}); err != nil {
			t.Fatal(err)
		}
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"default"}, Max: 1})
		fs := fr.Jobs
		if err != nil || len(fs) != 1 {
			t.Fatalf("Fetch: %d jobs, %v", len(fs), err)
		}
		if err := b.Complete(ctx, "p1", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeSucceeded}}); err != nil {
			t.Fatal(err)
		}
		in := NewInspector(b)
		in.Now = clk.Now
		res, err := in.Throughput(ctx, backend.ThroughputParams{})
		if err != nil {
			t.Fatal(err)
		}
		want := backend.ThroughputPoint{Minute: t0.Truncate(time.Minute), Queue: "default", Processed: 1}
		if len(res.Points) != 1 || res.Points[0] != want {
			t.Fatalf("points %+v, want [%+v]", res.Points, want)
		}
		// A day later on the Inspector's clock the minute is out of the
		// window, though the store's clock has not moved.
		in.Now = func() time.Time { return t0.Add(25 * time.Hour) }
		if res, err = in.Throughput(ctx, backend.ThroughputParams{}); err != nil || len(res.Points) != 0 {
			t.Fatalf("a day later: points %+v (%v), want none", res.Points, err)
		}
	})
}
