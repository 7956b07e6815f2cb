package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

func newLimitsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "limits",
		Short: "Global queue limits: per queue and group, the slots held (jobs running) and the jobs waiting",
		Long: `limits lists each queue with a global limit (ServerConfig.QueueLimits) and,
per group (the whole queue, a job kind or a limit key), how many slots are
held by jobs in flight and how many jobs wait over the concurrency limit.
A queue lists at most ` + fmt.Sprint(backend.MaxLimitGroupsShown) + ` groups; GROUPS counts them all. Groups
are user data: they are shown escaped and cut.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				st, err := in.Stats(cmd.Context())
				if err != nil {
					return err
				}
				views := viewLimits(st.Queues)
				if asJSON {
					return writeJSON(a.stdout, views)
				}
				t := newTable(a.stdout)
				fmt.Fprintln(t, "QUEUE\tLIMIT\tGROUPS\tGROUP\tRUNNING\tWAITING")
				for _, v := range views {
					if len(v.Groups) == 0 {
						fmt.Fprintf(t, "%s\t%s\t%d\t-\t0\t0\n", cell(v.Queue), v.Limit, v.GroupsTotal)
					}
					for _, g := range v.Groups {
						fmt.Fprintf(t, "%s\t%s\t%d\t%s\t%d\t%d\n", cell(v.Queue), v.Limit, v.GroupsTotal, groupCell(g.Group), g.Running, g.Waiting)
					}
				}
				if len(views) == 0 {
					fmt.Fprintln(t, "(no queue has limits)")
				}
				return t.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array")
	return cmd
}

// groupCell shows a limit group ("(all)" for the whole queue's group).
func groupCell(g string) string {
	if g == "" {
		return "(all)"
	}
	return cellN(g, 40)
}

// limitView is one queue's backend.LimitStats.
type limitView struct {
	Queue       string           `json:"queue"`
	Limit       string           `json:"limit"`
	Concurrency int              `json:"concurrency"`
	Rate        int              `json:"rate"`
	PerMs       float64          `json:"per_ms"`
	By          string           `json:"by"`
	GroupsTotal int              `json:"groups_total"`
	Groups      []limitGroupView `json:"groups"`
}

type limitGroupView struct {
	Group   string `json:"group"`
	Running int64  `json:"running"`
	Waiting int64  `json:"waiting"`
}

func viewLimits(qs []backend.QueueStats) []limitView {
	v := []limitView{}
	for _, q := range qs {
		if q.Limit == nil {
			continue
		}
		l := q.Limit.Limit
		lv := limitView{
			Queue: q.Name, Limit: describeLimit(l), Concurrency: l.Concurrency, Rate: l.Rate,
			PerMs: millis(l.Per), By: l.By.String(), GroupsTotal: q.Limit.GroupsTotal, Groups: []limitGroupView{},
		}
		for _, g := range q.Limit.Groups {
			lv.Groups = append(lv.Groups, limitGroupView{Group: g.Group, Running: g.Running, Waiting: g.Waiting})
		}
		v = append(v, lv)
	}
	return v
}

// describeLimit says a limit in a few words: "5 at once, 10 per 1m0s, by
// key"; "none" for a queue whose limit was removed while slots were held.
func describeLimit(l backend.QueueLimit) string {
	var parts []string
	if l.Concurrency > 0 {
		parts = append(parts, fmt.Sprintf("%d at once", l.Concurrency))
	}
	if l.Rate > 0 {
		parts = append(parts, fmt.Sprintf("%d per %v", l.Rate, l.Per.Round(time.Millisecond)))
	}
	if len(parts) == 0 {
		return "none"
	}
	if l.By != backend.LimitByQueue {
		parts = append(parts, "by "+l.By.String())
	}
	return strings.Join(parts, ", ")
}
