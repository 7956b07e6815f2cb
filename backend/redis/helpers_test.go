package redis

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

func openTest(t testing.TB, opts ...redistest.Options) (*Backend, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t, opts...)
	b, err := Open(context.Background(), Options{URL: srv.URL})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b, srv
}

func newJob(q string) *backend.Job {
	return &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: q, Args: []byte(`{}`), MaxRetries: 25, CreatedAt: time.Now()}
}

func mustEnqueue(t testing.TB, b *Backend, jobs ...*backend.Job) {
	t.Helper()
	if _, err := b.Enqueue(context.Background(), jobs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func mustFetch(t testing.TB, b *Backend, proc string, q string, max int) []*backend.Fetched {
	t.Helper()
	fr, err := b.Fetch(context.Background(), backend.FetchParams{Proc: proc, Queues: []string{q}, Max: max})
	got := fr.Jobs
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return got
}

func mustStats(t testing.TB, b *Backend) *backend.Stats {
	t.Helper()
	s, err := b.Stats(context.Background(), time.Now())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

func queueStats(s *backend.Stats, q string) backend.QueueStats {
	for _, qs := range s.Queues {
		if qs.Name == q {
			return qs
		}
	}
	return backend.QueueStats{}
}
