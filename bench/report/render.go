package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Markers of the generated section of BENCHMARKS.md.
const (
	beginMarker = "<!-- bench:generated:begin (bash bench/compare.sh --update-docs rewrites this section) -->"
	endMarker   = "<!-- bench:generated:end -->"
)

type machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	RAM      string `json:"ram"`
	OS       string `json:"os"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		m.RAM = fmt.Sprintf("%.1f GiB", kb/(1<<20))
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// cell formats a figure with the given number of decimals, or "n/a".
func cell(f figure, decimals int) string {
	if f.Value == nil {
		return "n/a"
	}
	return commas(*f.Value, decimals)
}

func commas(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

func ratio(num, den figure) string {
	if num.Value == nil || den.Value == nil || *den.Value == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f×", *num.Value / *den.Value)
}

func find(rep *report, name string) (systemFigures, bool) {
	for _, s := range rep.Systems {
		if s.System == name {
			return s, true
		}
	}
	return systemFigures{}, false
}

// renderTables renders the throughput/bytes table and the latency/idle table,
// followed by the reasons for every n/a.
func renderTables(rep *report) string {
	var b strings.Builder
	plain, _ := find(rep, "joblot")
	batches, haveBatches := find(rep, "joblot, batches of 10,000")
	fmt.Fprintf(&b, "%s no-op jobs per throughput run; medians of %d round(s).\n\n", commas(float64(rep.Jobs), 0), rep.Rounds)
	b.WriteString("| system | enqueue/s | process/s | bytes/queued job | bytes/dead job | bytes/retrying job beyond queued | joblot process/s ÷ this |")
	if haveBatches {
		b.WriteString(" joblot with batches ÷ this |")
	}
	b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|")
	if haveBatches {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, s := range rep.Systems {
		dead := cell(s.BytesPerDead, 0)
		if s.BytesPerDead.Value != nil && s.DeadRetained.Value != nil {
			dead += fmt.Sprintf(" (%s kept)", commas(*s.DeadRetained.Value, 0))
		}
		bytesQueued := cell(s.BytesPerQueued, 0)
		if s.BatchBookkeepingBytes.Value != nil {
			bytesQueued += fmt.Sprintf(" (+%s batch)", commas(*s.BatchBookkeepingBytes.Value, 2))
		}
		isJoblot := strings.HasPrefix(s.System, "joblot")
		r1, r2 := ratio(plain.ProcessPerSec, s.ProcessPerSec), ratio(batches.ProcessPerSec, s.ProcessPerSec)
		if isJoblot {
			r1, r2 = "—", "—"
		}
		if strings.Contains(s.System, "batch") {
			dead = "—"
		}
		retrying := cell(s.BytesPerRetrying, 0)
		if strings.Contains(s.System, "batch") {
			retrying = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |", s.System, cell(s.EnqueuePerSec, 0),
			cell(s.ProcessPerSec, 0), bytesQueued, dead, retrying, r1)
		if haveBatches {
			fmt.Fprintf(&b, " %s |", r2)
		}
		b.WriteString("\n")
	}

	b.WriteString("\nOpen-loop latency (planned enqueue instant → job start, at the offered rate of the command) and Redis commands of an idle worker process, one run each.\n\n")
	b.WriteString("| system | p50 ms | p99 ms | p999 ms | achieved jobs/s | idle process: Redis calls/s |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range rep.Systems {
		if strings.Contains(s.System, "batch") {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", s.System, cell(s.LatencyP50Ms, 2), cell(s.LatencyP99Ms, 2),
			cell(s.LatencyP999Ms, 2), cell(s.AchievedPerSec, 0), cell(s.IdleCallsPerSec, 1))
	}

	var notes []string
	seen := map[string]bool{}
	for _, s := range rep.Systems {
		for _, f := range []figure{s.EnqueuePerSec, s.ProcessPerSec, s.BytesPerQueued, s.BytesPerDead, s.BytesPerRetrying,
			s.LatencyP50Ms, s.IdleCallsPerSec} {
			key := s.System + ": " + f.NA
			if f.NA != "" && f.NA != "n/a: not run" && !seen[key] {
				seen[key] = true
				notes = append(notes, "- "+key)
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\nn/a:\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

// chartData is the gnuplot input: system, process/s, enqueue/s ("?" = none).
func chartData(rep *report) string {
	var b strings.Builder
	b.WriteString("# system process_per_sec enqueue_per_sec\n")
	val := func(f figure) string {
		if f.Value == nil {
			return "?"
		}
		return strconv.FormatFloat(*f.Value, 'f', 0, 64)
	}
	for _, s := range rep.Systems {
		fmt.Fprintf(&b, "%q %s %s\n", s.System, val(s.ProcessPerSec), val(s.EnqueuePerSec))
	}
	return b.String()
}

// renderDocs renders the generated section of BENCHMARKS.md.
func renderDocs(rep *report, table, chartRel string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Produced on %s by:\n\n```sh\n%s\n```\n\n", time.Now().UTC().Format("2006-01-02"), rep.Command)
	fmt.Fprintf(&b, "Machine: %d CPUs (%s), %s RAM, %s; Redis on the same box.\n\n", rep.Machine.CPUs, rep.Machine.CPUModel,
		rep.Machine.RAM, rep.Machine.OS)
	b.WriteString("Versions:")
	for _, name := range []string{"redis", "go", "asynq", "ruby", "sidekiq", "node", "bullmq", "joblot"} {
		if v, ok := rep.Versions[name]; ok {
			fmt.Fprintf(&b, " %s %s;", name, v)
		}
	}
	b.WriteString("\n\n" + table + "\n")
	fmt.Fprintf(&b, "![process/s and enqueue/s per system](%s)\n", chartRel)
	return b.String()
}

// updateDocs replaces what lies between the markers of path with section.
func updateDocs(path, section string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	begin := bytes.Index(doc, []byte(beginMarker))
	end := bytes.Index(doc, []byte(endMarker))
	if begin < 0 || end < begin {
		return fmt.Errorf("%s: no generated section (markers %q … %q)", path, beginMarker, endMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:begin+len(beginMarker)])
	out.WriteString("\n" + section)
	out.Write(doc[end:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}
