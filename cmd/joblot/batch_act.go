package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

// batchAction is one of the commands that change a batch by ID.
type batchAction struct {
	use, short, done string
	act              func(*joblot.Inspector, context.Context, string) error
}

// batchResult is what the batch actions print with --json.
type batchResult struct {
	Batch  string `json:"batch"`
	Action string `json:"action"`
}

func newBatchActCmd(a *app, ba batchAction) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   ba.use,
		Short: ba.short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				if err := ba.act(in, cmd.Context(), args[0]); err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, batchResult{Batch: args[0], Action: ba.done})
				}
				fmt.Fprintf(a.stdout, "batch %s %s\n", cell(args[0]), ba.done)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
