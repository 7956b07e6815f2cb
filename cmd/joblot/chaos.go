package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/chaos"
)

// chaosWorkerStatsEvery is how often a chaos worker samples its heap.
const chaosWorkerStatsEvery = 5 * time.Second

func newChaosCmd(a *app) *cobra.Command {
	var (
		cfg    chaos.Config
		faults string
		fast   bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Fault harness: run a producer and worker processes against a private Redis while injecting faults; report losses, duplicates and recovery times",
		Long: `chaos starts a private redis-server (AOF on, appendfsync everysec) in
--dir, a TCP fault proxy in front of it, --workers worker processes (this
binary, "chaos worker") that reach Redis through the proxy, and a producer
that offers --rate jobs a second. Every --fault-every it injects the next
fault of --faults:

  kill-worker  SIGKILL a worker (a replacement starts at once)
  kill-redis   SIGKILL Redis, restart it after --redis-down from its AOF
  latency      --spike-latency added to every chunk for --fault-length
  reset        reset every worker connection
  blackhole    nothing passes (nothing is refused) for --blackhole-for
  half-open    every worker connection silent for ever, no FIN, no RST
  maxmemory    maxmemory below used memory for --fault-length
  failover     (--sentinel only) SENTINEL FAILOVER once the replica is in sync
  cluster-failover  (--cluster only) CLUSTER FAILOVER on a random master's
               replica once it is in sync
  kill-master  (--cluster only) SIGKILL a random master; its replica takes
               over after the node timeout (2 s), the old master restarts
               from its AOF as a replica

With --batch-every N every N-th producer tick (20 a second) enqueues its
jobs as one batch with complete and success callbacks; at the end every
batch is checked against its jobs (as joblot batch verify does) and every
callback a batch fired must have run.

A ledger outside Redis (one append-only log per worker) records every run;
at the end chaos counts enqueued jobs (enqueue returned nil) that never ran
nor sit in the dead set (lost), those lost within the AOF window before a
Redis SIGKILL, runs beyond the first (duplicates), and for each fault the
time from its end until the job rate was back to half its rate before.
With --sample-every it also reports Go heap and goroutines (harness and
workers) and Redis used_memory over time: the soak run.

It exits 1 when a job was lost outside the AOF window.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Faults = chaos.AllFaults()
			if cfg.Sentinel {
				cfg.Faults = chaos.SentinelFaults()
			}
			if cfg.Cluster {
				cfg.Faults = chaos.ClusterFaults()
			}
			if faults != "" {
				cfg.Faults = nil
				for _, f := range strings.Split(faults, ",") {
					cfg.Faults = append(cfg.Faults, chaos.Fault(strings.TrimSpace(f)))
				}
			}
			if cfg.Dir == "" {
				dir, err := os.MkdirTemp("", "joblot-chaos-")
				if err != nil {
					return err
				}
				cfg.Dir = dir
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.Spawn = func(url, dir string) (*exec.Cmd, error) {
				args := []string{"chaos", "worker", "--url", url, "--ledger", dir, "--log-level", a.logLevel}
				if fast {
					args = append(args, "--fast")
				}
				c := exec.Command(exe, args...)
				c.Stderr = a.stderr
				return c, c.Start()
			}
			cfg.Logger = a.logger()
			if !asJSON {
				fmt.Fprintf(a.stdout, "chaos: %d workers, %d jobs/s, faults %s, ledger and Redis in %s\n", cfg.Workers, cfg.Rate, cell(fmt.Sprint(cfg.Faults)), cell(cfg.Dir))
			}
			res, err := chaos.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(a.stdout, res)
			} else {
				err = printChaos(a.stdout, res)
			}
			if err != nil {
				return err
			}
			if res.LostOutside > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d enqueued jobs lost outside the AOF window", res.LostOutside)}
			}
			if res.BatchesLostOutside > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d batches lost outside a failover or AOF window", res.BatchesLostOutside)}
			}
			if res.CallbacksMissing > 0 || res.CallbacksUnexpected > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("batch callbacks: %d fired but never ran, %d ran unfired", res.CallbacksMissing, res.CallbacksUnexpected)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "directory for the ledger and Redis's files (default: a new temporary directory)")
	f.IntVar(&cfg.Workers, "workers", chaos.DefaultWorkers, "worker processes")
	f.IntVar(&cfg.Rate, "rate", chaos.DefaultRate, "jobs per second the producer offers")
	f.StringVar(&faults, "faults", "", "comma-separated faults, injected in turn (default: all of them)")
	f.DurationVar(&cfg.Duration, "duration", 0, "how long the producer runs; the fault plan repeats (default: one pass over --faults)")
	f.DurationVar(&cfg.FaultEvery, "fault-every", chaos.DefaultFaultEvery, "quiet time before each fault")
	f.DurationVar(&cfg.FaultLength, "fault-length", chaos.DefaultFaultLength, "length of a latency spike or of maxmemory")
	f.DurationVar(&cfg.BlackholeFor, "blackhole-for", chaos.DefaultBlackholeFor, "length of a blackhole")
	f.DurationVar(&cfg.RedisDown, "redis-down", chaos.DefaultRedisDown, "how long Redis stays dead after its SIGKILL")
	f.DurationVar(&cfg.SpikeLatency, "spike-latency", chaos.DefaultSpikeLatency, "latency added during a spike")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", chaos.DefaultDrainTimeout, "how long to wait for the last jobs after the producer stopped")
	f.DurationVar(&cfg.SampleEvery, "sample-every", 0, "record heap, goroutines and Redis used_memory this often (the soak report; 0: off)")
	f.BoolVar(&cfg.Sentinel, "sentinel", false, "run a master, a replica and a sentinel; faults: kill-worker, failover (SENTINEL FAILOVER)")
	f.BoolVar(&cfg.Cluster, "cluster", false, "run a Redis Cluster of 3 masters with a replica each; faults: kill-worker, cluster-failover, kill-master")
	f.IntVar(&cfg.BatchEvery, "batch-every", 0, "make every n-th producer tick's jobs one batch with callbacks, verified at the end (0: no batches)")
	f.BoolVar(&fast, "fast", false, "workers heartbeat every 200 ms and recover a dead process's jobs within about a second (default: joblot's defaults, about 10 s)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.AddCommand(newChaosWorkerCmd(a))
	return cmd
}

func newChaosWorkerCmd(a *app) *cobra.Command {
	var (
		url  string
		dir  string
		fast bool
	)
	cmd := &cobra.Command{
		Use:    "worker --url URL --ledger DIR",
		Short:  "A worker process of joblot chaos",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := redis.Open(cmd.Context(), redis.Options{URL: url, Logger: a.logger()})
			if err != nil {
				return err
			}
			defer b.Close()
			wc := benchrun.WorkConfig{Dir: dir, Concurrency: 50, Logger: a.logger(), StatsEvery: chaosWorkerStatsEvery}
			if fast {
				wc.Server = func(c *joblot.ServerConfig) {
					c.HeartbeatInterval = 200 * time.Millisecond
					c.ProcessTTL = time.Second
					c.RecoverInterval = 200 * time.Millisecond
					c.PollInterval = 100 * time.Millisecond
				}
			}
			return benchrun.Work(cmd.Context(), b, wc)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "Redis URL")
	cmd.Flags().StringVar(&dir, "ledger", "", "ledger directory")
	cmd.Flags().BoolVar(&fast, "fast", false, "short heartbeats and recovery")
	return cmd
}

func printChaos(w io.Writer, r *chaos.Result) error {
	t := newTable(w)
	fmt.Fprintf(t, "run\t%.1f s, %d workers (%d spawned), %d jobs/s offered\n", r.Seconds, r.Workers, r.WorkerSpawns, r.Rate)
	fmt.Fprintf(t, "enqueued\t%d of %d attempted (enqueue returned nil)\n", r.Enqueued, r.Attempts)
	fmt.Fprintf(t, "ran\t%d (duplicates %d)\n", r.Ran, r.Duplicates)
	fmt.Fprintf(t, "dead (poison pills)\t%d\n", r.Dead)
	fmt.Fprintf(t, "lost\t%d (in the AOF window %d, near a failover %d, outside %d; longest enqueue → Redis SIGKILL of a lost job %.2f s)\n",
		r.Lost, r.LostInAOFWindow, r.LostNearFailover, r.LostOutside, r.MaxLossBeforeKillS)
	if len(r.LostSample) > 0 {
		fmt.Fprintf(t, "lost (sample)\t%v\n", r.LostSample)
	}
	if r.Batches > 0 {
		fmt.Fprintf(t, "batches\t%d: lost %d (outside a failover or AOF window %d), complete %d, succeeded %d, agree with their jobs %d (problems %d)\n",
			r.Batches, r.BatchesLost, r.BatchesLostOutside, r.BatchesComplete, r.BatchesSucceeded, r.BatchesClean, r.BatchProblems)
		for _, p := range r.BatchProblemSample {
			fmt.Fprintf(t, "batch problem\t%s\n", cell(p))
		}
		fmt.Fprintf(t, "callbacks\t%d fired, %d never ran, %d ran unfired, %d ran for a lost batch, %d runs\n",
			r.CallbacksFired, r.CallbacksMissing, r.CallbacksUnexpected, r.CallbacksOfLostBatches, r.CallbackRuns)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t = newTable(w)
	fmt.Fprintf(t, "FAULT\tAT\tLENGTH\tRECOVERY\tRAN DURING\tENQUEUE ERRORS\tSTORE FULL\tDETAIL\n")
	for _, f := range r.Faults {
		rec := "not before the next fault"
		if f.RecoveryS >= 0 {
			rec = fmt.Sprintf("%.2f s", f.RecoveryS)
		}
		fmt.Fprintf(t, "%s\t%.1f s\t%.1f s\t%s\t%d\t%d\t%d\t%s\n", f.Fault, f.StartS, f.EndS-f.StartS, rec, f.RanDuring, f.EnqueueErrors, f.StoreFull, cell(f.Detail))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if len(r.Samples) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t = newTable(w)
	fmt.Fprintf(t, "AT\tHEAP\tGOROUTINES\tWORKER HEAP\tWORKER GOROUTINES\tREDIS USED_MEMORY\tENQUEUED\n")
	for _, s := range r.Samples {
		fmt.Fprintf(t, "%.0f s\t%d\t%d\t%d\t%d\t%d\t%d\n", s.AtS, s.HeapBytes, s.Goroutines, s.WorkerHeapBytes, s.WorkerGoroutines, s.RedisUsedMemory, s.EnqueuedSoFar)
	}
	return t.Flush()
}
