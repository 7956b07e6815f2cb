// Command asynq-bench drives asynq v0.26 through the runs of bench/compare.sh.
//
// It takes the flags of `joblot bench` so that compare.sh calls every system the
// same way, and prints one JSON object:
//
//	asynq-bench --redis URL --jobs N [--fail-rate 1 --retries R [--stop-when-retrying]] --json
//	asynq-bench latency --redis URL --rate 10000 --duration 10s --json
//	asynq-bench idle --redis URL --duration 10s --json
//
// asynq has no bulk enqueue, so jobs are enqueued by parallel goroutines, one
// round trip each. Processing time runs from the first job's start to the last
// job's end, counted by the handler. Failing jobs retry after one hour, so a
// retrying job stays in the retry set while it is measured.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

const (
	queue    = "default"
	taskType = "noop"
)

type options struct {
	redisURL          string
	jobs              int
	concurrency       int
	failRate          float64
	retries           int
	stopWhenRetrying  bool
	rate              int
	duration          time.Duration
	enqueueGoroutines int
}

func main() {
	mode := "run"
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "latency" || args[0] == "idle") {
		mode, args = args[0], args[1:]
	}
	var o options
	fs := flag.NewFlagSet("asynq-bench", flag.ExitOnError)
	fs.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL")
	fs.IntVar(&o.jobs, "jobs", 100000, "number of jobs")
	fs.IntVar(&o.concurrency, "concurrency", 50, "server concurrency")
	fs.Float64Var(&o.failRate, "fail-rate", 0, "0: no-op jobs succeed; 1: every job fails")
	fs.IntVar(&o.retries, "retries", 0, "max retries of a failing job")
	fs.BoolVar(&o.stopWhenRetrying, "stop-when-retrying", false, "stop once every job sits in the retry set")
	fs.IntVar(&o.rate, "rate", 10000, "latency: offered jobs per second")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "latency/idle: how long to run")
	fs.IntVar(&o.enqueueGoroutines, "enqueue-goroutines", 10*runtime.NumCPU(), "parallel enqueuers")
	fs.Bool("json", true, "print JSON (always on)")
	_ = fs.Parse(args)
	if o.failRate != 0 && o.failRate != 1 {
		fail(errors.New("--fail-rate must be 0 or 1"))
	}

	ctx := context.Background()
	redisOpt, err := redis.ParseURL(o.redisURL)
	if err != nil {
		fail(err)
	}
	rdb := redis.NewClient(redisOpt)
	defer rdb.Close()
	b := &bench{o: o, rdb: rdb, conn: asynq.RedisClientOpt{Addr: redisOpt.Addr, DB: redisOpt.DB, Password: redisOpt.Password}}

	var out any
	switch mode {
	case "latency":
		out, err = b.latency(ctx)
	case "idle":
		out, err = b.idle(ctx)
	default:
		out, err = b.run(ctx)
	}
	if err != nil {
		fail(err)
	}
	printJSON(out)
}

type bench struct {
	o    options
	rdb  *redis.Client
	conn asynq.RedisClientOpt
}

// server starts an asynq server that calls handle for every task.
func (b *bench) server(handle func(context.Context, *asynq.Task) error) (*asynq.Server, error) {
	srv := asynq.NewServer(b.conn, asynq.Config{
		Concurrency:    b.o.concurrency,
		Queues:         map[string]int{queue: 1},
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Hour },
		LogLevel:       asynq.ErrorLevel,
	})
	return srv, srv.Start(asynq.HandlerFunc(handle))
}

// enqueueAll enqueues n tasks from parallel goroutines, one round trip each.
func (b *bench) enqueueAll(n int, opts ...asynq.Option) error {
	client := asynq.NewClient(b.conn)
	defer client.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, b.o.enqueueGoroutines)
	for range b.o.enqueueGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := client.Enqueue(asynq.NewTask(taskType, nil), opts...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

type runResult struct {
	Jobs               int     `json:"jobs"`
	EnqueuePerSec      float64 `json:"enqueue_per_sec"`
	ProcessPerSec      float64 `json:"process_per_sec"`
	Succeeded          int64   `json:"succeeded"`
	Dead               int64   `json:"dead"`
	Retrying           int64   `json:"retrying"`
	UsedMemoryBefore   int64   `json:"used_memory_before"`
	UsedMemoryEnqueued int64   `json:"used_memory_enqueued"`
	UsedMemoryAfter    int64   `json:"used_memory_after"`
}

// run enqueues o.jobs tasks, processes them all, and measures rates and memory.
func (b *bench) run(ctx context.Context) (*runResult, error) {
	res := &runResult{Jobs: b.o.jobs}
	var err error
	if res.UsedMemoryBefore, err = usedMemory(ctx, b.rdb); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := b.enqueueAll(b.o.jobs, asynq.MaxRetry(b.o.retries), asynq.Queue(queue)); err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	res.EnqueuePerSec = float64(b.o.jobs) / time.Since(start).Seconds()
	if res.UsedMemoryEnqueued, err = usedMemory(ctx, b.rdb); err != nil {
		return nil, err
	}

	var started atomic.Bool
	var done atomic.Int64
	var first, last time.Time
	allDone := make(chan struct{})
	fails := b.o.failRate == 1
	srv, err := b.server(func(context.Context, *asynq.Task) error {
		if started.CompareAndSwap(false, true) {
			first = time.Now()
		}
		if done.Add(1) == int64(b.o.jobs) {
			last = time.Now()
			close(allDone)
		}
		if fails {
			return errors.New("bench: failing on purpose")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	<-allDone
	res.ProcessPerSec = float64(b.o.jobs) / last.Sub(first).Seconds()

	// Wait until asynq has moved every job out of the queue and the active list,
	// then stop the server so that only the jobs' own state remains.
	insp := asynq.NewInspector(b.conn)
	defer insp.Close()
	for {
		qi, err := insp.GetQueueInfo(queue)
		if err != nil {
			return nil, err
		}
		if qi.Pending == 0 && qi.Active == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Shutdown()
	qi, err := insp.GetQueueInfo(queue)
	if err != nil {
		return nil, err
	}
	res.Dead, res.Retrying = int64(qi.Archived), int64(qi.Retry)
	if !fails {
		res.Succeeded = done.Load()
	}
	if res.UsedMemoryAfter, err = usedMemory(ctx, b.rdb); err != nil {
		return nil, err
	}
	return res, nil
}

type latencyResult struct {
	Jobs            int     `json:"jobs"`
	OfferedPerSec   float64 `json:"offered_per_sec"`
	AchievedPerSec  float64 `json:"achieved_per_sec"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"`
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	LatencyP999Ms   float64 `json:"latency_p999_ms"`
	LatencyMaxMs    float64 `json:"latency_max_ms"`
	Processed       int     `json:"processed"`
	EnqueueFailures int64   `json:"enqueue_failures"`
}

// latency offers o.rate jobs per second for o.duration (open loop: the schedule
// never waits for the system) and records, per job, the time from its planned
// enqueue instant to its handler's start.
func (b *bench) latency(ctx context.Context) (*latencyResult, error) {
	n := int(float64(b.o.rate) * b.o.duration.Seconds())
	lat := newRecorder(n)
	srv, err := b.server(func(_ context.Context, t *asynq.Task) error {
		planned := int64(binary.BigEndian.Uint64(t.Payload()))
		lat.add(time.Since(time.Unix(0, planned)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer srv.Shutdown()

	client := asynq.NewClient(b.conn)
	defer client.Close()
	planned := make(chan time.Time, n)
	var failures atomic.Int64
	var wg sync.WaitGroup
	for range b.o.enqueueGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range planned {
				payload := binary.BigEndian.AppendUint64(nil, uint64(p.UnixNano()))
				if _, err := client.Enqueue(asynq.NewTask(taskType, payload)); err != nil {
					failures.Add(1)
				}
			}
		}()
	}
	start := pace(n, b.o.rate, planned)
	wg.Wait()
	achieved := float64(n) / time.Since(start).Seconds()
	lat.wait(n-int(failures.Load()), b.o.duration+time.Minute)
	return &latencyResult{
		Jobs: n, OfferedPerSec: float64(b.o.rate), AchievedPerSec: achieved,
		LatencyP50Ms: lat.quantileMs(0.50), LatencyP99Ms: lat.quantileMs(0.99),
		LatencyP999Ms: lat.quantileMs(0.999), LatencyMaxMs: lat.quantileMs(1),
		Processed: lat.count(), EnqueueFailures: failures.Load(),
	}, nil
}

type idleResult struct {
	DurationSec      float64          `json:"duration_sec"`
	RedisCallsPerSec float64          `json:"redis_calls_per_sec"`
	Commands         map[string]int64 `json:"commands"`
}

// idle runs a server with no jobs and counts the Redis commands it makes.
func (b *bench) idle(ctx context.Context) (*idleResult, error) {
	srv, err := b.server(func(context.Context, *asynq.Task) error { return nil })
	if err != nil {
		return nil, err
	}
	defer srv.Shutdown()
	return measureIdle(ctx, b.rdb, b.o.duration)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "asynq-bench:", err)
	os.Exit(1)
}
