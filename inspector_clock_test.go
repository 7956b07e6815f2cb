package joblot

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// TestInspectorReadsItsClock: the Inspector's Stats are taken at its clock,
// so a queue's latency is the age of its oldest job on that clock.
func TestInspectorReadsItsClock(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	forEachBackendAt(t, t0, func(t *testing.T, b backend.Backend, clk *clock.Fake) {
		ctx := context.Background()
		if _, err := NewClient(b, ClientConfig{Now: clk.Now}).Enqueue(ctx, greetArgs{Name: "old"}, nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(3 * time.Hour)
		in := NewInspector(b)
		in.Now = clk.Now
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		q, ok := st.Queue("default")
		if !ok || q.Latency < 3*time.Hour || q.Latency > 3*time.Hour+time.Minute {
			t.Fatalf("latency on the inspector's clock = %v (queue known: %v), want 3h", q.Latency, ok)
		}
	})
}
