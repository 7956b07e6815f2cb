package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

func newBatchListCmd(a *app) *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List batches, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return fmt.Errorf("--limit must be positive, got %d", limit)
			}
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				list, err := in.Batches(cmd.Context(), backend.BatchListOptions{Limit: limit})
				if err != nil {
					return err
				}
				if asJSON {
					if list == nil {
						list = []*backend.BatchStatus{}
					}
					return writeJSON(a.stdout, list)
				}
				return printBatchList(a.stdout, list)
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "most batches to list")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of batch statuses")
	return cmd
}

func printBatchList(w io.Writer, list []*backend.BatchStatus) error {
	t := newTable(w)
	fmt.Fprintln(t, "ID\tSTATE\tTOTAL\tPENDING\tFAILING\tSUCCEEDED\tDEAD\tCREATED\tDESCRIPTION")
	for _, b := range list {
		fmt.Fprintf(t, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", cell(b.ID), b.State, b.Total, b.Pending, b.Failing, b.Succeeded, b.Dead, fmtTime(b.CreatedAt), cell(b.Description))
	}
	if len(list) == 0 {
		fmt.Fprintln(t, "(no batches)")
	}
	return t.Flush()
}
