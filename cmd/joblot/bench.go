package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/benchrun"
)

func newBenchCmd(a *app) *cobra.Command {
	var (
		cfg     benchrun.Config
		retries int
		asJSON  bool
		// scriptTimes asks for Redis's time per script (MeasureScripts).
		scriptTimes bool
		failRate    float64
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Enqueue no-op jobs, process them in-process, report throughput, latency, losses and memory",
		Long: `bench enqueues --jobs numbered no-op jobs, then processes them with an
in-process server, and accounts for every job in an in-memory ledger kept
outside the store: succeeded, dead, and lost (enqueued but never
accounted for). It reports enqueue and processing rates, enqueue → start
latency and the store's size before, after enqueue and after processing:
Redis used_memory, or on the embedded store the file's size (the JSON
field names are the same; memory_source says which).

With --batch-size the jobs go into batches whose complete, success and
death callbacks count themselves, and the batch state is measured (Redis)
and left in place as production would, unless --cleanup.

Jobs chosen by --fail-rate fail on every attempt, with one message, or
with one of --error-shapes distinct messages (each its own error group),
picked per failure. Failing jobs retry on
Sidekiq's backoff (hours to weeks) unless --retries 0, --retry-delay, or
--stop-when-retrying, which ends the run once every failing job waits in
the retry set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.MaxRetries, err = benchrun.RetriesFromFlag(cmd.Flags().Changed("retries"), retries); err != nil {
				return err
			}
			cfg.FailRate = failRate
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			cfg.Logger = a.logger()
			showBars := !asJSON && isTerminal(a.stdout)
			bars := map[string]*bar{}
			cfg.Progress = func(phase string, done, total int64) {
				b := bars[phase]
				if b == nil {
					b = newBar(a.stdout, showBars, total, phase)
					bars[phase] = b
				}
				b.Set(done)
				if done >= total {
					b.Finish()
				}
			}
			if !asJSON {
				fmt.Fprintf(a.stdout, "bench: %d jobs on %s\n", cfg.Jobs, cell(s.desc))
			}
			var stopTiming func(context.Context) ([]redis.ScriptTime, error)
			if scriptTimes {
				if s.redis == nil {
					return fmt.Errorf("bench: --script-times needs Redis")
				}
				if stopTiming, err = s.redis.MeasureScripts(cmd.Context()); err != nil {
					return err
				}
			}
			res, err := benchrun.Run(cmd.Context(), s.Backend, s.meter(), cfg)
			var scripts []redis.ScriptTime
			if stopTiming != nil {
				// Stopped even after a failed run: it restores the slow log's settings.
				var terr error
				if scripts, terr = stopTiming(context.WithoutCancel(cmd.Context())); err == nil {
					err = terr
				}
			}
			if err != nil {
				return err
			}
			res.Backend = s.kind
			view := viewBench(res, scripts)
			if asJSON {
				return writeJSON(a.stdout, view)
			}
			if err := printBenchResult(a.stdout, res); err != nil {
				return err
			}
			return printScriptTimes(a.stdout, view.Scripts)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&cfg.Jobs, "jobs", 100_000, "number of jobs")
	f.IntVar(&cfg.Concurrency, "concurrency", 50, "jobs run at once")
	f.IntVar(&cfg.Prefetch, "prefetch", 0, "jobs a process may hold beyond its free slots (0: the server's default)")
	f.IntVar(&cfg.FetchChunk, "fetch-chunk", 0, "most jobs one fetch claims (0: the server's default)")
	f.IntVar(&cfg.PayloadBytes, "payload-bytes", 0, "bytes of padding added to each job's args")
	f.Float64Var(&failRate, "fail-rate", 0, "fraction of jobs (chosen by job number) that fail on every attempt")
	f.IntVar(&cfg.ErrorShapes, "error-shapes", 1, "distinct failure messages (error groups) the failing jobs' errors are drawn from")
	f.IntVar(&retries, "retries", 0, "retries of failing jobs (0: none; default: joblot's default, 25)")
	f.DurationVar(&cfg.RetryDelay, "retry-delay", 0, "constant retry delay instead of Sidekiq's backoff (0: Sidekiq's)")
	f.Int64Var(&cfg.BatchSize, "batch-size", 0, "jobs per batch (0: no batches)")
	f.BoolVar(&cfg.StopWhenRetrying, "stop-when-retrying", false, "stop once every failing job waits in the retry set")
	f.BoolVar(&cfg.Unique, "unique", false, "make every job unique by its args (measures the unique locks' cost; not with --batch-size)")
	f.BoolVar(&cfg.Cleanup, "cleanup", false, "delete the run's batch state and its jobs left in the retry and dead sets")
	f.IntVar(&cfg.Enqueuers, "enqueuers", 4, "goroutines enqueueing at once")
	f.StringVar(&cfg.Queue, "queue", benchrun.DefaultQueue, "queue to use (must hold no jobs)")
	f.IntVar(&cfg.Queues, "queues", 1, "spread the jobs over this many queues named QUEUE-0, QUEUE-1, … with weights 1 to 4 in turn")
	f.DurationVar(&cfg.Timeout, "timeout", 30*time.Minute, "give up processing after this long")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.BoolVar(&scriptTimes, "script-times", false, "time each Lua script with Redis's slow log (a private Redis only: it empties the slow log)")

	cmd.AddCommand(
		newBenchEnqueueCmd(a),
		newBenchWorkCmd(a),
		newBenchVerifyCmd(a),
		newBenchLatencyCmd(a),
		newBenchIdleCmd(a),
		newBenchScaleCmd(a),
	)
	return cmd
}

func printBenchResult(w io.Writer, r *benchrun.Result) error {
	t := newTable(w)
	row := func(k, format string, v ...any) { fmt.Fprintf(t, "%s\t"+format+"\n", append([]any{k}, v...)...) }
	row("jobs", "%d", r.Jobs)
	row("enqueue", "%.0f jobs/s (%.2fs)", r.EnqueuePerSec, r.EnqueueSeconds)
	row("process", "%.0f jobs/s (%.2fs, concurrency %d)", r.ProcessPerSec, r.ProcessSeconds, r.Concurrency)
	row("latency p50 / p99", "%.1f ms / %.1f ms (enqueue → start; all jobs were enqueued first)", r.LatencyP50Ms, r.LatencyP99Ms)
	row("Go allocation", "%.0f B/job, %.1f allocs/job, %d GC cycles (while processing)", r.AllocBytesPerJob, r.AllocsPerJob, r.GCCycles)
	row("process CPU", "%.2f µs/job (while processing)", r.CPUMicrosPerJob)
	row("succeeded", "%d", r.Succeeded)
	row("dead", "%d", r.Dead)
	row("retrying", "%d", r.Retrying)
	row("lost", "%d", r.Lost)
	row(r.MemorySource+" before", "%d B", r.UsedMemoryBefore)
	row(r.MemorySource+" enqueued", "%d B (%+.1f B/job)", r.UsedMemoryEnqueued, perJob(r.UsedMemoryEnqueued-r.UsedMemoryBefore, r.Jobs))
	row(r.MemorySource+" after", "%d B (%+.1f B/job)", r.UsedMemoryAfter, perJob(r.UsedMemoryAfter-r.UsedMemoryBefore, r.Jobs))
	if b := r.BatchResult; b != nil {
		row("batches", "%d", b.Batches)
		row("callbacks", "complete %d, success %d, death %d", b.CallbacksComplete, b.CallbacksSuccess, b.CallbacksDeath)
		row("batch bookkeeping", "%d B (%.3f B/job)", b.BatchBookkeepingBytes, float64(b.BatchBookkeepingBytes)/float64(r.Jobs))
	}
	return t.Flush()
}

// printScriptTimes prints the scripts' Redis time, most first; nothing
// without --script-times.
func printScriptTimes(w io.Writer, scripts []scriptTimeView) error {
	if len(scripts) == 0 {
		return nil
	}
	t := newTable(w)
	fmt.Fprintln(t, "script\tcalls\tµs/job\tµs/call")
	for _, s := range scripts {
		fmt.Fprintf(t, "%s\t%d\t%.3f\t%.1f\n", cell(s.Script), s.Calls, s.MicrosPerJob, s.MicrosPerCall)
	}
	return t.Flush()
}

func perJob(bytes, jobs int64) float64 {
	if jobs == 0 {
		return 0
	}
	return float64(bytes) / float64(jobs)
}
