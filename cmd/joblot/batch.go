package main

import (
	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newBatchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "List, show, verify, cancel and delete batches",
	}
	cmd.AddCommand(
		newBatchListCmd(a),
		newBatchShowCmd(a),
		newBatchVerifyCmd(a),
		newBatchActCmd(a, batchAction{
			use:   "cancel ID",
			short: "Cancel a batch: its remaining jobs are skipped, complete fires, success does not",
			done:  "cancelled",
			act:   (*joblot.Inspector).CancelBatch,
		}),
		newBatchActCmd(a, batchAction{
			use:   "delete ID",
			short: "Delete a batch's state (its jobs still run; their events change nothing)",
			done:  "deleted",
			act:   (*joblot.Inspector).DeleteBatch,
		}),
	)
	return cmd
}
