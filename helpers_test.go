package joblot

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// forEachBackend runs fn once per backend, each on fresh, empty storage.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend.Backend)) {
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		fn(t, openRedis(t, backend.Limits{}))
	})
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		fn(t, openBolt(t, backend.Limits{}))
	})
}

func openRedis(t *testing.T, limits backend.Limits) *redis.Backend {
	t.Helper()
	srv := redistest.Start(t)
	b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL, Limits: limits})
	if err != nil {
		t.Fatalf("open redis backend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func openBolt(t *testing.T, limits backend.Limits) *bolt.Backend {
	t.Helper()
	b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{Limits: limits, NoSync: true})
	if err != nil {
		t.Fatalf("open bolt backend: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// fastConfig returns server settings that make background duties quick
// enough for tests. The process lease is an hour: a heartbeat delayed on a
// busy machine must not let the server's own recoverer declare it dead
// (no test here is about an expired lease).
func fastConfig(ws *Workers) ServerConfig {
	return ServerConfig{
		Workers:           ws,
		Concurrency:       8,
		PollInterval:      20 * time.Millisecond,
		RecoverInterval:   50 * time.Millisecond,
		ForwardInterval:   50 * time.Millisecond,
		TrimInterval:      50 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		ProcessTTL:        time.Hour,
		IdleFetchInterval: 10 * time.Millisecond,
		ShutdownTimeout:   5 * time.Second,
		RetryPolicy:       RetryPolicyFunc(func(int) time.Duration { return 10 * time.Millisecond }),
		Logger:            testLogger(),
	}
}

// startServer starts a server and stops it when the test ends; setup (test
// signals to initialise) runs on it before it starts.
func startServer(t *testing.T, b backend.Backend, cfg ServerConfig, setup ...func(*Server)) *Server {
	t.Helper()
	s, err := NewServer(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(s)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// waitTimeout bounds every wait of the package's tests: generous, so that
// a busy machine makes a test slower, never red.
const waitTimeout = time.Minute

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForWithin(t, waitTimeout, what, cond)
}

// waitForWithin polls cond until it holds, failing the test after timeout.
func waitForWithin(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !pollUntil(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// pollUntil polls cond until it holds (true) or timeout passes (false).
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond) // paces the poll only
	}
	return true
}

// waitRecv returns the next value from ch, failing the test after
// waitTimeout.
func waitRecv[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// listAll returns every job of a set.
func listAll(t *testing.T, b backend.Backend, f backend.JobFilter) []*backend.Job {
	t.Helper()
	var all []*backend.Job
	for {
		page, err := b.ListJobs(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Jobs...)
		if page.Next == "" {
			return all
		}
		f.Cursor = page.Next
	}
}

// recorder collects values from concurrent workers.
type recorder[T any] struct {
	mu  sync.Mutex
	got []T
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.got = append(r.got, v)
	r.mu.Unlock()
}

func (r *recorder[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.got...)
}

// testLogger keeps test output quiet unless -v is given.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
