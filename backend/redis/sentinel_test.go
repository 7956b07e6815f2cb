package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/backendtest"
	"github.com/joblot/joblot/internal/redistest"
)

// TestSentinelConformance runs the conformance suite through a live Redis
// Sentinel: the backend is given only the sentinel's address and must find
// the master through it. The master is flushed before every subtest.
func TestSentinelConformance(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		if _, err := master.Do("FLUSHALL"); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		b, err := redis.Open(context.Background(), redis.Options{URL: sentinel.URL, Limits: opts.Limits})
		if err != nil {
			t.Fatalf("redis.Open(%s): %v", sentinel.URL, err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

// TestSentinelWritesLandOnTheMaster checks that a backend opened with the
// sentinel URL, which names no data node, writes to the master the sentinel
// monitors.
func TestSentinelWritesLandOnTheMaster(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	b, err := redis.Open(ctx, redis.Options{URL: sentinel.URL})
	if err != nil {
		t.Fatalf("redis.Open(%s): %v", sentinel.URL, err)
	}
	t.Cleanup(func() { _ = b.Close() })

	job := &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: "s", Args: []byte(`{}`), CreatedAt: time.Now()}
	if err := b.Enqueue(ctx, []*backend.Job{job}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if n, err := master.Do("LLEN", "{jl:q:s}:jobs"); err != nil || n != "1" {
		t.Fatalf("master LLEN {jl:q:s}:jobs = %q %v, want 1", n, err)
	}
	if v, err := master.Do("GET", "jl:version"); err != nil || v == "" {
		t.Fatalf("master has no jl:version (%q %v): Open did not write through the sentinel", v, err)
	}
	got, err := b.Fetch(ctx, "p1", []string{"s"}, 10)
	if err != nil || len(got) != 1 || got[0].ID != job.ID {
		t.Fatalf("Fetch = %v %v, want job %s", got, err, job.ID)
	}
}
