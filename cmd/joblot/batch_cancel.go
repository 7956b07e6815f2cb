package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newBatchCancelCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a batch: its remaining jobs are skipped, complete fires, success does not",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := joblot.NewInspector(s).CancelBatch(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "batch %s cancelled\n", args[0])
			return nil
		},
	}
}
