package memreport

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/joblot/joblot/internal/termtext"
)

// maxKeyRunes bounds a key name in Format's tables.
const maxKeyRunes = 120

// Format writes r as aligned tables: the families that hold keys, biggest
// first, then the biggest keys of each, then the totals.
func Format(w io.Writer, r *Result) error {
	mode := "exact"
	if r.Sampled {
		mode = fmt.Sprintf("sampled (%d of %d keys measured, seed %d, ± = 95%% bound)", r.Measured, r.Scanned, r.Seed)
	}
	if _, err := fmt.Fprintf(w, "used_memory %s on %d node(s), %d keys, %s, %s\n\n",
		HumanBytes(r.UsedMemory), r.Nodes, r.DBSize, mode, r.Elapsed.Round(1e6)); err != nil {
		return err
	}
	fams := slices.Clone(r.Families)
	fams = slices.DeleteFunc(fams, func(f FamilyReport) bool { return f.Keys == 0 })
	slices.SortStableFunc(fams, func(a, b FamilyReport) int { return cmp.Compare(b.Bytes, a.Bytes) })

	t := table{right: []bool{false, true, true, true, true, false}}
	t.add("FAMILY", "KEYS", "BYTES", "±95%", "SHARE", "PATTERN")
	for _, f := range fams {
		name := string(f.Family)
		if f.Legacy {
			name += " (legacy)"
		}
		t.add(name, fmt.Sprint(f.Keys), HumanBytes(f.Bytes), errText(f.BytesError), share(f.Share), f.Pattern)
	}
	t.add("keys total", fmt.Sprint(r.Scanned), HumanBytes(r.KeyBytes), errText(r.KeyBytesError), share(ratio(r.KeyBytes, r.UsedMemory)), "")
	t.add("unattributed", "", HumanBytes(r.Unattributed), "", share(ratio(r.Unattributed, r.UsedMemory)), "server overhead, not in any key")
	if err := t.write(w); err != nil {
		return err
	}

	any := false
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fams {
		for i, k := range f.Top {
			if !any {
				fmt.Fprintln(tw, "\nBIGGEST KEYS\t\t")
				any = true
			}
			label := ""
			if i == 0 {
				label = string(f.Family)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", label, HumanBytes(k.Bytes), termtext.Cell(k.Key, maxKeyRunes))
		}
	}
	return tw.Flush()
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func share(s float64) string { return fmt.Sprintf("%.1f%%", 100*s) }

func errText(e int64) string {
	if e == 0 {
		return ""
	}
	return "±" + HumanBytes(e)
}

// HumanBytes formats n with a binary unit (B, KiB, MiB, GiB, TiB).
func HumanBytes(n int64) string {
	const unit = 1024
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprintf("%d B", n)
	if n >= unit {
		div, exp := int64(unit), 0
		for m := n / unit; m >= unit && exp < 3; m /= unit {
			div *= unit
			exp++
		}
		s = fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
	}
	if neg {
		s = "-" + s
	}
	return s
}

// table writes rows in aligned columns, numbers right-aligned.
type table struct {
	right []bool
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	width := make([]int, len(t.right))
	for _, row := range t.rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
			line.WriteString("  ")
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
