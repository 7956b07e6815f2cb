package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

func newPeriodicCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "periodic",
		Short: "Periodic jobs (ServerConfig.Periodic) as the leading server wrote them",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPeriodicListCmd(a))
	return cmd
}

func newPeriodicListCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Periodic jobs: name, schedule, queue, kind, missed policy, last recorded and next instant",
		Long: "Periodic jobs as the server holding the periodic lease last wrote them, with the last\n" +
			"instant recorded for each (enqueued, or skipped as missed) and the next one its schedule\n" +
			"gives after now. Times are local in the table, UTC in --json.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			states, err := s.Backend.ListPeriodic(cmd.Context())
			if err != nil {
				return err
			}
			views := viewPeriodic(states, time.Now())
			if asJSON {
				return writeJSON(a.stdout, views)
			}
			t := newTable(a.stdout)
			fmt.Fprintln(t, "NAME\tSCHEDULE\tQUEUE\tKIND\tMISSED\tLAST\tNEXT")
			for i, v := range views {
				next := "-"
				if v.NextAt != nil {
					next = fmtTime(*v.NextAt)
				} else if v.ScheduleError != "" {
					next = "? " + cell(v.ScheduleError)
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(v.Name), cell(v.Schedule), cell(v.Queue), cell(v.Kind), cell(v.Missed), fmtTime(states[i].Last), next)
			}
			if len(views) == 0 {
				fmt.Fprintln(t, "(no periodic jobs)")
			}
			return t.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array")
	return cmd
}

// periodicView is backend.PeriodicState with its next instant.
type periodicView struct {
	Name     string     `json:"name"`
	Schedule string     `json:"schedule"`
	Queue    string     `json:"queue"`
	Kind     string     `json:"kind"`
	Missed   string     `json:"missed"`
	LastAt   *time.Time `json:"last_at,omitempty"`
	NextAt   *time.Time `json:"next_at,omitempty"`
	// ScheduleError says why the stored schedule gives no next instant
	// (written by another version, or never fires again).
	ScheduleError string `json:"schedule_error,omitempty"`
}

// viewPeriodic is states with each job's next instant after now.
func viewPeriodic(states []backend.PeriodicState, now time.Time) []periodicView {
	v := make([]periodicView, 0, len(states))
	for _, st := range states {
		pv := periodicView{Name: st.Name, Schedule: st.Schedule, Queue: st.Queue, Kind: st.Kind, Missed: st.Missed, LastAt: jsonTime(st.Last)}
		next, err := joblot.NextPeriodicInstant(st.Schedule, now)
		switch {
		case err != nil:
			pv.ScheduleError = err.Error()
		case next.IsZero():
			pv.ScheduleError = "no instant in the next five years"
		default:
			pv.NextAt = jsonTime(next)
		}
		v = append(v, pv)
	}
	return v
}
