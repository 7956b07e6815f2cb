package remote_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// BenchmarkCall measures one small call (BatchesCancelled of one id)
// through the socket, sequential and from parallel goroutines, against the
// same call in process.
func BenchmarkCall(b *testing.B) {
	o := serve(b, backend.Limits{})
	targets := map[string]backend.Backend{"direct": o.b, "remote": o.dial(b)}
	for _, name := range []string{"direct", "remote"} {
		be := targets[name]
		ctx := context.Background()
		ids := []string{"b1"}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := be.BatchesCancelled(ctx, ids); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
		b.Run(name+"-parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := be.BatchesCancelled(ctx, ids); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// BenchmarkJobCycle enqueues, fetches and completes jobs in chunks, through
// the socket and in process; jobs/s is the figure to compare.
func BenchmarkJobCycle(b *testing.B) {
	for _, chunk := range []int{1, 100} {
		o := serve(b, backend.Limits{})
		targets := map[string]backend.Backend{"direct": o.b, "remote": o.dial(b)}
		for _, name := range []string{"direct", "remote"} {
			be := targets[name]
			b.Run(fmt.Sprintf("%s/chunk=%d", name, chunk), func(b *testing.B) {
				ctx := context.Background()
				proc := "bench-" + name
				if err := be.Heartbeat(ctx, backend.ProcessInfo{ID: proc, StartedAt: time.Now()}, time.Hour); err != nil {
					b.Fatal(err)
				}
				jobs := make([]*backend.Job, chunk)
				results := make([]backend.Result, 0, chunk)
				for b.Loop() {
					for i := range jobs {
						jobs[i] = &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: "q", Args: []byte("{}"), CreatedAt: time.Now()}
					}
					if _, err := be.Enqueue(ctx, jobs); err != nil {
						b.Fatal(err)
					}
					fr, err := be.Fetch(ctx, backend.FetchParams{Proc: proc, Queues: []string{"q"}, Max: chunk})
					fs := fr.Jobs
					if err != nil || len(fs) != chunk {
						b.Fatalf("Fetch = %d jobs, %v; want %d", len(fs), err, chunk)
					}
					results = results[:0]
					for _, f := range fs {
						results = append(results, backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded})
					}
					if err := be.Complete(ctx, proc, results); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*chunk)/b.Elapsed().Seconds(), "jobs/s")
			})
		}
	}
}
