package benchrun

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// Enqueue stores cfg.Jobs plain bench jobs (numbers 0..Jobs-1) without
// processing them, and returns how long it took. It is the first half of
// the multi-process bench; the caller records the count in the file ledger
// once Enqueue has returned.
func Enqueue(ctx context.Context, b backend.Backend, cfg Config) (time.Duration, error) {
	cfg.BatchSize = 0
	cfg, err := cfg.withDefaults()
	if err != nil {
		return 0, err
	}
	if err := checkQueueEmpty(ctx, b, cfg.Queue, false); err != nil {
		return 0, err
	}
	return newRun(b, cfg).enqueue(ctx)
}

// WorkConfig configures the worker half of the multi-process bench.
type WorkConfig struct {
	// Dir is the file ledger's directory.
	Dir         string
	Concurrency int
	Queue       string
	// ShutdownTimeout bounds the graceful stop (default joblot's).
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Ran, if set, is called after each job is logged (tests use it).
	Ran func(n int64)
	// Server, if set, may tune the server's config before it starts (the
	// fault harness shortens heartbeats and recovery with it).
	Server func(*joblot.ServerConfig)
	// StatsEvery, when > 0, appends the process's Go heap and goroutine
	// count to Dir/stats-<pid>.log this often (the soak report reads it).
	StatsEvery time.Duration
}

// Work runs a server whose jobs append their number to the ledger after
// running, until ctx is cancelled; then it stops gracefully (running jobs
// finish, prefetched ones go back to their queue).
func Work(ctx context.Context, b backend.Backend, cfg WorkConfig) error {
	if cfg.Queue == "" {
		cfg.Queue = DefaultQueue
	}
	log, err := OpenRanLog(cfg.Dir)
	if err != nil {
		return err
	}
	defer log.Close()
	ws := joblot.NewWorkers()
	joblot.AddWorker(ws, joblot.WorkFunc[Args](func(_ context.Context, job *joblot.Job[Args]) error {
		if err := log.Append(job.Args.N); err != nil {
			return err // the job retries; the ledger must not miss a run
		}
		if cfg.Ran != nil {
			cfg.Ran(job.Args.N)
		}
		return nil
	}), nil)
	scfg := joblot.ServerConfig{
		Workers:         ws,
		Queues:          map[string]int{cfg.Queue: 1},
		Concurrency:     cfg.Concurrency,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Logger:          cfg.Logger,
	}
	if cfg.Server != nil {
		cfg.Server(&scfg)
	}
	srv, err := joblot.NewServer(b, scfg)
	if err != nil {
		return err
	}
	if cfg.StatsEvery > 0 {
		go writeWorkerStats(ctx, cfg.Dir, cfg.StatsEvery)
	}
	if err := srv.Run(ctx); err != nil {
		return fmt.Errorf("bench work: %w", err)
	}
	return nil
}
