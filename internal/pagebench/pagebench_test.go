package pagebench

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

var scale = flag.Float64("pagebench.scale", 1, "fixture size as a fraction of the default 1,000,000 queued, 100,000 dead, 10,000 batches")

// store opens an empty store of one backend with limits.
type store struct {
	name string
	open func(tb testing.TB, limits backend.Limits) backend.Backend
}

func stores() []store {
	return []store{
		{"redis", func(tb testing.TB, limits backend.Limits) backend.Backend {
			srv := redistest.Start(tb)
			b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL, Limits: limits})
			if err != nil {
				tb.Fatalf("redis.Open: %v", err)
			}
			tb.Cleanup(func() { _ = b.Close() })
			return b
		}},
		{"bolt", func(tb testing.TB, limits backend.Limits) backend.Backend {
			b, err := bolt.Open(filepath.Join(tb.TempDir(), "joblot.db"), bolt.Options{Limits: limits, NoSync: true, NoLocalEndpoint: true})
			if err != nil {
				tb.Fatalf("bolt.Open: %v", err)
			}
			tb.Cleanup(func() { _ = b.Close() })
			return b
		}},
	}
}

// TestSeedSmall seeds a small store of the fixture's shape on each backend
// and checks that it holds what Spec asked for.
func TestSeedSmall(t *testing.T) {
	spec := Spec{Queues: 3, Queued: 2500, Dead: 2100, Batches: 20, BatchJobs: 5}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			if st.name == "redis" && redistest.Binary() == "" {
				t.Skip("redis-server is not installed")
			}
			b := st.open(t, spec.Limits())
			ctx := t.Context()
			seeded, err := Seed(ctx, b, spec, time.Now())
			if err != nil {
				t.Fatalf("Seed: %v", err)
			}
			s, err := b.Stats(ctx, time.Now())
			if err != nil {
				t.Fatalf("Stats: %v", err)
			}
			var size, dead int64
			for _, q := range s.Queues {
				size += q.Size
				dead += q.Dead
			}
			if size != 2500 || dead != 2100 || len(s.Queues) != 3 {
				t.Fatalf("%d queues holding %d queued and %d dead jobs, want 3, 2500 and 2100", len(s.Queues), size, dead)
			}
			if seeded.Rare != 3 {
				t.Fatalf("%d rare dead jobs, want 3 (one in %d of 2100)", seeded.Rare, RareEvery)
			}
			bs, err := b.ListBatches(ctx, backend.BatchListOptions{Limit: 100})
			if err != nil || len(bs) != 20 {
				t.Fatalf("ListBatches: %d batches (%v), want 20", len(bs), err)
			}
			st, err := b.BatchStatus(ctx, seeded.BatchIDs[7])
			if err != nil || st.Total != 5 || st.Pending != 5 {
				t.Fatalf("BatchStatus: %+v (%v), want 5 jobs pending", st, err)
			}
		})
	}
}

// BenchmarkPages times, per backend, the Inspector calls each dashboard
// page makes against the seeded store (seeding is not timed).
func BenchmarkPages(b *testing.B) {
	spec := Spec{}.Scale(*scale)
	for _, st := range stores() {
		b.Run(st.name, func(b *testing.B) {
			if st.name == "redis" && redistest.Binary() == "" {
				b.Skip("redis-server is not installed")
			}
			store := st.open(b, spec.Limits())
			ctx := context.Background()
			began := time.Now()
			seeded, err := Seed(ctx, store, spec, time.Now())
			if err != nil {
				b.Fatalf("Seed: %v", err)
			}
			if err := checkSeeded(ctx, store, spec); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: seeded %d queued, %d dead (%d rare), %d batches in %v", st.name, spec.Queued, spec.Dead, seeded.Rare, spec.Batches, time.Since(began).Round(time.Millisecond))
			in := joblot.NewInspector(store)
			mid := seeded.BatchIDs[len(seeded.BatchIDs)/2]
			pages := []struct {
				name string
				call func() error
			}{
				{"overview", func() error {
					if _, err := in.Stats(ctx); err != nil {
						return err
					}
					_, err := in.Throughput(ctx, backend.ThroughputParams{})
					return err
				}},
				{"queued", func() error {
					_, err := in.Page(ctx, backend.JobFilter{Set: backend.SetQueued, Queue: seeded.Queues[0], Limit: 25})
					return err
				}},
				{"dead", func() error {
					_, err := in.Page(ctx, backend.JobFilter{Set: backend.SetDead, Limit: 25})
					return err
				}},
				{"dead-sparse", func() error {
					// One dead job in RareEvery matches: the default scan
					// budget runs out first, and the page says so.
					page, err := in.Page(ctx, backend.JobFilter{Set: backend.SetDead, ErrorContains: RareError, Limit: 25})
					if err == nil && spec.Dead > backend.DefaultScanBudget && (!page.Partial || len(page.Jobs) == 0) {
						err = fmt.Errorf("sparse page: %d jobs, Partial %v; want some jobs and a partial page", len(page.Jobs), page.Partial)
					}
					return err
				}},
				{"batches", func() error {
					_, err := in.Batches(ctx, backend.BatchListOptions{Limit: 25})
					return err
				}},
				{"batch", func() error {
					_, err := in.Batch(ctx, mid)
					return err
				}},
			}
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					for b.Loop() {
						if err := p.call(); err != nil {
							b.Fatalf("%s: %v", p.name, err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
				})
			}
		})
	}
}

// checkSeeded fails unless the store holds spec's queued and dead jobs.
func checkSeeded(ctx context.Context, b backend.Backend, spec Spec) error {
	s, err := b.Stats(ctx, time.Now())
	if err != nil {
		return err
	}
	var size, dead int64
	for _, q := range s.Queues {
		size += q.Size
		dead += q.Dead
	}
	if size != int64(spec.Queued) || dead != int64(spec.Dead) {
		return fmt.Errorf("the store holds %d queued and %d dead jobs, want %d and %d", size, dead, spec.Queued, spec.Dead)
	}
	return nil
}
