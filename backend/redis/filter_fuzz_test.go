package redis_test

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// FuzzJobFilter runs the job-filter model check on a private redis-server.
func FuzzJobFilter(f *testing.F) {
	srv := redistest.Start(f)
	b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
	if err != nil {
		f.Fatalf("redis.Open: %v", err)
	}
	f.Cleanup(func() { _ = b.Close() })
	backendtest.FuzzJobFilter(f, b)
}
