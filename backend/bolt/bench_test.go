package bolt_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

func openBench(b testing.TB, noSync bool) *bolt.Backend {
	b.Helper()
	be, err := bolt.Open(filepath.Join(b.TempDir(), "joblot.db"), bolt.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

func noopJobs(queue string, n int) []*backend.Job {
	js := make([]*backend.Job, n)
	now := time.Now()
	for i := range js {
		js[i] = &backend.Job{ID: backend.NewJobID() + strconv.Itoa(i), Kind: "noop", Queue: queue, Args: []byte(`{}`), CreatedAt: now}
	}
	return js
}

// runPipeline pushes n no-op jobs through enqueue → fetch → complete with
// the shape of a server (one producer enqueuing chunks, fetchers claiming
// chunks and acking them) and returns when every job is acknowledged.
func runPipeline(tb testing.TB, be *bolt.Backend, n, enqChunk, fetchChunk, fetchers int) {
	ctx := context.Background()
	var done atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for left := n; left > 0; {
			k := min(left, enqChunk)
			if err := be.Enqueue(ctx, noopJobs("bench", k)); err != nil {
				tb.Error(err)
				return
			}
			left -= k
		}
	}()
	for w := range fetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			proc := "bench-" + strconv.Itoa(w)
			if err := be.Heartbeat(ctx, backend.ProcessInfo{ID: proc}, time.Hour); err != nil {
				tb.Error(err)
				return
			}
			for done.Load() < int64(n) {
				fs, err := be.Fetch(ctx, proc, []string{"bench"}, fetchChunk)
				if err != nil {
					tb.Error(err)
					return
				}
				if len(fs) == 0 {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				rs := make([]backend.Result, len(fs))
				for i, f := range fs {
					rs[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
				}
				if err := be.Complete(ctx, proc, rs); err != nil {
					tb.Error(err)
					return
				}
				done.Add(int64(len(fs)))
			}
		}()
	}
	wg.Wait()
}

// BenchmarkDurableThroughput measures durable (fsync'd) no-op jobs per
// second through enqueue + fetch + complete (BRIEF §5: floor 10,000/s,
// goal 20,000/s). Run with -benchtime=200000x.
func BenchmarkDurableThroughput(b *testing.B) {
	for _, fetchers := range []int{2, 4} {
		b.Run("fetchers="+strconv.Itoa(fetchers), func(b *testing.B) {
			be := openBench(b, false)
			b.ResetTimer()
			start := time.Now()
			runPipeline(b, be, b.N, 500, 200, fetchers)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkEnqueueOneDurable is the latency of one durable enqueue of one
// job with no concurrency: one transaction and its fsync per call.
func BenchmarkEnqueueOneDurable(b *testing.B) {
	be := openBench(b, false)
	ctx := context.Background()
	js := noopJobs("one", b.N)
	b.ResetTimer()
	for i := range b.N {
		if err := be.Enqueue(ctx, js[i:i+1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueOneConcurrent: many goroutines each enqueue one job per
// call (web handlers); group commit merges their calls into shared
// transactions, so jobs/s is far above one fsync per job.
func BenchmarkEnqueueOneConcurrent(b *testing.B) {
	be := openBench(b, false)
	ctx := context.Background()
	js := noopJobs("one", b.N)
	var next atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if err := be.Enqueue(ctx, js[i:i+1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}
