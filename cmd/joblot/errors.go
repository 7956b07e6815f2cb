package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// defaultErrorGroupsLimit is how many error groups `joblot errors` prints
// unless --limit says otherwise.
const defaultErrorGroupsLimit = 50

func newErrorsCmd(a *app) *cobra.Command {
	var (
		f      backend.ErrorGroupFilter
		since  time.Duration
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "errors",
		Short: "Failures grouped by fingerprint per queue, across batches, over the last hours",
		Long: fmt.Sprintf(`Failures grouped by error fingerprint per queue, across batches and jobs
without a batch: each recorded failure (a retry or a death, poison pills
included) counts once, in its queue's bucket of the hour. Buckets are kept
%v after their hour and hold %d groups each; further fingerprints count
as "other". Groups are listed most frequent first, with the commands that
list their jobs in the dead and retry sets (--error-group).

--since counts whole hours: a group is shown when an hour it failed in
holds a failure within the period, and counts all of that hour.`, backend.DefaultErrorGroupRetention, backend.DefaultErrorGroupsPerHour),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since < 0 {
				return fmt.Errorf("--since must not be negative, got %v", since)
			}
			if f.Limit < 0 {
				return fmt.Errorf("--limit must not be negative, got %d", f.Limit)
			}
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				if since > 0 {
					f.Since = time.Now().Add(-since)
				}
				gs, err := in.ErrorGroups(cmd.Context(), f)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, viewErrorGroups(gs))
				}
				return printQueueErrorGroups(a.stdout, gs)
			})
		},
	}
	cmd.Flags().StringVar(&f.Queue, "queue", "", "only groups of this queue")
	cmd.Flags().StringVar(&f.Kind, "kind", "", "only groups of this job kind (no \"other\" rows: they carry no kind)")
	cmd.Flags().DurationVar(&since, "since", 0, "only failures of this last period, in whole hours (e.g. 2h; 0: every hour kept)")
	cmd.Flags().IntVar(&f.Limit, "limit", defaultErrorGroupsLimit, "most groups to print (0: all); \"other\" rows come on top")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {\"groups\": [...]}")
	return cmd
}

// printQueueErrorGroups prints error groups as a table, then the commands
// that list each group's jobs.
func printQueueErrorGroups(w io.Writer, gs []backend.ErrorGroupStat) error {
	if len(gs) == 0 {
		fmt.Fprintln(w, "no failures recorded in the hours kept")
		return nil
	}
	t := newTable(w)
	fmt.Fprintln(t, "#\tQUEUE\tCOUNT\tKIND\tCLASS\tFIRST SEEN\tLAST SEEN\tSAMPLE MESSAGE")
	n := 0
	for _, g := range gs {
		if g.Other {
			fmt.Fprintf(t, "\t%s\t%d\t(other)\t\t%s\t%s\tfailures beyond the groups kept per hour\n", cell(g.Queue), g.Count, fmtTime(g.FirstSeen), fmtTime(g.LastSeen))
			continue
		}
		n++
		fmt.Fprintf(t, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", n, cell(g.Queue), g.Count, cell(g.Kind), cell(g.Class), fmtTime(g.FirstSeen), fmtTime(g.LastSeen), oneLine(g.Message, 80))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	fmt.Fprintln(w, "\njobs of each group (dead set, retry set):")
	n = 0
	for _, g := range gs {
		if g.Other {
			continue
		}
		n++
		dead, retries := groupCommands(g)
		fmt.Fprintf(w, "%d  %s\n   %s\n", n, cellN(dead, maxListRunes), cellN(retries, maxListRunes))
	}
	return nil
}

// groupCommands are the commands that list a group's jobs in the dead and
// the retry set.
func groupCommands(g backend.ErrorGroupStat) (dead, retries string) {
	args := " list --queue " + shellQuote(g.Queue) + " --error-group " + shellQuote(g.Fingerprint)
	return "joblot dead" + args, "joblot retries" + args
}

// shellQuote makes s one word of a POSIX shell command: as is when it
// holds only characters no shell acts on, else in single quotes.
func shellQuote(s string) string {
	plain := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-.,:/@%+=", c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errorGroupsView is what `joblot errors --json` prints.
type errorGroupsView struct {
	Groups []queueErrorGroupView `json:"groups"`
}

// queueErrorGroupView is backend.ErrorGroupStat.
type queueErrorGroupView struct {
	Queue       string     `json:"queue"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	Kind        string     `json:"kind,omitempty"`
	Class       string     `json:"class,omitempty"`
	Message     string     `json:"message,omitempty"`
	JobID       string     `json:"job_id,omitempty"`
	Count       int64      `json:"count"`
	FirstSeenAt *time.Time `json:"first_seen_at,omitempty"`
	LastSeenAt  *time.Time `json:"last_seen_at,omitempty"`
	// Other marks a queue's failures beyond the groups kept per hour.
	Other bool `json:"other"`
	// Hint is the commands that list the group's jobs (not on other rows).
	Hint string `json:"hint,omitempty"`
}

func viewErrorGroups(gs []backend.ErrorGroupStat) errorGroupsView {
	v := errorGroupsView{Groups: make([]queueErrorGroupView, 0, len(gs))}
	for _, g := range gs {
		gv := queueErrorGroupView{
			Queue: g.Queue, Fingerprint: g.Fingerprint, Kind: g.Kind, Class: g.Class, Message: g.Message, JobID: g.JobID,
			Count: g.Count, FirstSeenAt: jsonTime(g.FirstSeen), LastSeenAt: jsonTime(g.LastSeen), Other: g.Other,
		}
		if !g.Other {
			dead, retries := groupCommands(g)
			gv.Hint = dead + "; " + retries
		}
		v.Groups = append(v.Groups, gv)
	}
	return v
}
