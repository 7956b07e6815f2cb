package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// countCalls installs a hook counting script calls.
func countCalls(b *Backend) *atomic.Int64 {
	var n atomic.Int64
	b.hook = func(string, []string) { n.Add(1) }
	return &n
}

// BenchmarkEnqueue measures bulk enqueue (EnqueueMany in chunks of 1000).
func BenchmarkEnqueue(bb *testing.B) {
	ctx := context.Background()
	b, _ := openTest(bb)
	const chunk = 1000
	jobs := make([]*backend.Job, chunk)
	for i := range jobs {
		jobs[i] = noopJob("q")
	}
	bb.ResetTimer()
	start := time.Now()
	for done := 0; done < bb.N; done += chunk {
		n := min(chunk, bb.N-done)
		if _, err := b.Enqueue(ctx, jobs[:n]); err != nil {
			bb.Fatal(err)
		}
	}
	bb.ReportMetric(float64(bb.N)/time.Since(start).Seconds(), "jobs/s")
	bb.StopTimer()
	if n, err := b.c.Do(ctx, b.c.B().Llen().Key(b.keys.QJobs("q")).Build()).AsInt64(); err != nil || n != int64(bb.N) {
		bb.Fatalf("queue holds %d jobs after enqueueing %d (%v)", n, bb.N, err)
	}
}

// BenchmarkFetchComplete measures processing no-op jobs the way the server
// does: fetchers claim up to k jobs per call, and acks go in chunks.
func BenchmarkFetchComplete(bb *testing.B) {
	for _, batchSize := range []int{0, 100_000} {
		name := "NoBatch"
		if batchSize > 0 {
			name = fmt.Sprintf("Batch%d", batchSize)
		}
		bb.Run(name, func(bb *testing.B) { benchFetchComplete(bb, batchSize) })
	}
}

func benchFetchComplete(bb *testing.B, batchSize int) {
	ctx := context.Background()
	b, _ := openTest(bb)
	n := bb.N
	// Populate (not timed).
	var jobs []*backend.Job
	for i := 0; i < n; i++ {
		jobs = append(jobs, noopJob("q"))
	}
	if batchSize == 0 {
		if _, err := b.Enqueue(ctx, jobs); err != nil {
			bb.Fatal(err)
		}
	} else {
		for i := 0; i < n; i += batchSize {
			id := fmt.Sprintf("batch-%d", i)
			if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, Callbacks: map[backend.CallbackEvent]*backend.Job{
				backend.CallbackComplete: {Kind: "done", Queue: "cb"},
				backend.CallbackSuccess:  {Kind: "ok", Queue: "cb"}}}); err != nil {
				bb.Fatal(err)
			}
			if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: jobs[i:min(i+batchSize, n)]}); err != nil {
				bb.Fatal(err)
			}
			if err := b.CommitBatch(ctx, id); err != nil {
				bb.Fatal(err)
			}
		}
	}
	calls := countCalls(b)
	const (
		fetchers = 2
		k        = 250
	)
	var done atomic.Int64
	var wg sync.WaitGroup
	if err := b.c.Do(ctx, b.c.B().ConfigResetstat().Build()).Error(); err != nil {
		bb.Fatal(err)
	}
	bb.ResetTimer()
	start := time.Now()
	for f := 0; f < fetchers; f++ {
		wg.Add(1)
		go func(proc string) {
			defer wg.Done()
			for done.Load() < int64(n) {
				fr, err := b.Fetch(ctx, backend.FetchParams{Proc: proc, Queues: []string{"q"}, Max: k})
				fs := fr.Jobs
				if err != nil {
					bb.Error(err)
					return
				}
				if len(fs) == 0 {
					return
				}
				res := make([]backend.Result, len(fs))
				for i, f := range fs {
					res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
				}
				if err := b.Complete(ctx, proc, res); err != nil {
					bb.Error(err)
					return
				}
				done.Add(int64(len(fs)))
			}
		}(fmt.Sprintf("p%d", f))
	}
	wg.Wait()
	el := time.Since(start)
	bb.StopTimer()
	if got := done.Load(); got != int64(n) {
		bb.Fatalf("processed %d of %d", got, n)
	}
	bb.ReportMetric(float64(n)/el.Seconds(), "jobs/s")
	bb.ReportMetric(float64(calls.Load())/float64(n), "scripts/job")
	bb.ReportMetric(float64(scriptUsec(ctx, bb, b))/float64(n), "redis-µs/job")
	if batchSize > 0 {
		for i := 0; i < n; i += batchSize {
			st, err := b.BatchStatus(ctx, fmt.Sprintf("batch-%d", i))
			if err != nil || st.Succeeded != st.Total || st.SuccessAt.IsZero() {
				bb.Fatalf("batch %d: %+v, %v", i, st, err)
			}
		}
	}
}

// scriptUsec returns the Redis CPU time spent in scripts (EVALSHA and
// EVAL, with the commands they call) since the last CONFIG RESETSTAT.
func scriptUsec(ctx context.Context, bb *testing.B, b *Backend) int64 {
	info, err := b.c.Do(ctx, b.c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		bb.Fatal(err)
	}
	var total int64
	for _, name := range []string{"cmdstat_evalsha:", "cmdstat_eval:"} {
		if i := strings.Index(info, name); i >= 0 {
			var calls, usec int64
			fmt.Sscanf(info[i:], name+"calls=%d,usec=%d", &calls, &usec)
			total += usec
		}
	}
	return total
}

// BenchmarkCompleteFailed measures acknowledging failed attempts: one
// Complete of 100 jobs sent dead per iteration (fetching them is not
// timed), all of one error group, as a failing dependency produces them.
func BenchmarkCompleteFailed(bb *testing.B) {
	ctx := context.Background()
	b, _ := openTest(bb)
	const k = 100
	var redisUsec int64
	bb.ResetTimer()
	for range bb.N {
		bb.StopTimer()
		jobs := make([]*backend.Job, k)
		for i := range jobs {
			jobs[i] = noopJob("q")
		}
		if _, err := b.Enqueue(ctx, jobs); err != nil {
			bb.Fatal(err)
		}
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"q"}, Max: k})
		fs := fr.Jobs
		if err != nil || len(fs) != k {
			bb.Fatalf("fetched %d: %v", len(fs), err)
		}
		res := make([]backend.Result, k)
		for i, f := range fs {
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*net.OpError", "dial tcp 10.0.0.1:5432: connect: connection refused", "2:0123456789abcdef"
			j.FailedAt, j.DiedAt = time.Now(), time.Now()
			res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
		}
		b.c.Do(ctx, b.c.B().ConfigResetstat().Build())
		bb.StartTimer()
		if err := b.Complete(ctx, "p", res); err != nil {
			bb.Fatal(err)
		}
		bb.StopTimer()
		info, _ := b.c.Do(ctx, b.c.B().Info().Section("commandstats").Build()).ToString()
		if i := strings.Index(info, "cmdstat_evalsha:"); i >= 0 {
			var calls, usec int64
			fmt.Sscanf(info[i:], "cmdstat_evalsha:calls=%d,usec=%d", &calls, &usec)
			redisUsec += usec
		}
		bb.StartTimer()
	}
	bb.ReportMetric(float64(redisUsec*1000)/float64(bb.N*k), "redis-ns/failure")
	bb.ReportMetric(float64(bb.Elapsed().Nanoseconds())/float64(bb.N*k), "ns/failure")
}
