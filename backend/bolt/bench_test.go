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
			if _, err := be.Enqueue(ctx, noopJobs("bench", k)); err != nil {
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
				fr, err := be.Fetch(ctx, backend.FetchParams{Proc: proc, Queues: []string{"bench"}, Max: fetchChunk})
				fs := fr.Jobs
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
// second through enqueue + fetch + complete (the floor joblot holds itself
// to is 10,000/s). Run with -benchtime=200000x.
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
		if _, err := be.Enqueue(ctx, js[i:i+1]); err != nil {
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
			if _, err := be.Enqueue(ctx, js[i:i+1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkFetchAfterHistory measures one fetch + complete of the job at
// the head of a queue holding a steady backlog of 10,000 jobs, on a fresh
// queue and after 1,000,000 jobs have been added and removed: the head is
// Cursor.First() of a B+tree whose emptied pages are merged and freed, so
// the time per fetch must not grow with the queue's history. NoSync: this
// measures the tree, not the disk.
func BenchmarkFetchAfterHistory(b *testing.B) {
	const backlog = 10_000
	ctx := context.Background()
	setup := func(b *testing.B, history int) *bolt.Backend {
		be := openBench(b, true)
		if err := be.Heartbeat(ctx, backend.ProcessInfo{ID: "p"}, time.Hour); err != nil {
			b.Fatal(err)
		}
		if history > 0 {
			runPipeline(b, be, history, 1000, 1000, 1)
		}
		for i := 0; i < backlog; i += 1000 {
			if _, err := be.Enqueue(ctx, noopJobs("bench", 1000)); err != nil {
				b.Fatal(err)
			}
		}
		return be
	}
	for _, history := range []int{0, 1_000_000} {
		be := setup(b, history) // on the parent: it outlives the sub-benchmark's rounds
		b.Run("history="+strconv.Itoa(history), func(b *testing.B) {
			refill := noopJobs("bench", 1)
			b.ResetTimer()
			for range b.N {
				fr, err := be.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"bench"}, Max: 1})
				fs := fr.Jobs
				if err != nil || len(fs) != 1 {
					st, _ := be.Stats(ctx, time.Now())
					b.Fatalf("fetch: %d jobs, %v; %+v", len(fs), err, st.Queues)
				}
				if err := be.Complete(ctx, "p", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeSucceeded}}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				refill[0].ID = backend.NewJobID() // keep the backlog steady
				if _, err := be.Enqueue(ctx, refill); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDurableBatchThroughput is BenchmarkDurableThroughput with every
// job in one batch (batch tracking on): adds in chunks of 500, then fetch
// and complete, durable.
func BenchmarkDurableBatchThroughput(b *testing.B) {
	be := openBench(b, false)
	ctx := context.Background()
	if err := be.CreateBatch(ctx, &backend.BatchSpec{ID: "bench", CreatedAt: time.Now(),
		Callbacks: map[backend.CallbackEvent]*backend.Job{backend.CallbackSuccess: {Kind: "done", Queue: "cb"}}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for left := b.N; left > 0; {
			k := min(left, 500)
			if err := be.AddToBatch(ctx, &backend.BatchAdd{BatchID: "bench", Jobs: noopJobs("bench", k)}); err != nil {
				b.Error(err)
				return
			}
			left -= k
		}
		if err := be.CommitBatch(ctx, "bench"); err != nil {
			b.Error(err)
		}
	}()
	var done atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			proc := "w" + strconv.Itoa(w)
			for done.Load() < int64(b.N) {
				fr, err := be.Fetch(ctx, backend.FetchParams{Proc: proc, Queues: []string{"bench"}, Max: 200})
				fs := fr.Jobs
				if err != nil {
					b.Error(err)
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
					b.Error(err)
					return
				}
				done.Add(int64(len(fs)))
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	st, err := be.BatchStatus(ctx, "bench")
	if err != nil || st.Succeeded != int64(b.N) || st.State != backend.BatchSucceeded {
		b.Fatalf("batch after the run: %+v, %v", st, err)
	}
}

// BenchmarkFailingJobsFileSize sends b.N batch jobs to the dead set
// (no retries) with the default caps and reports the file size before and
// after: the dead set is capped (10,000 jobs) and the batch keeps 2 bits
// per job plus capped error groups, so the file stays bounded.
// Run with -benchtime=1000000x.
func BenchmarkFailingJobsFileSize(b *testing.B) {
	be := openBench(b, true)
	ctx := context.Background()
	if err := be.CreateBatch(ctx, &backend.BatchSpec{ID: "fail", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	before, _ := be.FileSize()
	b.ResetTimer()
	for left := b.N; left > 0; {
		k := min(left, 1000)
		if err := be.AddToBatch(ctx, &backend.BatchAdd{BatchID: "fail", Jobs: noopJobs("fail", k)}); err != nil {
			b.Fatal(err)
		}
		fr, err := be.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"fail"}, Max: k})
		fs := fr.Jobs
		if err != nil {
			b.Fatal(err)
		}
		rs := make([]backend.Result, len(fs))
		now := time.Now()
		for i, f := range fs {
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*errors.errorString", "upstream said no: "+strconv.Itoa(i%7), "fp-"+strconv.Itoa(i%7)
			j.FailedAt, j.DiedAt = now, now
			rs[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
		}
		if err := be.Complete(ctx, "p", rs); err != nil {
			b.Fatal(err)
		}
		left -= k
	}
	b.StopTimer()
	if _, err := be.TrimDead(ctx, time.Now()); err != nil {
		b.Fatal(err)
	}
	after, _ := be.FileSize()
	st, _ := be.Stats(ctx, time.Now())
	b.ReportMetric(float64(before), "bytes-before")
	b.ReportMetric(float64(after), "bytes-after")
	b.ReportMetric(float64(st.DeadDropped), "dead-dropped")
}
