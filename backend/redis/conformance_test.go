package redis_test

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// TestConformance runs the backend conformance suite against one private
// redis-server, flushed before every subtest so each starts empty.
func TestConformance(t *testing.T) { conformancePrefix(t, "") }

// TestConformancePrefix runs it again under a key prefix other than the
// default one.
func TestConformancePrefix(t *testing.T) { conformancePrefix(t, "app1") }

func conformancePrefix(t *testing.T, prefix string) {
	srv := redistest.Start(t)
	backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		if _, err := srv.Do("FLUSHALL"); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL, Prefix: prefix, Limits: opts.Limits, Now: opts.Now})
		if err != nil {
			t.Fatalf("redis.Open: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
