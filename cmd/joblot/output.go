package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/joblot/joblot/internal/termtext"
)

// Bounds of stored text in human-readable output. JSON output carries it
// whole: encoding/json escapes control characters itself.
const (
	// maxCellRunes bounds a table cell holding a name, an id or a
	// description.
	maxCellRunes = 100
	// maxListRunes bounds a cell holding a list (a batch's children, a
	// process's queues).
	maxListRunes = 300
	// maxErrorRunes bounds an error message printed on stderr.
	maxErrorRunes = 2000
)

// cell makes stored text safe for a table cell or a line of output: every
// control character, invalid UTF-8, newline and tab escaped, and the whole
// cut to maxCellRunes. Every human-readable output of stored text (queue
// names, kinds, ids, descriptions, messages, process names and hosts, key
// names) goes through it or through cellN.
func cell(s string) string { return termtext.Cell(s, maxCellRunes) }

// cellN is cell cut to max runes.
func cellN(s string, max int) string { return termtext.Cell(s, max) }

// writeJSON prints v as one indented JSON object, with the characters a
// terminal acts on escaped (termtext.JSON), since JSON output is read on
// terminals too.
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(termtext.JSON(b.Bytes()))
	return err
}

// newTable returns a tabwriter for aligned columns; call Flush.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// isTerminal reports whether w is a terminal; progress bars are drawn
// only then.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// bar is a progress bar that does nothing when output is not a terminal.
type bar struct{ pb *progressbar.ProgressBar }

// newBar returns a progress bar of jobs on w when w is a terminal and
// show is set.
func newBar(w io.Writer, show bool, total int64, desc string) *bar {
	return newUnitBar(w, show, total, desc, "jobs")
}

// newUnitBar is newBar counting unit (keys, ...).
func newUnitBar(w io.Writer, show bool, total int64, desc, unit string) *bar {
	if !show || !isTerminal(w) {
		return &bar{}
	}
	return &bar{pb: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

// Set moves the bar to n.
func (b *bar) Set(n int64) {
	if b.pb != nil {
		_ = b.pb.Set64(n)
	}
}

// SetTotal changes the bar's total (a nested batch grows).
func (b *bar) SetTotal(n int64) {
	if b.pb != nil && b.pb.GetMax64() != n {
		b.pb.ChangeMax64(n)
	}
}

// Describe changes the text before the bar.
func (b *bar) Describe(desc string) {
	if b.pb != nil {
		b.pb.Describe(desc)
	}
}

// Finish completes the bar.
func (b *bar) Finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}

// fmtTime formats a time for tables: "-" when zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// errorCell shows an error message in max runes on one line. A longer one
// keeps its start and its end around an ellipsis: wrapped errors put the
// context first and the cause last, and rows that differ only at the end
// (which request timed out, which card was declined) must not look alike.
func errorCell(msg string, max int) string {
	return termtext.Middle(strings.Join(strings.Fields(msg), " "), max)
}
