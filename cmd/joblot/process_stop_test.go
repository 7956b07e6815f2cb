package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// TestProcessStop: `process stop` leaves the stop request in the store for
// a heartbeating process, on both stores; an unknown process fails.
func TestProcessStop(t *testing.T) {
	check := func(t *testing.T, store []string, b backend.Backend) {
		ctx := context.Background()
		info := backend.ProcessInfo{ID: "web-1", Hostname: "h", PID: 7, Queues: []string{"default"}, Concurrency: 2, StartedAt: time.Now()}
		if err := b.Heartbeat(ctx, info, time.Hour); err != nil {
			t.Fatal(err)
		}
		out := mustRun(t, args(store, "process", "stop", "web-1")...)
		if !strings.Contains(out, "asked to stop") {
			t.Fatalf("process stop said %q", out)
		}
		if s, err := b.(backend.Stopper).StopRequested(ctx, "web-1"); err != nil || !s {
			t.Fatalf("after process stop, StopRequested = %v, %v", s, err)
		}
		r := runCmd(t, nil, args(store, "process", "stop", "nobody")...)
		if r.code != 1 || !strings.Contains(r.stderr, "process not found") {
			t.Fatalf("process stop nobody: exit %d\n%s", r.code, r.stderr)
		}
	}
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		check(t, []string{"--redis", srv.URL}, b)
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "joblot.db")
		b, err := bolt.Open(path, bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		check(t, []string{"--db", path}, b)
	})
}
