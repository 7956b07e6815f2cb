package benchrun

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// LatencyConfig is an open-loop latency run: a paced enqueuer offers Rate
// jobs a second for Duration whatever the server's progress, and the
// server's job start times give enqueue → start latency.
type LatencyConfig struct {
	Rate        float64
	Duration    time.Duration
	Concurrency int
	Queue       string
	// Senders is how many goroutines carry the paced jobs to the store, so
	// that one slow enqueue does not hold up the schedule (default 8).
	Senders int
	// Drain bounds the wait for offered jobs to start after the offer ends
	// (default 10 s).
	Drain time.Duration
	// AllowScheduled lets the run start on a queue holding scheduled or
	// retrying jobs (see Config.AllowScheduled).
	AllowScheduled bool
	Logger         *slog.Logger
}

// LatencyResult is the JSON output of `joblot bench latency`.
type LatencyResult struct {
	Backend        string  `json:"backend"`
	OfferedPerSec  float64 `json:"offered_per_sec"`
	AchievedPerSec float64 `json:"achieved_per_sec"`
	Offered        int64   `json:"offered"`
	Started        int64   `json:"started"`
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LatencyP999Ms  float64 `json:"latency_p999_ms"`
	LatencyMaxMs   float64 `json:"latency_max_ms"`
	// PacerLateP99Ms is how late the pacer's ticks fired, at p99: the
	// load generator's own share of the latency above, which includes it
	// (each job's planned instant stays fixed).
	PacerLateP99Ms float64 `json:"pacer_late_p99_ms"`
	// GoHeapResult is what the process allocated per offered job while
	// jobs were offered, and the GC cycles meanwhile.
	GoHeapResult
	// DurationSeconds is how long jobs were offered (the CLI prints it as
	// duration_ms).
	DurationSeconds float64 `json:"-"`
}

// Latency runs an open-loop latency measurement. Each job is stamped with
// the time the schedule meant to send it, not the time it was sent, so a
// sender falling behind shows up as latency instead of hiding it
// (coordinated omission).
func Latency(ctx context.Context, b backend.Backend, cfg LatencyConfig) (*LatencyResult, error) {
	if cfg.Rate <= 0 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("bench latency: --rate and --duration must be positive")
	}
	if cfg.Queue == "" {
		cfg.Queue = DefaultQueue
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 8
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := checkQueueEmpty(ctx, b, cfg.Queue, cfg.AllowScheduled); err != nil {
		return nil, err
	}
	expected := int64(cfg.Rate*cfg.Duration.Seconds()) + 1
	rec := NewRecorder(expected + expected/10 + 1000)
	var started, startedInWindow atomic.Int64
	var windowEnd atomic.Int64 // unix nanos; 0 while the offer runs

	ws := joblot.NewWorkers()
	joblot.AddWorker(ws, joblot.WorkFunc[Args](func(_ context.Context, job *joblot.Job[Args]) error {
		now := time.Now()
		if job.Attempt == 1 {
			rec.Record(now.Sub(job.Args.EnqueuedAt()))
		}
		started.Add(1)
		if end := windowEnd.Load(); end == 0 || now.UnixNano() <= end {
			startedInWindow.Add(1)
		}
		return nil
	}), nil)
	client := joblot.NewClient(b, joblot.ClientConfig{Logger: cfg.Logger})
	srv, err := joblot.NewServer(b, joblot.ServerConfig{
		Workers:     ws,
		Queues:      map[string]int{cfg.Queue: 1},
		Concurrency: cfg.Concurrency,
		Client:      client,
		Logger:      cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
	}()

	groups := make(chan []joblot.EnqueueParams, 1<<16)
	var sendErr atomic.Pointer[error]
	var senders sync.WaitGroup
	for range cfg.Senders {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for g := range groups {
				if _, err := client.EnqueueMany(ctx, g); err != nil && sendErr.Load() == nil {
					sendErr.Store(&err)
				}
			}
		}()
	}

	// The pacer: every tick, offer the jobs the schedule says are due by
	// now, each stamped with its planned instant (see schedule).
	clock, err := startPacerClock(pacerTick)
	if err != nil {
		return nil, err
	}
	start := clock.start
	heapBefore := readGoHeap()
	sched := newSchedule(cfg.Rate, cfg.Duration)
	pacerLate := NewRecorder(int64(cfg.Duration/pacerTick) + 2)
	var offered int64
	var tickErr error
	for {
		var tick time.Time
		if tick, tickErr = clock.wait(); tickErr != nil {
			break
		}
		now := time.Now()
		pacerLate.Record(now.Sub(tick))
		elapsed := min(now.Sub(start), cfg.Duration)
		if due := sched.due(elapsed); due > offered {
			g := make([]joblot.EnqueueParams, 0, due-offered)
			for ; offered < due; offered++ {
				at := start.Add(sched.planned(offered))
				g = append(g, joblot.EnqueueParams{Args: Args{N: offered, T: at.UnixNano()}, Opts: joblot.EnqueueOpts{Queue: cfg.Queue}})
			}
			groups <- g
		}
		if elapsed >= cfg.Duration || ctx.Err() != nil || sendErr.Load() != nil {
			break
		}
	}
	clock.stop()
	heap := readGoHeap().since(heapBefore, offered)
	windowEnd.Store(start.Add(cfg.Duration).UnixNano())
	close(groups)
	senders.Wait()
	if tickErr != nil {
		return nil, tickErr
	}
	if p := sendErr.Load(); p != nil {
		return nil, fmt.Errorf("bench latency: enqueue: %w", *p)
	}
	deadline := time.Now().Add(cfg.Drain)
	for started.Load() < offered && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	p := rec.Percentiles(50, 99, 99.9, 100)
	res := &LatencyResult{
		OfferedPerSec:   float64(offered) / cfg.Duration.Seconds(),
		AchievedPerSec:  float64(startedInWindow.Load()) / cfg.Duration.Seconds(),
		Offered:         offered,
		Started:         started.Load(),
		LatencyP50Ms:    p[0],
		LatencyP99Ms:    p[1],
		LatencyP999Ms:   p[2],
		LatencyMaxMs:    p[3],
		PacerLateP99Ms:  pacerLate.Percentiles(99)[0],
		DurationSeconds: cfg.Duration.Seconds(),
		GoHeapResult:    heap,
	}
	if res.Started < offered {
		cfg.Logger.Warn("bench latency: not every offered job started in time", "offered", offered, "started", res.Started)
	}
	return res, nil
}
