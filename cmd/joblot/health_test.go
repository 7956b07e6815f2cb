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

// TestHealthChecksTheStore: health passes on a store that answers and
// fails (exit 1, saying why) on a Redis that is gone.
func TestHealthChecksTheStore(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := decode(t, mustRun(t, args(store, "health", "--json")...))
			if m["ok"] != true || m["store_ok"] != true {
				t.Fatalf("health of a live store: %v", m)
			}
		})
	}
	srv := redistest.Start(t)
	srv.Stop()
	r := runCmd(t, nil, "health", "--redis", srv.URL, "--timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, "problem") {
		t.Fatalf("health of a stopped Redis: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestHealthAndQuietOfAProcess: health --process finds a heartbeating
// process, `process quiet` asks it to quiet and health and stats show it
// quiet; an unknown process fails both.
func TestHealthAndQuietOfAProcess(t *testing.T) {
	check := func(t *testing.T, store []string, b backend.Backend) {
		ctx := context.Background()
		info := backend.ProcessInfo{ID: "web-1", Hostname: "h", PID: 7, Queues: []string{"default"}, Concurrency: 2, StartedAt: time.Now()}
		if err := b.Heartbeat(ctx, info, time.Hour); err != nil {
			t.Fatal(err)
		}
		m := decode(t, mustRun(t, args(store, "health", "--process", "web-1", "--max-beat-age", "0", "--json")...))
		p, _ := m["process"].(map[string]any)
		if m["ok"] != true || p["found"] != true || p["quiet"] != false {
			t.Fatalf("health --process of a live process: %v", m)
		}
		if r := runCmd(t, nil, args(store, "health", "--process", "nobody")...); r.code != 1 || !strings.Contains(r.stdout, "not registered") {
			t.Fatalf("health --process nobody: exit %d\n%s", r.code, r.stdout)
		}
		out := mustRun(t, args(store, "process", "quiet", "web-1")...)
		if !strings.Contains(out, "asked to quiet") {
			t.Fatalf("process quiet said %q", out)
		}
		if q, err := b.(backend.Quieter).QuietRequested(ctx, "web-1"); err != nil || !q {
			t.Fatalf("after process quiet, QuietRequested = %v, %v", q, err)
		}
		m = decode(t, mustRun(t, args(store, "health", "--process", "web-1", "--max-beat-age", "0", "--json")...))
		if p, _ := m["process"].(map[string]any); m["ok"] != true || p["quiet"] != true {
			t.Fatalf("health --process of a quiet process: %v", m)
		}
		if out := mustRun(t, args(store, "stats")...); !strings.Contains(out, "quiet") {
			t.Fatalf("stats does not show the process quiet:\n%s", out)
		}
		r := runCmd(t, nil, args(store, "process", "quiet", "nobody")...)
		if r.code != 1 || !strings.Contains(r.stderr, "process not found") {
			t.Fatalf("process quiet nobody: exit %d\n%s", r.code, r.stderr)
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
		// The file's owner runs: the commands go through its endpoint.
		path := filepath.Join(t.TempDir(), "joblot.db")
		b, err := bolt.Open(path, bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		check(t, []string{"--db", path}, b)
	})
}
