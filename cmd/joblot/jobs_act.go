package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// deadRetryHelp says what a retry by hand gives a dead job: the backends
// keep its attempt count (Inspector.RetryJobs).
const deadRetryHelp = `A dead job retried by hand keeps its attempt count: it gets one new
attempt and goes back to the dead set if that fails (a job that died with
retries left, killed or as a poison pill, has those retries again).`

// jobAction is what `retry` and `delete` do to jobs of a set.
type jobAction struct {
	name, done, short string
	one               func(in *joblot.Inspector, ctx context.Context, set backend.JobSet, queue, id string) (bool, error)
	many              func(in *joblot.Inspector, ctx context.Context, f backend.JobFilter) (int, error)
}

var (
	actRetry = jobAction{
		name: "retry", done: "retried",
		short: "Move jobs back to their queue now (one by ID, those matching filters, or --all)",
		one:   (*joblot.Inspector).RetryJob, many: (*joblot.Inspector).RetryJobs,
	}
	actDelete = jobAction{
		name: "delete", done: "deleted",
		short: "Delete jobs (one by ID, those matching filters, or --all); batch jobs count as removed",
		one:   (*joblot.Inspector).DeleteJob, many: (*joblot.Inspector).DeleteJobs,
	}
)

func newJobsActCmd(a *app, set backend.JobSet, act jobAction) *cobra.Command {
	var (
		filters jobFilterFlags
		all     bool
		asJSON  bool
	)
	long := act.short + `.

With an ID, acts on that job (--queue names its queue; without it the set
is searched). Without one, acts on every job matching the filters, or on
the whole set with --all. Refuses to run with none of these.`
	if set == backend.SetDead && act.name == actRetry.name {
		long += "\n\n" + deadRetryHelp
	}
	cmd := &cobra.Command{
		Use:   act.name + " [ID]",
		Short: act.short,
		Long:  long,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			switch {
			case len(args) == 1 && (all || filters.batch != "" || filters.kind != "" || filters.errorText != "" || filters.errorGroup != ""):
				return fmt.Errorf("%s: give a job ID or filters/--all, not both (--queue may name the job's queue)", act.name)
			case len(args) == 0 && all && filters.any():
				return fmt.Errorf("%s: --all takes no filters (drop --all to act on the matching jobs only)", act.name)
			case len(args) == 0 && !all && !filters.any():
				return fmt.Errorf("%s: say which %s jobs: a job ID, filters (--queue, --batch, --kind, --error, --error-group) or --all", act.name, set)
			}
			return a.inspect(ctx, func(in *joblot.Inspector, _ *store) error {
				res := jobActView{Action: act.name, Set: string(set)}
				if len(args) == 1 {
					if err := actOne(ctx, in, set, act, filters.queue, args[0]); err != nil {
						return err
					}
					res.Count = 1
				} else {
					// One pass: the Inspector reads each page before acting on
					// it, and the backends' cursors continue after the last
					// listed job, so acting skips nothing.
					n, err := act.many(in, ctx, filters.filter(set))
					res.Count = n
					if err != nil {
						return fmt.Errorf("%s %s jobs: %w (%d %s before the error)", act.name, set, err, n, act.done)
					}
				}
				if asJSON {
					return writeJSON(a.stdout, res)
				}
				fmt.Fprintf(a.stdout, "%d %s %s\n", res.Count, set, plural(res.Count, "job "+act.done, "jobs "+act.done))
				return nil
			})
		},
	}
	filters.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "act on every job of the set")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// errJobNotFound: the job is not in the set (it ran, moved or never was).
var errJobNotFound = errors.New("job not found")

// actOne acts on one job; without its queue, it finds it by listing.
func actOne(ctx context.Context, in *joblot.Inspector, set backend.JobSet, act jobAction, queue, id string) error {
	if queue == "" {
		for j, err := range in.Jobs(ctx, backend.JobFilter{Set: set}) {
			if err != nil {
				return err
			}
			if j.ID == id {
				queue = j.Queue
				break
			}
		}
		if queue == "" {
			return fmt.Errorf("%s: no %s job %s: %w", act.name, set, id, errJobNotFound)
		}
	}
	ok, err := act.one(in, ctx, set, queue, id)
	if err != nil {
		return fmt.Errorf("%s %s job %s: %w", act.name, set, id, err)
	}
	if !ok {
		return fmt.Errorf("%s: no %s job %s in queue %s: %w", act.name, set, id, queue, errJobNotFound)
	}
	return nil
}

// plural picks the singular or plural phrase for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
