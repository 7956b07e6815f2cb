package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// noopArgs is joblot's no-op job.
type noopArgs struct{}

// Kind implements joblot.JobArgs.
func (noopArgs) Kind() string { return "noop" }

// runJoblot enqueues cfg.Jobs no-op jobs into a fresh bbolt file (fsync on
// every commit, the default) with EnqueueMany, then runs a server until all
// of them ran and stops it, which stores every result before returning.
func runJoblot(ctx context.Context, dir string, cfg config) (roundResult, error) {
	res := roundResult{Jobs: cfg.Jobs}
	path := filepath.Join(dir, "joblot.db")
	be, err := bolt.Open(path, bolt.Options{Logger: cfg.Logger})
	if err != nil {
		return res, fmt.Errorf("open bolt: %w", err)
	}
	defer be.Close()
	if res.BytesBefore, err = fileSize(path); err != nil {
		return res, err
	}

	client := joblot.NewClient(be, joblot.ClientConfig{EnqueueChunk: cfg.Chunk, Logger: cfg.Logger})
	params := make([]joblot.EnqueueParams, 0, cfg.Chunk)
	start := time.Now()
	for left := cfg.Jobs; left > 0; {
		k := min(left, cfg.Chunk)
		params = params[:0]
		for range k {
			params = append(params, joblot.EnqueueParams{Args: noopArgs{}})
		}
		if _, err := client.EnqueueMany(ctx, params); err != nil {
			return res, err
		}
		left -= k
	}
	res.Enqueue = time.Since(start)

	var ran atomic.Int64
	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[noopArgs](func(context.Context, *joblot.Job[noopArgs]) error {
		if ran.Add(1) == int64(cfg.Jobs) {
			close(done)
		}
		return nil
	}), nil)
	srv, err := joblot.NewServer(be, joblot.ServerConfig{
		Workers:     workers,
		Concurrency: cfg.Concurrency,
		Prefetch:    cfg.Prefetch,
		FetchChunk:  cfg.FetchChunk,
		AckChunk:    cfg.AckChunk,
		Logger:      cfg.Logger,
	})
	if err != nil {
		return res, err
	}
	if cfg.CPUProfile != "" {
		stopProfile, err := startProfile(cfg.CPUProfile)
		if err != nil {
			return res, err
		}
		defer stopProfile()
	}
	commits0 := be.CommitStats()
	diag := diagStart()
	start = time.Now()
	if err := srv.Start(ctx); err != nil {
		return res, err
	}
	if err := waitDone(ctx, done, &ran, cfg, cfg.Jobs); err != nil {
		srv.Stop(ctx)
		return res, err
	}
	if err := srv.Stop(ctx); err != nil {
		return res, err
	}
	res.Process = time.Since(start)
	res.ProcessDiag = diag()
	commits := be.CommitStats()
	res.Commits = commits.Commits - commits0.Commits
	res.CommitTime = commits.CommitTime - commits0.CommitTime
	res.CommitRound = commits.RoundTime - commits0.RoundTime
	res.CommitWrite = commits.WriteTime - commits0.WriteTime
	res.Pages = commits.PagesWritten - commits0.PagesWritten

	// Check, outside the timing, that every job is recorded as processed
	// and nothing is left.
	st, err := client.Stats(ctx)
	if err != nil {
		return res, err
	}
	if st.Processed != int64(cfg.Jobs) {
		return res, fmt.Errorf("joblot: %d jobs processed, want %d", st.Processed, cfg.Jobs)
	}
	for _, q := range st.Queues {
		if q.Size+q.InFlight+q.Retry+q.Dead != 0 {
			return res, fmt.Errorf("joblot: queue %s not drained: %+v", q.Name, q)
		}
	}
	if err := be.Close(); err != nil {
		return res, err
	}
	res.BytesAfter, err = fileSize(path)
	return res, err
}

// waitDone waits until the worker counted every job, reporting progress.
func waitDone(ctx context.Context, done <-chan struct{}, ran *atomic.Int64, cfg config, n int) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	deadline := time.After(cfg.Timeout)
	for {
		select {
		case <-done:
			return nil
		case <-tick.C:
			cfg.progress("  ... %d/%d jobs ran", ran.Load(), n)
		case <-deadline:
			return fmt.Errorf("timeout after %v: %d/%d jobs ran", cfg.Timeout, ran.Load(), n)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fileSize is the size of path plus the SQLite side files (-wal, -shm)
// that exist next to it.
func fileSize(path string) (int64, error) {
	var total int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) && p != path {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// startProfile starts a CPU profile into path.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
