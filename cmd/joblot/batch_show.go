package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

func newBatchShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a batch's counters, times, children, callbacks and error groups",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				st, err := in.Batch(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, viewBatch(st))
				}
				return printBatchStatus(a.stdout, st)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the batch status as JSON")
	return cmd
}

// printBatchStatus prints everything known about a batch.
func printBatchStatus(w io.Writer, b *backend.BatchStatus) error {
	t := newTable(w)
	fmt.Fprintf(t, "batch\t%s\n", cell(b.ID))
	if b.Description != "" {
		fmt.Fprintf(t, "description\t%s\n", cell(b.Description))
	}
	if b.ParentID != "" {
		fmt.Fprintf(t, "parent\t%s\n", cell(b.ParentID))
	}
	// The summary, not the bare state: a complete batch may still have
	// jobs retrying ("complete, 548 retrying"). It holds only fixed words
	// and numbers.
	fmt.Fprintf(t, "state\t%s\n", b.Summary())
	fmt.Fprintf(t, "jobs\ttotal %d: pending %d, failing %d, succeeded %d, dead %d, discarded %d, cancelled %d, removed %d\n",
		b.Total, b.Pending, b.Failing, b.Succeeded, b.Dead, b.Discarded, b.Cancelled, b.Removed)
	for _, tm := range []struct {
		name string
		at   interface{ IsZero() bool }
		s    string
	}{
		{"created", b.CreatedAt, fmtTime(b.CreatedAt)},
		{"committed", b.CommittedAt, fmtTime(b.CommittedAt)},
		{"complete", b.CompleteAt, fmtTime(b.CompleteAt)},
		{"settled", b.SettledAt, fmtTime(b.SettledAt)},
		{"success", b.SuccessAt, fmtTime(b.SuccessAt)},
		{"death", b.DeathAt, fmtTime(b.DeathAt)},
		{"cancelled", b.CancelledAt, fmtTime(b.CancelledAt)},
		{"expires", b.ExpiresAt, fmtTime(b.ExpiresAt)},
	} {
		if !tm.at.IsZero() {
			fmt.Fprintf(t, "%s\t%s\n", tm.name, tm.s)
		}
	}
	if len(b.Children) > 0 {
		fmt.Fprintf(t, "children\t%s\n", cellN(strings.Join(b.Children, ", "), maxListRunes))
	}
	events := make([]string, 0, len(b.Callbacks))
	for ev, cb := range b.Callbacks {
		if cb != nil {
			events = append(events, fmt.Sprintf("%s → %s (queue %s)", cell(string(ev)), cell(cb.Kind), cell(cb.Queue)))
		}
	}
	sort.Strings(events)
	if len(events) > 0 {
		fmt.Fprintf(t, "callbacks\t%s\n", strings.Join(events, "; "))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	return printErrorGroups(w, b)
}

// printErrorGroups prints a batch's error groups, most frequent first. A
// group kept after some of its failures were counted in "other" shows its
// count as a range: at least what it counted, at most that plus its Error.
func printErrorGroups(w io.Writer, b *backend.BatchStatus) error {
	if len(b.ErrorGroups) == 0 && b.OtherErrors == 0 {
		fmt.Fprintln(w, "error groups: none")
		return nil
	}
	fmt.Fprintln(w, "error groups:")
	t := newTable(w)
	fmt.Fprintln(t, "  FINGERPRINT\tCOUNT\tKIND\tCLASS\tSAMPLE MESSAGE")
	ranged := false
	for _, g := range b.ErrorGroups {
		count := strconv.FormatInt(g.Count, 10)
		if g.Error > 0 {
			count += ".." + strconv.FormatInt(g.Count+g.Error, 10)
			ranged = true
		}
		fmt.Fprintf(t, "  %s\t%s\t%s\t%s\t%s\n", cell(g.Fingerprint), count, cell(g.Kind), cell(g.Class), oneLine(g.Message, 80))
	}
	if b.OtherErrors > 0 {
		fmt.Fprintf(t, "  (other)\t%d\t\t\tfailures outside the %d groups kept (the most frequent are kept)\n", b.OtherErrors, len(b.ErrorGroups))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if ranged {
		fmt.Fprintln(w, "  a count a..b: the group was kept after up to b-a of its failures had been counted in other")
	}
	return nil
}

// oneLine flattens a message's runs of white space (newlines included)
// into single spaces and makes it a table cell of at most max runes.
func oneLine(s string, max int) string {
	return cellN(strings.Join(strings.Fields(s), " "), max)
}
