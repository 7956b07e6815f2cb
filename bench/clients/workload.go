package main

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// shape is the workload's concurrency and chunking: joblot's hot path.
type shape struct {
	Enqueuers    int // goroutines issuing RPUSH
	EnqueueChunk int // payloads per RPUSH
	Fetchers     int // goroutines looping fetch.lua
	FetchCount   int // jobs claimed per fetch.lua call
	Workers      int // goroutines "running" jobs (they do nothing)
	Ackers       int // goroutines calling ack.lua
	AckChunk     int // most ids per ack.lua call
}

// result is one client's measurement in one round. Per-job figures divide
// by the number of jobs; the process phase runs from the first fetch to
// the last ack.
type result struct {
	Client            string  `json:"client"`
	Jobs              int     `json:"jobs"`
	EnqueueJobsPerSec float64 `json:"enqueue_jobs_per_sec"`
	EnqueueClientCPU  float64 `json:"enqueue_client_cpu_us_per_job"`
	ProcessJobsPerSec float64 `json:"process_jobs_per_sec"`
	ClientCPU         float64 `json:"process_client_cpu_us_per_job"`
	RedisCPU          float64 `json:"process_redis_cpu_us_per_job"`
	Allocs            float64 `json:"process_allocs_per_job"`
	Processed         int64   `json:"processed"`
	Lost              int64   `json:"lost"`
}

// snapshot is the cost counters at one instant: this process's CPU time
// (user+sys, every thread), its heap allocations, and Redis's CPU time.
type snapshot struct {
	at       time.Time
	cpu      time.Duration
	mallocs  uint64
	redisCPU float64
}

// takeSnapshot reads the counters. It collects garbage first, so that a
// phase is not charged for garbage the previous one left.
func takeSnapshot(ctx context.Context, d driver) (snapshot, error) {
	runtime.GC()
	info, err := d.Info(ctx, "cpu")
	if err != nil {
		return snapshot{}, fmt.Errorf("INFO cpu: %w", err)
	}
	rc, err := redisCPU(info)
	if err != nil {
		return snapshot{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return snapshot{}, fmt.Errorf("getrusage: %w", err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return snapshot{at: time.Now(), cpu: cpu, mallocs: ms.Mallocs, redisCPU: rc}, nil
}

// makePayloads returns n distinct payloads of size bytes (size >= idLen):
// a 16-digit id followed by filler, the size of a small msgpack job.
func makePayloads(n, size int) []string {
	filler := make([]byte, size-idLen)
	for i := range filler {
		filler[i] = 'a' + byte(i%26)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%0*d", idLen, i) + string(filler)
	}
	return out
}

// runRound flushes Redis, enqueues payloads, processes them all, checks
// that none was lost, and returns what it cost.
func runRound(ctx context.Context, name string, d driver, payloads []string, sh shape) (result, error) {
	r := result{Client: name, Jobs: len(payloads)}
	n := float64(len(payloads))
	if err := d.FlushAll(ctx); err != nil {
		return r, fmt.Errorf("FLUSHALL: %w", err)
	}

	before, err := takeSnapshot(ctx, d)
	if err != nil {
		return r, err
	}
	if err := enqueue(ctx, d, payloads, sh); err != nil {
		return r, err
	}
	after, err := takeSnapshot(ctx, d)
	if err != nil {
		return r, err
	}
	r.EnqueueJobsPerSec = n / after.at.Sub(before.at).Seconds()
	r.EnqueueClientCPU = float64((after.cpu - before.cpu).Microseconds()) / n

	before = after
	acked, err := process(ctx, d, sh)
	if err != nil {
		return r, err
	}
	after, err = takeSnapshot(ctx, d)
	if err != nil {
		return r, err
	}
	r.ProcessJobsPerSec = n / after.at.Sub(before.at).Seconds()
	r.ClientCPU = float64((after.cpu - before.cpu).Microseconds()) / n
	r.RedisCPU = (after.redisCPU - before.redisCPU) * 1e6 / n
	r.Allocs = float64(after.mallocs-before.mallocs) / n

	st, err := d.Check(ctx)
	if err != nil {
		return r, err
	}
	r.Processed = st.Processed
	r.Lost = int64(len(payloads)) - st.Processed
	if r.Lost != 0 || acked != int64(len(payloads)) || st.Wip != 0 || st.Queued != 0 {
		return r, fmt.Errorf("%s LOST JOBS: enqueued %d, acked %d, processed counter %d (lost %d), %d left in flight, %d left queued",
			name, len(payloads), acked, st.Processed, r.Lost, st.Wip, st.Queued)
	}
	return r, nil
}

// enqueue RPUSHes payloads in chunks from sh.Enqueuers goroutines.
func enqueue(ctx context.Context, d driver, payloads []string, sh shape) error {
	var chunks [][]string
	for i := 0; i < len(payloads); i += sh.EnqueueChunk {
		chunks = append(chunks, payloads[i:min(i+sh.EnqueueChunk, len(payloads))])
	}
	var next atomic.Int64
	errs := make(chan error, sh.Enqueuers)
	var wg sync.WaitGroup
	for range sh.Enqueuers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(chunks) {
					return
				}
				if err := d.Enqueue(ctx, chunks[i]); err != nil {
					errs <- fmt.Errorf("enqueue: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil once closed and empty
}

// process drains the queue as joblot's processor does: fetchers claim
// chunks into the in-flight hash and feed workers, workers hand finished
// ids to ackers, ackers batch them into ack.lua calls. It returns the
// number of jobs acknowledged. The queue is fully enqueued before it
// starts, so a fetcher stops at its first short fetch.
func process(ctx context.Context, d driver, sh shape) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan string, sh.FetchCount*sh.Fetchers)
	done := make(chan string, sh.AckChunk*sh.Ackers)
	var acked atomic.Int64

	var fetchers, workers, ackers sync.WaitGroup
	for range sh.Fetchers {
		fetchers.Go(func() {
			for ctx.Err() == nil {
				got, err := d.Fetch(ctx, sh.FetchCount)
				if err != nil {
					cancel(fmt.Errorf("fetch: %w", err))
					return
				}
				for _, p := range got {
					select {
					case jobs <- p:
					case <-ctx.Done():
						return
					}
				}
				if len(got) < sh.FetchCount {
					return
				}
			}
		})
	}
	for range sh.Workers {
		workers.Go(func() {
			for p := range jobs {
				select {
				case done <- p[:idLen]:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	for range sh.Ackers {
		ackers.Go(func() {
			batch := make([]string, 0, sh.AckChunk)
			for id := range done {
				batch = append(batch[:0], id)
			fill:
				for len(batch) < sh.AckChunk {
					select {
					case id, ok := <-done:
						if !ok {
							break fill
						}
						batch = append(batch, id)
					default:
						break fill
					}
				}
				if err := d.Ack(ctx, batch); err != nil {
					cancel(fmt.Errorf("ack: %w", err))
					return
				}
				acked.Add(int64(len(batch)))
			}
		})
	}

	fetchers.Wait()
	close(jobs)
	workers.Wait()
	close(done)
	ackers.Wait()
	if err := context.Cause(ctx); err != nil {
		return acked.Load(), err
	}
	return acked.Load(), nil
}

func itoa(n int) string { return strconv.Itoa(n) }
