package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

func newBatchVerifyCmd(a *app) *cobra.Command {
	var repair, asJSON bool
	cmd := &cobra.Command{
		Use:   "verify ID",
		Short: "Recount a batch from its jobs and its state; --repair fixes what disagrees",
		Long: `Recount a batch from where its jobs are (queued, scheduled, retrying, dead,
in flight) and from its per-job state bits and counters, and list every
disagreement: a fault that kept one write and lost the other (on Redis
Cluster a batch's state and its jobs live on different masters) leaves
some. Exit code 1 when there is one and --repair was not given.

--repair writes the repaired state: counters follow the bits; a job in the
retry set is failing, one in the dead set is dead (its death callback fires
if it has not), one found nowhere is removed (its success cannot be proven);
the callbacks that makes due fire, once. On Redis the repair is refused if
the batch changed meanwhile: run it again. Jobs that move between sets
without a batch event (fetched, moved due) can hide from the scan, so
repair a batch whose workers are stopped or that has nothing left to run.
It reads every job of the store.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				res, err := in.VerifyBatch(cmd.Context(), backend.VerifyBatchParams{ID: args[0], Repair: repair})
				if err != nil {
					return err
				}
				if asJSON {
					if err := writeJSON(a.stdout, viewVerify(res)); err != nil {
						return err
					}
				} else {
					printVerify(a.stdout, res)
				}
				if !res.Clean() && !res.Repaired {
					return &exitError{code: 1}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "write the repaired counters and bits, and fire the callbacks they make due")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// counterOrder is the order counters print in.
var counterOrder = []string{"total", "pending", "failing", "succeeded", "dead", "discarded", "cancelled", "removed"}

// printVerify prints a verification: counters, then one line per problem.
// Job ids and queue names come from jobs: every one goes through cell.
func printVerify(w io.Writer, r backend.VerifyBatchResult) {
	fmt.Fprintf(w, "batch %s: %d jobs, %d found in queues, sets or in flight\n", cell(r.ID), r.Total, r.Found)
	t := newTable(w)
	fmt.Fprintln(t, "  COUNTER\tSTORED\tRECOUNTED")
	for _, k := range counterOrder {
		mark := ""
		if r.Counters[k] != r.Want[k] {
			mark = "  *"
		}
		fmt.Fprintf(t, "  %s\t%d\t%d%s\n", k, r.Counters[k], r.Want[k], mark)
	}
	_ = t.Flush()
	if r.Clean() {
		fmt.Fprintln(w, "ok: the batch agrees with its jobs")
		return
	}
	fmt.Fprintf(w, "%d problems:\n", r.ProblemCount)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", problemLine(p))
	}
	if n := r.ProblemCount - len(r.Problems); n > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", n)
	}
	switch {
	case r.Repaired:
		fired := "no callback fired"
		if len(r.Fired) > 0 {
			names := make([]string, len(r.Fired))
			for i, ev := range r.Fired {
				names[i] = cell(string(ev))
			}
			fired = "fired: " + fmt.Sprint(names)
		}
		fmt.Fprintf(w, "repaired (%s)\n", fired)
	case slices.ContainsFunc(r.Problems, repairable):
		fmt.Fprintln(w, "not repaired: run again with --repair")
	default:
		fmt.Fprintln(w, "nothing the repair would change")
	}
}

// repairable reports whether --repair changes something for p.
func repairable(p backend.BatchProblem) bool {
	return p.Kind == backend.ProblemCounter || p.State != p.Repaired
}

// problemLine describes one problem (fixed words, numbers, and escaped job
// strings).
func problemLine(p backend.BatchProblem) string {
	if p.Kind == backend.ProblemCounter {
		return fmt.Sprintf("counter %s is %d, the bits say %d", cell(p.Counter), p.Have, p.Want)
	}
	where := "found nowhere"
	if p.Set != "" {
		where = fmt.Sprintf("found %s in queue %s", cell(string(p.Set)), cell(p.Queue))
	}
	line := fmt.Sprintf("%s: job #%d", cell(string(p.Kind)), p.Index)
	if p.JobID != "" {
		line += " (" + cell(p.JobID) + ")"
	}
	line += " " + where
	if p.State != "" {
		line += ", state " + cell(p.State)
		if p.Repaired != p.State {
			line += " → " + cell(p.Repaired)
		}
	}
	return line
}

// verifyView is backend.VerifyBatchResult.
type verifyView struct {
	BatchID      string                  `json:"batch_id"`
	Total        int64                   `json:"total"`
	Found        int64                   `json:"found"`
	Counters     map[string]int64        `json:"counters"`
	Recounted    map[string]int64        `json:"recounted"`
	Problems     []verifyProblemView     `json:"problems"`
	ProblemCount int                     `json:"problem_count"`
	Clean        bool                    `json:"clean"`
	Repaired     bool                    `json:"repaired"`
	Fired        []backend.CallbackEvent `json:"fired"`
}

// verifyProblemView is backend.BatchProblem.
type verifyProblemView struct {
	Kind     string `json:"kind"`
	Index    *int64 `json:"index,omitempty"`
	JobID    string `json:"job_id,omitempty"`
	Queue    string `json:"queue,omitempty"`
	Set      string `json:"set,omitempty"`
	State    string `json:"state,omitempty"`
	Repaired string `json:"repaired_state,omitempty"`
	Counter  string `json:"counter,omitempty"`
	Stored   *int64 `json:"stored,omitempty"`
	Want     *int64 `json:"recounted,omitempty"`
}

func viewVerify(r backend.VerifyBatchResult) verifyView {
	v := verifyView{
		BatchID: r.ID, Total: r.Total, Found: r.Found, Counters: r.Counters, Recounted: r.Want,
		Problems: []verifyProblemView{}, ProblemCount: r.ProblemCount, Clean: r.Clean(),
		Repaired: r.Repaired, Fired: nonNil(r.Fired),
	}
	for _, p := range r.Problems {
		pv := verifyProblemView{Kind: string(p.Kind), JobID: p.JobID, Queue: p.Queue, Set: string(p.Set), State: p.State, Repaired: p.Repaired}
		if p.Kind == backend.ProblemCounter {
			pv.Counter, pv.Stored, pv.Want = p.Counter, &p.Have, &p.Want
		} else {
			pv.Index = &p.Index
		}
		v.Problems = append(v.Problems, pv)
	}
	return v
}
