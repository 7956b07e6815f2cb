package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newStatsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Processed and failed totals, per-day counters, drops, and live processes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, s *store) error {
				st, err := in.Stats(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, viewStats(st))
				}
				var queued, scheduled, retry, dead, inFlight int64
				for _, q := range st.Queues {
					queued += q.Size
					scheduled += q.Scheduled
					retry += q.Retry
					dead += q.Dead
					inFlight += q.InFlight
				}
				t := newTable(a.stdout)
				fmt.Fprintf(t, "store\t%s\n", cell(s.desc))
				fmt.Fprintf(t, "processed\t%d\n", st.Processed)
				fmt.Fprintf(t, "failed\t%d\n", st.Failed)
				fmt.Fprintf(t, "queued\t%d\n", queued)
				fmt.Fprintf(t, "in flight\t%d\n", inFlight)
				fmt.Fprintf(t, "scheduled\t%d\n", scheduled)
				fmt.Fprintf(t, "retry\t%d\n", retry)
				fmt.Fprintf(t, "dead\t%d\n", dead)
				fmt.Fprintf(t, "dead dropped by caps\t%d\n", st.DeadDropped)
				fmt.Fprintf(t, "discarded\t%d\n", st.Discarded)
				fmt.Fprintf(t, "cancelled\t%d\n", st.Cancelled)
				fmt.Fprintf(t, "events on expired batches\t%d\n", st.ExpiredBatchEvents)
				fmt.Fprintf(t, "job outputs kept\t%d (%d bytes; %d dropped by the byte cap)\n", st.OutputRecords, st.OutputBytes, st.OutputDropped)
				if err := t.Flush(); err != nil {
					return err
				}
				if len(st.Days) > 0 {
					fmt.Fprintln(a.stdout)
					t = newTable(a.stdout)
					fmt.Fprintln(t, "DAY (UTC)\tPROCESSED\tFAILED")
					for i, d := range st.Days {
						if i == 7 {
							break
						}
						fmt.Fprintf(t, "%s\t%d\t%d\n", d.Date, d.Processed, d.Failed)
					}
					if err := t.Flush(); err != nil {
						return err
					}
				}
				fmt.Fprintln(a.stdout)
				t = newTable(a.stdout)
				fmt.Fprintln(t, "PROCESS\tHOST\tPID\tQUEUES\tCONCURRENCY\tIN FLIGHT\tSTATE\tSTARTED\tLAST BEAT")
				for _, p := range st.Processes {
					state := "running"
					if p.Quiet {
						state = "quiet"
					}
					fmt.Fprintf(t, "%s\t%s\t%d\t%v\t%d\t%d\t%s\t%s\t%s\n", cell(p.ID), cell(p.Hostname), p.PID, cellN(fmt.Sprint(p.Queues), maxListRunes), p.Concurrency, p.InFlight, state, fmtTime(p.StartedAt), fmtTime(p.LastBeat))
				}
				if len(st.Processes) == 0 {
					fmt.Fprintln(t, "(no live processes)")
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
