package metrics

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

func TestRedisStore(t *testing.T) {
	runStoreTests(t, func(t *testing.T) backend.Backend {
		b, err := redis.Open(context.Background(), redis.Options{URL: redistest.Start(t).URL, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("redis.Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}
