// Command report turns the raw runs of bench/compare.sh into results.json,
// table.md and chart.dat, and optionally rewrites the generated section of
// BENCHMARKS.md.
//
// Input: one JSON record per driver run (see record), as compare.sh writes them.
// Every figure it prints is a median over the rounds of one system, computed
// from what the drivers reported; nothing is filled in.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// record is one driver run as compare.sh logs it.
type record struct {
	System string `json:"system"`
	Run    string `json:"run"` // throughput, batch, dead, retry, latency, idle
	Round  int    `json:"round"`
	// Retained is the number of jobs compare.sh counted in the system's dead
	// (run dead) or retry (run retry) set after the run.
	Retained int64  `json:"retained"`
	Error    string `json:"error,omitempty"`
	// ResultFile holds the driver's JSON output; Result is what it held.
	ResultFile string          `json:"result_file,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
}

// result is the union of the fields the drivers and `joblot bench` print.
type result struct {
	Jobs                  float64 `json:"jobs"`
	EnqueuePerSec         float64 `json:"enqueue_per_sec"`
	ProcessPerSec         float64 `json:"process_per_sec"`
	Succeeded             float64 `json:"succeeded"`
	Dead                  float64 `json:"dead"`
	Lost                  float64 `json:"lost"`
	UsedMemoryBefore      float64 `json:"used_memory_before"`
	UsedMemoryEnqueued    float64 `json:"used_memory_enqueued"`
	UsedMemoryAfter       float64 `json:"used_memory_after"`
	BatchBookkeepingBytes float64 `json:"batch_bookkeeping_bytes"`
	LatencyP50Ms          float64 `json:"latency_p50_ms"`
	LatencyP99Ms          float64 `json:"latency_p99_ms"`
	LatencyP999Ms         float64 `json:"latency_p999_ms"`
	OfferedPerSec         float64 `json:"offered_per_sec"`
	AchievedPerSec        float64 `json:"achieved_per_sec"`
	RedisCallsPerSec      float64 `json:"redis_calls_per_sec"`
}

// figure is a median, or the reason there is none.
type figure struct {
	Value  *float64 `json:"value,omitempty"`
	Rounds int      `json:"rounds"`
	NA     string   `json:"na,omitempty"`
}

// systemFigures are the figures of one table row.
type systemFigures struct {
	System                string `json:"system"`
	EnqueuePerSec         figure `json:"enqueue_per_sec"`
	ProcessPerSec         figure `json:"process_per_sec"`
	BytesPerQueued        figure `json:"bytes_per_queued"`
	BytesPerDead          figure `json:"bytes_per_dead"`
	DeadRetained          figure `json:"dead_retained"`
	BytesPerRetrying      figure `json:"bytes_per_retrying_beyond_queued"`
	BytesPerRetryingRaw   figure `json:"bytes_per_retrying"`
	BatchBookkeepingBytes figure `json:"batch_bookkeeping_bytes_per_job,omitzero"`
	LatencyP50Ms          figure `json:"latency_p50_ms"`
	LatencyP99Ms          figure `json:"latency_p99_ms"`
	LatencyP999Ms         figure `json:"latency_p999_ms"`
	AchievedPerSec        figure `json:"latency_achieved_per_sec"`
	IdleCallsPerSec       figure `json:"idle_redis_calls_per_sec"`
}

// report is results.json.
type report struct {
	Command  string            `json:"command"`
	Jobs     int               `json:"jobs"`
	Rounds   int               `json:"rounds"`
	Machine  machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Systems  []systemFigures   `json:"systems"`
	Runs     []record          `json:"runs"`
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var (
		runsPath, outDir, docsPath, command, chartRel string
		jobs, rounds                                  int
		versions, systems                             listFlag
	)
	flag.StringVar(&runsPath, "runs", "", "raw runs (JSON lines) from compare.sh")
	flag.StringVar(&outDir, "out", "bench/out", "where to write results.json, table.md, chart.dat")
	flag.StringVar(&docsPath, "update-docs", "", "BENCHMARKS.md to rewrite between its markers")
	flag.StringVar(&chartRel, "chart", "bench/chart.png", "chart path as BENCHMARKS.md links it")
	flag.StringVar(&command, "command", "", "the command that produced the runs")
	flag.IntVar(&jobs, "jobs", 0, "jobs per throughput run")
	flag.IntVar(&rounds, "rounds", 0, "rounds per system")
	flag.Var(&versions, "version", "name=version (repeatable)")
	flag.Var(&systems, "system", "system name, in table order (repeatable)")
	flag.Parse()
	if err := run(runsPath, outDir, docsPath, chartRel, command, jobs, rounds, versions, systems); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(runsPath, outDir, docsPath, chartRel, command string, jobs, rounds int, versions, systems []string) error {
	runs, err := readRuns(runsPath)
	if err != nil {
		return err
	}
	rep := report{Command: command, Jobs: jobs, Rounds: rounds, Machine: describeMachine(),
		Versions: map[string]string{}, Runs: runs}
	for _, v := range versions {
		name, ver, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("--version %q: want name=version", v)
		}
		rep.Versions[name] = ver
	}
	for _, s := range systems {
		rep.Systems = append(rep.Systems, summarize(s, runs))
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	table := renderTables(&rep)
	for name, data := range map[string][]byte{
		"results.json": append(js, '\n'),
		"table.md":     []byte(table),
		"chart.dat":    []byte(chartData(&rep)),
	} {
		if err := os.WriteFile(filepath.Join(outDir, name), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Print(table)
	if docsPath != "" {
		return updateDocs(docsPath, renderDocs(&rep, table, chartRel))
	}
	return nil
}

func readRuns(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: bad record %q: %w", path, sc.Text(), err)
		}
		if r.Error == "" && r.ResultFile != "" {
			out, err := os.ReadFile(r.ResultFile)
			if err != nil {
				r.Error = "n/a: " + err.Error()
			} else if r.Result = jsonObject(out); r.Result == nil {
				r.Error = "n/a: output was not one JSON object"
			}
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// jsonObject returns the JSON object a driver printed: its whole output, or
// else its last line that is one (drivers may log before it).
func jsonObject(out []byte) json.RawMessage {
	if t := bytes.TrimSpace(out); bytes.HasPrefix(t, []byte("{")) && json.Valid(t) {
		return t
	}
	lines := bytes.Split(out, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if t := bytes.TrimSpace(lines[i]); bytes.HasPrefix(t, []byte("{")) && json.Valid(t) {
			return t
		}
	}
	return nil
}

// summarize computes the medians of one system's runs.
func summarize(system string, runs []record) systemFigures {
	f := systemFigures{System: system}
	throughputRun := "throughput"
	if strings.Contains(system, "batch") {
		throughputRun = "batch"
	}
	f.EnqueuePerSec = median(runs, system, throughputRun, func(r result, _ record) (float64, error) { return r.EnqueuePerSec, nil })
	f.ProcessPerSec = median(runs, system, throughputRun, func(r result, _ record) (float64, error) { return r.ProcessPerSec, nil })
	f.BytesPerQueued = median(runs, system, throughputRun, func(r result, _ record) (float64, error) {
		return perJob(r.UsedMemoryEnqueued-r.UsedMemoryBefore, r.Jobs)
	})
	if throughputRun == "batch" {
		f.BatchBookkeepingBytes = median(runs, system, "batch", func(r result, _ record) (float64, error) {
			return perJob(r.BatchBookkeepingBytes, r.Jobs)
		})
	}
	f.BytesPerDead = median(runs, system, "dead", func(r result, rec record) (float64, error) {
		return perJob(r.UsedMemoryAfter-r.UsedMemoryBefore, float64(rec.Retained))
	})
	f.DeadRetained = median(runs, system, "dead", func(_ result, rec record) (float64, error) { return float64(rec.Retained), nil })
	f.BytesPerRetryingRaw = median(runs, system, "retry", func(r result, rec record) (float64, error) {
		return perJob(r.UsedMemoryAfter-r.UsedMemoryBefore, float64(rec.Retained))
	})
	// Beyond its payload: a retrying job's bytes less what the same job cost
	// while queued (the median bytes per queued job of the same system).
	f.BytesPerRetrying = f.BytesPerRetryingRaw
	if f.BytesPerRetrying.Value != nil {
		if q := f.BytesPerQueued.Value; q != nil {
			v := *f.BytesPerRetrying.Value - *q
			f.BytesPerRetrying.Value = &v
		} else {
			f.BytesPerRetrying = figure{NA: "n/a: no bytes per queued job to subtract"}
		}
	}
	get := func(pick func(result) float64) func(result, record) (float64, error) {
		return func(r result, _ record) (float64, error) { return pick(r), nil }
	}
	f.LatencyP50Ms = median(runs, system, "latency", get(func(r result) float64 { return r.LatencyP50Ms }))
	f.LatencyP99Ms = median(runs, system, "latency", get(func(r result) float64 { return r.LatencyP99Ms }))
	f.LatencyP999Ms = median(runs, system, "latency", get(func(r result) float64 { return r.LatencyP999Ms }))
	f.AchievedPerSec = median(runs, system, "latency", get(func(r result) float64 { return r.AchievedPerSec }))
	f.IdleCallsPerSec = median(runs, system, "idle", get(func(r result) float64 { return r.RedisCallsPerSec }))
	return f
}

func perJob(bytes, jobs float64) (float64, error) {
	if jobs <= 0 {
		return 0, errors.New("n/a: no jobs to divide by")
	}
	return bytes / jobs, nil
}

// median is the median of pick over the successful runs of one kind; with
// no successful run it carries the first error reported.
func median(runs []record, system, run string, pick func(result, record) (float64, error)) figure {
	var vals []float64
	na := ""
	for _, rec := range runs {
		if rec.System != system || rec.Run != run {
			continue
		}
		if rec.Error != "" {
			na = cmpOr(na, rec.Error)
			continue
		}
		var r result
		if err := json.Unmarshal(rec.Result, &r); err != nil {
			na = cmpOr(na, "n/a: unreadable output")
			continue
		}
		v, err := pick(r, rec)
		if err != nil {
			na = cmpOr(na, err.Error())
			continue
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return figure{NA: cmpOr(na, "n/a: not run")}
	}
	slices.Sort(vals)
	m := vals[len(vals)/2]
	if len(vals)%2 == 0 {
		m = (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2
	}
	return figure{Value: &m, Rounds: len(vals)}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
