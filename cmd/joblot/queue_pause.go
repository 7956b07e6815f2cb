package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

// newQueuePauseCmd is `queue pause` (pause) or `queue resume` (!pause).
func newQueuePauseCmd(a *app, pause bool) *cobra.Command {
	var asJSON bool
	use, short, done := "resume QUEUE", "Let servers fetch a paused queue's jobs again", "resumed"
	if pause {
		use, short, done = "pause QUEUE", "Stop servers from fetching a queue's jobs (enqueueing and scheduling go on)", "paused"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				var err error
				if pause {
					err = in.PauseQueue(cmd.Context(), args[0])
				} else {
					err = in.ResumeQueue(cmd.Context(), args[0])
				}
				if err != nil {
					return fmt.Errorf("queue %s: %w", args[0], err)
				}
				if asJSON {
					return writeJSON(a.stdout, queueResult{Queue: args[0], Action: done})
				}
				fmt.Fprintf(a.stdout, "queue %s %s\n", cell(args[0]), done)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
