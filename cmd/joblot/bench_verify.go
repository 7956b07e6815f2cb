package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/benchrun"
)

func newBenchVerifyCmd(a *app) *cobra.Command {
	var (
		dir    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "verify --ledger DIR",
		Short: "Count enqueued jobs that never ran (lost) and runs beyond the first (duplicates); exit 1 if any was lost",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("--ledger is required")
			}
			v, err := benchrun.Verify(dir)
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(a.stdout, viewBenchVerify(v)); err != nil {
					return err
				}
			} else {
				t := newTable(a.stdout)
				fmt.Fprintf(t, "enqueued\t%d\nran\t%d\nduplicates\t%d\nlost\t%d\nforeign lines\t%d\nworker logs\t%d\n",
					v.Enqueued, v.Ran, v.Duplicates, v.Lost, v.Foreign, v.Logs)
				if len(v.LostSample) > 0 {
					fmt.Fprintf(t, "lost (sample)\t%v\n", v.LostSample)
				}
				if err := t.Flush(); err != nil {
					return err
				}
			}
			if v.Lost > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d of %d enqueued jobs never ran", v.Lost, v.Enqueued)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "ledger", "", "ledger directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
