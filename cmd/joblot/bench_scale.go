package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/redistest"
)

// scaleWorkerStopTimeout bounds a worker process's graceful stop before
// it is killed.
const scaleWorkerStopTimeout = 30 * time.Second

func newBenchScaleCmd(a *app) *cobra.Command {
	var (
		cfg       benchrun.ScaleConfig
		asJSON    bool
		flush     bool
		scheduled string
	)
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "How cost grows with the work: processed/s and Redis µs/job as queues, batches, processes, payload, scheduled and dead sets grow",
		Long: `scale runs one bench per setting and prints a Markdown table: processed
jobs/s and Redis time per job (INFO commandstats usec of the scripts, of the
other commands, and Redis's CPU) as the work grows along one dimension at a
time: queues 1 → 1,000 (weights 1-4), open batches 1 → 10,000, worker
processes 1 → 8, payload 100 B → 64 KiB, scheduled jobs stored 0 → 1M,
the dead set empty and at its cap; then enqueue → start latency at a fixed
offered rate as the scheduled set grows.

Every row starts with FLUSHALL and CONFIG RESETSTAT. Without --redis it
starts a private redis-server (must be in PATH) and stops it at the end;
with --redis it refuses a Redis holding keys unless --flush (everything in
it is deleted). Worker processes are this binary's "bench work".
--quick runs small rows (20,000 jobs; under two minutes).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var err error
			if cfg.Scheduled, err = parseSizes(scheduled); err != nil {
				return fmt.Errorf("--scheduled: %w", err)
			}
			c, err := a.store.choose(a.getenv)
			if err != nil {
				return err
			}
			if c.redisURL == "" && c.dbExplicit {
				return errors.New("bench scale measures Redis: give --redis URL, or nothing to start a private redis-server")
			}
			if c.redisURL == "" {
				dir, err := os.MkdirTemp("", "joblot-scale-redis-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				srv, err := redistest.StartServer(dir, redistest.Options{})
				if err != nil {
					return err
				}
				defer srv.Stop()
				c = storeChoice{redisURL: "redis://" + srv.Addr}
				if !asJSON {
					fmt.Fprintf(a.stdout, "bench scale: private redis-server on %s\n", srv.Addr)
				}
			}
			raw, err := c.redisClient()
			if err != nil {
				return err
			}
			defer raw.Close()
			do := func(ctx context.Context, args ...string) (string, error) {
				return raw.Do(ctx, raw.B().Arbitrary(args...).Build()).ToString()
			}
			if n, err := raw.Do(ctx, raw.B().Dbsize().Build()).AsInt64(); err != nil {
				return fmt.Errorf("DBSIZE: %w", err)
			} else if n > 0 && !flush {
				return fmt.Errorf("bench scale empties the Redis before every row, and this one holds %d keys: use a private Redis, or --flush to delete them", n)
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this binary for the worker processes: %w", err)
			}
			env := benchrun.ScaleEnv{
				Do: do,
				Open: func(ctx context.Context) (backend.Backend, func(), error) {
					s, err := c.open(ctx, false, a.logger())
					if err != nil {
						return nil, nil, err
					}
					return s.Backend, func() { s.Close() }, nil
				},
				StartWorker: func(ctx context.Context, dir string) (func() error, error) {
					return startScaleWorker(exe, c, dir)
				},
			}
			cfg.Logger = a.logger()
			if !asJSON {
				cfg.Progress = func(group, setting string) {
					fmt.Fprintf(a.stderr, "bench scale: %s = %s\n", group, setting)
				}
			}
			res, err := benchrun.Scale(ctx, env, cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			_, err = fmt.Fprint(a.stdout, res.Markdown())
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cfg.Quick, "quick", false, "small rows (20,000 jobs, scheduled sets up to 100,000): under two minutes")
	f.Int64Var(&cfg.Jobs, "jobs", 0, "jobs per throughput row (default 200,000; --quick 20,000)")
	f.StringVar(&scheduled, "scheduled", "", "comma-separated scheduled-set sizes to measure (default 0,100000,1000000; --quick 0,10000,100000)")
	f.BoolVar(&flush, "flush", false, "allow a --redis that holds keys: every key in it is deleted")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// parseSizes parses a comma-separated list of counts ("" is none).
func parseSizes(s string) ([]int64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a count >= 0", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// startScaleWorker starts `joblot bench work` on c's Redis. The URL goes
// through the environment, not argv, so that a password stays out of ps.
func startScaleWorker(exe string, c storeChoice, dir string) (func() error, error) {
	args := []string{"bench", "work", "--ledger", dir}
	if c.prefix != "" {
		args = append(args, "--prefix", c.prefix)
	}
	w := exec.Command(exe, args...)
	w.Env = append(os.Environ(), redisURLEnv+"="+c.redisURL)
	w.Stdout, w.Stderr = nil, os.Stderr
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker process: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	return func() error {
		_ = w.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return scaleWorkerExit(err)
		case <-time.After(scaleWorkerStopTimeout):
			_ = w.Process.Kill()
			<-done
			return fmt.Errorf("worker process %d did not stop within %v: killed", w.Process.Pid, scaleWorkerStopTimeout)
		}
	}, nil
}

// scaleWorkerExit accepts the exit of a worker told to stop.
func scaleWorkerExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
		return fmt.Errorf("worker process exited: %w (%s)", err, strconv.Quote(strings.TrimSpace(ee.String())))
	}
	return err
}
