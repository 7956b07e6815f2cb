package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// roundResult is what one system did in one round: N jobs enqueued in one
// phase, then all N worked off in a second phase.
type roundResult struct {
	Jobs        int           `json:"jobs"`
	Enqueue     time.Duration `json:"enqueue_ns"`
	Process     time.Duration `json:"process_ns"`
	BytesBefore int64         `json:"file_bytes_before"`
	BytesAfter  int64         `json:"file_bytes_after"`
	// ProcessDiag is the CPU and GC of the processing phase.
	ProcessDiag phaseDiag `json:"process_diag"`
	// Commits, CommitTime and CommitRound are joblot's group commits
	// during the processing phase (bolt.CommitStats): how many, the time
	// spent in the commits themselves (writes and fsyncs), and the time
	// the commit loop was busy.
	Commits     int64         `json:"commits,omitempty"`
	CommitTime  time.Duration `json:"commit_ns,omitempty"`
	CommitRound time.Duration `json:"commit_round_ns,omitempty"`
	CommitWrite time.Duration `json:"commit_write_ns,omitempty"`
	Pages       int64         `json:"pages_written,omitempty"`
	// FsyncBefore is the median 4 KiB write+fsync measured just before
	// the round, to tell the disk's state then.
	FsyncBefore time.Duration `json:"fsync_before_ns,omitempty"`
}

// diagLine describes the processing phase of r for the progress output.
func (r roundResult) diagLine() string {
	s := fmt.Sprintf("fsync before %v; cpu %.2fs (%.0f%% of a core), %d GCs", r.FsyncBefore.Round(time.Microsecond), r.ProcessDiag.CPU.Seconds(),
		100*r.ProcessDiag.CPU.Seconds()/max(r.Process.Seconds(), 1e-9), r.ProcessDiag.GCs)
	if r.Commits > 0 {
		n := time.Duration(r.Commits)
		s += fmt.Sprintf("; %d commits, %.0f jobs and %.1f pages a commit, commit %v (write+fsync %v), loop busy %.0f%%", r.Commits,
			float64(r.Jobs)/float64(r.Commits), float64(r.Pages)/float64(r.Commits),
			(r.CommitTime / n).Round(time.Microsecond), (r.CommitWrite / n).Round(time.Microsecond),
			100*r.CommitRound.Seconds()/max(r.Process.Seconds(), 1e-9))
	}
	return s
}

// EnqueuePerSec is the bulk insert rate.
func (r roundResult) EnqueuePerSec() float64 { return rate(r.Jobs, r.Enqueue) }

// ProcessPerSec is the rate at which queued jobs were run and durably
// marked done (until the client/server stopped with every result stored).
func (r roundResult) ProcessPerSec() float64 { return rate(r.Jobs, r.Process) }

// EndToEndPerSec is N over enqueue plus process time.
func (r roundResult) EndToEndPerSec() float64 { return rate(r.Jobs, r.Enqueue+r.Process) }

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// summary is the median over rounds of one system.
type summary struct {
	System         string        `json:"system"`
	Jobs           int           `json:"jobs"`
	EnqueuePerSec  float64       `json:"enqueue_per_sec"`
	ProcessPerSec  float64       `json:"process_per_sec"`
	EndToEndPerSec float64       `json:"end_to_end_per_sec"`
	BytesBefore    int64         `json:"file_bytes_before"`
	BytesAfter     int64         `json:"file_bytes_after"`
	Rounds         []roundResult `json:"rounds"`
}

func summarize(system string, rounds []roundResult) summary {
	s := summary{System: system, Rounds: rounds}
	if len(rounds) == 0 {
		return s
	}
	s.Jobs = rounds[0].Jobs
	s.EnqueuePerSec = median(rounds, roundResult.EnqueuePerSec)
	s.ProcessPerSec = median(rounds, roundResult.ProcessPerSec)
	s.EndToEndPerSec = median(rounds, roundResult.EndToEndPerSec)
	s.BytesBefore = int64(median(rounds, func(r roundResult) float64 { return float64(r.BytesBefore) }))
	s.BytesAfter = int64(median(rounds, func(r roundResult) float64 { return float64(r.BytesAfter) }))
	return s
}

// median of f over rounds (the mean of the middle two for an even count).
func median(rounds []roundResult, f func(roundResult) float64) float64 {
	vs := make([]float64, len(rounds))
	for i, r := range rounds {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	m := len(vs) / 2
	if len(vs)%2 == 1 {
		return vs[m]
	}
	return (vs[m-1] + vs[m]) / 2
}

// writeTable prints the medians as a markdown table and the ratio of the
// first system to the second.
func writeTable(w io.Writer, a, b summary, rounds int) {
	fmt.Fprintf(w, "| system | jobs | enqueue/s | process/s | end-to-end jobs/s | file bytes before | file bytes after |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range []summary{a, b} {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", s.System, s.Jobs,
			group(s.EnqueuePerSec), group(s.ProcessPerSec), group(s.EndToEndPerSec),
			group(float64(s.BytesBefore)), group(float64(s.BytesAfter)))
	}
	fmt.Fprintf(w, "| ratio %s/%s | | %.1f× | %.1f× | %.1f× | | |\n", a.System, b.System,
		ratio(a.EnqueuePerSec, b.EnqueuePerSec), ratio(a.ProcessPerSec, b.ProcessPerSec),
		ratio(a.EndToEndPerSec, b.EndToEndPerSec))
	fmt.Fprintf(w, "\nMedians over %d rounds; each round uses fresh files.\n", rounds)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// group formats v rounded to an integer with thousands separators.
func group(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
