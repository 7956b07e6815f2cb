package main

import (
	"github.com/spf13/cobra"
)

func newBatchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "List, show, cancel and delete batches",
	}
	cmd.AddCommand(
		newBatchListCmd(a),
		newBatchShowCmd(a),
		newBatchCancelCmd(a),
		newBatchDeleteCmd(a),
	)
	return cmd
}
