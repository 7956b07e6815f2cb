// Command river benchmarks durable job throughput of joblot's embedded
// backend (one bbolt file, fsync'd on every commit) against River on its
// SQLite driver (WAL, synchronous=FULL), side by side in one run: N no-op
// jobs bulk-enqueued, then worked off by a server with the same
// concurrency. It prints the medians over rounds as a markdown table.
//
//	cd bench/river && go run . --jobs 200000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"
)

// config is the benchmark's settings, shared by both systems.
type config struct {
	Jobs               int           `json:"jobs"`
	RiverJobs          int           `json:"river_jobs"`
	Rounds             int           `json:"rounds"`
	Chunk              int           `json:"chunk"`
	Concurrency        int           `json:"concurrency"`
	RiverFetchCooldown time.Duration `json:"river_fetch_cooldown_ns"`
	RiverFetchPoll     time.Duration `json:"river_fetch_poll_ns"`
	Timeout            time.Duration `json:"timeout_ns"`
	Dir                string        `json:"dir"`
	FsyncLatency       time.Duration `json:"fsync_latency_ns"`
	Only               string        `json:"only,omitempty"`
	CPUProfile         string        `json:"-"`
	Prefetch           int           `json:"prefetch,omitempty"`
	FetchChunk         int           `json:"fetch_chunk,omitempty"`
	AckChunk           int           `json:"ack_chunk,omitempty"`
	Logger             *slog.Logger  `json:"-"`
	quiet              bool
}

// progress reports to stderr unless --json asked for a clean run.
func (c config) progress(format string, args ...any) {
	if !c.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

func main() {
	var cfg config
	var asJSON bool
	flag.IntVar(&cfg.Jobs, "jobs", 200000, "no-op jobs per round")
	flag.IntVar(&cfg.RiverJobs, "river-jobs", 0, "jobs per round for River (default --jobs)")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "rounds; the table shows medians")
	flag.IntVar(&cfg.Chunk, "chunk", 1000, "jobs per EnqueueMany/InsertMany call")
	flag.IntVar(&cfg.Concurrency, "concurrency", 50, "jobs run at once (joblot Concurrency, River MaxWorkers)")
	flag.DurationVar(&cfg.RiverFetchCooldown, "river-fetch-cooldown", time.Millisecond, "River FetchCooldown (River's default 100ms caps throughput at MaxWorkers per 100ms)")
	flag.DurationVar(&cfg.RiverFetchPoll, "river-fetch-poll", 50*time.Millisecond, "River FetchPollInterval (no LISTEN/NOTIFY on SQLite)")
	flag.DurationVar(&cfg.Timeout, "timeout", 30*time.Minute, "give up on a round's processing after this long")
	flag.StringVar(&cfg.Dir, "dir", "", "parent of the per-round temporary directories (default os.TempDir(); use a disk, not tmpfs)")
	flag.BoolVar(&asJSON, "json", false, "print JSON instead of the table, no progress")
	flag.StringVar(&cfg.Only, "only", "", "run only this system (joblot or river), e.g. to profile it; the table then has no ratio")
	flag.IntVar(&cfg.Prefetch, "prefetch", 0, "joblot ServerConfig.Prefetch (0: joblot's default)")
	flag.IntVar(&cfg.FetchChunk, "fetch-chunk", 0, "joblot ServerConfig.FetchChunk (0: joblot's default)")
	flag.IntVar(&cfg.AckChunk, "ack-chunk", 0, "joblot ServerConfig.AckChunk (0: joblot's default)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of each joblot processing phase to this file name plus the round (FILE.1, FILE.2, ...; go tool pprof)")
	flag.Parse()
	if cfg.RiverJobs == 0 {
		cfg.RiverJobs = cfg.Jobs
	}
	if cfg.Jobs <= 0 || cfg.RiverJobs <= 0 || cfg.Rounds <= 0 || cfg.Chunk <= 0 || cfg.Concurrency <= 0 {
		fmt.Fprintln(os.Stderr, "river: --jobs, --river-jobs, --rounds, --chunk and --concurrency must be positive")
		os.Exit(2)
	}
	cfg.quiet = asJSON
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := probeFsync(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "river: fsync probe:", err)
		os.Exit(1)
	}
	jl, rv, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "river:", err)
		os.Exit(1)
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"config": cfg, "results": []summary{jl, rv}})
		return
	}
	writeTable(os.Stdout, jl, rv, cfg.Rounds)
	fmt.Printf("Median 4 KiB write+fsync in the bench directory: %v.\n", cfg.FsyncLatency.Round(time.Microsecond))
}

// probeFsync measures fsync latency in a temporary directory under cfg.Dir.
func probeFsync(cfg *config) error {
	dir, err := os.MkdirTemp(cfg.Dir, "joblot-bench-fsync-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.FsyncLatency, err = fsyncLatency(dir, 200)
	return err
}

// run does cfg.Rounds rounds of both systems, alternating which goes first
// so that neither always gets the warmer (or noisier) slot.
func run(ctx context.Context, cfg config) (joblotSum, riverSum summary, err error) {
	var jl, rv []roundResult
	for round := range cfg.Rounds {
		systems := []string{"joblot", "river"}
		if round%2 == 1 {
			systems = []string{"river", "joblot"}
		}
		for _, system := range systems {
			if cfg.Only != "" && system != cfg.Only {
				continue
			}
			rcfg := cfg
			if cfg.CPUProfile != "" {
				rcfg.CPUProfile = fmt.Sprintf("%s.%d", cfg.CPUProfile, round+1)
			}
			r, err := oneRound(ctx, system, rcfg)
			if err != nil {
				return joblotSum, riverSum, fmt.Errorf("round %d, %s: %w", round+1, system, err)
			}
			cfg.progress("round %d %-6s: enqueue %8.0f/s  process %8.0f/s  end-to-end %8.0f/s  file %d -> %d bytes",
				round+1, system, r.EnqueuePerSec(), r.ProcessPerSec(), r.EndToEndPerSec(), r.BytesBefore, r.BytesAfter)
			cfg.progress("        %s", r.diagLine())
			if system == "joblot" {
				jl = append(jl, r)
			} else {
				rv = append(rv, r)
			}
		}
	}
	return summarize("joblot (bbolt)", jl), summarize("River (SQLite)", rv), nil
}

// oneRound runs one system on fresh files in a temporary directory that is
// removed afterwards.
func oneRound(ctx context.Context, system string, cfg config) (roundResult, error) {
	dir, err := os.MkdirTemp(cfg.Dir, "joblot-bench-river-")
	if err != nil {
		return roundResult{}, err
	}
	defer os.RemoveAll(dir)
	// The disk's fsync cost just before the round, next to what the round
	// got, tells a slower round on a slower disk from one that did more.
	before, err := fsyncLatency(dir, 50)
	if err != nil {
		return roundResult{}, err
	}
	var r roundResult
	if system == "joblot" {
		r, err = runJoblot(ctx, dir, cfg)
	} else {
		r, err = runRiver(ctx, dir, cfg)
	}
	r.FsyncBefore = before
	return r, err
}
