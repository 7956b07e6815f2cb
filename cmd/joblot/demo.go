package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/demo"
)

func newDemoCmd(a *app) *cobra.Command {
	var jobs int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run three batches (one succeeds, one with 30% failures, one nested) and show what joblot tracks",
		Long: `demo runs three batches with an in-process server: one whose jobs all
succeed, one where 30 % of the jobs fail over a handful of distinct errors
(some for good, some once), and one that opens a child batch from inside a
job. It shows a progress bar per batch, then each batch's status, its error
groups, the callbacks that fired, and the storage failure tracking used.

With no Redis configured and no --db, it uses a new file in a temporary
directory, and says where.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			choice, err := a.store.choose(a.getenv)
			if err != nil {
				return err
			}
			if choice.redisURL == "" && !choice.dbExplicit {
				dir, err := os.MkdirTemp("", "joblot-demo-")
				if err != nil {
					return err
				}
				choice.dbPath = filepath.Join(dir, "demo.db")
			}
			s, err := choice.open(cmd.Context(), a.store.allowEviction, a.logger())
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(a.stdout, "store: %s\n", cell(s.desc))
			start := time.Now()
			_, err = demo.Run(cmd.Context(), s.Backend, demo.Options{
				Jobs:   jobs,
				Out:    a.stdout,
				Meter:  s.meter(),
				Logger: a.logger(),
				NewProgress: func(label string, total int64) demo.Progress {
					return newBar(a.stdout, true, total, fmt.Sprintf("%-10s", label))
				},
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\ndemo finished in %.1fs\n", time.Since(start).Seconds())
			if choice.redisURL == "" {
				fmt.Fprintf(a.stdout, "look around: joblot batch list --db %s\n", cell(choice.dbPath))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&jobs, "jobs", demo.DefaultJobs, "jobs per batch")
	return cmd
}
