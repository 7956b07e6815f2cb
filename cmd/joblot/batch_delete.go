package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newBatchDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a batch's state (its jobs still run; their events change nothing)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := joblot.NewInspector(s).DeleteBatch(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "batch %s deleted\n", args[0])
			return nil
		},
	}
}
