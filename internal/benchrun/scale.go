package benchrun

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/keyspace"
)

// Scale defaults: the full run and the quick one (< 2 minutes on a busy
// 2-core machine).
const (
	scaleJobs             = 200_000
	scaleQuickJobs        = 20_000
	scalePayloadBudget    = 512 << 20 // bytes of padding per payload row at most
	scaleQuickPayloadBudg = 64 << 20
	scaleLatencyRate      = 10_000
	scaleQuickLatencyRate = 2_000
	scaleLatencyDuration  = 5 * time.Second
	scaleQuickLatencyDur  = 2 * time.Second
	// scaleParkDelay parks the prefilled scheduled jobs far beyond any run.
	scaleParkDelay = 30 * 24 * time.Hour
	// scaleWorkerWarmup lets spawned worker processes connect and settle
	// into their idle wait before the jobs arrive.
	scaleWorkerWarmup = 1500 * time.Millisecond
)

// ScaleEnv is what a scale run needs from its caller: a private Redis it
// may empty, and a way to start worker processes.
type ScaleEnv struct {
	// Open opens a fresh joblot backend on the Redis (called after each
	// FLUSHALL); close releases it.
	Open func(ctx context.Context) (b backend.Backend, close func(), err error)
	// Do runs one raw Redis command and returns its reply as text.
	Do func(ctx context.Context, args ...string) (string, error)
	// StartWorker starts one worker process (`joblot bench work --ledger
	// dir`) on the same Redis; stop ends it gracefully and waits for it.
	StartWorker func(ctx context.Context, dir string) (stop func() error, err error)
}

// ScaleConfig configures a scale run.
type ScaleConfig struct {
	// Quick runs smaller rows (20,000 jobs, scheduled sets up to 100,000)
	// so that the whole table takes under two minutes.
	Quick bool
	// Jobs overrides the jobs per throughput row (default 200,000; quick
	// 20,000).
	Jobs int64
	// Scheduled lists the scheduled-set sizes to measure (default 0, 100k,
	// 1M; quick 0, 10k, 100k).
	Scheduled []int64
	// Logger is the servers' logger.
	Logger *slog.Logger
	// Progress, if set, is told each row as it starts.
	Progress func(group, setting string)
}

// ScaleRow is one measured setting.
type ScaleRow struct {
	Group   string `json:"group"`
	Setting string `json:"setting"`
	Jobs    int64  `json:"jobs"`
	// ProcessedPerSec is jobs processed per second (first start to last
	// end; with worker processes, first enqueue to an empty queue).
	ProcessedPerSec float64 `json:"processed_per_sec,omitempty"`
	// ScriptUsecPerJob is the usec INFO commandstats gives the script
	// commands (EVALSHA and kin, which include the commands they run) over
	// the row's measured window, per job: enqueue, fetch, ack and the
	// duties running meanwhile.
	ScriptUsecPerJob float64 `json:"script_usec_per_job"`
	// OtherUsecPerJob is the usec of the commands sent outside scripts
	// (BLPOP, PING, …), the measurement's INFO and CONFIG excluded.
	OtherUsecPerJob float64 `json:"other_usec_per_job"`
	// RedisCPUUsecPerJob is Redis's user+system CPU over the window per
	// job (INFO cpu), networking included.
	RedisCPUUsecPerJob float64 `json:"redis_cpu_usec_per_job"`
	// Latency rows: enqueue → start percentiles at the offered rate.
	LatencyP50Ms float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms float64 `json:"latency_p99_ms,omitempty"`
	Lost         int64   `json:"lost"`
}

// ScaleResult is the JSON output of `joblot bench scale`.
type ScaleResult struct {
	Quick       bool       `json:"quick"`
	Jobs        int64      `json:"jobs"`
	LatencyRate float64    `json:"latency_rate"`
	Rows        []ScaleRow `json:"rows"`
}

// Scale measures how processing cost grows with queues, open batches,
// worker processes, payload size, the scheduled set and the dead set, one
// row per setting. Before each row it empties the Redis (FLUSHALL) and
// resets its statistics, so every row starts alike.
func Scale(ctx context.Context, env ScaleEnv, cfg ScaleConfig) (*ScaleResult, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string, string) {}
	}
	jobs, budget, rate, dur := int64(scaleJobs), int64(scalePayloadBudget), float64(scaleLatencyRate), scaleLatencyDuration
	scheduled := []int64{0, 100_000, 1_000_000}
	if cfg.Quick {
		jobs, budget, rate, dur = scaleQuickJobs, scaleQuickPayloadBudg, scaleQuickLatencyRate, scaleQuickLatencyDur
		scheduled = []int64{0, 10_000, 100_000}
	}
	if cfg.Jobs > 0 {
		jobs = cfg.Jobs
	}
	if len(cfg.Scheduled) > 0 {
		scheduled = cfg.Scheduled
	}
	s := &scaler{env: env, cfg: cfg}
	res := &ScaleResult{Quick: cfg.Quick, Jobs: jobs, LatencyRate: rate}
	base := Config{Jobs: jobs, Logger: cfg.Logger, Timeout: 10 * time.Minute}
	add := func(row ScaleRow, err error) error {
		if err != nil {
			return fmt.Errorf("bench scale: %s %s: %w", row.Group, row.Setting, err)
		}
		res.Rows = append(res.Rows, row)
		return nil
	}

	for _, n := range []int{1, 10, 100, 1000} {
		c := base
		c.Queues = n
		if err := add(s.runRow(ctx, "queues (weights 1-4)", fmt.Sprintf("%d", n), c, nil)); err != nil {
			return res, err
		}
	}
	for _, n := range []int64{1, 100, 10_000} {
		c := base
		c.BatchSize = max(1, (jobs+n-1)/n)
		if err := add(s.runRow(ctx, "open batches", fmt.Sprintf("%d", n), c, nil)); err != nil {
			return res, err
		}
	}
	for _, n := range []int{1, 2, 4, 8} {
		if err := add(s.workersRow(ctx, n, jobs)); err != nil {
			return res, err
		}
	}
	for _, p := range []int{100, 4 << 10, 64 << 10} {
		c := base
		c.PayloadBytes = p
		c.Jobs = min(jobs, max(1, budget/int64(p)))
		if err := add(s.runRow(ctx, "payload", byteSize(p), c, nil)); err != nil {
			return res, err
		}
	}
	for _, n := range scheduled {
		c := base
		c.AllowScheduled = true
		if err := add(s.runRow(ctx, "scheduled jobs stored", fmt.Sprintf("%d", n), c, func(b backend.Backend) error {
			return parkScheduled(ctx, b, DefaultQueue, n)
		})); err != nil {
			return res, err
		}
	}
	deadJobs := min(jobs, 50_000)
	for _, atCap := range []bool{false, true} {
		c := base
		c.Jobs, c.FailRate, c.MaxRetries = deadJobs, 1, joblot.NoRetries
		setting := "empty"
		if atCap {
			setting = fmt.Sprintf("at its cap (%d)", backend.DefaultDeadMaxJobs)
		}
		// At its cap: a first, unmeasured run fills the dead set.
		var fill func(backend.Backend) error
		if atCap {
			fill = func(b backend.Backend) error {
				f := c
				f.Jobs = backend.DefaultDeadMaxJobs
				if _, err := Run(ctx, b, nil, f); err != nil {
					return fmt.Errorf("fill the dead set: %w", err)
				}
				return nil
			}
		}
		if err := add(s.runRow(ctx, "dead set (every job dies)", setting, c, fill)); err != nil {
			return res, err
		}
	}
	for _, n := range scheduled {
		lc := LatencyConfig{Rate: rate, Duration: dur, AllowScheduled: true, Logger: cfg.Logger}
		if err := add(s.latencyRow(ctx, n, lc)); err != nil {
			return res, err
		}
	}
	return res, nil
}

type scaler struct {
	env ScaleEnv
	cfg ScaleConfig
}

// window is one measured interval's Redis counters.
type window struct {
	scriptUsec, otherUsec int64
	cpuSec                float64
}

// fresh empties the Redis and opens a backend on it.
func (s *scaler) fresh(ctx context.Context) (backend.Backend, func(), error) {
	if _, err := s.env.Do(ctx, "FLUSHALL"); err != nil {
		return nil, nil, fmt.Errorf("FLUSHALL: %w", err)
	}
	return s.env.Open(ctx)
}

// begin resets the statistics and returns the CPU counter's start.
func (s *scaler) begin(ctx context.Context) (float64, error) {
	if _, err := s.env.Do(ctx, "CONFIG", "RESETSTAT"); err != nil {
		return 0, fmt.Errorf("CONFIG RESETSTAT: %w", err)
	}
	return s.cpu(ctx)
}

// end reads what Redis spent since begin.
func (s *scaler) end(ctx context.Context, cpu0 float64) (window, error) {
	cpu1, err := s.cpu(ctx)
	if err != nil {
		return window{}, err
	}
	raw, err := s.env.Do(ctx, "INFO", "commandstats")
	if err != nil {
		return window{}, fmt.Errorf("INFO commandstats: %w", err)
	}
	w := window{cpuSec: cpu1 - cpu0}
	w.scriptUsec, w.otherUsec, err = parseCommandUsec(raw)
	return w, err
}

func (s *scaler) cpu(ctx context.Context) (float64, error) {
	raw, err := s.env.Do(ctx, "INFO", "cpu")
	if err != nil {
		return 0, fmt.Errorf("INFO cpu: %w", err)
	}
	var sum float64
	for _, line := range strings.Split(raw, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("INFO cpu: %q: %w", line, err)
			}
			sum += f
		}
	}
	return sum, nil
}

// scriptCommands are the commands whose usec include the commands their
// script runs; those inner commands are counted on their own lines too.
var scriptCommands = map[string]bool{
	"eval": true, "evalsha": true, "eval_ro": true, "evalsha_ro": true,
	"fcall": true, "fcall_ro": true,
}

// measurementCommands are the scale run's own commands.
var measurementCommands = map[string]bool{"info": true, "config|resetstat": true, "config": true, "flushall": true}

// parseCommandUsec sums INFO commandstats usec: script commands, and
// commands that never run inside joblot's scripts (the blocking wait,
// keep-alives, connection set-up) as "other". Commands a script runs show
// up on their own lines as well; they are inside the scripts' usec and not
// added again.
func parseCommandUsec(info string) (script, other int64, err error) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		var usec int64
		for _, kv := range strings.Split(rest, ",") {
			if k, v, _ := strings.Cut(kv, "="); k == "usec" {
				if usec, err = strconv.ParseInt(v, 10, 64); err != nil {
					return 0, 0, fmt.Errorf("commandstats: %q: %w", line, err)
				}
			}
		}
		switch {
		case scriptCommands[name]:
			script += usec
		case measurementCommands[name]:
		case outsideScripts[name]:
			other += usec
		}
	}
	return script, other, sc.Err()
}

// outsideScripts are commands joblot sends only on their own, never from
// a script (the idle wait, keep-alives, connection set-up), so their usec
// are not already inside a script's.
var outsideScripts = map[string]bool{
	"blpop": true, "ping": true, "hello": true, "client|setinfo": true, "client|setname": true,
	"script|load": true, "script|exists": true,
}

func (w window) fill(row *ScaleRow, jobs int64) {
	if jobs <= 0 {
		return
	}
	row.ScriptUsecPerJob = float64(w.scriptUsec) / float64(jobs)
	row.OtherUsecPerJob = float64(w.otherUsec) / float64(jobs)
	row.RedisCPUUsecPerJob = w.cpuSec * 1e6 / float64(jobs)
}

// runRow measures one in-process bench run (enqueue, then processing) on
// a fresh store, after prepare (nil: nothing) has set the store up
// unmeasured.
func (s *scaler) runRow(ctx context.Context, group, setting string, c Config, prepare func(backend.Backend) error) (ScaleRow, error) {
	row := ScaleRow{Group: group, Setting: setting, Jobs: c.Jobs}
	s.cfg.Progress(group, setting)
	b, closeB, err := s.fresh(ctx)
	if err != nil {
		return row, err
	}
	defer closeB()
	if prepare != nil {
		if err := prepare(b); err != nil {
			return row, err
		}
	}
	cpu0, err := s.begin(ctx)
	if err != nil {
		return row, err
	}
	r, err := Run(ctx, b, nil, c)
	if err != nil {
		return row, err
	}
	w, err := s.end(ctx, cpu0)
	if err != nil {
		return row, err
	}
	row.ProcessedPerSec, row.Lost = r.ProcessPerSec, r.Lost
	w.fill(&row, c.Jobs)
	return row, nil
}

// workersRow starts n worker processes, lets them settle, then enqueues
// the jobs and times them from the first enqueue until the queue is empty
// and nothing is in flight; the file ledger then counts lost jobs.
func (s *scaler) workersRow(ctx context.Context, n int, jobs int64) (row ScaleRow, err error) {
	row = ScaleRow{Group: "worker processes (concurrency 50 each)", Setting: strconv.Itoa(n), Jobs: jobs}
	s.cfg.Progress(row.Group, row.Setting)
	b, closeB, err := s.fresh(ctx)
	if err != nil {
		return row, err
	}
	defer closeB()
	dir, err := os.MkdirTemp("", "joblot-scale-ledger-")
	if err != nil {
		return row, fmt.Errorf("ledger dir: %w", err)
	}
	defer os.RemoveAll(dir)
	var stops []func() error
	defer func() {
		for _, stop := range stops {
			if serr := stop(); serr != nil && err == nil {
				err = fmt.Errorf("stop worker: %w", serr)
			}
		}
	}()
	for range n {
		stop, err := s.env.StartWorker(ctx, dir)
		if err != nil {
			return row, err
		}
		stops = append(stops, stop)
	}
	if err := keyspace.Pause(ctx, scaleWorkerWarmup); err != nil {
		return row, err
	}
	cpu0, err := s.begin(ctx)
	if err != nil {
		return row, err
	}
	start := time.Now()
	if _, err := Enqueue(ctx, b, Config{Jobs: jobs, Logger: s.cfg.Logger}); err != nil {
		return row, err
	}
	if err := WriteEnqueued(dir, jobs); err != nil {
		return row, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		q, err := queueStats(ctx, b, DefaultQueue)
		if err != nil {
			return row, err
		}
		if q.Size+q.InFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			return row, fmt.Errorf("%d jobs still queued or in flight after 10 minutes", q.Size+q.InFlight)
		}
		if err := keyspace.Pause(ctx, 5*time.Millisecond); err != nil {
			return row, err
		}
	}
	elapsed := time.Since(start)
	w, err := s.end(ctx, cpu0)
	if err != nil {
		return row, err
	}
	for _, stop := range stops {
		if err := stop(); err != nil {
			return row, fmt.Errorf("stop worker: %w", err)
		}
	}
	stops = nil
	v, err := Verify(dir)
	if err != nil {
		return row, err
	}
	row.ProcessedPerSec, row.Lost = float64(jobs)/elapsed.Seconds(), v.Lost
	w.fill(&row, jobs)
	return row, nil
}

// latencyRow offers jobs open loop at a fixed rate with park jobs waiting
// in the scheduled set of the same queue.
func (s *scaler) latencyRow(ctx context.Context, park int64, lc LatencyConfig) (ScaleRow, error) {
	row := ScaleRow{Group: fmt.Sprintf("enqueue → start latency at %.0f jobs/s, scheduled jobs stored", lc.Rate), Setting: strconv.FormatInt(park, 10)}
	s.cfg.Progress(row.Group, row.Setting)
	b, closeB, err := s.fresh(ctx)
	if err != nil {
		return row, err
	}
	defer closeB()
	if err := parkScheduled(ctx, b, DefaultQueue, park); err != nil {
		return row, err
	}
	cpu0, err := s.begin(ctx)
	if err != nil {
		return row, err
	}
	r, err := Latency(ctx, b, lc)
	if err != nil {
		return row, err
	}
	w, err := s.end(ctx, cpu0)
	if err != nil {
		return row, err
	}
	row.Jobs = r.Started
	row.ProcessedPerSec = r.AchievedPerSec
	row.LatencyP50Ms, row.LatencyP99Ms = r.LatencyP50Ms, r.LatencyP99Ms
	row.Lost = r.Offered - r.Started
	w.fill(&row, r.Started)
	return row, nil
}

// parkScheduled stores n bench jobs in queue's scheduled set, due long
// after any run ends.
func parkScheduled(ctx context.Context, b backend.Backend, queue string, n int64) error {
	if n <= 0 {
		return nil
	}
	cl := joblot.NewClient(b, joblot.ClientConfig{})
	now := time.Now().UnixNano()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		first   error
		next    int64
		workers = 4
	)
	take := func() (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || first != nil {
			return 0, false
		}
		from := next
		next = min(next+enqueueChunk, n)
		return from, true
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from, ok := take()
				if !ok {
					return
				}
				to := min(from+enqueueChunk, n)
				ps := make([]joblot.EnqueueParams, to-from)
				for i := range ps {
					ps[i] = joblot.EnqueueParams{
						Args: Args{N: from + int64(i), T: now},
						Opts: joblot.EnqueueOpts{Queue: queue, Delay: scaleParkDelay},
					}
				}
				if _, err := cl.EnqueueMany(ctx, ps); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("park scheduled jobs %d..%d: %w", from, to-1, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func byteSize(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// Markdown renders the result as a Markdown table.
func (r *ScaleResult) Markdown() string {
	var sb strings.Builder
	sb.WriteString("| dimension | setting | jobs | processed/s | Redis script µs/job | other commands µs/job | Redis CPU µs/job | p50 ms | p99 ms | lost |\n")
	sb.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.Rows {
		lat50, lat99 := "", ""
		if row.LatencyP99Ms > 0 {
			lat50, lat99 = fmt.Sprintf("%.2f", row.LatencyP50Ms), fmt.Sprintf("%.2f", row.LatencyP99Ms)
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %.2f | %.2f | %.2f | %s | %s | %d |\n",
			row.Group, row.Setting, thousands(row.Jobs), thousands(int64(row.ProcessedPerSec+0.5)),
			row.ScriptUsecPerJob, row.OtherUsecPerJob, row.RedisCPUUsecPerJob, lat50, lat99, row.Lost)
	}
	return sb.String()
}

// thousands formats n with commas.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
