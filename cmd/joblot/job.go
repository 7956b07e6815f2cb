package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// maxArgsRunes bounds the args printed by `job show`.
const maxArgsRunes = 1000

// newJobCmd is `joblot job`: one job by ID.
func newJobCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Show or cancel one job by ID",
	}
	cmd.AddCommand(newJobShowCmd(a), newJobCancelCmd(a))
	return cmd
}

func newJobShowCmd(a *app) *cobra.Command {
	var (
		queue  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "show ID --queue Q",
		Short: "Show one job wherever it is: queued, scheduled, retry, dead or in flight",
		Long: `Show one job of a queue wherever it is, with its state: queued,
scheduled, retry, dead or in_flight (claimed by a running process), and what
it recorded: its progress while it runs (joblot.SetProgress), its output
once it succeeded (joblot.SetOutput). A succeeded job is deleted: it is
shown, as succeeded, while its output is kept (a day by default).

It searches the queue's jobs in flight, then its queued, scheduled, retry and
dead jobs in turn: on a long queue this reads the whole queue.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if queue == "" {
				return fmt.Errorf("show: --queue is required (the job's queue)")
			}
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				j, set, err := in.Job(cmd.Context(), queue, args[0])
				out, oerr := in.JobOutput(cmd.Context(), queue, args[0])
				if oerr != nil && !errors.Is(oerr, backend.ErrNoOutput) && !errors.Is(oerr, errors.ErrUnsupported) {
					// The job is worth showing without it (an owner process
					// older than this CLI does not serve outputs).
					fmt.Fprintln(a.stderr, "joblot: reading the job's output:", cellN(oerr.Error(), maxErrorRunes))
				}
				if errors.Is(err, backend.ErrJobNotFound) && out != nil && out.Succeeded {
					// Deleted on success; its output tells what it did.
					j, set, err = &backend.Job{ID: args[0], Queue: queue}, setSucceeded, nil
				}
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, jobShowView{State: string(set), Job: viewJob(j), Output: viewOutput(out)})
				}
				return printJob(a.stdout, set, j, out)
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "the job's queue (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func newJobCancelCmd(a *app) *cobra.Command {
	var (
		queue  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "cancel ID --queue Q",
		Short: "Cancel one job: it does not run (again)",
		Long: `Cancel one job of a queue so that it does not run (again):

  removed   it was scheduled or waiting for a retry, and is removed now;
  queued    it is marked, and dropped when it reaches the head of its queue;
  running   the server running it cancels its context (cause
            joblot.ErrJobCancelled); unless the job returns success first,
            the attempt ends cancelled and is not retried.

A cancelled job counts as cancelled in the stats and in its batch, which
then completes but never succeeds. The queue is not searched (that would
read all of it), so an ID it does not hold is also reported "queued" while
the queue has waiting jobs: the mark changes nothing and goes when the
queue runs empty. A job that is in none of these places (finished, dead,
unknown, in an empty queue) is an error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if queue == "" {
				return fmt.Errorf("cancel: --queue is required (the job's queue)")
			}
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				r, err := in.CancelJob(cmd.Context(), queue, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, jobCancelView{JobID: args[0], Queue: queue, Action: "cancel", Result: r.String()})
				}
				what := map[joblot.CancelResult]string{
					joblot.CancelRemoved: "removed",
					joblot.CancelQueued:  "marked: dropped when it reaches the head of its queue",
					joblot.CancelRunning: "running: its server cancels it",
				}[r]
				fmt.Fprintf(a.stdout, "job %s cancelled (%s)\n", cell(args[0]), what)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "the job's queue (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// setSucceeded is the state `job show` gives a job deleted on success
// whose output is kept.
const setSucceeded backend.JobSet = "succeeded"

// maxOutputRunes bounds the output printed by `job show` (--json prints
// all of it).
const maxOutputRunes = 1000

// printOutput prints what a job recorded into t, escaped and bounded
// like every text a job carries.
func printOutput(t io.Writer, o *backend.JobOutput) {
	if o == nil {
		return
	}
	if o.HasProgress {
		p := fmt.Sprintf("%d%%", o.Progress)
		if o.Note != "" {
			p += " " + cell(o.Note)
		}
		fmt.Fprintf(t, "progress\t%s\n", p)
	}
	if o.Output != nil {
		fmt.Fprintf(t, "output\t%s\n", cellN(string(o.Output), maxOutputRunes))
	}
	if !o.UpdatedAt.IsZero() {
		fmt.Fprintf(t, "recorded\t%s\n", fmtTime(o.UpdatedAt))
	}
}

// printJob prints one job's fields, one per line, and what it recorded
// (out, nil if nothing), every stored text escaped and bounded.
func printJob(w io.Writer, set backend.JobSet, j *backend.Job, out *backend.JobOutput) error {
	t := newTable(w)
	line := func(name, v string) {
		if v != "" {
			fmt.Fprintf(t, "%s\t%s\n", name, v)
		}
	}
	tm := func(name string, at time.Time) {
		if !at.IsZero() {
			line(name, fmtTime(at))
		}
	}
	line("job", cell(j.ID))
	line("state", string(set))
	line("queue", cell(j.Queue))
	if set == setSucceeded { // deleted on success: only its output is known
		printOutput(t, out)
		return t.Flush()
	}
	line("kind", cell(j.Kind))
	line("args", cellN(string(j.Args), maxArgsRunes))
	fmt.Fprintf(t, "attempt\t%d (max retries %d)\n", j.Attempt, j.MaxRetries)
	tm("created", j.CreatedAt)
	tm("run at", j.RunAt)
	line("batch", cell(j.BatchID))
	if j.CallbackOf != "" {
		line("callback", cell(string(j.CallbackEvent))+" of batch "+cell(j.CallbackOf))
	}
	line("error class", cell(j.ErrorClass))
	line("error", cellN(j.ErrorMessage, maxErrorRunes))
	line("error group", cell(j.ErrorFingerprint))
	tm("failed", j.FailedAt)
	tm("died", j.DiedAt)
	if j.Recoveries > 0 {
		fmt.Fprintf(t, "recoveries\t%d\n", j.Recoveries)
	}
	if j.Snoozes > 0 {
		fmt.Fprintf(t, "snoozes\t%d\n", j.Snoozes)
	}
	if j.ManualRetry {
		line("manual retry", "yes")
	}
	line("meta", metaCell(j.Meta))
	printOutput(t, out)
	return t.Flush()
}
