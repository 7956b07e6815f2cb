package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newQueuesCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "queues",
		Short: "Queue sizes, scheduled, retry, dead, in-flight jobs and latency (age of the oldest job)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				st, err := in.Stats(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, st.Queues)
				}
				t := newTable(a.stdout)
				fmt.Fprintln(t, "QUEUE\tSIZE\tIN FLIGHT\tSCHEDULED\tRETRY\tDEAD\tLATENCY\tPAUSED")
				for _, q := range st.Queues {
					fmt.Fprintf(t, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%v\n", cell(q.Name), q.Size, q.InFlight, q.Scheduled, q.Retry, q.Dead, q.Latency.Round(time.Millisecond), q.Paused)
				}
				if len(st.Queues) == 0 {
					fmt.Fprintln(t, "(no queues)")
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array")
	return cmd
}
