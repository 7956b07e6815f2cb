package bolt

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestJanitorTrimsIdleMinutes: an idle queue's per-minute counters, which
// no ack of its own trims, are dropped by the janitor once they leave the
// window, and only then.
func TestJanitorTrimsIdleMinutes(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 10, 30, 0, time.UTC)
	b, err := Open(filepath.Join(t.TempDir(), "joblot.db"), Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	for i, q := range []string{"idle", "idle", "busy"} {
		if _, err := b.Enqueue(ctx, testJobs(q, 1, q+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{q}, Max: 1})
		fs := fr.Jobs
		if err != nil || len(fs) != 1 {
			t.Fatalf("Fetch: %d jobs, %v", len(fs), err)
		}
		if err := b.Complete(ctx, "p", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeSucceeded}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
	}
	buckets := func(q string) int {
		t.Helper()
		n, err := b.ThroughputBuckets(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := buckets("idle"); got != 2 {
		t.Fatalf("idle holds %d minutes, want 2", got)
	}
	// A day on, less a minute: the idle queue's first minute is still in
	// the window of buckets kept.
	at := time.Date(2026, 3, 5, 10, 9, 0, 0, time.UTC)
	if _, err := b.ForwardCallbacks(ctx, at); err != nil {
		t.Fatal(err)
	}
	if got := buckets("idle"); got != 2 {
		t.Fatalf("a day less a minute on, idle holds %d minutes, want 2", got)
	}
	// A minute later the first is out; after two more, every one is.
	if _, err := b.ForwardCallbacks(ctx, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := buckets("idle"); got != 1 {
		t.Fatalf("after its first minute left the window, idle holds %d minutes, want 1", got)
	}
	if _, err := b.ForwardCallbacks(ctx, at.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, busy := buckets("idle"), buckets("busy"); got != 0 || busy != 0 {
		t.Fatalf("after the window: idle holds %d minutes and busy %d, want 0", got, busy)
	}
}
