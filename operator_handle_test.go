package joblot

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/backend/remote"
	"github.com/joblot/joblot/internal/redistest"
)

// withOperatorHandle runs run on Redis and on the embedded file, each with
// the server's handle b and a second handle an operator's command would
// use: a second client of the same Redis, or a client of the file's
// owner, so a request must travel through the store to reach the server.
func withOperatorHandle(t *testing.T, run func(t *testing.T, b, operator backend.Backend)) {
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		open := func() backend.Backend {
			b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close() })
			return b
		}
		run(t, open(), open())
	})
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "joblot.db")
		b, err := bolt.Open(path, bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		rc, err := remote.Dial(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rc.Close() })
		run(t, b, rc.Backend())
	})
}
