package redis_test

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/backend/redis"
)

// openLive opens a backend on a live deployment's URL (Sentinel, Cluster),
// closed when the test ends.
func openLive(t *testing.T, url string, limits backend.Limits) *redis.Backend {
	t.Helper()
	b, err := redis.Open(context.Background(), redis.Options{URL: url, Limits: limits})
	if err != nil {
		t.Fatalf("redis.Open(%s): %v", url, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// conformanceOn runs the conformance suite through url, emptying the data
// with flush before every subtest.
func conformanceOn(t *testing.T, url string, flush func() error) {
	backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		if err := flush(); err != nil {
			t.Fatalf("flush: %v", err)
		}
		b, err := redis.Open(context.Background(), redis.Options{URL: url, Limits: opts.Limits, Now: opts.Now})
		if err != nil {
			t.Fatalf("redis.Open(%s): %v", url, err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
