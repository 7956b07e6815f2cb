package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newQueueClearCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "clear QUEUE",
		Short: "Remove every job waiting in a queue (not scheduled, retry, dead or in-flight ones); batch jobs count as removed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				n, err := in.ClearQueue(cmd.Context(), args[0])
				if err != nil {
					return fmt.Errorf("clear queue %s: %w (%d jobs removed before the error)", args[0], err, n)
				}
				if asJSON {
					return writeJSON(a.stdout, queueResult{Queue: args[0], Action: "cleared", Removed: n})
				}
				fmt.Fprintf(a.stdout, "queue %s cleared: %d %s removed\n", cell(args[0]), n, plural(n, "job", "jobs"))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
