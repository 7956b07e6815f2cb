package demo

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/joblot/joblot/backend"
)

// writeBatch prints one batch's status, error groups and callbacks.
func writeBatch(w io.Writer, br *BatchReport) {
	st := br.Status
	fmt.Fprintf(w, "== %s: batch %s (%s) — %s in %.1fs\n", br.Label, st.ID, st.Description, st.State, br.Took.Seconds())
	writeCounters(w, "   ", st)
	writeGroups(w, "   ", st)
	writeFired(w, "   ", st, br.Fired)
	for _, k := range br.Children {
		fmt.Fprintf(w, "   child batch %s (%s) — %s\n", k.ID, k.Description, k.State)
		writeCounters(w, "      ", k)
		writeGroups(w, "      ", k)
		writeFired(w, "      ", k, br.ChildFired[k.ID])
	}
	fmt.Fprintln(w)
}

func writeCounters(w io.Writer, indent string, st *backend.BatchStatus) {
	fmt.Fprintf(w, "%sjobs: %d total, %d succeeded, %d dead, %d failing, %d pending", indent, st.Total, st.Succeeded, st.Dead, st.Failing, st.Pending)
	if len(st.Children) > 0 {
		fmt.Fprintf(w, "; %d child batch(es)", len(st.Children))
	}
	fmt.Fprintln(w)
}

func writeGroups(w io.Writer, indent string, st *backend.BatchStatus) {
	if len(st.ErrorGroups) == 0 && st.OtherErrors == 0 {
		fmt.Fprintf(w, "%serror groups: none\n", indent)
		return
	}
	fmt.Fprintf(w, "%serror groups (%d):\n", indent, len(st.ErrorGroups))
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(t, "%s  FINGERPRINT\tCOUNT\tSAMPLE MESSAGE\n", indent)
	for _, g := range st.ErrorGroups {
		count := fmt.Sprint(g.Count)
		if g.Error > 0 {
			count += fmt.Sprintf("..%d", g.Count+g.Error) // kept after some of its failures went to other
		}
		fmt.Fprintf(t, "%s  %s\t%s\t%s\n", indent, g.Fingerprint, count, strings.Join(strings.Fields(g.Message), " "))
	}
	if st.OtherErrors > 0 {
		fmt.Fprintf(t, "%s  (other)\t%d\t\n", indent, st.OtherErrors)
	}
	_ = t.Flush()
}

func writeFired(w io.Writer, indent string, st *backend.BatchStatus, fired []firedCallback) {
	// In the order they can fire: death first, success last.
	rank := map[backend.CallbackEvent]int{backend.CallbackDeath: 0, backend.CallbackComplete: 1, backend.CallbackSuccess: 2}
	sort.Slice(fired, func(i, j int) bool { return rank[fired[i].Event] < rank[fired[j].Event] })
	names := make([]string, 0, len(fired))
	for _, f := range fired {
		names = append(names, fmt.Sprintf("%s (+%.1fs)", f.Event, f.At.Sub(st.CreatedAt).Seconds()))
	}
	if len(names) == 0 {
		names = append(names, "none")
	}
	fmt.Fprintf(w, "%scallbacks fired: %s\n", indent, strings.Join(names, ", "))
}

// writeMemory prints what failure tracking and batch state cost.
func writeMemory(ctx context.Context, w io.Writer, m Meter, before int64, r *Report) error {
	if m == nil {
		return nil
	}
	if km, ok := m.(BatchKeyMeter); ok {
		var ids []string
		for _, br := range r.Batches {
			ids = append(ids, br.Status.ID)
			for _, k := range br.Children {
				ids = append(ids, k.ID)
			}
		}
		bytes, err := km.BatchKeyBytes(ctx, ids)
		if err != nil {
			return fmt.Errorf("demo: measure batch keys: %w", err)
		}
		fmt.Fprintln(w, "failure tracking and batch state (MEMORY USAGE per key):")
		t := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(t, "batch\terrs (error groups)\tmeta (counters)\tbits (2 bits/job)\tall batch keys\tper job\t")
		for _, br := range r.Batches {
			sts := append([]*backend.BatchStatus{br.Status}, br.Children...)
			for _, st := range sts {
				k := bytes[st.ID]
				var all int64
				for _, v := range k {
					all += v
				}
				label := br.Label
				if st != br.Status {
					label += " (child)"
				}
				fmt.Fprintf(t, "%s\t%d B\t%d B\t%d B\t%d B\t%.2f B\t\n", label, k["errs"]+k["errc"], k["meta"], k["bits"], all, float64(all)/float64(max(st.Total, 1)))
			}
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	after, err := m.UsedMemory(ctx)
	if err != nil {
		return fmt.Errorf("demo: measure %s: %w", m.Source(), err)
	}
	var dead int64
	for _, br := range r.Batches {
		dead += br.Status.Dead
		for _, k := range br.Children {
			dead += k.Dead
		}
	}
	fmt.Fprintf(w, "%s: %d B before, %d B after (%+d B, of which the dead set's %d jobs: failed jobs keep no other per-job state)\n",
		m.Source(), before, after, after-before, dead)
	return nil
}
