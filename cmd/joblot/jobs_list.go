package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/termtext"
)

func newJobsListCmd(a *app, set backend.JobSet) *cobra.Command {
	var (
		filters jobFilterFlags
		limit   int
		cursor  string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: fmt.Sprintf("List %s jobs, page by page, with filters", set),
		Long: fmt.Sprintf(`List %s jobs matching the filters, streaming page by page (the set is
never loaded whole). --limit caps the jobs printed (0: all); when more
remain, the cursor to continue with is printed (--cursor).`, set),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return fmt.Errorf("--limit must not be negative, got %d", limit)
			}
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				f := filters.filter(set)
				f.Cursor = cursor
				var out jobLister
				if asJSON {
					out = newJSONJobLister(a.stdout)
				} else {
					out = newTableJobLister(a.stdout, set)
				}
				next, err := listJobs(cmd, in, f, limit, out)
				if err != nil {
					return err
				}
				return out.end(next)
			})
		},
	}
	filters.register(cmd.Flags())
	cmd.Flags().IntVar(&limit, "limit", 100, "most jobs to print (0: all)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue a listing where the previous one stopped")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {\"jobs\": [...], \"next\": CURSOR} (next only when more match)")
	return cmd
}

// listJobs streams up to limit jobs (0: all) matching f to out, one page
// at a time, and returns the cursor after the last job printed ("" at the
// end of the set). Each page asks for no more than what is still wanted,
// so the cursor of the last page is exactly where the listing stopped.
func listJobs(cmd *cobra.Command, in *joblot.Inspector, f backend.JobFilter, limit int, out jobLister) (string, error) {
	printed := 0
	for {
		f.Limit = joblot.DefaultPageSize
		if limit > 0 {
			f.Limit = min(f.Limit, limit-printed)
		}
		page, err := in.Page(cmd.Context(), f)
		if err != nil {
			return "", err
		}
		if err := out.page(page.Jobs); err != nil {
			return "", err
		}
		printed += len(page.Jobs)
		if page.Next == "" || (limit > 0 && printed >= limit) {
			return page.Next, nil
		}
		f.Cursor = page.Next
	}
}

// jobLister prints a listing page by page.
type jobLister interface {
	page(jobs []*backend.Job) error
	// end finishes the listing; next is the cursor to continue with.
	end(next string) error
}

// jsonJobLister writes {"jobs": [...], "next": "..."} as the pages come;
// "next" is there only when more jobs match.
type jsonJobLister struct {
	w     io.Writer
	count int
}

func newJSONJobLister(w io.Writer) *jsonJobLister { return &jsonJobLister{w: w} }

func (l *jsonJobLister) page(jobs []*backend.Job) error {
	for _, j := range jobs {
		b, err := json.MarshalIndent(viewJob(j), "    ", "  ")
		if err != nil {
			return err
		}
		sep := ",\n    "
		if l.count == 0 {
			sep = "{\n  \"jobs\": [\n    "
		}
		l.count++
		if _, err := fmt.Fprintf(l.w, "%s%s", sep, termtext.JSON(b)); err != nil {
			return err
		}
	}
	return nil
}

func (l *jsonJobLister) end(next string) error {
	jobs := "{\n  \"jobs\": []"
	if l.count > 0 {
		jobs = "\n  ]"
	}
	if next == "" {
		// The end of the set: an empty string is omitted (docs/cli-json.md).
		_, err := fmt.Fprintf(l.w, "%s\n}\n", jobs)
		return err
	}
	n, _ := json.Marshal(next)
	_, err := fmt.Fprintf(l.w, "%s,\n  \"next\": %s\n}\n", jobs, termtext.JSON(n))
	return err
}

// tableJobLister prints aligned columns, one block per page: a block is
// aligned on its own so that a long listing streams.
type tableJobLister struct {
	w     io.Writer
	set   backend.JobSet
	count int
}

func newTableJobLister(w io.Writer, set backend.JobSet) *tableJobLister {
	return &tableJobLister{w: w, set: set}
}

func (l *tableJobLister) page(jobs []*backend.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	t := newTable(l.w)
	if l.count == 0 {
		when := map[backend.JobSet]string{backend.SetScheduled: "DUE", backend.SetRetry: "FAILED", backend.SetDead: "DIED"}[l.set]
		if when == "" {
			when = "CREATED"
		}
		fmt.Fprintf(t, "ID\tQUEUE\tKIND\tATTEMPT\tSNOOZES\t%s\tBATCH\tMETA\tUNIQUE\tERROR\n", when)
	}
	for _, j := range jobs {
		fmt.Fprintf(t, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", cell(j.ID), cell(j.Queue), cell(j.Kind), j.Attempt, j.Snoozes, fmtTime(jobWhen(l.set, j)), dash(cell(j.BatchID)), dash(metaCell(j.Meta)), dash(cell(j.UniqueKey())), dash(errorCell(j.ErrorMessage, 60)))
	}
	l.count += len(jobs)
	return t.Flush()
}

func (l *tableJobLister) end(next string) error {
	if l.count == 0 {
		fmt.Fprintf(l.w, "(no %s jobs match)\n", l.set)
	}
	if next != "" {
		fmt.Fprintf(l.w, "\nmore jobs match: continue with --cursor %s\n", next)
	}
	return nil
}

// jobWhen is the time that matters for a job of set.
func jobWhen(set backend.JobSet, j *backend.Job) time.Time {
	switch set {
	case backend.SetScheduled:
		return j.RunAt
	case backend.SetRetry:
		return j.FailedAt
	case backend.SetDead:
		return j.DiedAt
	}
	return j.CreatedAt
}

// metaCell is a job's metadata on one bounded, escaped line: k=v pairs
// sorted by key.
func metaCell(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + m[k])
		if b.Len() > 200 {
			break // the cell shows 40 runes; stop copying long metadata
		}
	}
	return oneLine(b.String(), 40)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
