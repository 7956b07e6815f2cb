package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/benchrun"
)

func newBenchEnqueueCmd(a *app) *cobra.Command {
	var (
		jobs      int64
		dir       string
		enqueuers int
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "enqueue --jobs N --ledger DIR",
		Short: "Enqueue jobs 0..N-1 for `bench work` and record N in DIR/enqueued once they are all stored",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("--ledger is required")
			}
			if err := benchrun.CheckFresh(dir); err != nil {
				return err
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			took, err := benchrun.Enqueue(cmd.Context(), s.Backend, benchrun.Config{Jobs: jobs, Enqueuers: enqueuers, Logger: a.logger()})
			if err != nil {
				return err
			}
			// Written only now: every job it counts is stored.
			if err := benchrun.WriteEnqueued(dir, jobs); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, benchEnqueueResult{Jobs: jobs, Seconds: took.Seconds(), PerSec: float64(jobs) / took.Seconds(), Ledger: dir})
			}
			fmt.Fprintf(a.stdout, "enqueued %d jobs in %.2fs (%.0f jobs/s) on %s; ledger %s\n", jobs, took.Seconds(), float64(jobs)/took.Seconds(), cell(s.desc), cell(dir))
			return nil
		},
	}
	cmd.Flags().Int64Var(&jobs, "jobs", 100_000, "number of jobs")
	cmd.Flags().StringVar(&dir, "ledger", "", "ledger directory (outside the store)")
	cmd.Flags().IntVar(&enqueuers, "enqueuers", 4, "goroutines enqueueing at once")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// benchEnqueueResult is what `bench enqueue --json` prints.
type benchEnqueueResult struct {
	Jobs    int64   `json:"jobs"`
	Seconds float64 `json:"enqueue_seconds"`
	PerSec  float64 `json:"enqueue_per_sec"`
	Ledger  string  `json:"ledger"`
}
