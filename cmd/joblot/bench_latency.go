package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/benchrun"
)

func newBenchLatencyCmd(a *app) *cobra.Command {
	var (
		cfg    benchrun.LatencyConfig
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Open-loop latency: offer --rate jobs/s regardless of progress, report enqueue → start p50/p99/p999",
		Long: `latency offers --rate jobs a second for --duration from a paced enqueuer,
whatever the server's progress (open loop), while an in-process server
processes them. Each job's latency runs from the time the schedule meant
to enqueue it to its start, so an enqueuer falling behind counts against
the result instead of hiding it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			cfg.Logger = a.logger()
			if !asJSON {
				fmt.Fprintf(a.stdout, "offering %.0f jobs/s for %v on %s\n", cfg.Rate, cfg.Duration, cell(s.desc))
			}
			res, err := benchrun.Latency(cmd.Context(), s.Backend, cfg)
			if err != nil {
				return err
			}
			res.Backend = s.kind
			if asJSON {
				return writeJSON(a.stdout, viewBenchLatency(res))
			}
			t := newTable(a.stdout)
			fmt.Fprintf(t, "offered\t%.0f jobs/s (%d jobs)\n", res.OfferedPerSec, res.Offered)
			fmt.Fprintf(t, "achieved\t%.0f jobs/s (%d started)\n", res.AchievedPerSec, res.Started)
			fmt.Fprintf(t, "latency p50 / p99 / p999 / max\t%.2f / %.2f / %.2f / %.2f ms\n", res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyP999Ms, res.LatencyMaxMs)
			fmt.Fprintf(t, "pacer's own lateness, p99\t%.2f ms (included above)\n", res.PacerLateP99Ms)
			fmt.Fprintf(t, "Go allocation\t%.0f B/job, %.1f allocs/job, %d GC cycles (whole process)\n", res.AllocBytesPerJob, res.AllocsPerJob, res.GCCycles)
			fmt.Fprintf(t, "process CPU\t%.2f µs/job (whole process)\n", res.CPUMicrosPerJob)
			return t.Flush()
		},
	}
	cmd.Flags().Float64Var(&cfg.Rate, "rate", 10_000, "jobs offered per second")
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to offer jobs")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 50, "jobs run at once")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
