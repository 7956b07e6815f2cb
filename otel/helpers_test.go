package joblototel_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// waitTimeout bounds every wait: generous, so that a busy machine makes a
// test slower, never red.
const waitTimeout = time.Minute

// forEachBackend runs fn once per backend, each on fresh, empty storage:
// the embedded store in a temporary directory and a real redis-server.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend.Backend)) {
	t.Run("bolt", func(t *testing.T) {
		t.Parallel()
		b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true})
		if err != nil {
			t.Fatalf("open bolt backend: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		fn(t, b)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		b, err := redis.Open(context.Background(), redis.Options{URL: redistest.Start(t).URL})
		if err != nil {
			t.Fatalf("open redis backend: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		fn(t, b)
	})
}

// newTracing returns a tracer provider that exports every ended span at
// once to the returned in-memory exporter.
func newTracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// startServer starts a server with quick polling and stops it when the
// test ends.
func startServer(t *testing.T, b backend.Backend, cfg joblot.ServerConfig) {
	t.Helper()
	cfg.PollInterval = 20 * time.Millisecond
	cfg.IdleFetchInterval = 10 * time.Millisecond
	cfg.ProcessTTL = time.Hour // a slow heartbeat on a busy machine must not look dead
	s, err := joblot.NewServer(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
}

// waitSpans polls the exporter until cond holds for its spans, failing the
// test after waitTimeout.
func waitSpans(t *testing.T, exp *tracetest.InMemoryExporter, what string, cond func(tracetest.SpanStubs) bool) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		spans := exp.GetSpans()
		if cond(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; spans: %s", waitTimeout, what, names(spans))
		}
		time.Sleep(5 * time.Millisecond) // paces the poll only
	}
}

// names lists the spans' names, for failure messages.
func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
