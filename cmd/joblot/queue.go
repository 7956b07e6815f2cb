package main

import (
	"github.com/spf13/cobra"
)

func newQueueCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Pause, resume or clear a queue",
	}
	cmd.AddCommand(
		newQueuePauseCmd(a, true),
		newQueuePauseCmd(a, false),
		newQueueClearCmd(a),
	)
	return cmd
}
