package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/benchrun"
)

func newBenchWorkCmd(a *app) *cobra.Command {
	var cfg benchrun.WorkConfig
	cmd := &cobra.Command{
		Use:   "work --ledger DIR",
		Short: "Run bench jobs until SIGINT/SIGTERM, appending each job's number to DIR/ran-<pid>.log after it ran",
		Long: `work runs a server for the bench queue until it gets SIGINT or SIGTERM,
then stops gracefully. Each job appends its number to DIR/ran-<pid>.log
(one write on an O_APPEND file) after running, so the ledger survives a
SIGKILL of this process; a job killed after its run and before its ack
runs again elsewhere and shows up as a duplicate in ` + "`bench verify`.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Dir == "" {
				return fmt.Errorf("--ledger is required")
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			cfg.Logger = a.logger()
			return benchrun.Work(cmd.Context(), s.Backend, cfg)
		},
	}
	cmd.Flags().StringVar(&cfg.Dir, "ledger", "", "ledger directory (outside the store)")
	cmd.Flags().IntVar(&cfg.Concurrency, "concurrency", 50, "jobs run at once")
	return cmd
}
