package joblot

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// memBackend serves Fetch from an endless supply of identical jobs and
// counts Complete's results: it isolates the server's own per-job cost
// (fetch loop, workers, acks) from storage.
type memBackend struct {
	backend.Backend // unused methods: nil, they would panic

	raw  []byte
	job  backend.Job
	mu   sync.Mutex
	left int
	done int
	all  chan struct{}
}

func (m *memBackend) Fetch(_ context.Context, p backend.FetchParams) (backend.FetchResult, error) {
	m.mu.Lock()
	n := min(p.Max, m.left)
	m.left -= n
	m.mu.Unlock()
	out := make([]*backend.Fetched, n)
	for i := range out {
		j := m.job
		out[i] = &backend.Fetched{Job: &j, Raw: m.raw}
	}
	return backend.FetchResult{Jobs: out}, nil
}

func (m *memBackend) Complete(_ context.Context, _ string, rs []backend.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += len(rs)
	if m.done == cap(m.all) {
		close(m.all)
	}
	return nil
}

func (*memBackend) Heartbeat(context.Context, backend.ProcessInfo, time.Duration) error { return nil }
func (*memBackend) Deregister(context.Context, string) error                            { return nil }
func (*memBackend) Lease(context.Context, backend.LeaseParams) (backend.LeaseResult, error) {
	return backend.LeaseResult{}, nil
}

// BenchmarkServerOverhead is the server's cost per no-op job without
// storage.
func BenchmarkServerOverhead(b *testing.B) { benchServerOverhead(b, 0) }

// BenchmarkServerOverheadTimeout is BenchmarkServerOverhead with a job
// timeout, which gives every job a deadline context.
func BenchmarkServerOverheadTimeout(b *testing.B) { benchServerOverhead(b, time.Hour) }

func benchServerOverhead(b *testing.B, timeout time.Duration) {
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[greetArgs](func(context.Context, *Job[greetArgs]) error { return nil }), nil)
	m := &memBackend{
		job:  backend.Job{ID: "0123456789abcdef", Kind: "greet", Queue: DefaultQueue, Args: []byte(`{"name":"x"}`)},
		raw:  []byte("raw"),
		left: b.N,
	}
	m.all = make(chan struct{}, b.N) // cap only: the count to wait for
	cfg := ServerConfig{Workers: ws, Logger: testLogger(), IdleFetchInterval: time.Millisecond, JobTimeout: timeout}
	s, err := NewServer(m, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	<-m.all
	b.StopTimer()
	_ = s.Stop(context.Background())
}
